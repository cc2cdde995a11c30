"""Audio at the pipeline's boundaries: constants, sample conversion, incremental file decoding.

Inside the pipeline audio is 16 kHz mono. The ring buffer and webrtcvad carry ``int16`` PCM;
Whisper takes ``float32`` in [-1, 1]. Decoding uses PyAV (the library faster-whisper decodes
with) and is incremental, so a four-hour file starts at once and uses constant memory; stdin
(``-``) is read the same way, as a stream, in any container PyAV reads or as raw PCM. A file
may also be bytes in memory (a server's upload): PyAV reads it from there, and no path a client
chose ever reaches the file system.
"""

from __future__ import annotations

import io
import os
import re
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


#: the input name that means stdin (``--file -``)
STDIN = "-"
#: what :func:`decode_blocks` reads: a path, :data:`STDIN`, or a file's bytes in memory
#: (``bytes``, a binary file object such as ``io.BytesIO``)
AudioInput = str | os.PathLike | bytes | BinaryIO
#: FFmpeg's raw PCM demuxers: no header, so their rate and channels must be given
RAW_PCM = re.compile(r"^(?:[suf](?:8|16|24|32|64)(?:le|be)?|alaw|mulaw|vidc)$")


def raw_options(input_format: str | None, rate_hz: int | None,
                channels: int | None) -> dict[str, str]:
    """FFmpeg demuxer options for raw PCM (``sample_rate``, ``ch_layout``); none for a format
    with a header or for probing (``input_format`` None).

    Args:
        input_format: FFmpeg's name of the format (``s16le``, ``f32le``...), or None.
        rate_hz: the raw data's sample rate (None: 16000, the pipeline's).
        channels: its interleaved channels (None: 1).
    """
    if input_format is None or not RAW_PCM.match(input_format):
        return {}
    n = channels or 1
    layout = {1: "mono", 2: "stereo"}.get(n, f"{n}c")
    return {"sample_rate": str(rate_hz or SAMPLE_RATE), "ch_layout": layout}


def _open(source: AudioInput, input_format: str | None = None,
          options: dict[str, str] | None = None, stdin_fd: int = 0):
    """Open ``source`` (a path, stdin for :data:`STDIN`, or bytes in memory) with PyAV; return
    ``(container, label for messages)``.

    Raises:
        InputError: missing, empty or unreadable (66/65), unknown format (2), not audio (65).
    """
    import av  # PyAV ships with faster-whisper

    if isinstance(source, (bytes, bytearray, memoryview)):
        source = io.BytesIO(source)
    if hasattr(source, "read"):  # in memory: nothing touches the file system
        name = getattr(source, "name", None) or "the uploaded audio"
        if source.seek(0, io.SEEK_END) == 0:
            raise InputError(f"{name} is empty", ExitCode.DATA_ERROR)
        source.seek(0)
        target = source
    elif isinstance(source, (str, os.PathLike)) and os.fspath(source) == STDIN:
        target, name = f"pipe:{stdin_fd}", "stdin"
    else:
        p = check_readable(source)
        if p.stat().st_size == 0:
            raise InputError(f"input file is empty: {p}", ExitCode.DATA_ERROR)
        target, name = str(p), str(p)
    try:
        return av.open(target, mode="r", format=input_format, options=options or {},
                       metadata_errors="ignore"), name
    except (av.error.PermissionError, av.error.FileNotFoundError) as exc:
        raise InputError(f"cannot open {name}: {exc.strerror}") from None  # exit 66
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        if input_format and not isinstance(exc, av.error.FFmpegError):
            raise InputError(f"unknown input format {input_format!r} (FFmpeg's names: s16le, "
                             f"f32le, wav, mp3...)", ExitCode.USAGE) from None
        if name == "stdin":
            raise InputError(f"cannot read audio from stdin ({exc.__class__.__name__}): empty, "
                             "not audio, or a container that needs seeking (mp4); raw PCM "
                             "needs --input-format", ExitCode.DATA_ERROR) from None
        raise InputError(f"not a readable audio file: {name} ({exc.__class__.__name__})",
                         ExitCode.DATA_ERROR) from None


def duration_s(source: AudioInput, input_format: str | None = None) -> float | None:
    """The duration a file's container declares, seconds (None: stdin, raw data, or a container
    that declares none, as a WAV being written may not). A cheap check before decoding (it
    opens the file once more); the decode itself is the truth.

    Raises:
        InputError: as :func:`decode_blocks` (not audio: exit 65).
    """
    if (isinstance(source, (str, os.PathLike)) and os.fspath(source) == STDIN) or (input_format and RAW_PCM.match(input_format)):
        return None
    container, name = _open(source, input_format)
    with container:
        if not container.streams.audio:
            raise InputError(f"no audio stream in {name}", ExitCode.DATA_ERROR)
        if container.duration is not None:
            return container.duration / 1_000_000  # AV_TIME_BASE: microseconds
        stream = container.streams.audio[0]
        if stream.duration is not None and stream.time_base is not None:
            return float(stream.duration * stream.time_base)
    return None


def decode_blocks(path: AudioInput, block_samples: int, *,
                  input_format: str | None = None, rate_hz: int | None = None,
                  channels: int | None = None, stdin_fd: int = 0) -> Iterator[np.ndarray]:
    """Decode any input PyAV reads to 16 kHz mono, incrementally, in fixed-size blocks.

    Args:
        path: audio or video file (wav, flac, mp3, m4a, ogg, mp4, mkv, ...), or its bytes in
            memory; the first audio stream is used. :data:`STDIN` (``"-"``) reads ``stdin_fd`` as a stream (FFmpeg's
            ``pipe:`` protocol): never seeked, so any container that can be read front to
            back works (wav, flac, mp3, ogg, mkv/webm, fragmented mp4; not an mp4 whose index
            is at its end).
        block_samples: samples per yielded block (e.g. 320 for 20 ms); the last may be shorter.
        input_format: FFmpeg's format name (``s16le``, ``wav``...), None to probe the data.
        rate_hz, channels: raw PCM only (:func:`raw_options`): its rate (None: 16000) and
            interleaved channels (None: 1).
        stdin_fd: the file descriptor :data:`STDIN` means (0, or a copy of it).

    Yields:
        ``int16 [block_samples]`` PCM blocks at 16 kHz mono, in stream order.

    Raises:
        InputError: missing/unreadable file (exit 66); an empty file or stdin, no audio stream
            or undecodable data (exit 65); an unknown ``input_format`` (exit 2). Raised at the
            first ``next()``, not at the call. Data that stops decoding part-way (a truncated
            or corrupt file) raises after the blocks decoded before it, with the stream time
            where decoding stopped.
    """
    import av  # PyAV ships with faster-whisper

    container, p = _open(path, input_format, raw_options(input_format, rate_hz, channels),
                         stdin_fd)
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
        if done == 0 and pending.size == 0 and p == "stdin":
            raise InputError("no audio data on stdin", ExitCode.DATA_ERROR)
        for start in range(0, pending.size, block_samples):
            yield pending[start:start + block_samples].copy()
