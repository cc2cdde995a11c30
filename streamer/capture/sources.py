"""Audio sources: threads (or callbacks) that feed the ring buffer.

:class:`FileSource` replays a recording as if it were a microphone: it decodes incrementally
and writes 20 ms blocks paced at real time (or ``speed`` times faster, or as fast as the
consumer reads); the file may be bytes in memory (a server's upload). Audio pushed by a caller
(a server's live stream) is :mod:`streamer.capture.push`; the microphone,
:mod:`streamer.capture.mic`.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from itertools import chain
from pathlib import Path

from streamer.capture.audio import SAMPLE_RATE, check_readable, decode_blocks
from streamer.errors import ExitCode, LimitError, LivescribeError
from streamer.capture.ringbuffer import RingBuffer

logger = logging.getLogger(__name__)

BLOCK_MS = 20  #: replay block length, like a PortAudio callback of 320 frames


class FileSource:
    """Replay a file into a :class:`RingBuffer` from a capture thread.

    Args:
        path: any file PyAV decodes, or its bytes in memory.
        ring: the buffer to fill; closed when the file ends or :meth:`stop` is called.
        speed: playback rate relative to real time (1.0 = live); ``math.inf`` means as fast as
            the consumer reads (blocking writes, no overruns).
        block_ms: block length in milliseconds.
        repeat: play the file this many times back to back (>= 1), stream time running on;
            for long-session tests (``scripts/soak.py``). Each pass decodes the file again.
        max_s: stop after this much audio, seconds, with a :class:`LimitError` in
            :attr:`error` (a server's limit); None: no limit.
        name: what to call bytes in memory in messages (a client's file name: only a label).

    Raises:
        InputError: at construction, for a missing, unreadable or undecodable file.

    A decoding error later in the file is kept in :attr:`error` and reported by the pipeline.
    """

    def __init__(self, path: str | Path, ring: RingBuffer, speed: float = 1.0,
                 block_ms: int = BLOCK_MS, repeat: int = 1, max_s: float | None = None,
                 name: str | None = None) -> None:
        if not speed > 0:
            raise ValueError("speed must be > 0")
        if repeat < 1:
            raise ValueError("repeat must be >= 1")
        self.repeat = repeat
        memory = isinstance(path, (bytes, bytearray, memoryview))
        self.path = None if memory else check_readable(path)
        self._input = bytes(path) if memory else self.path
        self.max_s = max_s
        self.ring = ring
        self.speed = speed
        self.live = math.isfinite(speed)  #: paced by the replay clock, not by the worker
        self.block_samples = SAMPLE_RATE * block_ms // 1000
        # open and decode the first block now, so a bad file fails before the model loads
        self._blocks = decode_blocks(self._input, self.block_samples)
        self._first = next(self._blocks, None)
        self.error: LivescribeError | None = None
        self.started_wall: float | None = None  #: monotonic time stream time 0 was "heard"
        self._stop = threading.Event()
        self._paused = threading.Event()
        self._thread = threading.Thread(target=self._run, name="capture-file", daemon=True)
        self.description = f"upload {name or 'audio'}" if memory else f"file {self.path.name}"

    def start(self) -> None:
        """Start the capture thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop capturing; the ring buffer is closed so the consumer drains and ends."""
        self._stop.set()

    def pause(self, paused: bool) -> None:
        """Pause or resume the replay (the clock stops with it)."""
        if paused:
            self._paused.set()
        else:
            self._paused.clear()

    def join(self, timeout: float | None = None) -> None:
        """Wait for the capture thread to end (at once if it never started: a session
        stopped while its model was loading)."""
        if self._thread.ident is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        realtime = math.isfinite(self.speed)
        written = 0
        t0 = self.started_wall = time.monotonic()
        paused_total = 0.0
        try:
            blocks = self._blocks if self._first is None else chain([self._first], self._blocks)
            if self.repeat > 1:  # decode_blocks opens the file at its first next()
                blocks = chain(blocks, chain.from_iterable(
                    decode_blocks(self._input, self.block_samples)
                    for _ in range(self.repeat - 1)))
            limit = None if self.max_s is None else int(self.max_s * SAMPLE_RATE)
            for block in blocks:
                if self._stop.is_set():
                    break
                if self._paused.is_set():
                    p0 = time.monotonic()
                    while self._paused.is_set() and not self._stop.is_set():
                        time.sleep(0.02)
                    paused_total += time.monotonic() - p0
                written += block.shape[0]
                if limit is not None and written > limit:
                    raise LimitError(f"the audio is longer than the limit of {self.max_s:g} s")
                if realtime:
                    # the block's last sample "is heard" at this moment of the replay clock
                    due = t0 + paused_total + written / SAMPLE_RATE / self.speed
                    delay = due - time.monotonic()
                    if delay > 0:
                        self._stop.wait(delay)
                    self.ring.write(block, time.monotonic())
                else:
                    if not self.ring.write_wait(block, time.monotonic(), stop=self._stop):
                        break
        except LivescribeError as exc:
            self.error = exc
        except Exception as exc:  # pragma: no cover - unexpected decoder failure
            logger.exception("file source failed")
            self.error = LivescribeError(f"capture failed: {exc}", ExitCode.SOFTWARE)
        finally:
            self.ring.close()
