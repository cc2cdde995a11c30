"""The inference worker: one thread, one warm model, windows in, captions out.

It loads the model once, runs a warm-up decode, then takes :class:`SpeechWindow` s from a
bounded queue until it receives the ``None`` sentinel, decodes each, runs the filter chain and
puts a :class:`Caption` or a :class:`WindowDropped` on the event queue. Failures travel as data:
a load error is stored in :attr:`error` and ends the worker.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import Counter

from streamer.audio import int16_to_float32
from streamer.decoder import DecodingOptions, ModelOptions, WindowDecoder
from streamer.errors import LivescribeError
from streamer.events import Caption, ModelReady, SpeechWindow, WindowDropped, WindowStarted
from streamer.filters import FilterChain, FilterOptions
from streamer.models import ResolvedModel
from streamer.plan import Plan, start_decoder

logger = logging.getLogger(__name__)


class InferenceWorker:
    """Decode windows from ``windows`` and put events on ``events``.

    Args:
        model: resolved model weights.
        model_options: device, compute type, threads.
        decoding: decoding options.
        filters: filter thresholds.
        windows: bounded queue of :class:`SpeechWindow` (``None`` ends the worker).
        events: bounded queue receiving ``ModelReady``, ``WindowStarted``, ``Caption`` and
            ``WindowDropped`` events.
        plan: the tuning plan (:mod:`streamer.plan`); when given, the model is loaded through
            its fallback chain and calibrated, and :attr:`plan` is replaced by the plan as
            loaded and measured. None loads ``model`` with ``model_options`` as given.

    Attributes:
        ready: set once the model is loaded and warm, or loading failed (see :attr:`error`).
        error: the load failure, if any.
        windows_decoded, captions, inference_s, filtered: running counters.
        timings: per-window ``(feature_s, encode_s, decode_s, filter_s)`` for ``--benchmark``.
    """

    def __init__(self, model: ResolvedModel, model_options: ModelOptions,
                 decoding: DecodingOptions, filters: FilterOptions,
                 windows: queue.Queue, events: queue.Queue, plan: Plan | None = None) -> None:
        self.model = model
        self.plan = plan
        self.model_options = model_options
        self.decoding = decoding
        self.filters = filters
        self.chain = FilterChain(filters, language=decoding.language)
        self.windows = windows
        self.events = events
        self.ready = threading.Event()
        self.error: LivescribeError | None = None
        self.decoder: WindowDecoder | None = None
        self.windows_decoded = 0
        self.captions = 0
        self.inference_s = 0.0
        self.filtered: Counter[str] = Counter()
        self.timings: list[tuple[float, float, float, float]] = []
        self._thread = threading.Thread(target=self._run, name="inference", daemon=True)

    def start(self) -> None:
        """Start the worker thread (loading begins at once)."""
        self._thread.start()

    def join(self, timeout: float | None = None) -> None:
        """Wait for the worker to finish the queued windows and exit."""
        self._thread.join(timeout)

    def is_alive(self) -> bool:
        """True while the thread runs."""
        return self._thread.is_alive()

    def _run(self) -> None:
        try:
            if self.plan is None:
                self.decoder = WindowDecoder(self.model, self.model_options, self.decoding)
                warmup_s = self.decoder.warm_up()
            else:  # fallback chain, then calibration (may step down) before any caption
                self.decoder, self.plan = start_decoder(self.plan, self.decoding)
                warmup_s = self.decoder.warmup_s
        except LivescribeError as exc:
            self.error = exc
            self.ready.set()
            return
        except Exception as exc:  # pragma: no cover - unexpected load failure
            logger.exception("model load failed")
            self.error = LivescribeError(f"model load failed: {exc}")
            self.ready.set()
            return
        d = self.decoder
        self.events.put(ModelReady(
            model=d.resolved.name, device=d.model_options.device,
            compute_type=d.model.model.compute_type, threads=d.model_options.cpu_threads,
            beam_size=d.options.beam_size, load_s=d.load_s, warmup_s=warmup_s,
            multilingual=d.multilingual))
        self.ready.set()
        while True:
            window = self.windows.get()
            if window is None:
                break
            self._handle(window)

    def _handle(self, w: SpeechWindow) -> None:
        assert self.decoder is not None
        self.events.put(WindowStarted(w.index, w.start_s, w.end_s, self.windows.qsize(),
                                       time.monotonic()))
        t0 = time.perf_counter()
        r = self.decoder.decode(int16_to_float32(w.audio))
        t1 = time.perf_counter()
        verdict = self.chain.check(r, w)
        t2 = time.perf_counter()
        self.inference_s += t2 - t0
        self.windows_decoded += 1
        self.timings.append((r.feature_s, r.encode_s, r.decode_s, t2 - t1))
        if not verdict.keep:
            self.filtered[verdict.filter] += 1
            logger.info("dropped window %d [%.2f-%.2f s] by %s: %s: %r", w.index, w.start_s,
                        w.end_s, verdict.filter, verdict.reason, r.text)
            self.events.put(WindowDropped(w.index, w.start_s, w.end_s, verdict.filter,
                                          verdict.reason, r.text))
            return
        self.captions += 1
        now = time.monotonic()
        self.events.put(Caption(
            text=r.text if verdict.text is None else verdict.text,  # a cut loop: the trimmed text
            start_s=w.start_s, end_s=w.end_s, latency_s=now - w.captured_wall,
            language=r.language, avg_logprob=r.avg_logprob, no_speech_prob=r.no_speech_prob,
            compression_ratio=r.compression_ratio, window_index=w.index, emitted_wall=now))
