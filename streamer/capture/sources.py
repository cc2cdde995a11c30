"""Audio sources: threads (or callbacks) that feed the ring buffer.

:class:`FileSource` replays a recording as if it were a microphone: it decodes incrementally
and writes 20 ms blocks paced at real time (or ``speed`` times faster, or as fast as the
consumer reads). Given ``-`` it reads stdin the same way, as a stream: never seeked, so it
cannot repeat and its length is unknown; paced like a file, it is a live-like source at real
time and a blocking producer at max speed (what the writer of the pipe sends waits in the
pipe meanwhile). The file may also be bytes in memory (a server's upload). Audio pushed by a
caller (a server's live stream) is :mod:`streamer.capture.push`; the microphone,
:mod:`streamer.capture.mic`.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from itertools import chain
from pathlib import Path

from streamer.capture.audio import SAMPLE_RATE, STDIN, check_readable, decode_blocks, duration_s
from streamer.errors import ExitCode, LimitError, LivescribeError
from streamer.capture.ringbuffer import RingBuffer

logger = logging.getLogger(__name__)

BLOCK_MS = 20  #: replay block length, like a PortAudio callback of 320 frames


class FileSource:
    """Replay a file into a :class:`RingBuffer` from a capture thread.

    Args:
        path: any file PyAV decodes, its bytes in memory, or ``"-"``
            (:data:`~streamer.capture.audio.STDIN`) for stdin.
        ring: the buffer to fill; closed when the file ends or :meth:`stop` is called.
        speed: playback rate relative to real time (1.0 = live); ``math.inf`` means as fast as
            the consumer reads (blocking writes, no overruns).
        block_ms: block length in milliseconds.
        repeat: play the file this many times back to back (>= 1), stream time running on;
            for long-session tests (``scripts/soak.py``). Each pass decodes the file again.
        input_format, rate_hz, channels: the input's format as FFmpeg names it (None: probe)
            and, for raw PCM, its rate and channels (:func:`~streamer.capture.audio.decode_blocks`).
        stdin_fd: the file descriptor ``"-"`` reads (0; a front end that gives the terminal
            to a UI passes a copy of stdin).
        max_s: stop after this much audio, seconds, with a :class:`LimitError` in
            :attr:`error` (a server's limit); None: no limit.
        name: what to call bytes in memory in messages (a client's file name: only a label).

    Raises:
        InputError: at construction, for a missing, unreadable or undecodable file.
        ValueError: ``speed`` not > 0, ``repeat`` < 1, or a repeat of stdin.

    Attributes:
        duration_s: seconds of audio in the file when its container says (None for stdin).

    A decoding error later in the file is kept in :attr:`error` and reported by the pipeline.
    """

    def __init__(self, path: str | Path, ring: RingBuffer, speed: float = 1.0,
                 block_ms: int = BLOCK_MS, repeat: int = 1, *, input_format: str | None = None,
                 rate_hz: int | None = None, channels: int | None = None,
                 stdin_fd: int = 0, max_s: float | None = None,
                 name: str | None = None) -> None:
        if not speed > 0:
            raise ValueError("speed must be > 0")
        if repeat < 1:
            raise ValueError("repeat must be >= 1")
        memory = isinstance(path, (bytes, bytearray, memoryview))
        stdin = not memory and str(path) == STDIN
        if stdin and repeat > 1:
            raise ValueError("stdin cannot be replayed more than once")
        self.repeat = repeat
        self.path = None if memory else Path(STDIN) if stdin else check_readable(path)
        self._input = bytes(path) if memory else self.path
        self.max_s = max_s
        self.ring = ring
        self.speed = speed
        self.live = math.isfinite(speed)  #: paced by the replay clock, not by the worker
        self.block_samples = SAMPLE_RATE * block_ms // 1000
        self._decode = dict(input_format=input_format, rate_hz=rate_hz, channels=channels,
                            stdin_fd=stdin_fd)
        self.duration_s = None if stdin or input_format else duration_s(self._input)
        if self.duration_s is not None:
            self.duration_s *= repeat
        # open and decode the first block now, so a bad file fails before the model loads
        self._blocks = decode_blocks(self._input, self.block_samples, **self._decode)
        self._first = next(self._blocks, None)
        self.error: LivescribeError | None = None
        self.started_wall: float | None = None  #: monotonic time stream time 0 was "heard"
        self._stop = threading.Event()
        self._paused = threading.Event()
        self._thread = threading.Thread(target=self._run, name="capture-file", daemon=True)
        self.description = ("stdin" if stdin else f"upload {name or 'audio'}" if memory
                            else f"file {self.path.name}")
        if input_format:
            self.description += f" ({input_format})"

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
                    decode_blocks(self._input, self.block_samples, **self._decode)
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
