"""The open utterance's foreground level: tells the talker's frames from background talk.

Background talk is speech to every detector (Silero holds it at 0.35 or more), so level tells
the talker from the talk: a Silero frame more than ``background_db`` under the 90th percentile
of the levels of the utterance's Silero frames so far is someone else's. The level is the
utterance's own, so a quiet talker is measured against themself and no absolute level enters
(docs/benchmarks.md, "Background talk: the foreground level"). Used by
:class:`~streamer.segmentation.segmenter.Segmenter`.
"""

from __future__ import annotations

import bisect
from collections import deque

#: the percentile of the utterance's Silero frames' levels that is its foreground level
FOREGROUND_PERCENTILE = 90


class ForegroundLevel:
    """The levels of the open utterance's Silero frames, sorted, bounded to its last
    ``max_frames`` (an utterance cut at its cap goes on: its foreground is its last window's
    worth), and what they make of a new frame.

    Args:
        background_db: how far under the foreground level a frame is background, dB (> 0).
        max_frames: the most levels kept (the frames of ``max_utterance_s``).
    """

    def __init__(self, background_db: float, max_frames: int) -> None:
        self.background_db = background_db
        self._sorted: list[float] = []
        self._recent: deque[float] = deque(maxlen=max_frames)

    def __len__(self) -> int:
        return len(self._sorted)

    def keep(self, level_dbfs: float) -> None:
        """Count a Silero frame's level (dBFS) towards the foreground (the oldest of a full
        window's worth let go): O(n) in the levels kept, off the audio callback."""
        if len(self._recent) == self._recent.maxlen:
            del self._sorted[bisect.bisect_left(self._sorted, self._recent[0])]
        self._recent.append(level_dbfs)
        bisect.insort(self._sorted, level_dbfs)

    def is_foreground(self, level_dbfs: float) -> bool:
        """True when a Silero frame at ``level_dbfs`` is the talker's: at most
        ``background_db`` under the foreground level (any frame is, before there are any)."""
        if not self._sorted:
            return True
        loud = self._sorted[int(FOREGROUND_PERCENTILE / 100 * (len(self._sorted) - 1))]
        return level_dbfs >= loud - self.background_db

    def clear(self) -> None:
        """Forget the utterance (it ended)."""
        self._sorted.clear()
        self._recent.clear()
