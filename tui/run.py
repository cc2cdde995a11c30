"""Run a captioning session in the Textual UI: the CLI's ``--tui`` path.

Imported lazily by :func:`streamer.cli.run` only when the UI is used, so plain and piped runs
never import Textual. The terminal belongs to Textual for the session (it draws on stderr;
stdout stays free for data), so engine log records become toasts instead of stderr lines.
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Callable, Sequence

from streamer.errors import ExitCode
from tui.app import LivescribeApp, TuiLogHandler, make_app


def run_tui(pipeline, *, model_name: str, plan=None, cpu_features: Sequence[str] = (),
            sinks: Sequence = (), open_extra_sinks: Callable[[], Sequence] | None = None) -> int:
    """Show ``pipeline``'s session in the UI until the user quits; return the exit code.

    Args:
        pipeline: a :class:`streamer.pipeline.Pipeline`, not started.
        model_name: the model as asked for (``auto`` before the plan picks).
        plan: the :class:`streamer.tuning.plan.Plan`, if one was made: its rows fill the device panel.
        cpu_features: SIMD features from the hardware probe.
        sinks: caption sinks that also receive every caption (``--output``).
        open_extra_sinks: called once the UI owns the terminal and its log handler is in
            place (so messages such as the transcript path show as toasts); returns more sinks.

    Raises:
        LivescribeError: the session failed (after the terminal is restored).
    """
    rows = plan.rows() if plan is not None and hasattr(plan, "rows") else None
    app = make_app(pipeline, model_name=model_name, plan=rows, cpu_features=cpu_features,
                   sinks=list(sinks))
    handler = TuiLogHandler(app)
    handler.setFormatter(logging.Formatter("%(message)s"))
    root = logging.getLogger()
    saved_handlers = root.handlers[:]
    root.handlers[:] = [handler]
    stopped_by: list[int] = []

    def on_signal(signum, frame):  # runs on the main thread, which is the UI's event loop
        stopped_by.append(signum)
        app.request_quit()

    old_term = signal.signal(signal.SIGTERM, on_signal)
    try:
        if open_extra_sinks is not None:
            app.sinks.extend(s for s in open_extra_sinks() if s is not None)
        code = app.run()
    finally:
        signal.signal(signal.SIGTERM, old_term)
        root.handlers[:] = saved_handlers
        for sink in app.sinks:
            sink.close()
    _after(app)
    if app.error is not None:
        raise app.error
    if stopped_by:
        return int(ExitCode.SIGTERM)
    return int(code or 0)


def _after(app: LivescribeApp) -> None:
    """Once the terminal is back: say where the transcript went (stderr, one line)."""
    if app.saved_path is not None:
        logging.getLogger("tui").warning("transcript saved to %s", app.saved_path)
