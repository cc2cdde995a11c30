"""The serving engine: one warm model, many sessions, the figures a server reports.

:class:`ServingEngine` is what ``livescribe serve`` runs behind its HTTP and WebSocket front end
(:mod:`tui.server`): it plans and loads the model once, on the thread of one
:class:`~streamer.decoding.scheduler.Scheduler` (the same loader as every session of the command
line: the fallback chain, then calibration), and opens :class:`ServerSession` s on it, each a
:class:`~streamer.pipeline.Pipeline` with its own ring buffer, segmenter and filter state. It
admits at most ``server.max_sessions`` sessions (:class:`Busy` beyond) and none before the model
is ready (:class:`NotReady`). No web framework here: the front end maps these errors to HTTP.
"""

from __future__ import annotations

import logging
import math
import secrets
import threading
import time
from dataclasses import replace

from streamer.capture.audio import SAMPLE_RATE
from streamer.capture.push import PushSource
from streamer.capture.sources import FileSource
from streamer.config.schema import Config
from streamer.decoding.scheduler import Scheduler
from streamer.errors import ExitCode, LimitError, LivescribeError
from streamer.pipeline import Pipeline
from streamer.output.figures import percentiles
from streamer.serving.session import ServerSession
from streamer.tuning.calibration import Loader
from streamer.tuning.loader import start_decoder
from streamer.tuning.plan import Plan, plan_for
from streamer.tuning.probe import Probe

logger = logging.getLogger(__name__)

KINDS = ("upload", "stream", "realtime")  #: the kinds of session
#: seconds of noise decoded once at start-up: a 28 s window gets the full 30 s encoder context
#: (``decoding.trailing_context_s``), the most a decode ever uses
WARM_CONTEXT_S = 28.0


class Busy(LivescribeError):
    """Every session slot is taken (HTTP 429); :attr:`retry_after_s` says when to try again."""

    exit_code = ExitCode.UNAVAILABLE

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class NotReady(LivescribeError):
    """The model is still loading, or failed to load (HTTP 503)."""

    exit_code = ExitCode.UNAVAILABLE


def _rss_mb() -> float | None:
    try:
        import psutil

        return round(psutil.Process().memory_info().rss / 2**20, 1)
    except Exception:  # pragma: no cover - psutil is a dependency
        return None


class ServingEngine:
    """One warm model shared by every session of a server.

    Args:
        config: the server's configuration (model, decoding, VAD, filters, ``server.*``); a
            session may only change its language and prompt.
        loader, machine, plan: as :class:`~streamer.pipeline.Pipeline` (tests inject a fake
            loader; None probes the machine and plans from ``config.model``).

    Raises:
        LivescribeError: ``model.strict`` and an impossible override (exit 78).
    """

    def __init__(self, config: Config, *, loader: Loader | None = None,
                 machine: Probe | None = None, plan: Plan | None = None) -> None:
        self.config = config
        if plan is None:
            machine, plan = plan_for(config.model, config.decoding.language, machine,
                                     task=config.decoding.task)
        self.plan = plan
        self._loader = loader
        self._decoding = replace(config.decoding, beam_size=plan.beam_size)
        #: finals batched per decode; set again from the device that loaded (a CUDA plan that
        #: fell back to the CPU batches as a CPU does)
        self.batch_size = self._batch_size(plan.device)
        self.scheduler = Scheduler(self._load, batch_size=self.batch_size,
                                   partial_share=config.server.partial_share, name="inference")
        self._sessions: dict[str, ServerSession] = {}
        self._lock = threading.Lock()
        self._opening = 0  # slots reserved by open() while it builds their sessions
        self._started_mono = time.monotonic()
        self.opened = self.refused = 0  #: sessions opened and refused (busy) since start
        self._audio_done_s = 0.0  # audio of the sessions that ended
        self._captions_done = 0

    def _batch_size(self, device: str) -> int:
        """``server.batch_size``, or its default for ``device``: 8 on CUDA, 1 on a CPU."""
        return self.config.server.batch_size or (8 if device == "cuda" else 1)

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> None:
        """Start loading the model (on the scheduler's thread); :attr:`ready` tells when."""
        self.scheduler.start()

    def _load(self):
        """The model through the one loader (fallback chain, calibration), then warmed for a
        server: one decode of :data:`WARM_CONTEXT_S` (the longest window's context), so the
        first long window of a session finds its buffers allocated, and Silero VAD loaded
        once (onnxruntime), so the first session does not pay for either."""
        decoder, self.plan = start_decoder(self.plan, self._decoding, self._loader)
        self.batch_size = self.scheduler.batch_size = self._batch_size(self.plan.device)
        # a view's warm-up: the decoder's own warmup_s stays the calibration's measurement
        decoder.for_session().warm_up(WARM_CONTEXT_S)
        from streamer.segmentation.vad import SileroVad

        SileroVad()
        logger.info("model ready: %s on %s/%s, beam %d, batch %d", decoder.spec.name,
                    self.plan.device, self.plan.compute_type, decoder.options.beam_size,
                    self.batch_size)
        return decoder

    @property
    def ready(self) -> bool:
        """True once the model is loaded, warm and calibrated."""
        return self.scheduler.ready.is_set() and self.scheduler.error is None

    @property
    def error(self) -> LivescribeError | None:
        """The load failure, if loading failed."""
        return self.scheduler.error

    @property
    def model_name(self) -> str | None:
        """The loaded model's name (None until it is ready)."""
        ready = self.scheduler.model_ready
        return None if ready is None else ready.model

    def wait_loaded(self, timeout: float | None = None) -> bool:
        """Wait until the model is loaded or its load failed; False on timeout."""
        return self.scheduler.ready.wait(timeout)

    def close(self, timeout: float = 10.0) -> None:
        """Stop every session (what each received is still transcribed, within ``timeout``
        seconds in all), then the scheduler."""
        deadline = time.monotonic() + timeout
        for s in self.sessions():
            s.stop()
        for s in self.sessions():
            s.join(max(0.0, deadline - time.monotonic()))
        self.scheduler.stop()
        self.scheduler.join(max(0.1, deadline - time.monotonic()))

    # -- sessions -------------------------------------------------------------------------
    def check_language(self, language: str | None) -> None:
        """Raises LivescribeError when the model cannot decode ``language`` (an English-only
        model and another language, or an unknown code)."""
        if language and self.scheduler.decoder is not None:
            self.scheduler.decoder.for_session(replace(self._decoding, language=language))

    def open(self, kind: str, client: str, *, audio: bytes | None = None,
             rate_hz: int = SAMPLE_RATE, language: str | None = None, prompt: str | None = None,
             partials: bool = False, name: str | None = None, on_event=None) -> ServerSession:
        """Open and start a session. It blocks while the session is built (an upload is
        probed and its first block decoded; a stream's segmenter is made): call it off an
        event loop. A slot is taken at once, so concurrent opens never exceed the limit.

        Args:
            kind: one of :data:`KINDS`.
            client: who asks (``host:port``), for ``/v1/sessions`` and the logs.
            audio: an upload's bytes (decoded from memory, replayed at full speed, not live);
                None: a live stream the caller pushes to (``session.source.push``), s16le mono
                at ``rate_hz``.
            language, prompt: the session's language and initial prompt (None: the server's).
            partials: emit partials (live streams only).
            name: the upload's file name, as a label only.
            on_event: called with each event on the session's thread; must not block.

        Raises:
            NotReady: the model is not loaded (or failed to load).
            Busy: ``server.max_sessions`` are open.
            LimitError: the upload declares more audio than ``server.max_audio_s``.
            InputError: the upload is not audio PyAV can decode (exit 65).
            LivescribeError: a language the model cannot decode.
        """
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}")
        if not self.ready:
            raise NotReady(str(self.error) if self.error else "the model is still loading")
        self.check_language(language)
        c = self.config
        limit = c.server.max_audio_s
        config = replace(
            c, decoding=replace(c.decoding, language=language or c.decoding.language,
                                initial_prompt=prompt or c.decoding.initial_prompt),
            output=replace(c.output, partials=partials and audio is None, record=None,
                           path=None, journal=False))
        if audio is not None:
            def make_source(ring):
                return FileSource(audio, ring, speed=math.inf, max_s=limit, name=name)
        else:
            def make_source(ring):
                return PushSource(ring, rate_hz, f"{kind} from {client}", max_s=limit)
        with self._lock:  # a slot is reserved here; the session is built outside the lock
            if len(self._sessions) + self._opening >= c.server.max_sessions:
                self.refused += 1
                raise Busy(f"all {c.server.max_sessions} sessions are taken",
                           retry_after_s=self._retry_after_s())
            self._opening += 1
        session = None
        try:  # an upload is opened (probed, its first block decoded) here, off the lock
            pipeline = Pipeline(config, make_source, plan=self.plan, scheduler=self.scheduler)
            declared = pipeline.source.duration_s if audio is not None else None
            if declared is not None and declared > limit:
                raise LimitError(f"the audio lasts {declared:.0f} s, over the limit of "
                                 f"{limit:g} s")
            sid = "sess_" + secrets.token_hex(6)
            session = ServerSession(sid, kind, client, pipeline, on_event, self._ended)
        finally:
            with self._lock:
                self._opening -= 1
                if session is not None:
                    self._sessions[session.id] = session
                    self.opened += 1
        logger.info("session %s opened: %s from %s", sid, kind, client,
                    extra={"session": sid, "kind": kind, "client": client})
        session.start()
        return session

    def _retry_after_s(self) -> int:
        """A guess for ``Retry-After``: the audio the open uploads still hold at the measured
        real-time factor, at least 1 s and at most 60 s."""
        st = self.scheduler.stats()
        rtf = st.busy_s / max(1e-6, self._audio_done_s + sum(
            s.audio_s for s in self._sessions.values()))
        pending = sum(s.stats.queue_depth if s.stats else 0 for s in self._sessions.values())
        return int(min(60, max(1, math.ceil(pending * 5 * max(rtf, 0.05)))))

    def _ended(self, session: ServerSession) -> None:
        with self._lock:
            self._sessions.pop(session.id, None)
            self._audio_done_s += session.audio_s
            self._captions_done += session.captions
        logger.info("session %s ended: %.1f s of audio, %d captions%s", session.id,
                    session.audio_s, session.captions,
                    f", error: {session.error}" if session.error else "",
                    extra={"session": session.id, "audio_s": round(session.audio_s, 3),
                           "captions": session.captions})

    def sessions(self) -> list[ServerSession]:
        """The open sessions, oldest first."""
        with self._lock:
            return sorted(self._sessions.values(), key=lambda s: s.started)

    def performance(self) -> dict:
        """What ``GET /performance`` shows: the model, the scheduler, queues, RTF, memory."""
        st = self.scheduler.stats()
        ready = self.scheduler.model_ready
        sessions = self.sessions()
        audio_s = self._audio_done_s + sum(s.audio_s for s in sessions)
        # each deque copied in one call: its session's thread appends while we read
        per_session = {s.id: list(s.latencies) for s in sessions}
        p50, p95 = percentiles((x for xs in per_session.values() for x in xs), (50, 95))
        return {
            "ready": self.ready,
            "model": None if ready is None else {
                "name": ready.model, "device": ready.device, "compute_type": ready.compute_type,
                "threads": ready.threads, "beam_size": ready.beam_size,
                "multilingual": ready.multilingual, "load_s": round(ready.load_s, 3),
                "warmup_s": round(ready.warmup_s, 3)},
            "scheduler": {"batch_size": self.batch_size, "sessions": st.sessions,
                          "queued_windows": st.queued, "finals": st.finals,
                          "batches": st.batches, "batched_windows": st.batched,
                          "snapshots": st.snapshots, "busy_s": round(st.busy_s, 3),
                          "utilization": round(st.utilization, 3), "errors": st.errors},
            "queues": {s.id: s.pipeline.worker.windows.qsize() for s in sessions},
            "audio_s": round(audio_s, 3),
            "rtf": round(st.busy_s / audio_s, 4) if audio_s > 0 else None,
            "rss_mb": _rss_mb(),
            "uptime_s": round(time.monotonic() - self._started_mono, 3),
            "sessions_open": len(sessions), "sessions_opened": self.opened,
            "sessions_refused": self.refused,
            "captions": self._captions_done + sum(s.captions for s in sessions),
            "latency_p50_s": p50, "latency_p95_s": p95,
            "session_latency": {s.id: dict(zip(("p50_s", "p95_s"),
                                               percentiles(per_session[s.id], (50, 95))))
                                for s in sessions if s.live},
        }
