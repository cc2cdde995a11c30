"""The scheduler: one thread owns the warm model and decodes the windows of every session.

The command line runs one session on a private scheduler (:meth:`InferenceWorker.start`); a
server (:mod:`streamer.serving`) runs one scheduler for all its sessions, so the model is
loaded and warmed once and its memory is paid once. Each session is an
:class:`~streamer.decoding.worker.InferenceWorker`: its bounded window queue, its snapshot slot
and everything that is its own (its view of the model, filter chain, open utterance, counters,
events). The scheduler only decides what to decode next:

- **finals before partials**: a snapshot is decoded only when no session has a final window
  waiting, so a final never waits behind a partial of any session but for the one decode
  already running, and an interim one gives way after its encode when a final or a pause
  snapshot has come meanwhile (:class:`~streamer.decoding.batch.Abandoned`: its greedy
  ``generate``, 0.6 s of a 1 s decode for 18 s of audio on this machine, would make text
  that the pause's decode makes stale; docs/benchmarks.md, "A partial gives way to a pause");
- **pause decodes before partials**: among snapshots, the ``"pause"`` snapshots (taken 150 ms
  into a pause, and the final's own text when the utterance ends there) of every session come
  before the ``"partial"`` ones (interim text): each one decoded in time makes a final cost no
  decode at all, where a partial only refreshes text on screen;
- **a share for partials**: partial decodes may keep the model busy at most ``partial_share``
  of the time (after a partial decode of *d* seconds, the next waits *d* (1 - share) / share),
  so a final or a pause snapshot arriving finds the model free more often instead of waiting
  for a partial decode to end. 1.0 (no limit) for the command line's one session; a server
  sets ``server.partial_share``. Fewer partials are decoded on a busy server (counted in
  ``partials_skipped``), never fewer finals;
- **round robin**: sessions with a final waiting are served in turn, starting after the last one
  served (snapshots likewise, with their own turn), so one busy session cannot starve another;
- **batches**: up to ``batch_size`` finals of *different* sessions are decoded in one
  CTranslate2 call (:func:`streamer.decoding.batch.decode_batch`). On a GPU several windows
  cost little more than one. On this 2-core CPU two windows of the same context take 0.76-0.90
  of their time one after the other, but the first caption waits for the second, and 8 live
  streams did no better with batches of 2 (docs/benchmarks.md, "Server"): 1 on a CPU;
- **bounded queues, and what happens when one is full**: a session's window queue holds
  ``pipeline.window_queue_size`` windows; when it is full only that session's segmenter waits
  (backpressure): behind it the session's ring buffer absorbs 30 s of live audio and then
  refuses blocks and counts them as overruns (an upload's reader simply waits). A session that
  falls behind decodes its backlog window by window, each into its own caption (never joined
  into one decode: Whisper drops whole utterances from joined windows, see
  :mod:`streamer.decoding.worker`), and its snapshots replace one another in a one-slot
  mailbox, counted. Nothing is ever lost silently.

A session's event queue is drained by its own consumer (its front end); the scheduler waits on a
full one, so a consumer must keep reading until the session's end.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from streamer.capture.audio import int16_to_float32
from streamer.errors import ExitCode, LivescribeError
from streamer.events import ModelReady

if TYPE_CHECKING:
    from streamer.decoding.decoder import WindowDecoder
    from streamer.decoding.result import DecodeResult
    from streamer.decoding.worker import InferenceWorker

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SchedulerStats:
    """What the scheduler has done since it started.

    Attributes:
        sessions: sessions attached now.
        queued: final windows waiting, over all sessions.
        finals: final windows decoded (a batch counts each of its windows).
        batches: decodes of more than one window in one call.
        batched: windows decoded inside those batches.
        snapshots: snapshot decodes (partials and pause decodes).
        busy_s: wall seconds spent decoding and filtering.
        uptime_s: wall seconds since the model was ready.
        errors: scheduler steps that raised outside a decode (logged; the step's window is
            lost, its session goes on).
    """

    sessions: int
    queued: int
    finals: int
    batches: int
    batched: int
    snapshots: int
    busy_s: float
    uptime_s: float
    errors: int = 0

    @property
    def utilization(self) -> float:
        """Share of the time since the model was ready spent decoding, [0, 1]."""
        return min(1.0, self.busy_s / self.uptime_s) if self.uptime_s > 0 else 0.0


def model_ready_event(d: WindowDecoder) -> ModelReady:
    """The :class:`ModelReady` event describing the loaded, warm decoder ``d``."""
    return ModelReady(model=d.spec.name, device=d.spec.device,
                      compute_type=d.model.model.compute_type, threads=d.spec.cpu_threads,
                      beam_size=d.options.beam_size, load_s=d.load_s, warmup_s=d.warmup_s,
                      multilingual=d.multilingual)


class Scheduler:
    """One inference thread, one warm model, any number of sessions (see the module doc).

    Args:
        load: called once on the scheduler's thread, returns the loaded, warm decoder; may
            raise :class:`~streamer.errors.LivescribeError` (every session attached then, or
            later, fails with it).
        batch_size: most finals of different sessions decoded in one call (>= 1).
        partial_share: most of the model's time partial decodes may take, (0, 1].
        name: the thread's name.

    Attributes:
        ready: set once the model is loaded and warm, or loading failed (:attr:`error`).
        error: the load failure, if any.
        decoder: the warm decoder (None until ready).
        model_ready: its :class:`ModelReady` event, given to every session attached.
    """

    def __init__(self, load: Callable[[], WindowDecoder], batch_size: int = 1,
                 partial_share: float = 1.0, name: str = "inference") -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        if not 0 < partial_share <= 1:
            raise ValueError("partial_share must be within (0, 1]")
        self.partial_share = partial_share
        self._partials_after = 0.0  # monotonic time before which no partial decode starts
        self._load = load
        self.batch_size = batch_size
        self.ready = threading.Event()
        self.error: LivescribeError | None = None
        self.decoder: WindowDecoder | None = None
        self.model_ready: ModelReady | None = None
        self._lock = threading.Lock()
        self._sessions: list[InferenceWorker] = []  # served, in attach order
        self._waiting: list[InferenceWorker] = []  # attached while the model loads
        self._serial = 0
        self._last_final = self._last_snapshot = -1  # serial of the session served last
        self._work = threading.Event()
        self._stopping = False
        self._ready_wall: float | None = None
        self._finals = self._batches = self._batched = self._snapshots = self._errors = 0
        self._busy_s = 0.0
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    # -- control ------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the thread: the model loads at once."""
        self._thread.start()

    def attach(self, session: InferenceWorker) -> None:
        """Serve ``session`` from now on. Once the model is ready the session gets its view
        of it and its :class:`ModelReady` event (:meth:`InferenceWorker.bind`); if loading
        failed, the error (:meth:`InferenceWorker.fail`)."""
        with self._lock:
            session.serial = self._serial
            self._serial += 1
            if not self.ready.is_set():
                self._waiting.append(session)
                return
            if self.error is not None:
                session.fail(self.error)
                return
            self._bind(session)
        self.wake()

    def detach(self, session: InferenceWorker) -> None:
        """Serve ``session`` no more (its consumer is gone); what it queued is not decoded."""
        with self._lock:
            if session in self._sessions:
                self._sessions.remove(session)
            if session in self._waiting:
                self._waiting.remove(session)
        session.done.set()

    def wake(self) -> None:
        """A session has work (a window, a snapshot, its end)."""
        self._work.set()

    def stop(self) -> None:
        """Stop once no session has work left (sessions still attached get nothing more)."""
        self._stopping = True
        self.wake()

    def join(self, timeout: float | None = None) -> None:
        """Wait for the thread to end."""
        if self._thread.ident is not None:
            self._thread.join(timeout)

    def sessions(self) -> list[InferenceWorker]:
        """The sessions served now, in attach order."""
        with self._lock:
            return list(self._sessions)

    def stats(self) -> SchedulerStats:
        """A snapshot of the counters (any thread)."""
        sessions = self.sessions()
        up = time.monotonic() - self._ready_wall if self._ready_wall is not None else 0.0
        return SchedulerStats(sessions=len(sessions),
                              queued=sum(s.windows.qsize() for s in sessions),
                              finals=self._finals, batches=self._batches, batched=self._batched,
                              snapshots=self._snapshots, busy_s=self._busy_s, uptime_s=up,
                              errors=self._errors)

    # -- the thread ---------------------------------------------------------------------------
    def _bind(self, session: InferenceWorker) -> None:
        """(Lock held.) Give ``session`` the model, then serve it if that worked."""
        assert self.decoder is not None and self.model_ready is not None
        session.bind(self.decoder, self.model_ready)
        if session.error is None:
            session.decoder.yield_to = self._pause_waits
            self._sessions.append(session)

    def _pause_waits(self) -> bool:
        """True when a final window or a ``"pause"`` snapshot waits in any session: an
        interim decode then gives way after its encode (the module doc)."""
        return any(s.has_final() or s.snapshots.waiting("pause") for s in self.sessions())

    def _run(self) -> None:
        try:  # the fallback chain, then calibration (may step down), before any caption
            decoder = self._load()
        except LivescribeError as exc:
            self._failed(exc)
            return
        except Exception as exc:  # pragma: no cover - unexpected load failure
            logger.exception("model load failed")
            self._failed(LivescribeError(f"model load failed: {exc}", ExitCode.SOFTWARE))
            return
        with self._lock:
            self.decoder, self.model_ready = decoder, model_ready_event(decoder)
            self._ready_wall = time.monotonic()
            for session in self._waiting:
                self._bind(session)
            self._waiting.clear()
            self.ready.set()
        while True:
            self._work.clear()
            try:
                worked = self._step()
            except Exception:  # pragma: no cover - a bug must not stop every session
                logger.exception("inference scheduler step failed")
                self._errors += 1
                worked = True
            if not worked:
                if self._stopping:
                    return
                # a partial held back by its share is due at _partials_after at the latest
                held = self._partials_after - time.monotonic()
                self._work.wait(held if held > 0 else None)

    def _failed(self, error: LivescribeError) -> None:
        with self._lock:
            self.error = error
            for session in self._waiting:
                session.fail(error)
            self._waiting.clear()
            self.ready.set()

    @staticmethod
    def _turn(sessions: Sequence[InferenceWorker], last: int) -> list[InferenceWorker]:
        """``sessions`` in round-robin order: those after serial ``last`` first."""
        return ([s for s in sessions if s.serial > last]
                + [s for s in sessions if s.serial <= last])

    def _step(self) -> bool:
        """Decode one thing: the finals of up to ``batch_size`` sessions, else one pause
        snapshot, else one partial snapshot. Returns False when no session had work."""
        sessions = self.sessions()
        finals = [s for s in self._turn(sessions, self._last_final) if s.has_final()]
        if finals:
            chosen = finals[:self.batch_size]
            self._last_final = chosen[-1].serial
            t0 = time.perf_counter()
            self._decode_finals(chosen)
            self._busy_s += time.perf_counter() - t0
            return True
        partials = time.monotonic() >= self._partials_after
        for reason in ("pause", "partial") if partials else ("pause",):
            for s in self._turn(sessions, self._last_snapshot):
                snap = s.take_snapshot(reason)
                if snap is not None:
                    self._last_snapshot = s.serial
                    t0 = time.perf_counter()
                    s.handle_snapshot(snap)
                    d = time.perf_counter() - t0
                    self._busy_s += d
                    self._snapshots += 1
                    if reason == "partial" and self.partial_share < 1:
                        self._partials_after = time.monotonic() + d * (
                            1 - self.partial_share) / self.partial_share
                    return True
        return False

    def _decode_finals(self, chosen: Sequence[InferenceWorker]) -> None:
        """One final window from each of ``chosen``, their free
        decodes batched when more than one needs the model; sessions that reached their end
        are let go."""
        from streamer.decoding.batch import Job, decode_batch

        items = [(s, w) for s in chosen if (w := s.next_final()) is not None]
        # the gate and the reuse check, here only where a batch is possible (handle_final
        # checks a window decoded alone, and does not check again one given its free decode)
        need = [(s, w) for s, w in items if s.needs_decode(w)] if len(items) > 1 else []
        free: dict[int, DecodeResult] = {}
        if len(need) > 1:
            jobs = [Job(s.decoder, int16_to_float32(w.audio), s.decoder.language,
                        s.decoder.language is None, speech_s=w.voiced_s) for s, w in need]
            try:
                free = {id(w): r for (_, w), r in zip(need, decode_batch(jobs))}
                self._batches += 1
                self._batched += len(need)
            except Exception:  # each window is then decoded alone, where a failure is its own
                logger.exception("a batch of %d windows failed; decoding them one by one",
                                 len(need))
        for s, w in items:
            s.handle_final(w, free.get(id(w)))
            self._finals += 1
        for s in chosen:
            if s.ended:
                with self._lock:  # detach() may have let it go meanwhile
                    if s in self._sessions:
                        self._sessions.remove(s)
                s.done.set()
