"""Audio at the pipeline's boundaries: constants, sample conversion, incremental file decoding.

Inside the pipeline audio is 16 kHz mono. The ring buffer and webrtcvad carry ``int16`` PCM;
Whisper takes ``float32`` in [-1, 1]. Decoding uses PyAV (the library faster-whisper decodes
with) and is incremental, so a four-hour file starts at once and uses constant memory. A file
may also be bytes in memory (a server's upload): PyAV reads it from there, and no path a client
chose ever reaches the file system.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np

from streamer.errors import ExitCode, InputError

SAMPLE_RATE = 16_000  #: Hz, Whisper's and webrtcvad's common rate
INT16_SCALE = 32_768.0  #: full scale of int16 PCM


def int16_to_float32(samples: np.ndarray) -> np.ndarray:
    """Convert PCM ``int16 [n]`` to ``float32 [n]`` in [-1, 1)."""
    return samples.astype(np.float32) / INT16_SCALE


def float32_to_int16(samples: np.ndarray) -> np.ndarray:
    """Convert ``float32 [n]`` in [-1, 1] to PCM ``int16 [n]``, clipping out-of-range values."""
    return np.clip(np.round(samples * INT16_SCALE), -INT16_SCALE, INT16_SCALE - 1).astype(np.int16)


def check_readable(path: str | os.PathLike) -> Path:
    """Return ``path`` as a Path if it is a readable regular file.

    Raises:
        InputError: missing, a directory, or not readable (exit code 66).
    """
    p = Path(path)
    if not p.exists():
        raise InputError(f"input file not found: {p}")
    if p.is_dir():
        raise InputError(f"input is a directory, not an audio file: {p}")
    if not os.access(p, os.R_OK):
        raise InputError(f"input file is not readable (permission denied): {p}")
    return p


#: what :func:`decode_blocks` reads: a path, or a file's bytes in memory (``bytes``, a binary
#: file object such as ``io.BytesIO``)
AudioInput = str | os.PathLike | bytes | BinaryIO


def _open(source: AudioInput):
    """``(PyAV container, label for messages)`` for a path or bytes in memory.

    Raises:
        InputError: as :func:`decode_blocks`.
    """
    import av  # PyAV ships with faster-whisper

    if isinstance(source, (bytes, bytearray, memoryview)):
        source = io.BytesIO(source)
    if hasattr(source, "read"):  # in memory: nothing touches the file system
        label = getattr(source, "name", None) or "the uploaded audio"
        if source.seek(0, io.SEEK_END) == 0:
            raise InputError(f"{label} is empty", ExitCode.DATA_ERROR)
        source.seek(0)
        target = source
    else:
        p = check_readable(source)
        if p.stat().st_size == 0:
            raise InputError(f"input file is empty: {p}", ExitCode.DATA_ERROR)
        label, target = str(p), str(p)
    try:
        return av.open(target, mode="r", metadata_errors="ignore"), label
    except (av.error.PermissionError, av.error.FileNotFoundError) as exc:
        raise InputError(f"cannot open {label}: {exc.strerror}") from None  # exit 66
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"not a readable audio file: {label} ({exc.__class__.__name__})",
                         ExitCode.DATA_ERROR) from None


def duration_s(source: AudioInput) -> float | None:
    """The duration a file's container declares, seconds (None: it declares none, as a raw
    stream or a WAV being written may not). A cheap check before decoding; the decode itself
    is the truth.

    Raises:
        InputError: as :func:`decode_blocks` (not audio: exit 65).
    """
    container, label = _open(source)
    with container:
        if not container.streams.audio:
            raise InputError(f"no audio stream in {label}", ExitCode.DATA_ERROR)
        if container.duration is not None:
            return container.duration / 1_000_000  # AV_TIME_BASE: microseconds
        stream = container.streams.audio[0]
        if stream.duration is not None and stream.time_base is not None:
            return float(stream.duration * stream.time_base)
    return None


def decode_blocks(path: AudioInput, block_samples: int) -> Iterator[np.ndarray]:
    """Decode any file PyAV reads to 16 kHz mono, incrementally, in fixed-size blocks.

    Args:
        path: audio or video file (wav, flac, mp3, m4a, ogg, mp4, mkv, ...), or its bytes in
            memory; the first audio stream is used.
        block_samples: samples per yielded block (e.g. 320 for 20 ms); the last may be shorter.

    Yields:
        ``int16 [block_samples]`` PCM blocks at 16 kHz mono, in stream order.

    Raises:
        InputError: missing/unreadable file (exit 66); an empty file, no audio stream or
            undecodable data (exit 65). Raised at the first ``next()``, not at the call. Data
            that stops decoding part-way (a truncated or corrupt file) raises after the blocks
            decoded before it, with the stream time where decoding stopped.
    """
    import av  # PyAV ships with faster-whisper

    container, p = _open(path)
    with container:
        streams = container.streams.audio
        if not streams:
            raise InputError(f"no audio stream in {p}", ExitCode.DATA_ERROR)
        resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
        pending = np.empty(0, dtype=np.int16)
        done = 0  # samples yielded
        try:
            for frame in container.decode(streams[0]):
                for out in resampler.resample(frame):
                    pending = np.concatenate([pending, out.to_ndarray().reshape(-1)])
                    while pending.size >= block_samples:
                        yield pending[:block_samples].copy()
                        done += block_samples
                        pending = pending[block_samples:]
            for out in resampler.resample(None):  # flush the resampler
                pending = np.concatenate([pending, out.to_ndarray().reshape(-1)])
        except av.error.FFmpegError as exc:
            at = (done + pending.size) / SAMPLE_RATE
            raise InputError(f"cannot decode {p} after {at:.2f} s of audio: truncated or "
                             f"corrupt data ({exc.strerror or exc.__class__.__name__})",
                             ExitCode.DATA_ERROR) from None
        for start in range(0, pending.size, block_samples):
            yield pending[start:start + block_samples].copy()
