"""``--record``: save the audio the pipeline heard, for later re-transcription.

:class:`Recorder` takes ``int16`` PCM at 16 kHz mono and encodes it with PyAV (the FFmpeg
binding faster-whisper already depends on) to FLAC or WAV, chosen by the file's suffix.

Where it runs, and why there: the pipeline calls :meth:`Recorder.write` from its segmenter
thread, on each frame it has just read from the ring buffer -- never from the capture thread
or the PortAudio callback. The ring buffer (30 s) already decouples capture from that thread,
so a slow disk delays segmentation, not capture; only a stall longer than the ring buffer
would cost audio, and that is counted as an overrun like any other. A second thread with its
own bounded queue would add a hand-off and a drop policy without removing that bound. Encoding
is cheap next to decoding (FLAC at 16 kHz mono runs hundreds of times faster than real time),
and frames are batched (:data:`CHUNK_S`) so PyAV is called a few times a second.

What is recorded is exactly the audio that reached the segmenter: its sample ``i`` is at
stream time ``i / 16000`` s, the clock of the captions. Blocks lost to ring-buffer overruns
are not in it (and are not in stream time either); less than one VAD frame at the very end
of a session is not read by the segmenter and not recorded.
"""

from __future__ import annotations

import logging
import os
from fractions import Fraction
from pathlib import Path

import numpy as np

from streamer.capture.audio import SAMPLE_RATE
from streamer.errors import ExitCode, LivescribeError

logger = logging.getLogger(__name__)

#: suffix -> (PyAV codec, container format)
CODECS = {".flac": ("flac", "flac"), ".wav": ("pcm_s16le", "wav")}
CHUNK_S = 0.5  #: seconds of audio gathered before each encode call


class Recorder:
    """Encode 16 kHz mono ``int16`` PCM to a FLAC or WAV file as it arrives.

    Args:
        path: output file; ``.flac`` or ``.wav`` (case-insensitive). Overwritten if it exists.

    Raises:
        LivescribeError: at construction: another suffix (exit 2), or the file cannot be
            created (exit 73, ``ExitCode.CANT_CREATE``, like ``--output``).

    Not thread-safe: one thread writes, then closes. A write failure later (disk full,
    device gone) is logged once as a warning, kept in :attr:`error`, and the recording stops;
    it never raises into the pipeline, which ends the session with exit 74
    (``ExitCode.IO_ERROR``) once every caption is out. FLAC survives a kill best: whatever reached the disk
    decodes (all but the last second or so; the header's length field stays 0); a killed WAV
    keeps a header that claims no data.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        import av  # PyAV ships with faster-whisper

        self.path = Path(path)
        try:
            codec, fmt = CODECS[self.path.suffix.lower()]
        except KeyError:
            raise LivescribeError(f"--record: cannot tell the format of {self.path}: use a "
                                  f".flac or .wav file name", ExitCode.USAGE) from None
        try:  # opened here, not lazily at the first packet: a bad path fails at start
            self._file = open(self.path, "wb")
            self._container = av.open(self._file, mode="w", format=fmt)
        except (OSError, av.error.FFmpegError) as exc:
            reason = getattr(exc, "strerror", None) or exc.__class__.__name__
            raise LivescribeError(f"cannot write {self.path}: {reason}",
                                  ExitCode.CANT_CREATE) from None
        self._stream = self._container.add_stream(codec, rate=SAMPLE_RATE)
        self._stream.layout = "mono"
        self._stream.format = "s16"
        self._stream.time_base = Fraction(1, SAMPLE_RATE)
        self._pending: list[np.ndarray] = []
        self._pending_n = 0
        self._chunk = int(CHUNK_S * SAMPLE_RATE)
        self.samples = 0  #: samples handed to the encoder so far
        self.error: Exception | None = None
        self.closed = False

    @property
    def duration_s(self) -> float:
        """Seconds of audio recorded so far (encoded or waiting in the batch)."""
        return (self.samples + self._pending_n) / SAMPLE_RATE

    def write(self, samples: np.ndarray) -> None:
        """Append ``int16 [n]`` samples at 16 kHz mono (a copy is kept; the caller may reuse
        its buffer). Does nothing after a failure or :meth:`close`."""
        if self.closed or self.error is not None:
            return
        if samples.dtype != np.int16 or samples.ndim != 1:
            raise ValueError(f"expected int16 [n], got {samples.dtype} {samples.shape}")
        self._pending.append(samples.copy())
        self._pending_n += samples.shape[0]
        if self._pending_n >= self._chunk:
            self._encode_pending()

    def close(self) -> None:
        """Encode what is batched, flush the encoder and finish the file (idempotent)."""
        if self.closed:
            return
        self.closed = True
        import av

        try:
            if self.error is None:
                self._encode_pending()
            if self.error is None:
                for packet in self._stream.encode(None):
                    self._container.mux(packet)
        except (OSError, av.error.FFmpegError) as exc:
            self._fail(exc)
        try:
            self._container.close()
        except (OSError, av.error.FFmpegError) as exc:
            self._fail(exc)
        finally:
            try:
                self._file.close()
            except OSError as exc:
                self._fail(exc)
        if self.error is None:
            logger.info("recorded %.1f s of audio to %s", self.samples / SAMPLE_RATE, self.path)

    def _encode_pending(self) -> None:
        import av

        if not self._pending:
            return
        pcm = np.concatenate(self._pending)
        self._pending.clear()
        self._pending_n = 0
        frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = SAMPLE_RATE
        frame.pts = self.samples
        frame.time_base = self._stream.time_base
        try:
            for packet in self._stream.encode(frame):
                self._container.mux(packet)
        except (OSError, av.error.FFmpegError) as exc:
            self._fail(exc)
            return
        self.samples += pcm.shape[0]

    def _fail(self, exc: Exception) -> None:
        if self.error is None:
            self.error = exc
            logger.warning("recording to %s stopped after %.1f s: %s", self.path,
                           self.samples / SAMPLE_RATE, getattr(exc, "strerror", None) or exc)
