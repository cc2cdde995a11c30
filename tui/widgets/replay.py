"""The progress of a replay at max speed (issue 15: % done, speed, time left), one line under
the status line; hidden for a microphone, a paced replay or stdin (no length known)."""

from __future__ import annotations

import time

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Label, ProgressBar

from streamer.events import SourceOpened
from tui.progress import replay_end_s


class ReplayLine(Horizontal):
    """``transcribing 12.3x`` and Textual's :class:`ProgressBar` (bar, percentage, time left).

    The position is the end of the last window the worker started, captioned or dropped (as
    the command line's bar, :class:`tui.progress.ReplayProgress`); the speed is seconds of
    audio transcribed per wall second since the replay started.
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.display = False
        self.done_s = 0.0
        self._t0: float | None = None

    def compose(self) -> ComposeResult:
        self._label = Label("transcribing", id="replay-label")
        self._bar = ProgressBar(show_eta=True, id="replay-bar")
        yield self._label
        yield self._bar

    def apply(self, event: object) -> None:
        """Follow an engine event: :class:`SourceOpened` shows the bar for a replay at max
        speed of known length; windows, captions, drops and the final stats move it."""
        if isinstance(event, SourceOpened):
            self.display = not event.live and bool(event.duration_s)
            self._bar.update(total=event.duration_s or None, progress=0)
            self._t0 = time.monotonic()
            return
        if not self.display or self._bar.total is None:
            return
        end = replay_end_s(event, self._bar.total)
        if end is not None and end > self.done_s:
            self.done_s = end
            self._bar.update(progress=self.done_s)
            wall = time.monotonic() - (self._t0 or time.monotonic())
            if wall > 0:
                self._label.update(f"transcribing {self.done_s / wall:.1f}x")
