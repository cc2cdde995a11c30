"""Caption sinks: plain text, JSON lines, tab-separated values, SRT and WebVTT, each flushed per
caption (the session transcript, fsync'd per caption, is :mod:`streamer.output.journal`).

A sink writes to a text stream (stdout or a file): data only, no ANSI, one caption at a time.
Only the text and JSONL sinks show partials, and only when built with ``partials=True``: text
rewrites one line in place with ``\r`` until the final replaces it; JSONL writes a
``"type": "partial"`` line. SRT, WebVTT and the journal hold finals only.
"""

from __future__ import annotations

import json
from typing import TextIO

from streamer.events import Caption, Partial
from streamer.output.cues import caption_cues

FORMATS = ("text", "jsonl", "tsv", "srt", "vtt")


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


def time_span(start_s: float, end_s: float) -> str:
    """``[HH:MM:SS.mmm --> HH:MM:SS.mmm]``: the stamp of a transcript line and of
    ``--timestamps``."""
    return f"[{timestamp(start_s, '.')} --> {timestamp(end_s, '.')}]"


class TextSink(Sink):
    """One caption per line; with partials, the open utterance's text on the last line,
    rewritten in place (carriage return, then spaces over what was longer; no ANSI).

    Args:
        width: columns a partial may use (its text is cut from the left to fit, so the newest
            words show); None asks the terminal (``shutil.get_terminal_size``).
        timestamps: prefix each line with its stream times, ``[00:00:01.200 --> 00:00:04.650]``
            (:func:`time_span`, as the transcript journal).
    """

    def __init__(self, stream: TextIO, partials: bool = False, width: int | None = None,
                 timestamps: bool = False) -> None:
        super().__init__(stream, partials)
        self.width = width
        self.timestamps = timestamps
        self._shown = 0  # characters of the partial line on screen

    def _line(self, item: Caption | Partial) -> str:
        if not self.timestamps:
            return item.text
        return f"{time_span(item.start_s, item.end_s)} {item.text}"

    def write_partial(self, partial: Partial) -> None:
        """Rewrite the partial line with ``partial.text``."""
        if not self.partials:
            return
        import shutil

        width = (self.width or shutil.get_terminal_size().columns) - 1
        line = self._line(partial)
        text = line if len(line) <= width else "…" + line[-(width - 1):]
        self.stream.write("\r" + text + " " * max(0, self._shown - len(text)))
        self.stream.flush()
        self._shown = len(text)

    def format(self, caption: Caption) -> str:
        line = self._line(caption)
        if self._shown:  # the final replaces the partial line
            pad, self._shown = " " * max(0, self._shown - len(line)), 0
            return "\r" + line + pad + "\n"
        return line + "\n"

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


class TsvSink(Sink):
    """Tab-separated values as openai/whisper writes them: a ``start\tend\ttext`` header, then
    one caption per line, times in integer milliseconds of stream time; tabs and line breaks
    in the text become spaces."""

    def __init__(self, stream: TextIO, partials: bool = False) -> None:
        super().__init__(stream)
        self.stream.write("start\tend\ttext\n")
        self.stream.flush()

    def format(self, caption: Caption) -> str:
        text = " ".join(caption.text.replace("\t", " ").split())
        return f"{round(1000 * caption.start_s)}\t{round(1000 * caption.end_s)}\t{text}\n"


class SrtSink(Sink):
    """SubRip cues numbered from 1, times in stream seconds.

    Args:
        max_line_width, max_line_count: lines and cues per caption
            (:func:`streamer.output.cues.caption_cues`); None: one cue, one line per caption.
    """

    def __init__(self, stream: TextIO, partials: bool = False, *,
                 max_line_width: int | None = None, max_line_count: int | None = None) -> None:
        super().__init__(stream)
        self.max_line_width, self.max_line_count = max_line_width, max_line_count
        self.cues = 0  #: cues written so far

    def _cues(self, caption: Caption):
        return caption_cues(caption, self.max_line_width, self.max_line_count)

    def format(self, caption: Caption) -> str:
        out = []
        for cue in self._cues(caption):
            self.cues += 1
            out.append(f"{self.cues}\n{timestamp(cue.start_s, ',')} --> "
                       f"{timestamp(cue.end_s, ',')}\n{cue.text}\n\n")
        return "".join(out)


class VttSink(SrtSink):
    """WebVTT cues; the ``WEBVTT`` header is written at once (line limits as :class:`SrtSink`)."""

    def __init__(self, stream: TextIO, partials: bool = False, **limits) -> None:
        super().__init__(stream, **limits)
        self.stream.write("WEBVTT\n\n")
        self.stream.flush()

    def format(self, caption: Caption) -> str:
        return "".join(f"{timestamp(c.start_s, '.')} --> {timestamp(c.end_s, '.')}\n{c.text}\n\n"
                       for c in self._cues(caption))


def make_sink(fmt: str, stream: TextIO, partials: bool = False, *, timestamps: bool = False,
              max_line_width: int | None = None, max_line_count: int | None = None) -> Sink:
    """Build the sink for ``fmt`` (one of :data:`FORMATS`).

    Args:
        fmt: the format.
        stream: where it writes.
        partials: show partials in the formats that have them (text, jsonl).
        timestamps: text: prefix each caption with its stream times (``output.timestamps``).
        max_line_width, max_line_count: srt and vtt: characters per line and lines per cue
            (``output.max_line_*``; cues split at word times, :mod:`streamer.output.cues`).

    Raises:
        ValueError: unknown format.
    """
    if fmt == "text":
        return TextSink(stream, partials, timestamps=timestamps)
    if fmt in ("srt", "vtt"):
        cls = SrtSink if fmt == "srt" else VttSink
        return cls(stream, max_line_width=max_line_width, max_line_count=max_line_count)
    try:
        cls = {"jsonl": JsonlSink, "tsv": TsvSink}[fmt]
    except KeyError:
        raise ValueError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}") from None
    return cls(stream, partials)
