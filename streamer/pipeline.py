"""The pipeline: wires source -> ring buffer -> segmenter -> worker -> events, one direction.

Threads and hand-offs::

    capture thread ──RingBuffer──▶ segmenter thread ──Queue[SpeechWindow]──▶ inference thread
                                                                  ──Queue[event]──▶ consumer

The consumer (CLI writers or the TUI) iterates :meth:`Pipeline.events` on its own thread.
:meth:`Pipeline.stop` stops capture only; everything already captured is still segmented,
decoded and delivered, so stop never loses captions.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Protocol

from streamer.decoding.decoder import DecodingOptions, ModelOptions
from streamer.errors import LivescribeError
from streamer.events import PipelineStats, SpeechWindow
from streamer.decoding.filters import FilterOptions
from streamer.decoding.gate import GateOptions
from streamer.decoding.models import ResolvedModel
from streamer.tuning.plan import Plan
from streamer.capture.recorder import Recorder
from streamer.capture.ringbuffer import RingBuffer
from streamer.segmentation.segmenter import Segmenter, VadOptions
from streamer.decoding.worker import InferenceWorker

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


@dataclass(frozen=True)
class PipelineOptions:
    """Everything that tunes a session, grouped by concern.

    Attributes:
        vad: segmentation.
        model: device, compute type, threads.
        decoding: decoding.
        filters: anti-hallucination thresholds.
        gate: energy/zero-crossing gate applied to each window before it is decoded.
        partials: emit :class:`~streamer.events.Partial` events for the utterance being spoken
            (snapshots every ``vad.partial_interval_ms``, default 500 ms). Live sources only: a
            replay at ``--speed max`` has no one waiting for words and emits finals only.
        ring_capacity_s: ring buffer capacity, seconds of audio.
        window_queue_size: windows that may wait for the worker before the segmenter blocks.
        stats_interval_s: how often :meth:`Pipeline.events` yields a stats snapshot.
        plan: tuning plan; when given the worker loads through its fallback chain and
            calibrates (:func:`streamer.tuning.plan.start_decoder`), else it loads ``model`` as is.
        record_path: save the audio the segmenter reads (16 kHz mono) to this ``.flac`` or
            ``.wav`` file (:class:`streamer.capture.recorder.Recorder`); None records nothing.
    """

    vad: VadOptions = field(default_factory=VadOptions)
    model: ModelOptions = field(default_factory=ModelOptions)
    decoding: DecodingOptions = field(default_factory=DecodingOptions)
    filters: FilterOptions = field(default_factory=FilterOptions)
    gate: GateOptions = field(default_factory=GateOptions)
    partials: bool = False
    ring_capacity_s: float = 30.0
    window_queue_size: int = 16
    stats_interval_s: float = 1.0
    plan: Plan | None = None
    record_path: str | None = None


class Pipeline:
    """One transcription session.

    Args:
        model: resolved model weights.
        make_source: called with the ring buffer, returns the source that fills it.
        options: pipeline options.

    Use ``for event in pipeline.events(): ...``; it starts the threads, yields events until
    every captured window is decoded, and ends with a final :class:`PipelineStats`.
    Afterwards :attr:`error` holds the first failure (model load or capture), if any.
    """

    def __init__(self, model: ResolvedModel, make_source, options: PipelineOptions = PipelineOptions()) -> None:
        self.options = options
        self.ring = RingBuffer(options.ring_capacity_s)
        self.source: Source = make_source(self.ring)
        # opened after the source, so a bad input fails before an empty recording is created
        self.recorder = Recorder(options.record_path) if options.record_path else None
        live = getattr(self.source, "live", True)
        self.partials = options.partials and live
        if options.partials and not live:
            logger.info("partials are for live input; a replay at max speed emits finals only")
        vad = options.vad
        if self.partials and vad.partial_interval_ms is None:
            vad = replace(vad, partial_interval_ms=PARTIAL_INTERVAL_MS)
        elif not self.partials:
            vad = replace(vad, partial_interval_ms=None)
        self.segmenter = Segmenter(vad)
        self._windows: queue.Queue[SpeechWindow | None] = queue.Queue(options.window_queue_size)
        self._events: queue.Queue = queue.Queue(1024)
        self.worker = InferenceWorker(
            model, options.model, options.decoding, options.filters, self._windows,
            self._events, plan=options.plan, merge_backlog=live, gate=options.gate,
            commit_limit_s=vad.max_utterance_s - vad.cut_search_ms / 1000,
            partials=self.partials)
        self._seg_thread = threading.Thread(target=self._segment, name="segmenter", daemon=True)
        self._stopping = threading.Event()
        self.error: LivescribeError | None = None
        self.windows_sent = 0

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
        n = self.options.vad.frame_samples
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
            self._windows.put(None)

    def _queue_window(self, w: SpeechWindow) -> None:
        """Send a final window to the worker's queue (blocks while it is full: backpressure)
        or a snapshot to its slot (never blocks; the newest wins)."""
        if w.is_snapshot:
            self.worker.snapshots.offer(w)
            return
        self._windows.put(w)
        self.windows_sent += 1

    def stats(self, final: bool = False) -> PipelineStats:
        """A snapshot of the session's counters."""
        w = self.worker
        return PipelineStats(
            stream_s=self.ring.written_samples / 16000,
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
            windows_merged=w.windows_merged,
            partials=w.partials,
            partials_skipped=w.partials_skipped,
            finals_reused=w.finals_reused,
        )

    def events(self) -> Iterator[object]:
        """Run the session, yielding engine events and periodic :class:`PipelineStats`."""
        self.worker.start()
        early = getattr(self.source, "start_before_model", False)
        if early:
            self.source.start()
            self._seg_thread.start()
        # wait for the model (its ModelReady event waits in the queue and comes out first)
        while not self.worker.ready.wait(0.05):
            if self._stopping.is_set() and not early:
                break
        if self.worker.error is not None:
            self.error = self.worker.error
            self.source.stop()
            while early and self._seg_thread.is_alive():  # unblock the segmenter
                self._windows_drain()
                self._seg_thread.join(0.05)
            if self.recorder is not None:  # the segmenter may never have started
                self.recorder.close()
            yield from self._drain_events()
            yield self.stats(final=True)
            return
        if not early:
            if self._stopping.is_set():
                self.ring.close()
            else:
                self.source.start()
            self._seg_thread.start()
        thread_done = threading.Thread(target=self._finish_worker, daemon=True)
        thread_done.start()
        next_stats = time.monotonic() + self.options.stats_interval_s
        while True:
            timeout = max(0.0, next_stats - time.monotonic())
            try:
                ev = self._events.get(timeout=timeout)
            except queue.Empty:
                ev = None
            if ev is _END:
                break
            if ev is not None:
                yield ev
            if time.monotonic() >= next_stats:
                next_stats = time.monotonic() + self.options.stats_interval_s
                yield self.stats()
        self.source.join(5.0)
        if self.source.error is not None and self.error is None:
            self.error = self.source.error
        yield self.stats(final=True)

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

    def _drain_events(self) -> Iterator[object]:
        try:
            while True:
                yield self._events.get_nowait()
        except queue.Empty:
            return
