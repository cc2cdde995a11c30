"""The inference worker: one session's decoding, windows in, captions out.

A session's windows wait in a bounded queue (``None`` ends it) and its snapshots in a one-slot
mailbox; the thread that owns the warm model, a :class:`~streamer.decoding.scheduler.Scheduler`
(a private one for the command line, loaded by ``load``: the tuning plan's fallback chain, then
calibration; one shared by every session of a server), takes them in turn. What is the
session's own lives here: its view of the model (language, prompt), filter chain, open
utterance, counters and event queue. Each final is decoded, filtered, and becomes a
:class:`Caption` or a :class:`WindowDropped`; a load error is stored in :attr:`error`.

**Backpressure.** Windows are decoded one by one, in order, also when inference falls behind;
capture is never blocked. A backlog is not joined into one decode: Whisper drops whole
utterances from joined windows (``scripts/backlog_bench.py``, docs/benchmarks.md "Backlog").

**Partials.** Snapshots of the open utterance (:attr:`SpeechWindow.is_snapshot`) arrive in a
one-slot mailbox (:class:`SnapshotSlot`, the newest replaces the one waiting) and are decoded
only when no final window waits: finals come first, and every snapshot replaced or made stale
by its final is counted in ``partials_skipped``. A snapshot's text passes the same filter chain
as a final (without becoming the chain's previous caption) before it is a :class:`Partial`.
Stability is LocalAgreement-3 (Macháček et al., 2023, whisper_streaming;
:mod:`streamer.decoding.stability`): the words three decodes of the utterance agree on
(compared without case and punctuation) become stable, and every later decode of the
utterance, its final included, keeps them: a free decode that agrees is used as is, one that
disagrees is decoded again forced through the stable text (:meth:`WindowDecoder.decode`'s
``prefix``). No word is made stable or final past ``commit_limit_s`` into the window (the
segmenter's cap less its cut search), where a cap may cut. When an utterance ends at the
speech end of its last ``"pause"`` snapshot, that decode is its final (``finals_reused``).

**Context.** A final or pause window that starts soon after the session's last kept caption
is also decoded after that caption's audio, its text forced as prefix, and reads what follows
it (:mod:`streamer.decoding.context`, :mod:`streamer.decoding.keeping`); it is kept only if
its decode alone passes the filters (:meth:`InferenceWorker._judge`).

**Early finals.** On live input, settled words are a caption before their utterance ends
(:mod:`streamer.decoding.early_finals`); its final caption holds only the rest (none left: a
:class:`WindowDropped` with filter ``"already_final"``, not counted as a drop).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING

from streamer.decoding.batch import Abandoned
from streamer.decoding.chain import FilterChain
from streamer.decoding.context import AudioContext
from streamer.decoding.decoder import DecodingOptions, WindowDecoder
from streamer.decoding.filter_options import FilterOptions
from streamer.decoding.gate import GateOptions
from streamer.decoding.gate import check as gate_check
from streamer.decoding.mailbox import SnapshotSlot
from streamer.decoding.result import DecodeResult
from streamer.decoding.early_finals import early_caption, guarded_words, next_start
from streamer.decoding.keeping import decode_keeping
from streamer.decoding.stability import UtteranceState
from streamer.decoding.words import prefix_words, to_stream
from streamer.errors import LivescribeError
from streamer.events import (Caption, ModelReady, Partial, WindowDropped, WindowGated,
                             WindowStarted, WindowTimings)
from streamer.segmentation.window import SpeechWindow

if TYPE_CHECKING:
    from streamer.decoding.scheduler import Scheduler

logger = logging.getLogger(__name__)

#: take a final from its pause snapshot's decode when the speech bounds match (False: always
#: decode the final window; scripts/partials_bench.py --no-reuse measures the difference)
REUSE_PAUSE_DECODE = True


class InferenceWorker:
    """Decode windows from ``windows`` and put events on ``events``.

    Args:
        load: called once on the inference thread (the private scheduler's), returns the
            loaded, warm decoder (the pipeline passes
            :func:`streamer.tuning.loader.start_decoder`: the fallback chain, then
            calibration); may raise :class:`~streamer.errors.LivescribeError`.
        decoding: decoding options (the language for the filter chain).
        filters: filter thresholds.
        windows: bounded queue of :class:`SpeechWindow` (``None`` ends the worker).
        events: bounded queue receiving ``ModelReady``, ``WindowStarted``, ``WindowGated``,
            ``WindowTimings``, ``Partial``, ``Caption`` and ``WindowDropped`` events.
        gate: the zero-crossing-rate gate every window passes before decoding
            (:mod:`streamer.decoding.gate`); a gated window is a :class:`WindowGated`.
        commit_limit_s: snapshots longer than this make no word stable (see the module doc);
            None: no limit.
        partials: decode snapshots when no final waits and emit :class:`Partial` events.
        pause_decodes: decode ``"pause"`` snapshots when no final waits even without partials
            (a speculative decode of the final, reused when the utterance ends there; the
            pipeline sets it for live input). Implied by ``partials``.
        scheduler: the :class:`~streamer.decoding.scheduler.Scheduler` whose model decodes
            this session's windows (a server's, shared by its sessions); None: :meth:`start`
            makes a private one that loads the model with ``load``.
        early_finals: settled words are captions before their utterance ends (see the
            module doc); snapshots are decoded for it, with partials or without.

    Attributes:
        ready: set once the model is loaded and warm, or loading failed (see :attr:`error`).
        error: the load failure, if any.
        windows_decoded, captions, inference_s, filtered: running counters.
        windows_gated: windows the gate kept from the model.
        snapshots: the :class:`SnapshotSlot` the pipeline offers snapshots to.
        partials, partials_skipped, finals_reused: see :class:`~streamer.events.PipelineStats`.
    """

    def __init__(self, load: Callable[[], WindowDecoder], decoding: DecodingOptions,
                 filters: FilterOptions, windows: queue.Queue, events: queue.Queue,
                 gate: GateOptions = GateOptions(), commit_limit_s: float | None = None,
                 partials: bool = False, pause_decodes: bool = False,
                 scheduler: Scheduler | None = None, early_finals: bool = True) -> None:
        self._load = load
        self.decoding, self.filters = decoding, filters
        self.chain = FilterChain(filters, language=decoding.language)
        # a decode forced through a prefix has no hotwords (upstream's rule): they win
        self.context = AudioContext(0.0 if decoding.hotwords else decoding.context_gap_s,
                                    decoding.context_max_s)
        self.windows, self.events = windows, events
        self.ready = threading.Event()
        self.error: LivescribeError | None = None
        self.decoder: WindowDecoder | None = None
        self.windows_decoded = self.captions = 0
        self.inference_s = 0.0
        self.filtered: Counter[str] = Counter()
        self.gate, self.windows_gated = gate, 0
        self.commit_limit_s = commit_limit_s
        self.snapshots = SnapshotSlot()
        self._emit_partials = partials
        self.early_finals = early_finals
        self.partials = self.finals_reused = self._snapshots_stale = 0
        self._utt: UtteranceState | None = None
        self._closed = -1  # highest utterance id a final (or its drop) has ended
        self.scheduler = scheduler
        self._private = False
        self._decodes_snapshots = partials or pause_decodes or early_finals
        self.ended = False  #: the end (``None``) was taken from the queue
        self.serial = 0  #: the scheduler's number for it (attach order, for round robin)
        self.done = threading.Event()  #: set once every window before the end is handled

    def start(self) -> None:
        """Begin: attach to the scheduler given at construction (a server's shared model), or
        start a private one whose thread loads the model with ``load`` (one session, one
        model: the command line)."""
        if self.scheduler is None:
            from streamer.decoding.scheduler import Scheduler

            self.scheduler = Scheduler(self._load)
            self._private = True
            self.scheduler.start()
        self.scheduler.attach(self)

    def join(self, timeout: float | None = None) -> None:
        """Wait until every window queued before the end is decoded (a private scheduler is
        then stopped)."""
        self.done.wait(timeout)
        if self._private and self.done.is_set():
            self.scheduler.stop()
            self.scheduler.join(timeout)

    def put(self, window: SpeechWindow | None) -> None:
        """Queue a final window, or the end (None); blocks while the queue is full
        (backpressure: the segmenter waits, the ring buffer behind it absorbs)."""
        self.windows.put(window)
        if self.scheduler is not None:
            self.scheduler.wake()

    def offer(self, snapshot: SpeechWindow) -> None:
        """Offer a snapshot of the open utterance (never blocks; the newest wins)."""
        self.snapshots.offer(snapshot)
        if self.scheduler is not None:
            self.scheduler.wake()

    def bind(self, decoder: WindowDecoder, ready: ModelReady) -> None:
        """The model is ready: take this session's view of it (its language and prompt,
        :meth:`WindowDecoder.for_session`) and announce it; a language the model cannot
        decode fails the session (:meth:`fail`)."""
        try:
            self.decoder = decoder.for_session(self.decoding)
        except LivescribeError as exc:
            self.fail(exc)
            return
        self.events.put(ready)
        self.ready.set()

    def fail(self, error: LivescribeError) -> None:
        """The model could not serve this session: nothing will be decoded."""
        self.error = error
        self.ready.set()
        self.done.set()

    def has_final(self) -> bool:
        """True when a final window (or the end) waits."""
        return not self.windows.empty()

    def take_snapshot(self, reason: str | None = None) -> SpeechWindow | None:
        """The waiting snapshot (of ``reason`` only, if given), if this session decodes
        snapshots."""
        return self.snapshots.take(reason) if self._decodes_snapshots else None

    def next_final(self) -> SpeechWindow | None:
        """The next final window; None when the end comes first (then :attr:`ended` is set) or
        nothing waits. Never blocks."""
        try:
            window = self.windows.get_nowait()
        except queue.Empty:
            return None
        if window is None:
            self.ended = True
        return window

    @property
    def partials_skipped(self) -> int:
        """Snapshots never decoded: replaced in the slot, their utterance already ended, or
        given up after their encode for a final (:class:`~streamer.decoding.batch.Abandoned`)."""
        return self.snapshots.replaced + self._snapshots_stale

    def _reuses_pause(self, w: SpeechWindow, utt: UtteranceState | None) -> bool:
        """True when ``w`` ends where its utterance's last kept pause decode did."""
        return (REUSE_PAUSE_DECODE and utt is not None and utt.pause is not None
                and utt.pause[0] == w.speech_bounds)

    def needs_decode(self, w: SpeechWindow) -> bool:
        """True when :meth:`handle_final` would decode final window ``w`` (it passes the gate and
        does not reuse a pause decode): what the scheduler batches."""
        utt = self._utt if self._utt is not None and self._utt.index == w.index else None
        return not self._reuses_pause(w, utt) and gate_check(w.audio, self.gate).passed

    def handle_final(self, w: SpeechWindow, free: DecodeResult | None = None) -> None:
        """Decode a final window (an utterance, or a piece of a capped one) into a caption or
        a drop.
        ``free``: its free decode, already run in a batch, for a window :meth:`needs_decode`
        found passing the gate and reusing nothing (neither is checked again)."""
        assert self.decoder is not None
        utt = self._utt if self._utt is not None and self._utt.index == w.index else None
        self._utt = None
        self._closed = max(self._closed, w.index)
        self.events.put(WindowStarted(w.index, w.start_s, w.end_s, self.windows.qsize(),
                                      time.monotonic(), w.reason, w.speech_bounds[1], w.decided_s))
        reused = free is None and self._reuses_pause(w, utt)
        # a reused pause decode's audio is this window's and passed the gate as a snapshot
        g = gate_check(w.audio, self.gate) if free is None and not reused else None
        if g is not None and not g.passed:
            self.windows_gated += 1
            self.context.clear()
            logger.info("gated window %d [%.2f-%.2f s]: %s", w.index, w.start_s, w.end_s,
                        g.reason)
            self.events.put(WindowGated(w.index, w.start_s, w.end_s, "gate", g.reason, ""))
            return
        t0 = time.perf_counter()
        if reused:  # the utterance ended where its last pause snapshot did: that is its text
            r = utt.pause[1]
            self.finals_reused += 1
        else:
            try:
                r = decode_keeping(self.decoder, w, self.context.joint(w),
                                   utt.stable if utt is not None else "", free,
                                   guarded_words(utt, w))
            except Exception as exc:  # a failed decode loses one window, never the session
                logger.exception("decoding window %d failed", w.index)
                self.context.clear()
                self.filtered["error"] += 1
                self.events.put(WindowDropped(w.index, w.start_s, w.end_s, "error",
                                              f"decoding failed: {exc}", ""))
                return
        t1 = time.perf_counter()
        r, verdict = self._judge(r, w)
        t2 = time.perf_counter()
        self.inference_s += t2 - t0 + (free.feature_s + free.encode_s + free.decode_s
                                       if free is not None else 0.0)
        self.windows_decoded += 1
        if not reused:
            self.events.put(WindowTimings(w.index, r.feature_s, r.encode_s, r.decode_s, t2 - t1))
        if not verdict.keep:
            self.filtered[verdict.filter] += 1
            self.context.clear()
            logger.info("dropped window %d [%.2f-%.2f s] by %s: %s: %r", w.index, w.start_s,
                        w.end_s, verdict.filter, verdict.reason, r.text)
            self.events.put(WindowDropped(w.index, w.start_s, w.end_s, verdict.filter,
                                          verdict.reason, r.text))
            return
        text = r.text if verdict.text is None else verdict.text  # a cut loop: the trimmed text
        self.context.keep(w, text)
        start_s, end_s = w.speech_bounds
        done = utt.final_words if utt is not None else 0
        rest = text.split()[done:]
        if done and not rest:
            logger.debug("window %d: every word is in its early finals", w.index)
            self.events.put(WindowDropped(w.index, w.start_s, w.end_s, "already_final",
                                          "every word is in its early finals", ""))
            return
        # word times for the caption only: next_start bounds the rest well enough without
        timed = prefix_words(text, self._aligned(r)) if self.decoding.word_timestamps else ()
        if done:  # the utterance's first words are already captions: the rest only
            timed = timed if len(timed) == done + len(rest) else ()  # one per word, or none
            start_s, text = next_start(utt, w, timed), " ".join(rest)
        self.captions += 1
        self.decoder.vote_language(r, w.voiced_s)
        words = timed[done:]
        now = time.monotonic()
        end_wall = w.captured_wall if w.speech_end_wall is None else w.speech_end_wall
        self.events.put(Caption(
            text=text, start_s=start_s, end_s=end_s, latency_s=now - end_wall,
            language=r.language, avg_logprob=r.avg_logprob, no_speech_prob=r.no_speech_prob,
            compression_ratio=r.compression_ratio, window_index=w.index, emitted_wall=now,
            utterance=w.index, words=to_stream(words, w, start_s, end_s)))

    def _judge(self, r: DecodeResult, w: SpeechWindow, remember: bool = True):
        """``(reading, verdict)``: ``r`` (a decode of ``w``) and the filter chain's verdict on
        it; with context (``r.own``), the window is kept only if its own reading passes, and
        reads as after its context only if that passes too (:mod:`streamer.decoding.keeping`)."""
        own = r.own
        if own is None:
            return r, self.chain.check(r, w, remember)
        verdict = self.chain.check(own, w, remember=False)
        if verdict.keep:
            after = self.chain.check(r, w, remember)
            if after.keep:
                return r, after
            verdict = self.chain.check(own, w, remember)
        return own, verdict

    def _aligned(self, r: DecodeResult) -> tuple:
        """``r``'s words timed from its window's start, aligned now unless the short-read
        test did already; empty when it cannot be aligned."""
        t0 = time.perf_counter()
        words = r.aligned().words
        self.inference_s += time.perf_counter() - t0
        return words

    def _early_final(self, s: SpeechWindow, r: DecodeResult, words: list[str], k: int,
                     oldest_samples: int, utt: UtteranceState) -> None:
        """Emit the first ``k`` of ``words`` (snapshot ``s``'s decode ``r``) as an early final
        (:func:`early_caption`) unless they end past ``commit_limit_s`` into the window."""
        t0 = time.perf_counter()
        caption = early_caption(s, r, words, k, oldest_samples, utt,
                                self.decoding.word_timestamps)
        self.inference_s += time.perf_counter() - t0
        if self.commit_limit_s is not None and caption.end_s - s.start_s > self.commit_limit_s:
            return
        utt.finalize(words, k, caption.end_s)
        self.captions += 1
        self.events.put(caption)

    def handle_snapshot(self, s: SpeechWindow) -> None:
        """Decode a snapshot of the open utterance into a :class:`Partial` (or nothing); a
        kept ``"pause"`` decode is remembered as the utterance's final text if it ends there."""
        assert self.decoder is not None
        # its final came first, or the final of an utterance before it still waits
        if s.index <= self._closed or s.index > self._closed + 1:
            self._snapshots_stale += 1
            return
        if not gate_check(s.audio, self.gate).passed:
            return
        utt = self._utt
        if utt is None or utt.index != s.index:
            utt = self._utt = UtteranceState(s.index)
        t0 = time.perf_counter()
        try:
            joint = self.context.joint(s) if s.reason == "pause" else None  # interim: alone
            r = decode_keeping(self.decoder, s, joint, utt.stable,
                               final_words=guarded_words(utt, s))
        except Abandoned:  # a final or a pause snapshot waits: the scheduler's rule
            self._snapshots_stale += 1
            return
        except Exception:  # a partial is never worth the session
            logger.exception("decoding a snapshot of utterance %d failed", s.index)
            return
        r, verdict = self._judge(r, s, remember=False)
        self.inference_s += time.perf_counter() - t0
        if not verdict.keep:
            logger.debug("no partial for utterance %d: %s: %r", s.index, verdict.reason, r.text)
            return
        text = r.text if verdict.text is None else verdict.text
        if not (self._emit_partials or self.early_finals):  # a speculative final only
            utt.pause = (s.speech_bounds, r) if s.reason == "pause" and text == r.text else None
            return
        if not text.startswith(utt.stable):  # a loop cut into the stable words: keep them
            return
        words = text.split()
        # stable words promise a reader of partials; unshown, forcing them costs WER for nothing
        if self._emit_partials and (self.commit_limit_s is None
                                    or len(s.audio) / 16000 <= self.commit_limit_s):
            utt.commit(len(s.audio), words)
        # an early final is limited by where its words end (_early_final), not the audio's
        final = (utt.early_final(len(s.audio), words)
                 if self.early_finals and text == r.text else None)
        utt.history.append((len(s.audio), words))
        if not text.startswith(utt.stable):  # shown as the stable words were first shown
            text = " ".join([utt.stable, *words[len(utt.stable.split()):]])
        utt.pause = (s.speech_bounds, r) if s.reason == "pause" and text == r.text else None
        if final is not None:
            self._early_final(s, r, words, *final, utt)
        utt.heard(words, s.end_s)
        done = utt.final_words  # a partial shows what is not final yet
        rest = " ".join(text.split()[done:])
        if not rest or not self._emit_partials:
            return
        self.partials += 1
        start_s, end_s = s.speech_bounds
        self.events.put(Partial(utterance=s.index, text=rest,
                                stable=" ".join(utt.stable.split()[done:]),
                                start_s=start_s if utt.final_end_s is None else utt.final_end_s,
                                end_s=end_s, emitted_wall=time.monotonic(),
                                language=r.language))
