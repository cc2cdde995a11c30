"""The inference worker: one thread, one warm model, windows in, captions out.

It loads the model once, runs a warm-up decode, then takes :class:`SpeechWindow` s from a
bounded queue until it receives the ``None`` sentinel, decodes each, runs the filter chain and
puts a :class:`Caption` or a :class:`WindowDropped` on the event queue. Failures travel as data:
a load error is stored in :attr:`error` and ends the worker.

**Backpressure.** When the source is live and windows are waiting (inference fell behind real
time), the worker takes every queued window, up to ``max_merge_s`` of audio, and decodes them
as one: the encoder runs once on the joined audio instead of once per window, so a backlog of
short windows costs barely more than one of them and the worker catches up without dropping
anything. Capture is never blocked: the queue is bounded, the segmenter waits on it, the ring
buffer behind it absorbs 30 s, and only past that are blocks refused and counted as overruns.
Replays at ``--speed max`` are not live (the source waits for the worker), so their windows are
never merged and give the same text as a real-time replay.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import Counter, deque

import numpy as np

from streamer.audio import int16_to_float32
from streamer.decoder import DecodingOptions, ModelOptions, WindowDecoder
from streamer.errors import LivescribeError
from streamer.events import Caption, ModelReady, SpeechWindow, WindowDropped, WindowStarted
from streamer.filters import FilterChain, FilterOptions
from streamer.models import ResolvedModel
from streamer.plan import Plan, start_decoder

logger = logging.getLogger(__name__)

MERGE_GAP_S = 0.2  #: silence put between merged windows so their words do not run together
TIMINGS_KEPT = 10_000  #: per-window timings kept for --benchmark (about 10 hours of speech)


def merge_windows(windows: list[SpeechWindow]) -> SpeechWindow:
    """Join consecutive windows into one for a single decode.

    The audio is the windows' ``int16`` samples with :data:`MERGE_GAP_S` of digital silence
    between them (the gaps between utterances are not kept, so ``audio`` may be shorter than
    ``end_s - start_s``). Stream times span the first window's start to the last one's end; the
    capture time is the last window's.
    """
    gap = np.zeros(int(MERGE_GAP_S * 16000), np.int16)
    parts: list[np.ndarray] = []
    for i, w in enumerate(windows):
        if i:
            parts.append(gap)
        parts.append(w.audio)
    first, last = windows[0], windows[-1]
    confirmed = [w.confirmed_s for w in windows]
    peaks = [w.peak_speech_prob for w in windows]
    return SpeechWindow(index=first.index, audio=np.concatenate(parts), start_s=first.start_s,
                        end_s=last.end_s, voiced_s=sum(w.voiced_s for w in windows),
                        captured_wall=last.captured_wall, reason="merged",
                        speech_start_s=first.speech_bounds[0], speech_end_s=last.speech_bounds[1],
                        confirmed_s=None if None in confirmed else sum(confirmed),
                        speech_end_wall=last.speech_end_wall,
                        peak_speech_prob=None if None in peaks else max(peaks))


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
        merge_backlog: merge queued windows when behind (live sources only; see module doc).
        max_merge_s: most audio merged into one decode, seconds (below Whisper's 30 s window,
            leaving room for the decoder's trailing context).

    Attributes:
        ready: set once the model is loaded and warm, or loading failed (see :attr:`error`).
        error: the load failure, if any.
        windows_decoded, captions, inference_s, filtered: running counters.
        windows_merged: windows decoded as part of a merge beyond its first (backlog relief).
        fallbacks: windows decoded again after a loop or an early end
            (:meth:`streamer.decoder.WindowDecoder.decode`).
        timings: per-decode ``(feature_s, encode_s, decode_s, filter_s)`` for ``--benchmark``
            (the last :data:`TIMINGS_KEPT`).
    """

    def __init__(self, model: ResolvedModel, model_options: ModelOptions,
                 decoding: DecodingOptions, filters: FilterOptions,
                 windows: queue.Queue, events: queue.Queue, plan: Plan | None = None,
                 merge_backlog: bool = False, max_merge_s: float = 24.0) -> None:
        if not 0 < max_merge_s <= 28:
            raise ValueError("max_merge_s must be within (0, 28] seconds")
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
        self.timings: deque[tuple[float, float, float, float]] = deque(maxlen=TIMINGS_KEPT)
        self.merge_backlog = merge_backlog
        self.max_merge_s = max_merge_s
        self.windows_merged = 0
        self.fallbacks = 0
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
        pending: SpeechWindow | None = None
        while True:
            window = pending if pending is not None else self.windows.get()
            pending = None
            if window is None:
                break
            batch = [window]
            ended = False
            while self.merge_backlog:
                try:
                    nxt = self.windows.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    ended = True
                    break
                if sum(len(w.audio) for w in batch) / 16000 + MERGE_GAP_S + nxt.duration_s \
                        > self.max_merge_s:
                    pending = nxt
                    break
                batch.append(nxt)
            if len(batch) > 1:
                self.windows_merged += len(batch) - 1
                logger.info("behind real time: merging windows %d-%d (%.1f s of audio) into "
                            "one decode", batch[0].index, batch[-1].index,
                            sum(len(w.audio) for w in batch) / 16000)
                window = merge_windows(batch)
            self._handle(window)
            if ended:
                break

    def _handle(self, w: SpeechWindow) -> None:
        assert self.decoder is not None
        self.events.put(WindowStarted(w.index, w.start_s, w.end_s, self.windows.qsize(),
                                       time.monotonic()))
        t0 = time.perf_counter()
        try:
            r = self.decoder.decode(int16_to_float32(w.audio), speech_s=w.voiced_s)
        except Exception as exc:  # a failed decode loses one window, never the session
            logger.exception("decoding window %d failed", w.index)
            self.filtered["error"] += 1
            self.events.put(WindowDropped(w.index, w.start_s, w.end_s, "error",
                                          f"decoding failed: {exc}", ""))
            return
        self.fallbacks += len(r.attempts) > 1
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
        self.decoder.vote_language(r)
        now = time.monotonic()
        start_s, end_s = w.speech_bounds
        end_wall = w.captured_wall if w.speech_end_wall is None else w.speech_end_wall
        self.events.put(Caption(
            text=r.text if verdict.text is None else verdict.text,  # a cut loop: the trimmed text
            start_s=start_s, end_s=end_s, latency_s=now - end_wall,
            language=r.language, avg_logprob=r.avg_logprob, no_speech_prob=r.no_speech_prob,
            compression_ratio=r.compression_ratio, window_index=w.index, emitted_wall=now))
