"""The captions pane: final captions scroll with the newest at the bottom; the last line shows
the utterance being spoken (its stable words normal, the rest dim) or a dim "…" for a window
being transcribed. The log follows new captions until the user scrolls up
(:class:`~tui.widgets.caption_log.CaptionLog`); a search highlights matching captions."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from streamer.events import Caption, Partial
from tui.session import find_matches, format_stream_time, format_wall_time
from tui.widgets.caption_log import CaptionLog

MATCH_STYLE = "reverse"  #: a search match
CURRENT_MATCH_STYLE = "bold reverse underline"  #: the match n/N moved to


class CaptionsPane(Vertical):
    """Final captions in a scrolling log, plus one line for work in progress.

    Args:
        show_times: start with the time column shown.
        wall_clock: the time column shows wall-clock times (``14:05:12``) instead of stream
            times (``M:SS`` since the first captured sample).

    Attributes:
        shown: the captions on screen (``clear`` empties it; the session keeps its own list).
        unseen: captions added below the view since the user scrolled up (0 while following).
        language: the language of the newest caption (shown in the pane's title).
        query: the search being highlighted ("" for none); matches: indices into
            :attr:`shown` of the captions containing it; current: the position in
            :attr:`matches` that :meth:`goto_match` moved to (None before the first move).
    """

    def __init__(self, show_times: bool = True, wall_clock: bool = False, **kwargs) -> None:
        super().__init__(**kwargs)
        self.show_times = show_times
        self.wall_clock = wall_clock
        self.shown: list[Caption] = []
        self.unseen = 0
        self.language: str | None = None
        self.query = ""
        self.matches: list[int] = []
        self.current: int | None = None
        self._walls: list[float | None] = []  # wall-clock start of each shown caption
        self._line_at: list[int] = []  # first log line of each shown caption
        self._pending: tuple[float | None, Partial | None, float | None] = (None, None, None)
        self._width = 0
        self.border_title = "captions"

    def compose(self) -> ComposeResult:
        yield CaptionLog(id="captions-log", wrap=True, markup=False, highlight=False,
                         min_width=20)
        yield Static("", id="captions-pending", markup=False)

    @property
    def log_widget(self) -> CaptionLog:
        """The scrolling log of final captions."""
        return self.query_one("#captions-log", CaptionLog)

    @property
    def following(self) -> bool:
        """True while the log sticks to the newest caption."""
        return self.log_widget.following

    def add(self, caption: Caption, wall_s: float | None = None) -> None:
        """Append one final caption at the bottom; ``wall_s``: the wall-clock time (seconds
        since the epoch) its speech started, for the wall-clock time column."""
        i = len(self.shown)
        self.shown.append(caption)
        self._walls.append(wall_s)
        if self.query and self.query.casefold() in caption.text.casefold():
            self.matches.append(i)
        if caption.language and caption.language != self.language:
            self.language = caption.language
            self.border_title = f"captions · {self.language}"
        log = self.log_widget
        if not log.following:
            self.unseen += 1
        self._line_at.append(len(log.lines))
        log.write_line(self._render_caption(i))
        self._fit()

    def clear(self) -> None:
        """Remove every caption from the screen (and the search's matches); follow again."""
        self.shown.clear()
        self._walls.clear()
        self._line_at.clear()
        self.matches.clear()
        self.current = None
        self.unseen = 0
        self.log_widget.clear()
        self.log_widget.follow()
        self._fit()

    def follow(self) -> None:
        """Scroll to the newest caption and follow new ones again."""
        self.log_widget.follow()

    def on_caption_log_follow_changed(self, message: CaptionLog.FollowChanged) -> None:
        """Following again: nothing is waiting below any more (the message goes on up)."""
        if message.following:
            self.unseen = 0

    def set_times(self, show: bool) -> None:
        """Show or hide the time column (re-renders the captions and the pending line)."""
        self.show_times = show
        self._rewrite()
        self._show_pending()

    def set_wall_clock(self, wall_clock: bool) -> None:
        """Wall-clock (``14:05:12``) or stream (``M:SS``) times in the time column."""
        self.wall_clock = wall_clock
        self._rewrite()
        self._show_pending()

    def set_pending(self, start_s: float | None, partial: Partial | None = None,
                    wall_s: float | None = None) -> None:
        """Show the work-in-progress line: ``partial``'s text (stable words normal, the
        unstable tail dim) or a dim "…" for a window starting at ``start_s`` (stream
        seconds; ``wall_s``, the wall-clock time of that start when known); hide it when both
        are None."""
        self._pending = (start_s, partial, wall_s)
        self._show_pending()

    def _show_pending(self) -> None:
        start_s, partial, wall_s = self._pending
        pending = self.query_one("#captions-pending", Static)
        if partial is not None:
            pending.display = True
            line = Text(partial.stable)
            line.append(partial.unstable or ("" if partial.stable else "…"), style="dim")
            pending.update(self._render_line(partial.start_s, wall_s, line))
        elif start_s is None:
            pending.update("")
            pending.display = False
        else:
            pending.display = True
            pending.update(self._render_line(start_s, wall_s, Text("…", style="dim")))
        self._fit()

    # -- search -----------------------------------------------------------------------------
    def search(self, query: str) -> int:
        """Highlight the captions on screen that contain ``query`` (ignoring case); return
        how many do. An empty query clears the highlight."""
        self.query = query
        self.matches = find_matches((c.text for c in self.shown), query)
        self.current = None
        self._rewrite()
        return len(self.matches)

    def goto_match(self, direction: int = -1) -> tuple[int, int] | None:
        """Move to the older (``direction=-1``, what ``n`` does) or newer (``+1``, ``N``)
        match, wrapping around, and scroll it to the middle of the view. The first move after
        :meth:`search` goes to the newest match: a search starts where the view usually is.

        Returns:
            ``(position, count)`` with position 1-based from the oldest match, or None when
            nothing matches.
        """
        if not self.matches:
            return None
        if self.current is None:
            self.current = len(self.matches) - 1
        else:
            self.current = (self.current + direction) % len(self.matches)
        self._rewrite()
        log = self.log_widget
        line = self._line_at[self.matches[self.current]]
        log.scroll_to(y=max(0, line - log.scrollable_content_region.height // 2),
                      animate=False, immediate=True)
        return self.current + 1, len(self.matches)

    def text(self) -> str:
        """The plain text of the captions on screen, one per line (for tests and copying)."""
        return "".join(c.text + "\n" for c in self.shown)

    def on_resize(self) -> None:
        """Re-wrap the captions when the pane's width changes."""
        if self.size.width != self._width:
            self._width = self.size.width
            self._rewrite()

    def _rewrite(self) -> None:
        """Render the captions again (new width, times, highlights); a view scrolled back
        keeps the caption at its top."""
        log = self.log_widget
        top = None
        if not log.following and self._line_at:
            top = max(i for i, line in enumerate(self._line_at) if line <= log.scroll_y)
        log.clear()
        self._line_at.clear()
        for i in range(len(self.shown)):
            self._line_at.append(len(log.lines))
            log.write_line(self._render_caption(i))
        if top is not None and top < len(self._line_at):
            log.scroll_to(y=self._line_at[top], animate=False, immediate=True)
        self._fit()

    def _fit(self) -> None:
        """Grow the log from the bottom while it fits; once full, give it the pane and scroll.

        Rendered lines are counted after the next refresh (the log wraps at its final width).
        """
        self.call_after_refresh(self._fit_now)

    def _fit_now(self) -> None:
        log = self.log_widget
        pending = self.query_one("#captions-pending", Static)
        room = self.content_region.height - (1 if pending.display else 0)
        full = len(log.lines) >= room > 0
        if full != self.has_class("-full"):
            self.set_class(full, "-full")
            if full and log.following:
                log.scroll_end(animate=False)

    def _render_caption(self, i: int):
        caption = self.shown[i]
        text = Text(caption.text)
        if self.query and i in self.matches:
            current = self.current is not None and self.matches[self.current] == i
            text.highlight_words([self.query], CURRENT_MATCH_STYLE if current else MATCH_STYLE,
                                 case_sensitive=False)
        return self._render_line(caption.start_s, self._walls[i], text)

    def _render_line(self, start_s: float, wall_s: float | None, text: Text):
        if not self.show_times:
            return text
        if self.wall_clock:
            when, width = ("" if wall_s is None else format_wall_time(wall_s)), 9
        else:
            when, width = format_stream_time(start_s), 7
        grid = Table.grid(padding=(0, 1), expand=True)
        grid.add_column(width=width, justify="right", style="dim")
        grid.add_column(ratio=1)
        grid.add_row(when, text)
        return grid
