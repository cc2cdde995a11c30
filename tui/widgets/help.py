"""The help screen (``?``): what each key does."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

HELP = """\
space   pause / resume capture (queued windows still finish)
c       clear the captions on screen (the transcript keeps them)
s       save the transcript; updated again when you quit
t       show / hide the stream-time column
q       quit: stop capture, transcribe what is queued, then exit
        (q again: exit without waiting)
?       this help (escape closes it)

Status: LOADING the model, LISTENING, SPEECH (voice detected),
TRANSCRIBING (a window is being decoded; shown as a dim "…" line),
PAUSED, FINISHING (after q), FINISHED (input ended).
Level: RMS of the last 30 ms frame in dBFS (0 = full scale)."""


class HelpScreen(ModalScreen[None]):
    """A modal listing the keys and what the status words mean."""

    BINDINGS = [Binding("escape,question_mark,q", "dismiss", "close")]

    def compose(self) -> ComposeResult:
        with Vertical(id="help-box"):
            yield Static("livescribe — keys", id="help-title")
            yield Static(HELP, id="help-text", markup=False)
