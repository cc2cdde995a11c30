"""What the user does with the captions' text in the app: search, copy, export.

:class:`CaptionActions` is a mixin of :class:`tui.app.LivescribeApp` (its key bindings are the
app's): ``/`` searches the captions (``n``/``N`` move between matches, Escape clears), ``y``
copies the transcript to the clipboard (OSC 52), ``s`` exports it to a file the user names.
The transcript is the session journal's text (:meth:`tui.session.SessionView.transcript`,
the journal's format). It reads the app's ``view`` (:class:`~tui.session.SessionView`),
``saved_path``, ``transcript_path`` and ``journal_path`` and its widgets; plain methods and
handlers found by name, so no Textual metaclass is needed here.
"""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input

from tui.clipboard import osc52_terminal
from tui.session import default_transcript_path, save_transcript
from tui.widgets.captions import CaptionsPane
from tui.widgets.prompt import LinePrompt
from tui.widgets.saveprompt import SavePrompt
from tui.widgets.search import SearchBar
from tui.widgets.status import StatusBar


class CaptionActions:
    """Search, copy and save actions of the captions (a mixin of the app: see the module doc)."""

    def action_search(self) -> None:
        """Open the search prompt under the captions."""
        self.query_one(SearchBar).open(self.query_one(CaptionsPane).query)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter in a prompt: export to the file named, or search (highlight the matches and
        go to the newest)."""
        if event.input.id == "save":
            self.query_one(SavePrompt).close()
            if event.value.strip():
                self._save(Path(event.value.strip()).expanduser())
            return
        if event.input.id != "search":
            return
        bar = self.query_one(SearchBar)
        bar.close()
        pane = self.query_one(CaptionsPane)
        pane.search(event.value.strip())
        self._show_match(pane.goto_match(-1))

    def on_line_prompt_closed(self, message: LinePrompt.Closed) -> None:
        """A prompt (search, export) closed: the keys go back to the captions."""
        self.query_one(CaptionsPane).log_widget.focus()

    def action_search_next(self, direction: int) -> None:
        """``n``: the older match; ``N``: the newer one (wrapping around)."""
        pane = self.query_one(CaptionsPane)
        if not pane.query:
            self.query_one(StatusBar).show(notice="press / to search")
            return
        self._show_match(pane.goto_match(direction))

    def action_clear_search(self) -> None:
        """Escape: remove the search's highlight."""
        pane = self.query_one(CaptionsPane)
        if pane.query:
            pane.search("")
            self.query_one(StatusBar).show(notice="")

    def _show_match(self, where: tuple[int, int] | None) -> None:
        pane = self.query_one(CaptionsPane)
        if not pane.query:
            notice = ""
        elif where is None:
            notice = f"no caption contains “{pane.query}”"
        else:
            notice = f"“{pane.query}” {where[0]}/{where[1]} (n older, N newer)"
        self.query_one(StatusBar).show(notice=notice)

    def action_copy(self) -> None:
        """Copy the captions (transcript lines, no header) to the clipboard (OSC 52); where
        the terminal is not known to accept that, say where the transcript is: the journal,
        or (without one) a file saved now."""
        n = len(self.view.captions)
        self.copy_to_clipboard(self.view.transcript(header=False))
        what = f"{n} caption{'s' * (n != 1)}"
        terminal = osc52_terminal()
        if terminal is not None:
            self.query_one(StatusBar).show(notice=f"copied {what} to the clipboard ({terminal})")
            return
        path = self.journal_path or self._save(
            self.saved_path or self.transcript_path or default_transcript_path())
        if path is not None:
            self.query_one(StatusBar).show(notice=f"sent {what} to the clipboard (if the terminal "
                                                  f"takes OSC 52); transcript → {path}")

    def action_save(self) -> None:
        """Ask where to export the transcript (the last export, else ``transcript_path``, else
        :func:`~tui.session.default_transcript_path` in the current directory); Enter exports
        it, and it is exported again when the session ends."""
        self.query_one(SavePrompt).open(
            self.saved_path or self.transcript_path or default_transcript_path())

    def show_journal(self) -> None:
        """Say where the session journal (the transcript) is, in the status line."""
        if self.journal_path is not None:
            self.query_one(StatusBar).show(notice=f"transcript → {self.journal_path}")

    def _save(self, path: Path) -> Path | None:
        """Export the transcript to ``path``; return where it went (None: it could not be)."""
        try:
            self.saved_path = save_transcript(path, self.view.transcript())
        except OSError as exc:
            self.notify(f"cannot save {path}: {exc.strerror or exc}", severity="error")
            return None
        n = len(self.view.captions)
        self.query_one(StatusBar).show(notice=f"saved {n} caption{'s' * (n != 1)} → {self.saved_path}")
        return self.saved_path
