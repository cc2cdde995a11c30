"""The pipeline: wires source -> ring buffer -> segmenter -> worker -> events, one direction.

Threads and hand-offs::

    capture thread ──RingBuffer──▶ segmenter thread ──Queue[SpeechWindow]──▶ inference thread
                                                                  ──Queue[event]──▶ consumer

The consumer (a front end) iterates :meth:`Pipeline.events` on its own thread; the
:data:`~streamer.events.Event` s it yields are everything a front end learns.
:meth:`Pipeline.stop` stops capture only; everything already captured is still segmented,
decoded and delivered, so stop never loses captions.

A session is built from one :class:`~streamer.config.schema.Config`; the model is planned
(:func:`streamer.tuning.plan.plan_for`) here and loaded on the inference thread (the
scheduler's) by the one loader, :func:`streamer.tuning.loader.start_decoder` (fallback chain,
then calibration).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Protocol

from streamer.capture.audio import SAMPLE_RATE
from streamer.capture.recorder import Recorder
from streamer.capture.ringbuffer import RingBuffer
from streamer.config.schema import Config, InputOptions
from streamer.decoding.scheduler import Scheduler
from streamer.decoding.worker import InferenceWorker
from streamer.errors import ExitCode, LivescribeError
from streamer.events import (CaptureStarted, Event, FragmentDropped, InputLevel, PipelineStats,
                             PlanReady, SessionFailed, SourceOpened)
from streamer.segmentation.segmenter import Segmenter
from streamer.segmentation.window import SpeechWindow
from streamer.tuning.calibration import Loader
from streamer.tuning.loader import start_decoder
from streamer.tuning.plan import Plan, plan_for
from streamer.tuning.probe import Probe

logger = logging.getLogger(__name__)

_END = object()
#: snapshot interval when partials are on and ``VadOptions.partial_interval_ms`` is unset, ms
#: (docs/benchmarks.md, "Interim captions")
PARTIAL_INTERVAL_MS = 500


class Source(Protocol):
    """What the pipeline needs of an audio source (file replay or microphone)."""

    description: str
    error: LivescribeError | None
    live: bool  #: paced by a clock (microphone, replay at 1x/2x); False: waits for the worker

    def start(self) -> None: ...
    def stop(self) -> None: ...
    def pause(self, paused: bool) -> None: ...
    def join(self, timeout: float | None = None) -> None: ...


def source_factory(options: InputOptions, stdin_fd: int = 0) -> Callable[[RingBuffer], Source]:
    """``ring -> source`` for the configured input: a file replay (or stdin, ``-``), else the
    microphone. A replay speed left ``"auto"`` (a front end decides it) is real time here.

    Args:
        options: the configuration's ``input`` group.
        stdin_fd: the file descriptor ``input.file`` ``-`` reads (a front end that gives the
            terminal to a UI passes the copy of stdin it kept).

    Raises:
        DeviceError: microphone input and PortAudio is missing (exit 69), checked now, before
            the model loads.
    """
    if options.file:
        from streamer.capture.sources import FileSource

        speed = 1.0 if options.speed == "auto" else options.speed
        return lambda ring: FileSource(options.file, ring, speed=speed, repeat=options.repeat,
                                       input_format=options.format, rate_hz=options.rate_hz,
                                       channels=options.channels, stdin_fd=stdin_fd)
    from streamer.capture.mic import MicSource, import_sounddevice

    sd = import_sounddevice()
    return lambda ring: MicSource(ring, device=options.device, channel=options.channel,
                                  rate_hz=options.rate_hz, sd=sd)


def plan_event(plan: Plan, calibrated: bool, cpu_features: tuple[str, ...] = ()) -> PlanReady:
    """The :class:`PlanReady` event describing ``plan``."""
    return PlanReady(calibrated=calibrated, model=plan.model, device=plan.device,
                     compute_type=plan.compute_type, cpu_threads=plan.cpu_threads,
                     beam_size=plan.beam_size, rows=tuple(plan.rows().items()),
                     cpu_features=tuple(cpu_features), warnings=plan.warnings)


class Pipeline:
    """One transcription session.

    Args:
        config: the session's configuration (:func:`streamer.config.build_config`).
        make_source: called with the ring buffer, returns the source that fills it; None
            builds it from ``config.input`` (:func:`source_factory`). Opened here, so a bad
            input fails before the model loads.
        plan: the tuning plan; None probes the machine and plans from ``config.model`` and
            ``config.decoding.language`` (:func:`streamer.tuning.plan.plan_for`).
        machine: the hardware probe, when the caller already made one (its SIMD features go
            into :class:`PlanReady`).
        loader: builds a decoder from a :class:`~streamer.decoding.models.ModelSpec`
            (:func:`streamer.tuning.loader.default_loader` when None; tests inject fakes).
        scheduler: a running :class:`~streamer.decoding.scheduler.Scheduler` whose warm model
            decodes this session with others (a server's); ``plan`` is then the plan it loaded
            and calibrated. None: the session loads its own model (the command line).

    Raises:
        LivescribeError: ``model.strict`` and an impossible override (78), a bad input (65,
            66, 69), or a recording file that cannot be created (73).

    Use ``for event in pipeline.events(): ...``; it starts the threads, yields events until
    every captured window is decoded, and ends with a final :class:`PipelineStats`.
    Afterwards :attr:`error` holds the first failure (model load, capture or recording), if
    any; the event stream carries it as :class:`SessionFailed`.
    """

    def __init__(self, config: Config = Config(), make_source=None, *, plan: Plan | None = None,
                 machine: Probe | None = None, loader: Loader | None = None,
                 scheduler: Scheduler | None = None) -> None:
        self.config = config
        if plan is None:
            machine, plan = plan_for(config.model, config.decoding.language, machine,
                                     task=config.decoding.task)
        self.plan = plan  #: the plan; replaced by the loaded, calibrated one on the inference thread
        self._cpu_features = tuple(machine.simd) if machine is not None else ()
        self._loader = loader
        self.ring = RingBuffer(config.pipeline.ring_capacity_s)
        self.source: Source = (make_source or source_factory(config.input))(self.ring)
        # opened after the source, so a bad input fails before an empty recording is created
        record = config.output.record
        self.recorder = Recorder(record) if record else None
        live = getattr(self.source, "live", True)
        self.partials = bool(config.output.partials) and live
        if config.output.partials and not live:
            logger.info("partials are for live input; a replay at max speed emits finals only")
        vad = config.vad
        # early finals decode the snapshots partials are made of, shown or not
        early = bool(config.pipeline.early_finals) and live
        if (self.partials or early) and vad.partial_interval_ms is None:
            vad = replace(vad, partial_interval_ms=PARTIAL_INTERVAL_MS)
        elif not (self.partials or early):
            vad = replace(vad, partial_interval_ms=None)
        # live input: decode each pause while it lasts, so the final is ready at its end
        vad = replace(vad, pause_snapshots=vad.pause_snapshots or live)
        self._vad = vad
        self.segmenter = Segmenter(vad, on_fragment=self._fragment)
        self._windows: queue.Queue[SpeechWindow | None] = queue.Queue(
            config.pipeline.window_queue_size)
        self._events: queue.Queue = queue.Queue(1024)
        self._decoding = replace(config.decoding, beam_size=plan.beam_size)
        self.worker = InferenceWorker(
            self._load, self._decoding, config.filters, self._windows, self._events,
            gate=config.gate,
            commit_limit_s=vad.max_utterance_s - vad.cut_search_ms / 1000,
            partials=self.partials, pause_decodes=vad.pause_snapshots, scheduler=scheduler,
            early_finals=early)
        self._shared = scheduler is not None
        self._seg_thread = threading.Thread(target=self._segment, name="segmenter", daemon=True)
        self._stopping = threading.Event()
        self.error: LivescribeError | None = None
        self.windows_sent = 0

    def _load(self):
        """The model's load (on the inference thread): fallback chain, calibration, a calibrated
        plan."""
        decoder, self.plan = start_decoder(self.plan, self._decoding, self._loader)
        self._events.put(plan_event(self.plan, True, self._cpu_features))
        return decoder

    def _fragment(self, start_s: float, end_s: float, confirmed_s: float) -> None:
        self._events.put(FragmentDropped(start_s, end_s, confirmed_s))

    # -- control ------------------------------------------------------------------------
    def stop(self) -> None:
        """Stop capture; queued audio and windows are still transcribed and delivered."""
        self._stopping.set()
        self.source.stop()

    def pause(self, paused: bool) -> None:
        """Pause or resume capture."""
        self.source.pause(paused)

    # -- threads ----------------------------------------------------------------------------
    def _segment(self) -> None:
        n = self._vad.frame_samples
        try:
            while True:
                item = self.ring.read(n)
                if item is None:
                    break
                if self.recorder is not None:  # this thread, not capture: see recorder.py
                    self.recorder.write(item[0])
                for w in self.segmenter.feed(*item):
                    self._queue_window(w)
            for w in self.segmenter.flush():
                self._queue_window(w)
        finally:
            if self.recorder is not None:
                self.recorder.close()
            self.worker.put(None)

    def _queue_window(self, w: SpeechWindow) -> None:
        """Send a final window to the worker's queue (blocks while it is full: backpressure)
        or a snapshot to its slot (never blocks; the newest wins)."""
        if w.is_snapshot:
            self.worker.offer(w)
            return
        self.worker.put(w)
        self.windows_sent += 1

    def stats(self, final: bool = False) -> PipelineStats:
        """A snapshot of the session's counters."""
        w = self.worker
        return PipelineStats(
            stream_s=self.ring.written_samples / SAMPLE_RATE,
            overruns=self.ring.overruns,
            overrun_samples=self.ring.overrun_samples,
            windows=self.windows_sent - w.windows_gated,
            fragments_dropped=self.segmenter.fragments_dropped,
            windows_decoded=w.windows_decoded,
            captions=w.captions,
            filtered=dict(w.filtered),
            queue_depth=self._windows.qsize(),
            inference_s=w.inference_s,
            final=final,
            windows_gated=w.windows_gated,
            partials=w.partials,
            partials_skipped=w.partials_skipped,
            finals_reused=w.finals_reused,
        )

    def events(self) -> Iterator[Event]:
        """Run the session, yielding :data:`~streamer.events.Event` s (their order: the
        :mod:`streamer.events` module doc), an :class:`InputLevel` every
        ``pipeline.level_interval_s`` and a :class:`PipelineStats` every
        ``pipeline.stats_interval_s``; the last event is a final :class:`PipelineStats`,
        preceded by a :class:`SessionFailed` if the session failed.

        Raises:
            DeviceError: the microphone cannot start (exit 69).
        """
        live = getattr(self.source, "live", True)
        rate = getattr(self.source, "rate_hz", None)
        yield SourceOpened(self.source.description, int(rate) if rate else None, live,
                           getattr(self.source, "duration_s", None))
        yield plan_event(self.plan, False, self._cpu_features)
        if self._shared:  # loaded and calibrated by the scheduler's owner
            self._events.put(plan_event(self.plan, True, self._cpu_features))
        self.worker.start()
        early = getattr(self.source, "start_before_model", False)
        if early:  # a microphone: nothing said while the model loads is lost
            yield self._start_capture()
            self._seg_thread.start()
        yield from self._while_loading(early)
        if self.worker.error is not None:
            self.error = self.worker.error
            self.source.stop()
            while early and self._seg_thread.is_alive():  # unblock the segmenter
                self._windows_drain()
                self._seg_thread.join(0.05)
            if self.recorder is not None:  # the segmenter may never have started
                self.recorder.close()
            yield from self._drain_events()
            yield from self._failure()
            yield self.stats(final=True)
            return
        if not early:
            if self._stopping.is_set():
                self.ring.close()
            else:
                yield self._start_capture()
            self._seg_thread.start()
        thread_done = threading.Thread(target=self._finish_worker, daemon=True)
        thread_done.start()
        stats_every = self.config.pipeline.stats_interval_s
        level_every = self.config.pipeline.level_interval_s
        now = time.monotonic()
        next_stats, next_level = now + stats_every, now + level_every
        while True:
            timeout = max(0.0, min(next_stats, next_level) - time.monotonic())
            try:
                ev = self._events.get(timeout=timeout)
            except queue.Empty:
                ev = None
            if ev is _END:
                break
            if ev is not None:
                yield ev
            now = time.monotonic()
            if now >= next_level:
                next_level = now + level_every
                yield self._level()
            if now >= next_stats:
                next_stats = now + stats_every
                yield self.stats()
        self.source.join(5.0)
        if self.worker.error is not None and self.error is None:  # failed after a stop()
            self.error = self.worker.error
        if self.source.error is not None and self.error is None:
            self.error = self.source.error
        if self.recorder is not None and self.recorder.error is not None and self.error is None:
            exc = self.recorder.error
            self.error = LivescribeError(
                f"recording to {self.recorder.path} failed after "
                f"{self.recorder.samples / SAMPLE_RATE:.1f} s: "
                f"{getattr(exc, 'strerror', None) or exc}", ExitCode.IO_ERROR)
        yield from self._failure()
        yield self.stats(final=True)

    def _while_loading(self, capturing: bool) -> Iterator[Event]:
        """Wait for the model, yielding what the session says meanwhile: the queued events
        (the calibrated plan, a microphone's dropped fragments; drained, so a long load never
        fills the queue and blocks the loader's own put) and, while ``capturing``, an
        :class:`InputLevel` every ``pipeline.level_interval_s`` (the meter moves during the
        load). Returns once the model is ready or failed, with what was queued until then
        (:class:`ModelReady` included: a file's :class:`CaptureStarted` comes after it), or on
        :meth:`stop` when not capturing."""
        level_every = self.config.pipeline.level_interval_s
        next_level = time.monotonic() + level_every
        while not self.worker.ready.is_set():
            if self._stopping.is_set() and not capturing:
                return
            try:
                yield self._events.get(timeout=0.05)
            except queue.Empty:
                pass
            if capturing and time.monotonic() >= next_level:
                next_level = time.monotonic() + level_every
                yield self._level()
        yield from self._drain_events()

    def _level(self) -> InputLevel:
        """The input level now (the segmenter's meter, stream seconds written)."""
        return InputLevel(self.segmenter.level_dbfs, self.segmenter.in_speech,
                          self.ring.written_samples / SAMPLE_RATE)

    def _start_capture(self) -> CaptureStarted:
        """Start the source; the event says when."""
        ev = CaptureStarted(time.monotonic())
        self.source.start()
        return ev

    def _failure(self) -> Iterator[SessionFailed]:
        if self.error is not None:
            yield SessionFailed(str(self.error), int(self.error.exit_code))

    def _finish_worker(self) -> None:
        self._seg_thread.join()
        self.worker.join()
        self._events.put(_END)

    def _windows_drain(self) -> None:
        try:
            while True:
                self._windows.get_nowait()
        except queue.Empty:
            pass

    def _drain_events(self) -> Iterator[Event]:
        try:
            while True:
                yield self._events.get_nowait()
        except queue.Empty:
            return
