"""Caption sinks: plain text, JSON lines, SRT and WebVTT, each flushed per caption; and the
session transcript journal (:class:`JournalSink`, :func:`open_journal`), fsync'd per caption.

A sink writes to a text stream (stdout or a file): data only, no ANSI, one caption at a time.
Only the text and JSONL sinks show partials, and only when built with ``partials=True``: text
rewrites one line in place with ``\r`` until the final replaces it; JSONL writes a
``"type": "partial"`` line. SRT, WebVTT and the journal hold finals only.
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import TextIO

from streamer.errors import ExitCode, LivescribeError
from streamer.events import Caption, Partial

logger = logging.getLogger(__name__)

FORMATS = ("text", "jsonl", "srt", "vtt")


def _timestamp(seconds: float, sep: str) -> str:
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
        return (f"{self.count + 1}\n{_timestamp(caption.start_s, ',')} --> "
                f"{_timestamp(caption.end_s, ',')}\n{caption.text}\n\n")


class VttSink(Sink):
    """WebVTT cues; the ``WEBVTT`` header is written at once."""

    def __init__(self, stream: TextIO, partials: bool = False) -> None:
        super().__init__(stream)
        self.stream.write("WEBVTT\n\n")
        self.stream.flush()

    def format(self, caption: Caption) -> str:
        return (f"{_timestamp(caption.start_s, '.')} --> {_timestamp(caption.end_s, '.')}\n"
                f"{caption.text}\n\n")


class JournalSink(Sink):
    """The session transcript: every final caption appended to a file, durable at once.

    One line per caption, stamped with its stream time (seconds since the first captured
    sample) as ``[HH:MM:SS.mmm --> HH:MM:SS.mmm] text``, after one ``# livescribe session ...``
    header line per session (a reused path gets one header per session). Each caption is
    flushed and ``os.fsync``'d before :meth:`write` returns, so a crash, ``kill -9`` or power
    loss loses nothing already written; write the journal *before* showing a caption and
    everything shown is in it. Build one with :func:`open_journal`.

    Args:
        stream: the open text file (owned and closed by the sink).
        path: its path, for messages.

    A write error (disk full, file system gone) does not raise: it is logged once as a
    warning, kept in :attr:`error`, and later captions are not journalled.
    """

    def __init__(self, stream: TextIO, path: Path) -> None:
        super().__init__(stream)
        self.path = path
        self.error: OSError | None = None

    def format(self, caption: Caption) -> str:
        return (f"[{_timestamp(caption.start_s, '.')} --> {_timestamp(caption.end_s, '.')}] "
                f"{caption.text}\n")

    def write(self, caption: Caption) -> None:
        """Append one caption line, flush and fsync it. Never raises ``OSError``."""
        self._write(self.format(caption))
        self.count += 1

    def header(self, description: str | None = None) -> None:
        """Write the session's ``#`` header line: local start time and the input."""
        when = time.strftime("%Y-%m-%d %H:%M:%S %z")
        self._write(f"# livescribe session {when}" + (f", {description}" if description else "")
                    + "\n")

    def _write(self, text: str) -> None:
        if self.error is not None or self.stream.closed:
            return
        try:
            self.stream.write(text)
            self.stream.flush()
            os.fsync(self.stream.fileno())
        except OSError as exc:
            self.error = exc
            logger.warning("transcript %s: %s; captions are no longer journalled", self.path,
                           exc.strerror or exc)

    def close(self) -> None:
        """Flush, fsync and close the file (idempotent)."""
        if self.stream.closed:
            return
        try:
            self.stream.flush()
            os.fsync(self.stream.fileno())
        except OSError as exc:
            if self.error is None:
                logger.warning("transcript %s: %s", self.path, exc.strerror or exc)
        finally:
            self.stream.close()


def default_transcript_path() -> Path:
    """Where a session's transcript goes by default: ``<user data dir>/transcripts/
    <YYYYmmdd-HHMMSS>.txt`` (platformdirs; on Linux ``$XDG_DATA_HOME/livescribe`` or
    ``~/.local/share/livescribe``), named by the local start time."""
    from platformdirs import user_data_dir

    return Path(user_data_dir("livescribe")) / "transcripts" / f"{time.strftime('%Y%m%d-%H%M%S')}.txt"


def open_journal(path: str | os.PathLike | None = None,
                 description: str | None = None) -> JournalSink:
    """Open the session transcript and write its header line.

    Args:
        path: file to append to (its directory must exist); None for a new file at
            :func:`default_transcript_path` (directories created; ``-2``, ``-3``... appended
            to the name if two sessions start in the same second).
        description: what is transcribed, for the header, e.g. ``"file talk.wav"``.

    Returns:
        The open :class:`JournalSink`; its :attr:`~JournalSink.path` is the file. Call
        ``write(caption)`` per final caption and ``close()`` at the end.

    Raises:
        LivescribeError: the file cannot be opened or created (exit 66, like ``--output``).
    """
    try:
        if path is not None:
            p = Path(path)
            stream = open(p, "a", encoding="utf-8")
        else:
            base = default_transcript_path()
            base.parent.mkdir(parents=True, exist_ok=True)
            p, n = base, 1
            while True:
                try:
                    stream = open(p, "x", encoding="utf-8")
                    break
                except FileExistsError:
                    n += 1
                    p = base.with_name(f"{base.stem}-{n}{base.suffix}")
    except OSError as exc:
        where = p if path is not None else base
        raise LivescribeError(f"cannot write transcript {where}: {exc.strerror or exc}",
                              ExitCode.NO_INPUT) from None
    sink = JournalSink(stream, p.resolve())
    sink.header(description)
    return sink


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
