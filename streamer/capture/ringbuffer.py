"""A bounded single-producer/single-consumer ring buffer of 16 kHz int16 PCM.

The producer is the capture thread (a PortAudio callback or the file replay thread); the
consumer is the segmenter. A full buffer never overwrites unread audio: the incoming block is
refused and counted as an overrun, so a drop is never silent. Each write records the wall
moment its last sample was captured, so the consumer can tell when any sample was heard.
"""

from __future__ import annotations

import threading
import time
from collections import deque

import numpy as np

from streamer.capture.audio import SAMPLE_RATE


class RingBuffer:
    """Bounded SPSC ring buffer of ``int16`` samples with capture times.

    Args:
        capacity_s: capacity in seconds of 16 kHz audio.

    The producer calls :meth:`write` (non-blocking, for live capture) or :meth:`write_wait`
    (blocking, for replay as fast as the consumer reads) and finally :meth:`close`. The consumer
    calls :meth:`read`. The lock is held only for index updates and one copy, never while waiting.
    """

    def __init__(self, capacity_s: float = 30.0) -> None:
        self.capacity = int(capacity_s * SAMPLE_RATE)
        self._buf = np.zeros(self.capacity, dtype=np.int16)
        self._write_pos = 0  # total samples ever written
        self._read_pos = 0  # total samples ever read
        # (write_pos after a block, capture wall time of the block's last sample)
        self._marks: deque[tuple[int, float]] = deque()
        self._lock = threading.Lock()
        self._readable = threading.Event()
        self._writable = threading.Event()
        self._closed = False
        self.overruns = 0  #: writes refused because the buffer was full
        self.overrun_samples = 0  #: samples in those refused writes

    @property
    def available(self) -> int:
        """Samples written but not yet read."""
        return self._write_pos - self._read_pos

    @property
    def written_samples(self) -> int:
        """Samples accepted since the start (stream time x 16 kHz)."""
        return self._write_pos

    @property
    def closed(self) -> bool:
        """True once the producer called :meth:`close`."""
        return self._closed

    def write(self, block: np.ndarray, captured_wall: float | None = None) -> bool:
        """Append ``int16 [n]`` samples without blocking.

        Args:
            block: PCM samples, 16 kHz mono.
            captured_wall: ``time.monotonic()`` when the block's last sample was captured
                (defaults to now).

        Returns:
            True if written; False if the buffer had no room, in which case the whole block is
            dropped and counted in :attr:`overruns` / :attr:`overrun_samples`.
        """
        n = block.shape[0]
        if captured_wall is None:
            captured_wall = time.monotonic()
        with self._lock:
            if self._closed:
                return False
            if self.capacity - (self._write_pos - self._read_pos) < n:
                self.overruns += 1
                self.overrun_samples += n
                return False
            start = self._write_pos % self.capacity
            first = min(n, self.capacity - start)
            self._buf[start:start + first] = block[:first]
            if first < n:
                self._buf[:n - first] = block[first:]
            self._write_pos += n
            self._marks.append((self._write_pos, captured_wall))
        self._readable.set()
        return True

    def write_wait(self, block: np.ndarray, captured_wall: float | None = None,
                   stop: threading.Event | None = None) -> bool:
        """Append samples, waiting for room instead of dropping (replay at ``--speed max``).

        Args:
            block, captured_wall: as :meth:`write` (``int16 [n]``, 16 kHz mono; ``n`` at most
                the capacity).
            stop: give up waiting once it is set.

        Returns False only if the buffer was closed or ``stop`` was set while waiting.

        Raises:
            ValueError: the block is longer than the buffer's capacity.
        """
        n = block.shape[0]
        if n > self.capacity:
            raise ValueError(f"block of {n} samples exceeds capacity {self.capacity}")
        while True:
            with self._lock:
                room = self.capacity - (self._write_pos - self._read_pos) >= n
                self._writable.clear()
            if room or self._closed:
                break
            if stop is not None and stop.is_set():
                return False
            self._writable.wait(0.1)
        return self.write(block, captured_wall)

    def close(self) -> None:
        """Mark the end of the stream; readers drain what is left and then get None."""
        with self._lock:
            self._closed = True
        self._readable.set()

    def read(self, n: int, timeout: float | None = None) -> tuple[np.ndarray, float] | None:
        """Take exactly ``n`` samples, waiting until they are there.

        Args:
            n: samples to read (a VAD frame: 160, 320 or 480).
            timeout: seconds to wait at most; None waits until data or close.

        Returns:
            ``(int16 [n] samples, captured_wall of the last sample)``; None when the buffer is
            closed and fewer than ``n`` samples remain (the remainder is discarded: less than one
            frame), or when ``timeout`` passes first.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with self._lock:
                if self._write_pos - self._read_pos >= n:
                    break
                if self._closed:
                    return None
                self._readable.clear()
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return None
            self._readable.wait(remaining if remaining is not None else 0.5)
        with self._lock:
            start = self._read_pos % self.capacity
            first = min(n, self.capacity - start)
            out = np.empty(n, dtype=np.int16)
            out[:first] = self._buf[start:start + first]
            if first < n:
                out[first:] = self._buf[:n - first]
            self._read_pos += n
            end = self._read_pos
            while self._marks and self._marks[0][0] < end:
                self._marks.popleft()
            mark_pos, mark_wall = self._marks[0]
        self._writable.set()
        # the block holding our last sample ended (mark_pos - end) samples later
        return out, mark_wall - (mark_pos - end) / SAMPLE_RATE
