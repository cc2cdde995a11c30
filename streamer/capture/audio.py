"""Audio at the pipeline's boundaries: constants, sample conversion, incremental file decoding.

Inside the pipeline audio is 16 kHz mono. The ring buffer and webrtcvad carry ``int16`` PCM;
Whisper takes ``float32`` in [-1, 1]. Decoding uses PyAV (the library faster-whisper decodes
with) and is incremental, so a four-hour file starts at once and uses constant memory.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

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


def decode_blocks(path: str | os.PathLike, block_samples: int) -> Iterator[np.ndarray]:
    """Decode any file PyAV reads to 16 kHz mono, incrementally, in fixed-size blocks.

    Args:
        path: audio or video file (wav, flac, mp3, m4a, ogg, mp4, mkv, ...); the first audio
            stream is used.
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

    p = check_readable(path)
    if p.stat().st_size == 0:
        raise InputError(f"input file is empty: {p}", ExitCode.DATA_ERROR)
    try:
        container = av.open(str(p), mode="r", metadata_errors="ignore")
    except (av.error.PermissionError, av.error.FileNotFoundError) as exc:
        raise InputError(f"cannot open {p}: {exc.strerror}") from None  # exit 66
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"not a readable audio file: {p} ({exc.__class__.__name__})",
                         ExitCode.DATA_ERROR) from None
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
