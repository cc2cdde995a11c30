"""Caption sinks: plain text, JSON lines, SRT and WebVTT, each flushed per caption (the session
transcript, fsync'd per caption, is :mod:`streamer.output.journal`).

A sink writes to a text stream (stdout or a file): data only, no ANSI, one caption at a time.
Only the text and JSONL sinks show partials, and only when built with ``partials=True``: text
rewrites one line in place with ``\r`` until the final replaces it; JSONL writes a
``"type": "partial"`` line. SRT, WebVTT and the journal hold finals only.
"""

from __future__ import annotations

import json
from typing import TextIO

from streamer.events import Caption, Partial

FORMATS = ("text", "jsonl", "srt", "vtt")


def timestamp(seconds: float, sep: str) -> str:
    """``HH:MM:SS<sep>mmm`` for ``seconds`` (negative times clamp to 0)."""
    ms = int(round(max(0.0, seconds) * 1000))
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


class Sink:
    """Base sink: ``write`` one caption, ``close`` at the end. Flushes after every caption.

    Args:
        stream: where to write.
        partials: show :class:`Partial` events (:meth:`write_partial`); sinks that hold finals
            only ignore them either way.
    """

    def __init__(self, stream: TextIO, partials: bool = False) -> None:
        self.stream = stream
        self.partials = partials
        self.count = 0

    def write_partial(self, partial: Partial) -> None:
        """Show interim text of the open utterance (finals-only sinks ignore it)."""

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
    """One caption per line; with partials, the open utterance's text on the last line,
    rewritten in place (carriage return, then spaces over what was longer; no ANSI).

    Args:
        width: columns a partial may use (its text is cut from the left to fit, so the newest
            words show); None asks the terminal (``shutil.get_terminal_size``).
    """

    def __init__(self, stream: TextIO, partials: bool = False, width: int | None = None) -> None:
        super().__init__(stream, partials)
        self.width = width
        self._shown = 0  # characters of the partial line on screen

    def write_partial(self, partial: Partial) -> None:
        """Rewrite the partial line with ``partial.text``."""
        if not self.partials:
            return
        import shutil

        width = (self.width or shutil.get_terminal_size().columns) - 1
        text = partial.text if len(partial.text) <= width else "…" + partial.text[-(width - 1):]
        self.stream.write("\r" + text + " " * max(0, self._shown - len(text)))
        self.stream.flush()
        self._shown = len(text)

    def format(self, caption: Caption) -> str:
        if self._shown:  # the final replaces the partial line
            pad, self._shown = " " * max(0, self._shown - len(caption.text)), 0
            return "\r" + caption.text + pad + "\n"
        return caption.text + "\n"

    def close(self) -> None:
        """End an unfinished partial line, then flush."""
        if self._shown:
            self.stream.write("\n")
            self._shown = 0
        super().close()


class JsonlSink(Sink):
    """One JSON object per line: a final's :meth:`Caption.to_dict` (``"type": "final"``), and
    with partials each :meth:`Partial.to_dict` (``"type": "partial"``)."""

    def write_partial(self, partial: Partial) -> None:
        """Write one ``"type": "partial"`` line."""
        if self.partials:
            self.stream.write(json.dumps(partial.to_dict(), ensure_ascii=False) + "\n")
            self.stream.flush()

    def format(self, caption: Caption) -> str:
        return json.dumps(caption.to_dict(), ensure_ascii=False) + "\n"


class SrtSink(Sink):
    """SubRip cues numbered from 1, times in stream seconds."""

    def format(self, caption: Caption) -> str:
        return (f"{self.count + 1}\n{timestamp(caption.start_s, ',')} --> "
                f"{timestamp(caption.end_s, ',')}\n{caption.text}\n\n")


class VttSink(Sink):
    """WebVTT cues; the ``WEBVTT`` header is written at once."""

    def __init__(self, stream: TextIO, partials: bool = False) -> None:
        super().__init__(stream)
        self.stream.write("WEBVTT\n\n")
        self.stream.flush()

    def format(self, caption: Caption) -> str:
        return (f"{timestamp(caption.start_s, '.')} --> {timestamp(caption.end_s, '.')}\n"
                f"{caption.text}\n\n")


def make_sink(fmt: str, stream: TextIO, partials: bool = False) -> Sink:
    """Build the sink for ``fmt`` (one of :data:`FORMATS`); ``partials`` shows partials in
    the formats that have them (text, jsonl).

    Raises:
        ValueError: unknown format.
    """
    try:
        cls = {"text": TextSink, "jsonl": JsonlSink, "srt": SrtSink, "vtt": VttSink}[fmt]
    except KeyError:
        raise ValueError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}") from None
    return cls(stream, partials)
