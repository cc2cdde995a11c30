"""Progress bars of the command line, drawn by tqdm on stderr, only on a terminal.

- :class:`StderrBar` is what the engine's long model work (assembling ``base``, a hub
  download: :mod:`streamer.decoding.progress`) is shown with: :func:`model_progress`
  installs it.
- :class:`ReplayProgress` follows a file replayed at max speed: how much of it the worker has
  transcribed (% done), how fast (seconds of audio per second: ``12.3s/s``) and the time left.

Plain Python (no Textual): the UI shows a replay's progress in its own widget and installs no
bar class, since the terminal is its screen.
"""

from __future__ import annotations

import contextlib
import sys

from tqdm import tqdm

from streamer.events import Caption, PipelineStats, SourceOpened, WindowDropped, WindowStarted


class StderrBar(tqdm):
    """tqdm on stderr, shown only when stderr is a terminal (tqdm's ``disable=None``), and
    cleared when done."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("file", sys.stderr)
        kwargs.setdefault("disable", None)  # None: off when the file is not a terminal
        kwargs.setdefault("leave", False)
        kwargs.setdefault("dynamic_ncols", True)
        super().__init__(*args, **kwargs)


@contextlib.contextmanager
def model_progress():
    """Within it, the engine's model work (assembling, downloading) shows as
    :class:`StderrBar` s; after it, as nothing again."""
    from streamer.decoding import progress

    progress.set_bar_class(StderrBar)
    try:
        yield
    finally:
        progress.set_bar_class(None)


def replay_end_s(event: object, total: float) -> float | None:
    """How far a replay of ``total`` seconds has been transcribed once ``event`` came: the end
    of a window the worker started, captioned or dropped, in stream seconds, at most
    ``total`` (the whole of it on the final stats); None for any other event. The command
    line's bar and the UI's replay line both follow it."""
    if isinstance(event, (WindowStarted, WindowDropped, Caption)):
        return min(total, event.end_s)
    if isinstance(event, PipelineStats) and event.final:
        return total
    return None


class ReplayProgress:
    """How far a replay at max speed has been transcribed, as a bar on stderr.

    Shown only for a source that is not live (``--speed max``), whose length is known (a
    file, not stdin), when stderr is a terminal and the captions do not go to it too (there
    they show the progress themselves, and a data format stays clean). The position is the end
    of the last window the worker started, caption or drop: the audio the capture thread has
    read runs up to a ring buffer and a window queue ahead of that.

    Args:
        opened: the session's :class:`SourceOpened`.
        stream: where to draw (stderr).
        captions_here: the captions are written on the terminal (stdout, no ``--output``):
            no bar.
    """

    def __init__(self, opened: SourceOpened, stream=None, captions_here: bool = False) -> None:
        stream = sys.stderr if stream is None else stream
        self.bar: tqdm | None = None
        if opened.live or not opened.duration_s or captions_here:
            return
        self.bar = StderrBar(total=round(opened.duration_s, 1), desc="transcribing", unit="s",
                             file=stream, bar_format="{desc}: {percentage:3.0f}%|{bar}| "
                             "{n:.0f}/{total:.0f} s [{elapsed}<{remaining}, {rate_fmt}]")
        if self.bar.disable:
            self.bar = None
        self.done_s = 0.0

    def update(self, event: object) -> None:
        """Move the bar on from an engine event (others are ignored)."""
        if self.bar is None:
            return
        end = replay_end_s(event, float(self.bar.total))
        if end is not None and end > self.done_s:
            self.bar.update(round(end - self.done_s, 3))
            self.done_s = end

    def close(self) -> None:
        """Remove the bar."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None
