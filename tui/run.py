"""Run a captioning session in the Textual UI: the command line's terminal-UI path.

Imported lazily by :func:`tui.cli.run` only when the UI is used, so plain and piped runs never
import Textual. The terminal belongs to Textual for the session (it draws on stderr; stdout
stays free for data), so log records go to the app: warnings as toasts, and with ``-v`` every
record in a log panel. The session ends as the plain front end's does: Ctrl-C (the key or
SIGINT) exits 130, SIGTERM 143, ``--benchmark`` prints its table on stderr once the terminal is
back, and a failure of the engine or the journal is one line on stderr and its exit code.
"""

from __future__ import annotations

import itertools
import logging
import signal
import sys

from streamer.config import Config
from streamer.errors import ExitCode, LivescribeError
from tui.app import LivescribeApp, make_app
from tui.loghandler import TuiLogHandler
from tui.outputs import begin, caption_sink, format_benchmark, journal_failure, start_journal

#: ``ui.verbose`` -> the lowest level the app receives
_LEVELS = {0: logging.WARNING, 1: logging.INFO}


def run_tui(pipeline, config: Config) -> int:
    """Show ``pipeline``'s session in the UI until the user quits; return the exit code.

    Args:
        pipeline: a :class:`streamer.pipeline.Pipeline` built from ``config``, not started.
        config: the session's configuration (``output.path`` gets captions in
            ``output.format`` too; ``ui.verbose`` shows the log panel; ``ui.benchmark``).

    Raises:
        LivescribeError: the output or an explicit transcript cannot be created (73), the
            session failed (its code), or the journal failed mid-session (74); raised after the
            terminal is restored.
    """
    verbose = config.ui.verbose
    events, opened, out = begin(pipeline, config)
    sinks = [caption_sink(config, out)] if out is not None else []
    app = make_app(pipeline, model_name=config.model.name, sinks=sinks,
                   events=itertools.chain([opened], events), show_log=verbose > 0,
                   wall_clock=config.ui.wall_clock)
    handler = TuiLogHandler(app, level=_LEVELS.get(verbose, logging.DEBUG))
    handler.setFormatter(logging.Formatter("%(message)s"))
    root = logging.getLogger()
    saved_handlers = root.handlers[:]
    root.handlers[:] = [handler]
    stopped_by: list[int] = []
    journal = None

    def on_signal(signum, frame):  # runs on the main thread, which is the UI's event loop
        stopped_by.append(signum)
        if signum == signal.SIGINT:
            app.interrupted = True
        app.request_quit()

    old_term = signal.signal(signal.SIGTERM, on_signal)
    old_int = signal.signal(signal.SIGINT, on_signal)
    try:
        try:  # opened once the log handler is in place, so its path shows as a toast
            journal = start_journal(config, opened.description)
        except LivescribeError:
            pipeline.stop()
            raise
        if journal is not None:
            app.sinks.append(journal)
            app.journal_path = journal.path
        code = app.run()
    finally:
        signal.signal(signal.SIGTERM, old_term)
        signal.signal(signal.SIGINT, old_int)
        root.handlers[:] = saved_handlers
        for sink in app.sinks:
            sink.close()
        if out is not None:
            out.close()
    _after(app)
    if config.ui.benchmark:
        sys.stderr.write(format_benchmark(app.view.timings))
    failure = app.error or journal_failure(journal)
    if failure is not None:
        raise failure
    if stopped_by and stopped_by[0] == signal.SIGTERM:
        return int(ExitCode.SIGTERM)
    return int(code or 0)


def _after(app: LivescribeApp) -> None:
    """Once the terminal is back: say where the transcript is and where it was exported
    (stderr, a line each)."""
    log = logging.getLogger("tui")
    if app.journal_path is not None:
        log.warning("transcript: %s", app.journal_path)
    if app.saved_path is not None:
        log.warning("transcript exported to %s", app.saved_path)

