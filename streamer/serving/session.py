"""One client's transcription inside a server: a pipeline on the shared model, and its figures.

A :class:`ServerSession` is a :class:`~streamer.pipeline.Pipeline` whose worker is served by the
engine's :class:`~streamer.decoding.scheduler.Scheduler` (the one warm model) and whose source
is the client's audio: an upload decoded from memory and replayed at full speed (not live), or
frames pushed as they arrive (:class:`~streamer.capture.push.PushSource`, live). Its events are
consumed on a thread of its own, which never blocks: each event is handed to the front end's
callback (a server puts it on an asyncio queue) and folded into the session's figures
(captions, audio seconds, caption latency) for ``/v1/sessions`` and ``/performance``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable

from streamer.errors import ExitCode, LimitError, LivescribeError
from streamer.events import Caption, Event, PipelineStats, SessionFailed
from streamer.output.figures import LATENCIES_KEPT, percentiles

logger = logging.getLogger(__name__)

class ServerSession:
    """A client's session on the shared model. Built by
    :meth:`streamer.serving.engine.ServingEngine.open`, which starts it.

    Args:
        id: the session id (``sess_`` + 12 hex digits).
        kind: ``"upload"`` (REST), ``"stream"`` (``/v1/stream``) or ``"realtime"``.
        client: who is on the other end, e.g. ``"127.0.0.1:51234"``.
        pipeline: the session's pipeline, not started.
        on_event: called with every event on the session's thread, then with None once the
            session has ended; must not block.
        on_done: called with the session once its last event is out.

    Attributes:
        started: ``time.time()`` when it opened.
        source: the pipeline's source (a :class:`~streamer.capture.push.PushSource` for a
            stream; the front end pushes to it).
        captions: captions so far; audio_s: seconds of audio captured so far.
        latencies: final-caption latencies, seconds (live sessions).
        stats: the last :class:`PipelineStats`.
        error: the failure, if the session failed (a :class:`LimitError` for a limit).
        done: set once the last event was handed over.
    """

    def __init__(self, id: str, kind: str, client: str, pipeline,
                 on_event: Callable[[Event], None] | None = None,
                 on_done: Callable[[ServerSession], None] | None = None) -> None:
        self.id = id
        self.kind = kind
        self.client = client
        self.pipeline = pipeline
        self.source = pipeline.source
        self.live = bool(getattr(pipeline.source, "live", True))
        self.started = time.time()
        self._started_mono = time.monotonic()
        self._on_event = on_event
        self._on_done = on_done
        self.captions = 0
        self.audio_s = 0.0
        self.latencies: deque[float] = deque(maxlen=LATENCIES_KEPT)
        self.stats: PipelineStats | None = None
        self.error: LivescribeError | None = None
        self.done = threading.Event()
        self._thread = threading.Thread(target=self._consume, name=f"session-{id}", daemon=True)

    def start(self) -> None:
        """Start the session's consumer thread (the pipeline starts with it)."""
        self._thread.start()

    def stop(self) -> None:
        """Stop capture: what was received is still transcribed and delivered."""
        self.pipeline.stop()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the session's end; True if it ended."""
        return self.done.wait(timeout)

    def _hand(self, ev: Event | None) -> None:
        """Give ``ev`` to the front end; a callback that fails is dropped, and the session's
        events are still consumed to the end (the shared scheduler never waits on them)."""
        if self._on_event is None:
            return
        try:
            self._on_event(ev)
        except Exception:  # pragma: no cover - a front end's bug
            logger.exception("session %s: the event callback failed; events are dropped",
                             self.id)
            self._on_event = None

    def _consume(self) -> None:
        try:
            for ev in self.pipeline.events():
                self._note(ev)
                self._hand(ev)
        except LivescribeError as exc:  # the source could not start
            self.error = exc
            self._hand(SessionFailed(str(exc), int(exc.exit_code)))
        except Exception as exc:  # pragma: no cover - a bug ends this session only
            logger.exception("session %s failed", self.id)
            self.error = LivescribeError(f"internal error: {exc}", ExitCode.SOFTWARE)
            self._hand(SessionFailed(str(self.error), int(ExitCode.SOFTWARE)))
        finally:
            self._let_go()
            self.done.set()
            if self._on_done is not None:
                self._on_done(self)
            self._hand(None)  # the end

    def _let_go(self) -> None:
        """After the events ended: a session that failed before its worker was done is
        stopped and detached from the shared scheduler (nothing more is decoded for it, and
        its slot in the scheduler is freed); a session that ended normally is left alone."""
        worker = self.pipeline.worker
        if worker.done.is_set():
            return
        self.pipeline.stop()
        if worker.scheduler is not None:
            worker.scheduler.detach(worker)

    def _note(self, ev: Event) -> None:
        if isinstance(ev, Caption):
            self.captions += 1
            if self.live:
                self.latencies.append(ev.latency_s)
        elif isinstance(ev, PipelineStats):
            self.stats = ev
            self.audio_s = ev.stream_s
        elif isinstance(ev, SessionFailed) and self.error is None:
            err = getattr(self.source, "error", None) or self.pipeline.error
            self.error = err if isinstance(err, LimitError) else LivescribeError(ev.message)

    def info(self) -> dict:
        """What ``GET /v1/sessions`` shows of it (times in seconds)."""
        st = self.stats
        p50, p95 = percentiles(self.latencies, (50, 95))
        return {
            "id": self.id, "kind": self.kind, "client": self.client,
            "started": round(self.started, 3),
            "age_s": round(time.monotonic() - self._started_mono, 3),
            "live": self.live, "done": self.done.is_set(),
            "audio_s": round(self.audio_s, 3), "captions": self.captions,
            "latency_p50_s": p50, "latency_p95_s": p95,
            "windows_queued": self.pipeline.worker.windows.qsize(),
            "overruns": st.overruns if st else 0,
            "filtered": dict(st.filtered) if st else {},
        }
