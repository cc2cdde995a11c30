"""The help screen (``?``): what each key does."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

HELP = """\
space   pause / resume capture (queued windows still finish)
↑ PgUp  scroll back (or the mouse wheel); End or f follows again
/       search the captions; n older match, N newer, escape clears
y       copy the transcript (OSC 52; else saved to a file)
s       save the transcript; updated again when you quit
p       hide / show the side panels
t       show / hide the time column
w       wall-clock (14:05:12) / stream (M:SS) times
c       clear the captions on screen (the transcript keeps them)
q       quit: stop capture, transcribe what is queued, then exit
        (q again: exit without waiting)
?       this help (escape closes it)

Status: LOADING the model, LISTENING, SPEECH (voice detected),
TRANSCRIBING (a window is being decoded; shown as a dim "…" line),
PAUSED, FINISHING (after q), FINISHED (input ended). "↓ 3 new":
captions wait below the view. Level: RMS of the last 30 ms, dBFS."""


class HelpScreen(ModalScreen[None]):
    """A modal listing the keys and what the status words mean."""

    BINDINGS = [Binding("escape,question_mark,q", "dismiss", "close")]

    def compose(self) -> ComposeResult:
        with Vertical(id="help-box"):
            yield Static("livescribe — keys", id="help-title")
            yield Static(HELP, id="help-text", markup=False)
