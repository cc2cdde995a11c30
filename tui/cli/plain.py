"""The plain front end: captions on stdout (or ``--output``), logs on stderr, no UI.

It iterates :meth:`streamer.pipeline.Pipeline.events` on the main thread and acts on events
only: each :class:`~streamer.events.Caption` goes to the journal (fsync'd) and then to the sink;
:class:`~streamer.events.Partial` s to sinks that show them; the timings of ``--benchmark`` and
the failure of the session also arrive as events. SIGINT and SIGTERM stop capture (what is
queued is still transcribed) and exit 130 / 143; a second signal exits at once.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import signal
import sys
from collections import deque

from tqdm.contrib.logging import logging_redirect_tqdm

from streamer.config import Config
from streamer.errors import ExitCode, LivescribeError
from streamer.events import Caption, ModelReady, Partial, PipelineStats, SessionFailed, WindowTimings
from tui.outputs import (TIMINGS_KEPT, begin, caption_sink, format_benchmark, journal_failure,
                         report, start_journal)
from tui.progress import ReplayProgress, model_progress

logger = logging.getLogger("tui")


def run_plain(pipeline, config: Config) -> int:
    """Run ``pipeline`` (not started) printing captions; return the exit code.

    Args:
        pipeline: a :class:`streamer.pipeline.Pipeline` built from ``config``.
        config: the session's configuration (``output`` and ``ui`` groups; ``output.partials``
            already decided by the front end).

    Raises:
        LivescribeError: the output or an explicit transcript cannot be created (73), the
            session failed (its code), or the journal failed mid-session (74); every caption
            decoded before a failure was written first.
    """
    events, opened, out = begin(pipeline, config)
    out_stream = out or sys.stdout
    sink = caption_sink(config, out_stream, partials=bool(config.output.partials))
    try:
        journal = start_journal(config, opened.description)
    except LivescribeError:
        pipeline.stop()
        if out is not None:
            out.close()
        raise
    timings: deque[WindowTimings] = deque(maxlen=TIMINGS_KEPT)
    failure: LivescribeError | None = None
    stop_signal: list[int] = []

    def on_signal(signum, frame):
        if stop_signal:  # second signal: leave now
            os._exit(128 + signum)
        stop_signal.append(signum)
        logger.warning("stopping: transcribing what is queued (press Ctrl-C again to quit now)")
        pipeline.stop()

    old_int = signal.signal(signal.SIGINT, on_signal)
    old_term = signal.signal(signal.SIGTERM, on_signal)
    logger.info("input: %s", opened.description)
    # a file at max speed: % done, speed, time left (on stderr, when it is a terminal)
    progress = ReplayProgress(opened, captions_here=out is None and sys.stdout.isatty())
    scope = contextlib.ExitStack()
    scope.enter_context(model_progress())  # assembling base, a download: bars on a terminal
    if progress.bar is not None:  # log lines go above the bar, not through it
        scope.enter_context(logging_redirect_tqdm())
    try:
        for ev in itertools.chain([opened], events):
            progress.update(ev)
            if isinstance(ev, (Caption, Partial)):
                if journal is not None and isinstance(ev, Caption):
                    journal.write(ev)  # on disk before it is shown: a kill loses nothing shown
                try:
                    sink.write(ev) if isinstance(ev, Caption) else sink.write_partial(ev)
                except BrokenPipeError:
                    # the reader went away (e.g. `| head`): stop quietly
                    devnull = os.open(os.devnull, os.O_WRONLY)
                    os.dup2(devnull, sys.stdout.fileno())
                    pipeline.stop()
                    return ExitCode.OK
            elif isinstance(ev, WindowTimings):
                timings.append(ev)
            elif isinstance(ev, ModelReady):
                logger.info("model %s ready on %s/%s, beam %d (load %.2f s, warm-up %.2f s)",
                            ev.model, ev.device, ev.compute_type, ev.beam_size, ev.load_s,
                            ev.warmup_s)
            elif isinstance(ev, SessionFailed):
                failure = LivescribeError(ev.message, ExitCode(ev.exit_code))
            elif isinstance(ev, PipelineStats) and ev.final:
                progress.close()
                report(ev)
    finally:
        progress.close()
        scope.close()
        if not stop_signal:  # after a first signal, another one still exits at once (130/143)
            signal.signal(signal.SIGINT, old_int)  # while the rest of the session shuts down
            signal.signal(signal.SIGTERM, old_term)
        sink.close()
        if out is not None:
            out.close()
        if journal is not None:
            journal.close()
    if config.ui.benchmark:
        sys.stderr.write(format_benchmark(timings))
    failure = failure or journal_failure(journal)
    if failure is not None:
        raise failure
    if stop_signal:
        return ExitCode.SIGINT if stop_signal[0] == signal.SIGINT else ExitCode.SIGTERM
    return ExitCode.OK
