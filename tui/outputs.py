"""What both front ends of a session do around the events: open the caption file and the
transcript journal, check them at the end, and report (``--benchmark``, the final stats).

Shared by the plain front end (:mod:`tui.cli.plain`) and the terminal UI (:mod:`tui.run`), so
the two behave the same; no Textual here.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, Iterator
from typing import TextIO

from streamer.config import Config
from streamer.errors import ExitCode, LivescribeError
from streamer.events import Event, PipelineStats, SourceOpened, WindowTimings
from streamer.output.journal import JournalSink, open_journal
from streamer.output.sinks import Sink, make_sink

logger = logging.getLogger("tui")

#: per-window timings a front end keeps for ``--benchmark`` (about 10 hours of speech)
TIMINGS_KEPT = 10_000


def open_output(config: Config) -> TextIO | None:
    """The ``--output`` file, opened for writing, or None for stdout.

    Raises:
        LivescribeError: it cannot be created (exit 73, ``ExitCode.CANT_CREATE``).
    """
    path = config.output.path
    if not path:
        return None
    try:
        return open(path, "w", encoding="utf-8")
    except OSError as exc:
        raise LivescribeError(f"cannot write {path}: {exc.strerror or exc}",
                              ExitCode.CANT_CREATE) from None


def begin(pipeline, config: Config) -> tuple[Iterator[Event], SourceOpened, TextIO | None]:
    """Start ``pipeline``'s events and open the configured output file, as both front ends do.

    Returns:
        ``(the rest of the events, the SourceOpened event, the output file or None)``; nothing
        runs yet, so a bad output stops the session cleanly here.

    Raises:
        LivescribeError: the output cannot be created (73); the pipeline is stopped first.
    """
    events = pipeline.events()
    opened = next(events)
    assert isinstance(opened, SourceOpened)
    try:
        return events, opened, open_output(config)
    except LivescribeError:
        pipeline.stop()
        raise


def caption_sink(config: Config, stream: TextIO, partials: bool = False) -> Sink:
    """The sink of ``output.format`` on ``stream`` with the output group's options
    (``timestamps``, ``max_line_width``, ``max_line_count``)."""
    o = config.output
    return make_sink(o.format, stream, partials, timestamps=o.timestamps,
                     max_line_width=o.max_line_width, max_line_count=o.max_line_count)


def start_journal(config: Config, description: str) -> JournalSink | None:
    """The session transcript (:func:`streamer.output.journal.open_journal`), or None.

    Its path is logged once at start: at warning level when stderr is a terminal (seen without
    ``-v``), at info level otherwise (pipes and scripts keep a quiet stderr).

    Raises:
        LivescribeError: an explicit ``--transcript`` path cannot be written (exit 73); a
            default path that cannot be written only warns.
    """
    o = config.output
    if not o.journal:
        return None
    try:
        journal = open_journal(o.transcript, description)
    except LivescribeError as exc:
        if o.transcript:
            raise
        logger.warning("%s; continuing without a transcript", exc)
        return None
    level = logging.WARNING if sys.stderr.isatty() else logging.INFO
    logger.log(level, "transcript: %s", journal.path)
    return journal


def journal_failure(journal: JournalSink | None) -> LivescribeError | None:
    """The journal's write failure as an exit-74 error (``ExitCode.IO_ERROR``), or None."""
    if journal is None or journal.error is None:
        return None
    exc = journal.error
    return LivescribeError(f"transcript {journal.path}: {exc.strerror or exc}; later captions "
                           f"were not journalled", ExitCode.IO_ERROR)


def format_benchmark(timings: Iterable[WindowTimings]) -> str:
    """``--benchmark``: per-window wall seconds (features, encode+decode, filters) and their
    mean, p50, p95 and max, as lines of text."""
    import numpy as np

    rows = np.array([(t.feature_s, t.encode_s + t.decode_s, t.filter_s,
                      t.feature_s + t.encode_s + t.decode_s + t.filter_s)
                     for t in timings]).reshape(-1, 4)
    lines = [f"benchmark: {len(rows)} windows, wall seconds per window",
             f"{'window':>8} {'features':>9} {'enc+dec':>9} {'filters':>9} {'total':>9}"]
    for i, (f, ed, fl, tot) in enumerate(rows):
        lines.append(f"{i:>8} {f:>9.3f} {ed:>9.3f} {fl:>9.4f} {tot:>9.3f}")
    if len(rows):
        for name, fn in (("mean", np.mean), ("p50", np.median),
                         ("p95", lambda a, axis: np.percentile(a, 95, axis=axis)),
                         ("max", np.max)):
            f, ed, fl, tot = fn(rows, axis=0)
            lines.append(f"{name:>8} {f:>9.3f} {ed:>9.3f} {fl:>9.4f} {tot:>9.3f}")
    return "\n".join(lines) + "\n"


def report(st: PipelineStats) -> None:
    """Log the final stats (info) and any ring-buffer overrun (warning)."""
    logger.info("%.1f s of audio, %d windows, %d captions, RTF %.3f, %d fragments dropped, "
                "%d windows gated, filtered %s", st.stream_s, st.windows, st.captions, st.rtf,
                st.fragments_dropped, st.windows_gated, st.filtered or "none")
    if st.overruns:
        logger.warning("ring buffer overruns: %d blocks (%.2f s of audio) were lost",
                       st.overruns, st.overrun_samples / 16000)
