"""The captions pane: final captions scroll with the newest at the bottom; the last line shows
the utterance being spoken (its stable words normal, the rest dim) or a dim "…" for a window
being transcribed."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import RichLog, Static

from streamer.events import Caption, Partial
from tui.session import format_stream_time


class CaptionsPane(Vertical):
    """Final captions in a scrolling log, plus one line for work in progress.

    Args:
        show_times: start with the stream-time column shown.

    Attributes:
        shown: the captions on screen (``clear`` empties it; the session keeps its own list).
    """

    def __init__(self, show_times: bool = True, **kwargs) -> None:
        super().__init__(**kwargs)
        self.show_times = show_times
        self.shown: list[Caption] = []
        self._width = 0
        self.border_title = "captions"

    def compose(self) -> ComposeResult:
        yield RichLog(id="captions-log", wrap=True, markup=False, highlight=False,
                      auto_scroll=True, min_width=20)
        yield Static("", id="captions-pending", markup=False)

    @property
    def log_widget(self) -> RichLog:
        """The scrolling log of final captions."""
        return self.query_one("#captions-log", RichLog)

    def add(self, caption: Caption) -> None:
        """Append one final caption at the bottom."""
        self.shown.append(caption)
        self.log_widget.write(self._render_caption(caption), expand=True)
        self._fit()

    def clear(self) -> None:
        """Remove every caption from the screen."""
        self.shown.clear()
        self.log_widget.clear()
        self._fit()

    def set_times(self, show: bool) -> None:
        """Show or hide the stream-time column (re-renders the captions on screen)."""
        self.show_times = show
        self._rewrite()

    def set_pending(self, start_s: float | None, partial: Partial | None = None) -> None:
        """Show the work-in-progress line: ``partial``'s text (stable words normal, the
        unstable tail dim) or a dim "…" for a window starting at ``start_s`` (stream
        seconds); hide it when both are None."""
        pending = self.query_one("#captions-pending", Static)
        if partial is not None:
            pending.display = True
            line = Text(partial.stable)
            line.append(partial.unstable or ("" if partial.stable else "…"), style="dim")
            pending.update(self._render_line(partial.start_s, line))
        elif start_s is None:
            pending.update("")
            pending.display = False
        else:
            pending.display = True
            pending.update(self._render_line(start_s, Text("…", style="dim")))
        self._fit()

    def text(self) -> str:
        """The plain text of the captions on screen, one per line (for tests and copying)."""
        return "".join(c.text + "\n" for c in self.shown)

    def on_resize(self) -> None:
        """Re-wrap the captions when the pane's width changes."""
        if self.size.width != self._width:
            self._width = self.size.width
            self._rewrite()

    def _rewrite(self) -> None:
        log = self.log_widget
        log.clear()
        for c in self.shown:
            log.write(self._render_caption(c), expand=True)
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
            if full:
                log.scroll_end(animate=False)

    def _render_caption(self, caption: Caption):
        return self._render_line(caption.start_s, caption.text)

    def _render_line(self, start_s: float, text: str | Text):
        if not self.show_times:
            return text if isinstance(text, Text) else Text(text)
        grid = Table.grid(padding=(0, 1), expand=True)
        grid.add_column(width=7, justify="right", style="dim")
        grid.add_column(ratio=1)
        grid.add_row(format_stream_time(start_s), text)
        return grid
