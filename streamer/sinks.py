"""Caption sinks: plain text, JSON lines, SRT and WebVTT, each flushed per caption.

A sink writes to a text stream (stdout or a file): data only, no ANSI, one caption at a time.
"""

from __future__ import annotations

import json
from typing import TextIO

from streamer.events import Caption

FORMATS = ("text", "jsonl", "srt", "vtt")


def _timestamp(seconds: float, sep: str) -> str:
    ms = int(round(max(0.0, seconds) * 1000))
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


class Sink:
    """Base sink: ``write`` one caption, ``close`` at the end. Flushes after every caption."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.count = 0

    def write(self, caption: Caption) -> None:
        """Write one caption and flush."""
        self.stream.write(self.format(caption))
        self.stream.flush()
        self.count += 1

    def format(self, caption: Caption) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def close(self) -> None:
        """Flush (the stream itself is closed by its owner)."""
        self.stream.flush()


class TextSink(Sink):
    """One caption per line."""

    def format(self, caption: Caption) -> str:
        return caption.text + "\n"


class JsonlSink(Sink):
    """One JSON object per line with the fields of :meth:`Caption.to_dict`."""

    def format(self, caption: Caption) -> str:
        return json.dumps(caption.to_dict(), ensure_ascii=False) + "\n"


class SrtSink(Sink):
    """SubRip cues numbered from 1, times in stream seconds."""

    def format(self, caption: Caption) -> str:
        return (f"{self.count + 1}\n{_timestamp(caption.start_s, ',')} --> "
                f"{_timestamp(caption.end_s, ',')}\n{caption.text}\n\n")


class VttSink(Sink):
    """WebVTT cues; the ``WEBVTT`` header is written at once."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__(stream)
        self.stream.write("WEBVTT\n\n")
        self.stream.flush()

    def format(self, caption: Caption) -> str:
        return (f"{_timestamp(caption.start_s, '.')} --> {_timestamp(caption.end_s, '.')}\n"
                f"{caption.text}\n\n")


def make_sink(fmt: str, stream: TextIO) -> Sink:
    """Build the sink for ``fmt`` (one of :data:`FORMATS`).

    Raises:
        ValueError: unknown format.
    """
    try:
        cls = {"text": TextSink, "jsonl": JsonlSink, "srt": SrtSink, "vtt": VttSink}[fmt]
    except KeyError:
        raise ValueError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}") from None
    return cls(stream)
