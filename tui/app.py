"""The livescribe Textual app: a thin face on the headless engine.

:func:`make_app` is the one factory the CLI and the tests share. The app runs
:meth:`streamer.pipeline.Pipeline.events` (a blocking iterator) in a Textual thread worker that
only posts messages (:mod:`tui.messages`); everything on screen is rendered on the UI thread
from a :class:`~tui.session.SessionView` and the events themselves (the input level, the
device panel's input and plan): the app never reads an engine attribute. The engine's queues are bounded; between the worker and
the UI at most :data:`MAX_IN_FLIGHT` messages wait, so a stalled UI applies back-pressure to the
engine (which then counts ring-buffer overruns) instead of growing memory.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

from textual import events, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Footer

from streamer.errors import ExitCode, LivescribeError
from streamer.events import (Caption, InputLevel, ModelReady, Partial, PipelineStats, PlanReady,
                             SessionFailed, SourceOpened, WindowDropped, WindowStarted)
from tui.actions import CaptionActions
from tui.messages import EngineEvent, EngineFinished, LogLine
from tui.session import SessionInfo, SessionView
from tui.widgets.caption_log import CaptionLog
from tui.widgets.captions import CaptionsPane
from tui.widgets.device import DevicePanel
from tui.widgets.help import HelpScreen
from tui.widgets.latency import LatencyPanel
from tui.widgets.search import SearchBar
from tui.widgets.logpanel import LogPanel
from tui.widgets.status import StatusBar

logger = logging.getLogger(__name__)

MAX_IN_FLIGHT = 256  #: engine messages posted but not yet handled by the UI
MEMORY_POLL_S = 1.0  #: how often the device panel reads resident memory, seconds
NARROW_COLUMNS = 80  #: below this width the side panels hide and captions take the screen


def process_rss_bytes() -> int:
    """Resident set size of this process, bytes (psutil)."""
    import psutil

    return psutil.Process().memory_info().rss


class LivescribeApp(CaptionActions, App[int]):
    """Live captions, status, device and latency panels for one :class:`Pipeline` session.

    Args:
        pipeline: the session to run, or None to drive the app with :meth:`feed` only
            (snapshot tests and demos: no threads, no polling of the engine).
        info: what the device panel shows about the set-up.
        transcript_path: where ``s`` saves; None picks :func:`tui.session.default_transcript_path`
            on first save.
        sinks: :class:`streamer.output.sinks.Sink` s that also receive every caption (``--output
            FILE``, the session journal); the caller closes them.
        show_times: start with the time column.
        wall_clock: the time column shows wall-clock times (``14:05:12``), not stream times.
        rss_bytes: returns resident memory in bytes; None hides the memory row.
        events: the event stream to show (default: ``pipeline.events()``); the command line
            passes the stream it has already started reading.
        show_log: show a log panel with every log record the app receives (``-v``); without
            it only warnings show, as toasts.

    After :meth:`run`, :attr:`error` holds the session's failure, if any, and the return value
    is the exit code, the same as the plain front end's: the engine's failure's code, else 130
    after Ctrl-C (:attr:`streamer.errors.ExitCode.SIGINT`), else 0.
    """

    CSS_PATH = "app.tcss"
    TITLE = "livescribe"
    ENABLE_COMMAND_PALETTE = False
    AUTO_FOCUS = "#captions-log"  # keys scroll the captions (never the hidden search prompt)
    BINDINGS = [
        Binding("space", "toggle_pause", "pause"),
        Binding("slash", "search", "search", key_display="/"),
        Binding("n", "search_next(-1)", "older match", show=False),
        Binding("N", "search_next(1)", "newer match", show=False),
        Binding("escape", "clear_search", "clear search", show=False),
        Binding("f,end", "follow", "follow", show=False),
        Binding("y", "copy", "copy"),
        Binding("s", "save", "save"),
        Binding("q", "quit", "quit"),
        Binding("question_mark", "help", "help", key_display="?"),
        Binding("p", "toggle_panels", "panels"),
        Binding("t", "toggle_times", "times"),
        Binding("w", "toggle_clock", "clock"),
        Binding("c", "clear", "clear"),
        Binding("ctrl+c", "interrupt", "quit", show=False, priority=True),
    ]

    def __init__(self, pipeline=None, info: SessionInfo | None = None, *,
                 transcript_path: Path | None = None, sinks=(), show_times: bool = True,
                 wall_clock: bool = False,
                 rss_bytes: Callable[[], int] | None = process_rss_bytes,
                 events: Iterable | None = None, show_log: bool = False) -> None:
        super().__init__()
        self.pipeline = pipeline
        self.info = info or SessionInfo(input="—")
        self.transcript_path = Path(transcript_path) if transcript_path else None
        self.saved_path: Path | None = None  #: set once the user saved; re-saved on quit
        self.sinks = list(sinks)
        self.show_times = show_times
        self.wall_clock = wall_clock
        self.view = SessionView()
        self.paused = False
        self.quitting = False  #: q was pressed: exit once the engine has drained
        self.interrupted = False  #: Ctrl-C was pressed: the exit code is 130
        self.error: Exception | None = None
        self._rss_bytes = rss_bytes
        self._events = events
        self.show_log = show_log
        self._level: float | None = None  # from InputLevel events (or show_level())
        self.in_speech = False  #: the last InputLevel said an utterance is open
        self._in_flight = threading.BoundedSemaphore(MAX_IN_FLIGHT)
        self._app_gone = threading.Event()

    # -- layout -----------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        with Horizontal(id="main"):
            yield CaptionsPane(show_times=self.show_times, wall_clock=self.wall_clock,
                               id="captions")
            with VerticalScroll(id="side"):
                yield DevicePanel(self.info, id="device")
                yield LatencyPanel(id="latency")
        yield SearchBar(id="search")
        if self.show_log:
            yield LogPanel(id="log")
        yield Footer()

    def on_mount(self) -> None:
        """Start the engine worker and the meters."""
        self.query_one(CaptionsPane).set_pending(None)
        self.query_one(LatencyPanel).update_from(self.view)
        self._poll_memory()
        if self._rss_bytes is not None and self.pipeline is not None:
            self.set_interval(MEMORY_POLL_S, self._poll_memory)
        if self.pipeline is not None:
            self._run_engine()

    def on_resize(self, event: events.Resize) -> None:
        """Hide the side panels on narrow terminals."""
        self.screen.set_class(event.size.width < NARROW_COLUMNS, "-narrow")

    def on_unmount(self) -> None:
        """Leaving for any reason: stop capture so the worker thread drains and ends."""
        self._app_gone.set()
        if self.pipeline is not None and not self.view.finished:
            self.pipeline.stop()

    # -- engine -----------------------------------------------------------------------------
    @work(thread=True, exclusive=True, name="engine", group="engine")
    def _run_engine(self) -> None:
        """Iterate the pipeline's events on a worker thread and post each to the UI."""
        error: Exception | None = None
        failed: SessionFailed | None = None
        try:
            for ev in self._events if self._events is not None else self.pipeline.events():
                if isinstance(ev, SessionFailed):
                    failed = ev
                if self._app_gone.is_set():
                    continue  # the app is gone: drain so the pipeline finishes
                while not self._in_flight.acquire(timeout=0.5):
                    if self._app_gone.is_set():
                        break
                else:
                    if not self.post_message(EngineEvent(ev)):
                        self._in_flight.release()
        except LivescribeError as exc:
            error = exc
        except Exception as exc:  # failures travel as data, never across threads
            logger.exception("engine failed")
            error = LivescribeError(f"engine failed: {type(exc).__name__}: {exc}",
                                    ExitCode.SOFTWARE)
        if error is None and failed is not None:
            error = LivescribeError(failed.message, ExitCode(failed.exit_code))
        self.post_message(EngineFinished(error))

    def on_engine_event(self, message: EngineEvent) -> None:
        """An engine event arrived from the worker thread."""
        try:
            self.feed(message.event)
        finally:
            self._in_flight.release()

    def feed(self, event: object) -> None:
        """Fold one engine event into the view and update the widgets (UI thread only)."""
        self.view.apply(event)
        captions = self.query_one(CaptionsPane)
        if isinstance(event, Caption):
            for sink in list(self.sinks):  # on disk before it is shown (the journal's promise)
                try:
                    sink.write(event)
                except OSError as exc:
                    self.notify(f"cannot write captions: {exc}", severity="error")
                    self.sinks.remove(sink)
            captions.add(event, self.view.caption_wall_s(event))
        elif isinstance(event, InputLevel):
            self._level, self.in_speech = event.level_dbfs, event.in_speech
        elif isinstance(event, SourceOpened):
            self.query_one(DevicePanel).update_info(input=event.description,
                                                    input_rate_hz=event.rate_hz)
        elif isinstance(event, PlanReady):
            panel = self.query_one(DevicePanel)
            changes = dict(plan=dict(event.rows), cpu_features=event.cpu_features)
            if not event.calibrated:  # until the model is ready, the set-up as planned
                changes.update(model=event.model, device=event.device,
                               compute_type=event.compute_type, threads=event.cpu_threads,
                               beam_size=event.beam_size)
            panel.update_info(**changes)
        elif isinstance(event, ModelReady):
            self.query_one(DevicePanel).set_ready(event)
        if isinstance(event, (Caption, Partial, WindowStarted, WindowDropped, PipelineStats)):
            start_s, wall_s = self.view.pending_line()
            captions.set_pending(start_s, self.view.partial, wall_s)
            self.query_one(LatencyPanel).update_from(self.view)
        self._show_status()

    def on_engine_finished(self, message: EngineFinished) -> None:
        """The session ended: report a failure, update the saved transcript, exit if asked."""
        self.view.finished = True
        self.error = message.error
        if message.error is not None:
            self.notify(str(message.error), title="livescribe", severity="error", timeout=30)
        if self.saved_path is not None:
            self._save(self.saved_path)
        self._show_status()
        if self.quitting or message.error is not None and self.view.model is None:
            self._exit_with(self._exit_code())

    def on_log_line(self, message: LogLine) -> None:
        """A log record while the UI owns the terminal: into the log panel (``-v``), and a
        toast for warnings and errors."""
        if self.show_log:
            self.query_one(LogPanel).add(message.text, message.severity)
        if message.severity != "information":
            self.notify(message.text, severity=message.severity)

    def _exit_with(self, code: int) -> None:
        """Exit with ``code`` as both the app's result (what :meth:`run` returns) and its
        return code."""
        self.exit(code, return_code=code)

    def _exit_code(self) -> int:
        if self.error is not None:
            return int(getattr(self.error, "exit_code", 1))
        return int(ExitCode.SIGINT) if self.interrupted else 0

    # -- meters -----------------------------------------------------------------------------
    def _poll_memory(self) -> None:
        if self._rss_bytes is not None:
            self.query_one(DevicePanel).set_memory(self._rss_bytes())

    def show_level(self, level_dbfs: float | None, in_speech: bool) -> None:
        """Show a level and speech state directly (as an :class:`InputLevel` would)."""
        self._level, self.in_speech = level_dbfs, in_speech
        self._show_status()

    def _show_status(self) -> None:
        bar = self.query_one(StatusBar)
        v = self.view
        level, in_speech = self._level, self.in_speech
        queued = len(v.pending) + (v.stats.queue_depth if v.stats else 0)
        detail = ""
        if v.finished:
            state = "failed" if self.error is not None else "finished"
            level, queued, detail = None, 0, "press q to quit" if not self.quitting else ""
        elif self.quitting:
            state, level = "finishing", None
        elif v.model is None:
            state, level = "loading", None
        elif self.paused:
            state, level = "paused", None
        elif in_speech:
            state = "speech"
        elif v.pending:
            state = "transcribing"
        else:
            state = "listening"
        pane = self.query_one(CaptionsPane)
        bar.show(state=state, level_dbfs=level, detail=detail, queued=queued,
                 following=pane.following, below=pane.unseen)

    def on_caption_log_follow_changed(self, message: CaptionLog.FollowChanged) -> None:
        """The captions stopped or started following the newest one: say so."""
        self._show_status()

    # -- actions ----------------------------------------------------------------------------
    def action_toggle_pause(self) -> None:
        """Pause or resume capture (windows already cut still finish)."""
        if self.view.finished or self.quitting:
            return
        self.paused = not self.paused
        if self.pipeline is not None:
            self.pipeline.pause(self.paused)
        self._show_status()

    def action_clear(self) -> None:
        """Clear the captions on screen (the session transcript keeps them)."""
        self.query_one(CaptionsPane).clear()

    def action_toggle_times(self) -> None:
        """Show or hide the time column."""
        pane = self.query_one(CaptionsPane)
        pane.set_times(not pane.show_times)

    def action_toggle_clock(self) -> None:
        """Switch the time column between wall-clock and stream times (and show it)."""
        pane = self.query_one(CaptionsPane)
        pane.set_wall_clock(not pane.wall_clock)
        if not pane.show_times:
            pane.set_times(True)

    def action_toggle_panels(self) -> None:
        """Hide or show the side panels (captions take the full width)."""
        self.query_one("#main").toggle_class("-wide")

    def action_follow(self) -> None:
        """Scroll to the newest caption and follow new ones again."""
        self.query_one(CaptionsPane).follow()

    def action_help(self) -> None:
        """Show the keys."""
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    async def action_quit(self) -> None:
        """Stop capture, let queued windows finish, save if a transcript was saved, exit.

        Pressed again while finishing, exits at once (the engine thread still drains).
        """
        self.request_quit()

    async def action_interrupt(self) -> None:
        """Ctrl-C: quit as ``q`` does, exiting with 130 like the plain front end."""
        self.interrupted = True
        self.request_quit()

    def request_quit(self) -> None:
        """:meth:`action_quit` for callers on the UI thread (key handlers, signal handlers)."""
        if self.view.finished or self.pipeline is None or self.quitting:
            if self.quitting and self.saved_path is not None:
                self._save(self.saved_path)
            self._exit_with(self._exit_code())
            return
        self.quitting = True
        if self.paused:
            self.paused = False
            self.pipeline.pause(False)
        self.pipeline.stop()
        self._show_status()


class TuiLogHandler(logging.Handler):
    """Forwards log records to the app as :class:`LogLine` messages while it owns the terminal
    (warnings become toasts; with a log panel, every record is shown there).

    Thread-safe: ``post_message`` may be called from any thread.
    """

    def __init__(self, app: App, level: int = logging.WARNING) -> None:
        super().__init__(level)
        self.app = app

    def emit(self, record: logging.LogRecord) -> None:
        """Post the formatted record to the app."""
        severity = "error" if record.levelno >= logging.ERROR else (
            "warning" if record.levelno >= logging.WARNING else "information")
        try:
            self.app.post_message(LogLine(self.format(record), severity))
        except Exception:  # pragma: no cover - never let logging break the session
            self.handleError(record)


def make_app(pipeline=None, info: SessionInfo | None = None, *, model_name: str = "",
             plan=None, cpu_features=(), **kwargs) -> LivescribeApp:
    """Build the app for a pipeline: the one factory shared by the CLI and the tests.

    Args:
        pipeline: a :class:`streamer.pipeline.Pipeline` not yet started, or None (see
            :class:`LivescribeApp`).
        info: the set-up to show before the events tell more; by default the model as asked
            for (the input and the plan arrive as :class:`SourceOpened` and :class:`PlanReady`).
        model_name: the model as the user asked for it.
        plan: the tuning plan's rows (label -> value), if known before the events.
        cpu_features: CPU features found by the hardware probe, if known before the events.
        **kwargs: passed to :class:`LivescribeApp` (transcript_path, sinks, show_times,
            wall_clock, rss_bytes, events, show_log).
    """
    if info is None:
        info = SessionInfo(input="—", model=model_name, plan=plan,
                           cpu_features=tuple(cpu_features))
    return LivescribeApp(pipeline, info, **kwargs)
