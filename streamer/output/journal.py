"""The session transcript: every final caption appended to a file and fsync'd before it is
shown (:class:`JournalSink`, opened with :func:`open_journal`)."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import TextIO

from streamer.errors import ExitCode, LivescribeError
from streamer.events import Caption
from streamer.output.sinks import Sink, time_span

logger = logging.getLogger(__name__)


def transcript_line(caption: Caption) -> str:
    """One caption as a transcript line: ``[HH:MM:SS.mmm --> HH:MM:SS.mmm] text\n`` (stream
    times)."""
    return f"{time_span(caption.start_s, caption.end_s)} {caption.text}\n"


def transcript_header(description: str | None = None, when: float | None = None) -> str:
    """A session's header line: ``# livescribe session 2026-11-21 07:30:10 +0000, file
    jfk.flac\n`` (local time ``when``, seconds since the epoch; None: now)."""
    stamp = time.strftime("%Y-%m-%d %H:%M:%S %z", time.localtime(when))
    return f"# livescribe session {stamp}" + (f", {description}" if description else "") + "\n"


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
    warning, kept in :attr:`error`, and later captions are not journalled; the front end
    ends the session with exit 74 (``ExitCode.IO_ERROR``) when it sees it at the end.
    """

    def __init__(self, stream: TextIO, path: Path) -> None:
        super().__init__(stream)
        self.path = path
        self.error: OSError | None = None

    def format(self, caption: Caption) -> str:
        return transcript_line(caption)

    def write(self, caption: Caption) -> None:
        """Append one caption line, flush and fsync it. Never raises ``OSError``."""
        self._write(self.format(caption))
        self.count += 1

    def header(self, description: str | None = None) -> None:
        """Write the session's ``#`` header line: local start time and the input."""
        self._write(transcript_header(description))

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
        LivescribeError: the file cannot be opened or created (exit 73, ``ExitCode.CANT_CREATE``,
            like ``--output``).
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
                              ExitCode.CANT_CREATE) from None
    sink = JournalSink(stream, p.resolve())
    sink.header(description)
    return sink
