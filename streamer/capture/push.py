"""A live source fed by its caller: a network client's audio frames (``livescribe serve``).

The caller (a WebSocket handler) pushes PCM as it arrives; each push is converted to 16 kHz
mono ``int16`` (resampled with soxr when the client sends another rate, e.g. the 24 kHz of
the OpenAI Realtime API) and written to the ring buffer without blocking, exactly as the
microphone callback does: a full ring refuses the block and counts an overrun. The wall moment
of each push is its capture time, so a caption's latency counts from when the server received
the end of the speech. The caller's thread pushes; :meth:`PushSource.stop` (the session's end, a
server's shutdown) may come from another thread, so pushing, flushing and ending hold one lock:
the resampler never runs on two threads at once, nothing is written after the end, and the ring
keeps one producer at a time.
"""

from __future__ import annotations

import threading
import time

import numpy as np

from streamer.capture.audio import SAMPLE_RATE
from streamer.capture.ringbuffer import RingBuffer
from streamer.errors import LimitError, LivescribeError

#: silence :meth:`PushSource.flush` appends, seconds: more than ``vad.end_silence_ms`` (600)
SILENCE_FLUSH_S = 0.75


class PushSource:
    """Little-endian signed 16-bit mono PCM pushed by the caller, as a live source.

    Args:
        ring: the buffer to fill; closed by :meth:`end`.
        rate_hz: the pushed audio's sample rate; anything but 16000 is resampled with soxr
            (``soxr.ResampleStream``, quality HQ).
        description: what :class:`~streamer.events.SourceOpened` says, e.g. ``"stream from
            127.0.0.1:51234"`` (what :class:`~streamer.serving.ServingEngine` passes).
        max_s: most audio accepted, seconds; the push past it raises :class:`LimitError`.

    Attributes:
        received_s: seconds of audio received (at 16 kHz), refused blocks included.
    """

    live = True  #: paced by the client's clock
    start_before_model = False

    def __init__(self, ring: RingBuffer, rate_hz: int = SAMPLE_RATE,
                 description: str = "pushed audio", max_s: float | None = None) -> None:
        if rate_hz <= 0:
            raise ValueError("rate_hz must be > 0")
        self.ring = ring
        self.rate_hz = rate_hz
        self.description = description
        self.max_s = max_s
        self.error: LivescribeError | None = None
        self._resampler = None
        if rate_hz != SAMPLE_RATE:
            import soxr

            self._resampler = soxr.ResampleStream(rate_hz, SAMPLE_RATE, 1, dtype="int16",
                                                  quality="HQ")
        self._odd = b""  # a byte left over from a push of odd length
        self._samples = 0
        self._ended = threading.Event()
        self._lock = threading.Lock()  # push, flush and end: one at a time

    @property
    def received_s(self) -> float:
        """Seconds of 16 kHz audio received so far."""
        return self._samples / SAMPLE_RATE

    def push(self, data: bytes) -> bool:
        """Write ``data`` (s16le mono at ``rate_hz``, any number of bytes; an odd byte waits
        for the next push) to the ring buffer, as 16 kHz ``int16``.

        Returns:
            False if the ring buffer had no room (the block is counted as an overrun) or the
            stream has ended.

        Raises:
            LimitError: the stream is past ``max_s``.
        """
        with self._lock:
            if self._ended.is_set():
                return False
            data = self._odd + bytes(data)
            cut = len(data) - len(data) % 2
            self._odd = data[cut:]
            pcm = np.frombuffer(data[:cut], dtype="<i2").astype(np.int16)
            if self._resampler is not None:
                pcm = self._resampler.resample_chunk(pcm)
            return self._write(pcm)

    def _write(self, pcm: np.ndarray) -> bool:
        """(Lock held.) Count ``pcm`` (int16 at 16 kHz) against ``max_s`` and write it."""
        if pcm.size == 0:
            return True
        if self.max_s is not None and (self._samples + pcm.size) / SAMPLE_RATE > self.max_s:
            self.error = LimitError(f"the stream is longer than the limit of {self.max_s:g} s")
            raise self.error
        self._samples += pcm.size
        return self.ring.write(pcm, time.monotonic())

    def flush(self) -> None:
        """End the open utterance now (the client says its speech is complete): push
        :data:`SILENCE_FLUSH_S` of digital silence, which the segmenter hears as a pause."""
        with self._lock:
            if not self._ended.is_set():
                self._write(np.zeros(int(SILENCE_FLUSH_S * SAMPLE_RATE), np.int16))

    def end(self) -> None:
        """No more audio: what the resampler holds is written, then the ring is closed (the
        session transcribes what it has and ends)."""
        with self._lock:
            if self._ended.is_set():
                return
            if self._resampler is not None:
                try:
                    self._write(self._resampler.resample_chunk(np.zeros(0, np.int16),
                                                               last=True))
                except LimitError:
                    pass
            self._ended.set()
            self.ring.close()

    # -- the Source protocol of the pipeline ------------------------------------------------
    def start(self) -> None:
        """Nothing to start: the caller pushes."""

    def stop(self) -> None:
        """Stop capturing: same as :meth:`end`."""
        self.end()

    def pause(self, paused: bool) -> None:
        """Not supported by a pushed stream (the client paces it); ignored."""

    def join(self, timeout: float | None = None) -> None:
        """Nothing to join: no thread of its own."""
