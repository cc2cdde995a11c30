"""Decoding one speech window with a warm faster-whisper model.

A window is one utterance of at most 20 s, so there is no long-form seek loop: features are
computed once, the encoder runs on the window plus ``trailing_context_s`` of silence (at least
``encoder_context_s``; not the 30 s that ``WhisperModel.transcribe`` pads every input to), and
CTranslate2's ``generate`` decodes at temperature 0 with no conditioning on previous text.
Shortening the encoder input is the trade whisper.cpp calls ``audio_ctx``: on this 2-core
machine base int8 encodes a 10 s context in 0.17 s against 0.8 s for 30 s. The trailing
silence matters: with the context cut exactly at the end of the audio, greedy decoding loops
far more often ("Press 0. Press 3. for an operator Press 0. ..."; docs/benchmarks.md).

Conservative decoding without a sampling fallback still fails in recognisable ways on real speech:
a **loop** (a word or phrase repeated to the token limit), an **early end** (a long window decoded
as its first sentence only), a final ending in a word **read twice** ("10 10"). Each decode is
checked, and a failed one is decoded again, at temperature 0, in timestamp mode (which decodes long
windows segment by segment and rarely stops early), then with the full 30 s context; the first
clean result is kept, a retry only at Whisper's avg_logprob bar, else the surest clean one
(:meth:`WindowDecoder.decode`, :data:`FALLBACK`). A window read short, sure or not, is read again
with the 30 s context (:mod:`streamer.decoding.checks`). faster-whisper's public pieces are used
(``WhisperModel``, its feature extractor, tokenizer and CTranslate2 model), not its transcribe loop.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from streamer.decoding import checks
from streamer.decoding.models import ModelSpec, download, resolve_model
from streamer.decoding.result import DecodeResult
from streamer.errors import ExitCode, LivescribeError, LoadError, ModelError, first_line

logger = logging.getLogger(__name__)

MAX_TEXT_TOKENS = 448  #: Whisper's decoder context (n_text_ctx)
TIMESTAMP_S = 0.02  #: seconds per Whisper timestamp token
#: The decodes a window goes through until one passes the loop and early-end checks. Timestamp
#: mode first: a looping base final read again in 0.19-0.35 s, not 0.81-1.03 s; WER the same on
#: 13 robustness conditions, tiny.en's hesitant 0.6 better (docs/benchmarks.md, "Loop fallback").
FALLBACK = ("plain", "timestamps", "full")


@dataclass(frozen=True)
class DecodingOptions:
    """Conservative decoding of one window. Temperature is always 0 (no sampling fallback).

    Attributes:
        language: ISO 639-1 code, or None to detect it on the first voiced windows and keep it.
        beam_size: 1 is greedy search. The beam of finals and ``"pause"`` snapshots (the
            decodes a final can reuse); the tuning plan sets it.
        interim_beam_size: beam of the interim snapshots' decodes (reason ``"partial"``, every
            0.5 s of speech on live input: partials, their stable words and early finals come
            from them), capped at ``beam_size``. 1: the finals' gain from beam 5 is bought
            without slowing the decodes that are most of the live worker's load; early-final
            words are therefore greedy (docs/benchmarks.md, "Beam size").
        encoder_context_s: least seconds of mel features given to the encoder (the window is
            padded with silence up to this); None pads to Whisper's full 30 s, as upstream does
            (worse here: +5.3 points of Δ over the robustness conditions, docs/benchmarks.md).
        trailing_context_s: seconds of silence the encoder sees after the window's audio
            (the context is ``max(encoder_context_s, audio + this)``, at most 30 s). 2 s by the
            robustness benchmark: 0 s looped on 1 utterance in 70 (docs/benchmarks.md).
        initial_prompt: text placed before the window (names, vocabulary), or None.
        max_tokens_per_s: cap on new tokens per second of window (plus 16), a guard against
            runaway repetition loops; fast speech is about 5 tokens/s.
        suppress_blank: suppress a leading blank, as upstream.
        language_detection_windows: windows to vote over before fixing the language.
        language_detection_threshold: a window whose top language probability exceeds this
            fixes the language at once (faster-whisper's default 0.5, on its 30 s input: the
            detection runs on it too, :func:`streamer.decoding.batch._language_probs`).
        language_fix_min_speech_s: a window with less speech than this, seconds (the
            segmenter's ``voiced_s``), votes but does not fix the language at once; nor does
            one whose detection was made on less audio than this. 1.5 s by
            ``scripts/language_study.py``: short words, letters and numbers of other languages
            were often put first in another (docs/tuning.md, "language"). A window that fixes
            the language this way fixes its own, whatever the short ones before it voted.
        fallback: decode a window again when its text is a loop (compression ratio above
            ``loop_compression_ratio`` or a repeated tail, ``text.trim_loop``), ends early (fewer
            than ``min_words_per_speech_s`` words per second of speech over at least
            ``early_end_min_speech_s``) or, a final's, in a word said twice (``checks.problem``):
            first in timestamp mode, then with the full 30 s context (:data:`FALLBACK`); a clean
            final or pause retry below ``retry_log_prob`` (upstream's ``log_prob_threshold``, None:
            off) goes on too (:func:`streamer.decoding.checks.retry_problem`, ``checks.kept``): the
            last decode is kept, else the surest clean one, else the longest, loops last.
        loop_compression_ratio: Whisper's loop test (upstream ``compression_ratio_threshold``).
        min_words_per_speech_s: fewer words than this per second of speech is an early end.
            1.0: conversational English runs at 2-3 words per second, and on the robustness
            benchmark every window flagged so was an early end (docs/benchmarks.md).
        early_end_min_speech_s: shorter windows are not judged for an early end (a single
            long word, a name spelt out).
        short_read_log_prob, short_read_words_per_s, short_read_min_speech_s,
        short_read_unread_s, sure_log_prob, whisper_log_prob: a clean final or pause decode of
            ``short_read_min_speech_s`` of speech or more, avg_logprob below
            ``short_read_log_prob`` (0.0: any; a sure reading stops short too) and under
            ``short_read_words_per_s`` words a second of it (None: any rate), leaving
            ``short_read_unread_s`` of audio after its last aligned word is read again with the
            30 s context, kept if clean, longer and above ``sure_log_prob`` (None: surer than
            it) or at least ``whisper_log_prob`` (upstream's ``log_prob_threshold``: Whisper
            keeps such a decode; None: off); never with ``fallback`` off, a prefix,
            ``encoder_context_s`` or ``short_read_log_prob`` None (:mod:`streamer.decoding.checks`;
            docs/benchmarks.md, "Short reads and retries", "A sure reading stops short too").
        task: ``"transcribe"``, or ``"translate"`` (any language into English; multilingual).
        hotwords: words to favour (names, jargon) as faster-whisper's ``hotwords``; None: none.
        context_gap_s, context_max_s: a final or pause window whose speech starts at most
            ``context_gap_s`` after the last kept caption's speech ended is also decoded after
            its audio (``context_max_s`` in all), its text forced as prefix
            (:mod:`streamer.decoding.context`, :mod:`streamer.decoding.keeping`); 0 s: never.
        word_timestamps: time the words of each decode that becomes a caption
            (:meth:`DecodeResult.aligned`, a pass the short-read test has often run already:
            every clean final or pause decode of ``short_read_min_speech_s`` is aligned);
            interim snapshots, failed fallback attempts and forced decodes are not aligned.
    """

    language: str | None = None
    beam_size: int = 1
    interim_beam_size: int = 1
    encoder_context_s: float | None = 10.0
    initial_prompt: str | None = None
    max_tokens_per_s: float = 15.0
    suppress_blank: bool = True
    language_detection_windows: int = 3
    language_detection_threshold: float = 0.5
    language_fix_min_speech_s: float = 1.5
    trailing_context_s: float = 2.0
    fallback: bool = True
    loop_compression_ratio: float = 2.4
    min_words_per_speech_s: float = 1.0
    early_end_min_speech_s: float = 4.0
    short_read_log_prob: float | None = 0.0
    short_read_words_per_s: float | None = None
    short_read_min_speech_s: float = 1.0
    short_read_unread_s: float = 1.2
    sure_log_prob: float | None = None
    whisper_log_prob: float | None = -1.0
    retry_log_prob: float | None = -1.0
    task: str = "transcribe"
    hotwords: str | None = None
    context_gap_s: float = 1.0
    context_max_s: float = 10.0
    word_timestamps: bool = False

    def __post_init__(self) -> None:
        if self.task not in ("transcribe", "translate"):
            raise ValueError(f"task must be transcribe or translate, not {self.task!r}")
        if self.beam_size < 1 or self.interim_beam_size < 1:
            raise ValueError("beam_size and interim_beam_size must be >= 1")
        if self.encoder_context_s is not None and not 1.0 <= self.encoder_context_s <= 30.0:
            raise ValueError("encoder_context_s must be within 1..30 seconds")
        if not 0.0 <= self.trailing_context_s <= 10.0:
            raise ValueError("trailing_context_s must be within 0..10 seconds")
        if self.context_gap_s < 0 or not 0.0 <= self.context_max_s <= 28.0:  # 28 + 2 s trailing
            raise ValueError("context_gap_s must be >= 0, context_max_s within 0..28 seconds")

    def beam_for(self, interim: bool) -> int:
        """``beam_size`` for a final or ``"pause"`` decode; for an interim one (``interim``)
        ``interim_beam_size``, capped at ``beam_size`` (a calibration that stepped the beam
        down to 1 takes the interim decodes with it)."""
        return min(self.beam_size, self.interim_beam_size) if interim else self.beam_size


class WindowDecoder:
    """A loaded, warm Whisper model that decodes short windows.

    Args:
        spec: which model, device, compute type and threads (the model name is resolved with
            :func:`streamer.decoding.models.resolve_model`).
        options: decoding options.

    Raises:
        ModelError: the weights cannot be found or downloaded.
        LoadError: CTranslate2 cannot load them on this device (a missing CUDA driver...),
            or, on a GPU, cannot decode 1 s of low noise with them (a missing cuBLAS).
        LivescribeError: the device/compute type is impossible on this machine (exit 78).
    """

    def __init__(self, spec: ModelSpec, options: DecodingOptions = DecodingOptions()) -> None:
        from faster_whisper import WhisperModel

        self.spec = spec
        self.resolved = model = resolve_model(spec.name)
        self.options = options
        path = download(model)
        t0 = time.perf_counter()
        try:
            self.model = WhisperModel(path, device=spec.device, compute_type=spec.compute_type,
                                      cpu_threads=spec.cpu_threads)
        except ValueError as exc:  # CTranslate2: unsupported compute type / device
            raise LivescribeError(f"cannot load {model.name!r} on {spec.device} with "
                                  f"compute type {spec.compute_type}: {exc}",
                                  ExitCode.CONFIG) from None
        except RuntimeError as exc:
            raise LoadError(f"cannot load model {model.name!r}: "
                            f"{first_line(exc)}") from None
        self.load_s = time.perf_counter() - t0
        self.multilingual = bool(self.model.model.is_multilingual)
        self.language: str | None = options.language if self.multilingual else "en"
        self._check_language(options.language)
        self._votes: dict[str, list[float]] = {}
        #: the last full-input detection while the language is open: (its audio's samples,
        #: their first second, the probabilities); :meth:`known_detection`
        self.detected: tuple[int, np.ndarray, dict[str, float]] | None = None
        self._prompt_tokens: list[int] | None = None
        self._tokenizers: dict[str, object] = {}
        #: a session's interim decodes give way after their encode while this says so (Abandoned)
        self.yield_to: Callable[[], bool] | None = None
        self._frames_per_s = self.model.feature_extractor.sampling_rate // \
            self.model.feature_extractor.hop_length  # 100 mel frames per second
        self.warmup_s = 0.0
        if spec.device != "cpu":
            self._first_decode()

    def _first_decode(self) -> None:
        """A 1 s :meth:`warm_up` once on a GPU, so a GPU that loads but cannot compute fails
        here, inside the fallback chain, rather than at the first window.

        CTranslate2 loads the weights without touching cuBLAS/cuDNN; a missing or mismatched
        library (``libcublas.so.12`` on a CUDA-13-only machine: SYSTRAN/faster-whisper#1431,
        OpenNMT/CTranslate2#1933) raises ``RuntimeError`` at the first encode.

        Raises:
            LoadError: the decode failed (the message's first line is kept).
        """
        try:
            self.warm_up(1.0)
        except RuntimeError as exc:
            raise LoadError(f"cannot run model {self.resolved.name!r} on {self.spec.device}: "
                            f"{first_line(exc)}") from None

    def _check_language(self, language: str | None) -> None:
        """Raises ModelError (an English-only model and another language) or LivescribeError
        (exit 2: an unknown language code)."""
        if language and not self.multilingual and language != "en":
            raise ModelError(f"model {self.resolved.name!r} is English-only; --language "
                             f"{language} needs a multilingual model such as base")
        if language and language not in self.model.supported_languages:
            raise LivescribeError(f"unknown language code {language!r}", ExitCode.USAGE)
        if self.options.task == "translate" and not self.multilingual:
            raise ModelError(f"model {self.resolved.name!r} is English-only; --task translate "
                             "needs a multilingual model such as base")

    def for_session(self, options: DecodingOptions | None = None) -> WindowDecoder:
        """This warm model as one session sees it: the same weights, tokenizers and
        calibrated options (nothing is loaded or copied), with its own language state (the
        detection votes, the language once fixed) and initial prompt.

        Args:
            options: the session's decoding options; their ``language`` and ``initial_prompt``
                are taken, the rest stays the model's. None: the model's own.

        Raises:
            ModelError, LivescribeError: the session's language does not suit the model.
        """
        import copy

        view = copy.copy(self)
        if options is not None:
            self._check_language(options.language)
            view.options = replace(self.options, language=options.language,
                                   initial_prompt=options.initial_prompt)
        view.language = view.options.language if self.multilingual else "en"
        view._votes = {}
        view.detected = None
        view._prompt_tokens = None
        return view

    def warm_up(self, seconds: float = 5.0) -> float:
        """Decode ``seconds`` of low noise once so the first real window is fast.

        Returns:
            Wall seconds the warm-up decode took (the calibration measurement).
        """
        rng = np.random.default_rng(0)
        audio = (rng.standard_normal(int(seconds * 16000)) * 1e-3).astype(np.float32)
        t0 = time.perf_counter()
        self._decode(audio, self.language or "en", detect=False)
        self.warmup_s = time.perf_counter() - t0
        return self.warmup_s

    def _tokenizer(self, language: str):
        from faster_whisper.tokenizer import Tokenizer

        if language not in self._tokenizers:
            self._tokenizers[language] = Tokenizer(self.model.hf_tokenizer, self.multilingual,
                                                   task=self.options.task, language=language)
        return self._tokenizers[language]

    def decode(self, audio: np.ndarray, speech_s: float | None = None,
               previous_text: str | None = None, prefix: str | None = None,
               first: DecodeResult | None = None, interim: bool = False,
               language: str | None = None) -> DecodeResult:
        """Decode one window, checked for loops and early ends (see the module doc).

        Args:
            audio: ``float32 [n_samples]`` at 16 kHz in [-1, 1], at most 30 s.
            speech_s: seconds of speech in it (the segmenter's ``voiced_s``) for the early-end
                check; None uses the audio's length.
            previous_text: text said just before (the previous caption of the same turn),
                given to the decoder as context after ``initial_prompt``; None gives none.
            prefix: text the window is known to start with (an utterance's stable partial
                words): the decoder is forced through it and continues after it, and the
                returned text starts with exactly this string. None or empty forces nothing.
            first: its plain decode, already run (in a batch, ``batch.decode_batch``):
                checked, and the fallback goes on from it.
            interim: an interim snapshot's decode (for partials, stable words and early
                finals): at ``interim_beam_size`` (:meth:`DecodingOptions.beam_for`).
            language: decode in it, detecting nothing (a window after its context is read in
                its own decode's language); None: the session's, detected while it is open.

        Returns:
            The kept decode's text and figures; its timings sum every decode and alignment run.
        """
        o = self.options
        speech_s = audio.shape[0] / 16000 if speech_s is None else speech_s
        beam_size = o.beam_for(interim)
        modes = FALLBACK if o.fallback else FALLBACK[:1]
        tried: list[DecodeResult] = []
        names: list[str] = []
        lang = language or self.language
        for mode in modes:
            r = first if mode == "plain" and first is not None else self._decode(
                audio, lang, detect=not lang, mode=mode, previous_text=previous_text,
                prefix=prefix, beam_size=beam_size, interim=interim)
            retry = bool(tried) and mode != modes[-1] and not interim  # a mode left after it
            problem = checks.retry_problem(r, speech_s, o, retry, not interim) if o.fallback else ""
            names.append(mode + (f":{problem}" if problem else ""))
            tried.append(r)
            if not problem:
                break
            logger.debug("window decode %s: %s in %r", mode, problem, r.text[:80])
        kept = checks.kept(tried, names, prefix)
        align_s = 0.0  # ended_short's alignment, counted as decoding time
        # a clean reading on the sized context, first or retry (not one carrying a doubled
        # first reading's doubt: checks.kept), read short, sure or not: the 30 s context too
        sized = names[-1] in FALLBACK[:2] and not names[0].endswith(":doubled")
        if o.fallback and o.encoder_context_s and sized and not (prefix or interim):
            t0 = time.perf_counter()
            short = checks.ended_short(kept, speech_s, audio.shape[0] / 16000, o)
            align_s = time.perf_counter() - t0
            if short:  # read again with the 30 s context, in the language it was read in
                tried.append(self._decode(audio, kept.language, detect=False, mode="full",
                                          previous_text=previous_text, beam_size=beam_size))
                sure = checks.sure_and_longer(tried[-1], kept, speech_s, o)
                names[-1:] = [f"{names[-1]}:short", "full"] if sure else [names[-1], "full:unsure"]
                kept = tried[-1] if sure else kept
        return replace(kept, attempts=tuple(names),
                       feature_s=sum(t.feature_s for t in tried),
                       encode_s=sum(t.encode_s for t in tried),
                       decode_s=sum(t.decode_s for t in tried) + align_s)

    def _decode(self, audio: np.ndarray, language: str | None, detect: bool,
                mode: str = "plain", previous_text: str | None = None,
                prefix: str | None = None, beam_size: int | None = None,
                interim: bool = False) -> DecodeResult:
        """One decode. ``mode``: ``"plain"`` (no timestamps, context sized to the audio),
        ``"full"`` (no timestamps, 30 s context) or ``"timestamps"`` (Whisper's timestamp
        tokens, context sized to the audio; timestamps beyond the audio are suppressed);
        ``interim``: see :meth:`known_detection`. A batch of one of ``decode_many``."""
        from streamer.decoding.batch import Job, decode_many

        return decode_many([Job(self, audio, language, detect, previous_text, prefix,
                                beam_size=beam_size, interim=interim)], mode)[0]

    def known_detection(self, audio: np.ndarray, interim: bool = False) -> dict[str, float] | None:
        """The probabilities of this session's last detection if ``audio`` (``float32 [n]``
        at 16 kHz) is its utterance grown: it starts with that audio's first second (all when
        shorter), is under twice as long, and has not crossed ``language_fix_min_speech_s``
        since (a window long enough to fix the language votes with its own); for an
        ``interim`` decode, any length short of that crossing (each detection is an encode of
        the full 30 s input: docs/benchmarks.md, "The first utterance's partials"). Else None."""
        if self.detected is None:
            return None
        n, head, probs = self.detected
        crossed = n < self.options.language_fix_min_speech_s * 16000 <= audio.size
        same = n <= audio.size and np.array_equal(audio[:head.size], head)
        return probs if same and not crossed and (interim or audio.size < 2 * n) else None

    def remember_detection(self, audio: np.ndarray, probs: dict[str, float]) -> None:
        """Keep a full-input detection of ``audio`` for :meth:`known_detection` (its length and
        first second, not the caller's array)."""
        self.detected = (audio.size, audio[:16000].copy(), probs)

    def vote_language(self, result: DecodeResult, speech_s: float | None = None) -> None:
        """Count a kept caption's detected language; fix the session language once confident.

        Only windows whose caption survived the filters vote, so noise or music before the
        first words cannot fix a wrong language (base detects room noise as ``nn`` at p 0.7).
        The language is fixed when one window's probability exceeds
        ``language_detection_threshold`` and it holds at least ``language_fix_min_speech_s``
        of speech (``speech_s``, seconds; None: long enough): its language; or after
        ``language_detection_windows`` votes: the most voted (ties: the highest probability).
        Does nothing once the language is fixed or for English-only models.
        """
        if self.language is not None or result.detected_language is None:
            return
        lang, prob = result.detected_language, result.language_probability or 0.0
        o = self.options
        self._votes.setdefault(lang, []).append(prob)
        n = sum(len(v) for v in self._votes.values())
        sure = prob > o.language_detection_threshold and (
            speech_s is None or speech_s >= o.language_fix_min_speech_s)
        if sure or n >= o.language_detection_windows:
            best = lang if sure else max(self._votes, key=lambda k: (len(self._votes[k]),
                                                                      max(self._votes[k])))
            self.language, self.detected = best, None
            logger.info("language detected: %s (p=%.2f after %d windows)", best,
                        max(self._votes[best]), n)

