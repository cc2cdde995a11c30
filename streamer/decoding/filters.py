"""Anti-hallucination filters: each looks at one decoded window and keeps or drops it.

A filter is a small named function ``(result, window, options, context) -> Verdict``; the chain
stops at the first drop. :class:`~streamer.decoding.chain.FilterChain` runs it and holds the
little state it needs between windows (the previous caption); the worker counts drops per
filter name and emits a :class:`~streamer.events.WindowDropped` event for each.

The filters, in chain order:

- ``empty``: no text;
- ``annotation``: the whole caption is a non-speech annotation (``[Music]``, ``(applause)``,
  ``♪ ... ♪``), never speech;
- ``low_alnum``: too small a share of letters and digits (``"..."``, ``"- -"``);
- ``no_speech``: Whisper's silence rule, no_speech_prob above a threshold with avg_logprob < -1
  (openai/whisper ``transcribe.py``: 0.6 and -1.0; ours 0.45, measured); for interim text,
  no_speech_prob above 0.6 alone;
- ``low_logprob``: avg_logprob below a hard floor (-1.1, measured: music);
- ``weak_detection``: Silero VAD found the window only weakly (peak probability below 0.92) and
  Whisper doubts it too: briefly confirmed and an unsure decode (avg_logprob < -1.0), or
  no_speech_prob above 0.5 over a short confirmation or a decode that failed every loop and
  early-end check: two independent detectors both doubt it (measured: music and game effects
  at several levels and speeds, and real speech under 13 conditions);
- ``compression_ratio``: gzip ratio above 2.4 (openai/whisper default), a loop;
- ``repetition``: a word or phrase repeated back to back inside the caption;
- ``language``: with a language set, text the detector places in another language while giving
  the set language a low probability;
- ``known_phrase``: a caption made only of phrases Whisper is known to invent
  (``assets/hallucinations.json``), when the window's evidence of speech is weak;
- ``repeat_previous``: the same text as the previous caption, shortly after it.

Thresholds not taken from upstream come from our measurement on the shared real speech set and
the non-speech benchmark (``scripts/bench_filters.py``, ``scripts/bench_nonspeech.py``;
docs/tuning.md and docs/benchmarks.md, "## Filters"). The text helpers they share (normalising,
loop trimming, the phrase list) are in :mod:`streamer.decoding.text`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from streamer.decoding.result import DecodeResult
from streamer.decoding.text import (HALLUCINATIONS_PATH, _tokens, is_known_phrase, longest_run,
                                    normalize)
from streamer.segmentation.window import SpeechWindow




@dataclass(frozen=True)
class FilterOptions:
    """Thresholds of the filter chain; None disables a filter.

    Attributes:
        no_speech_threshold: drop when no_speech_prob is above this and avg_logprob is below
            ``log_prob_threshold`` (Whisper's silence rule; upstream default 0.6; ours 0.45:
            game music decoded at 0.5-0.6 with avg_logprob < -1, real speech windows with
            both that low cost 1 reference word in 3538 with tiny.en — our benchmark).
        log_prob_threshold: see above (upstream default -1.0).
        logprob_min_voiced_s: ``hard_log_prob_threshold`` and the avg_logprob test of
            :func:`weak_evidence` judge only windows with at least this many seconds of voiced
            audio. A single spoken word may decode far below -1 (a spelling the model doubts,
            down to -2.5 on real prompts of the shared set) while music keeps webrtcvad voiced
            for 4-5 s (our benchmark).
        hard_log_prob_threshold: avg_logprob below which text is dropped whatever no_speech_prob
            says (upstream has none; ours -1.1: music hallucinations with a low no_speech_prob
            decoded at -1.15 to -1.5, and the floor removes under 0.1 % of reference words —
            our benchmark).
        weak_peak_speech_prob, weak_confirmed_s, weak_log_prob_threshold: a window whose
            highest Silero probability is below ``weak_peak_speech_prob`` and whose
            Silero-confirmed speech is under ``weak_confirmed_s`` seconds is dropped when its
            avg_logprob is below ``weak_log_prob_threshold`` (nats; upstream's -1.0). Our
            benchmark (docs/tuning.md, "weak_detection"): game music opened windows with peaks
            0.56-0.95 and 0.15-0.42 s confirmed, decoded at -1.1 to -2.5 ("Let's go.",
            "1.5%"); of the real-speech windows as weakly detected under the 13 conditions of
            ``scripts/robust_bench.py``, those kept decoded at -0.49 to -0.91, those below -1.0
            were fillers ("Er.", "Ah", "...") already dropped by ``no_speech``.
        weak_no_speech_threshold, weak_no_speech_confirmed_s: a window whose Silero peak is
            below ``weak_peak_speech_prob`` is also dropped when its no_speech_prob is above
            ``weak_no_speech_threshold`` and either its confirmed speech is under
            ``weak_no_speech_confirmed_s`` seconds or every decode of it failed the loop and
            early-end checks (:attr:`DecodeResult.unrepaired`). Our benchmark
            (docs/benchmarks.md, "Non-speech at other levels and speeds"): ``../shared/nonspeech``
            at -14 to +6 dB, reversed, 0.89x and 1.125x speed gave 8 captions through the
            other filters, all weakly found (peaks 0.62-0.85) at no_speech_prob 0.54-0.82,
            six of them confirmed 0.21-0.6 s, two on decodes that looped in every mode
            ("NO", "Halt!"); of the real-speech windows of the 13 robustness conditions
            (base and tiny.en) found as weakly, none kept had no_speech_prob above 0.45, and
            the one above 0.5 with long confirmed speech was a real telephone prompt (peak
            0.79, 5.7 s confirmed, no_speech_prob 0.71: why the confirmation bound). The
            no_speech_prob judged is the kept decode's: the same for a plain and a timestamp-mode
            decode (one encoder input), higher for the 30 s context's (0.64 against 0.55 on
            "NO"), which is kept only when its text is the longest. With ``fallback`` off no
            decode is ``unrepaired``, so only the confirmation bound applies. None disables
            this branch; ``weak_peak_speech_prob`` None disables both.
        compression_ratio_threshold: drop text whose gzip ratio exceeds this (upstream 2.4).
        min_alnum_share: drop text whose share of letters and digits among its non-space
            characters is below this, [0, 1] (our benchmark).
        max_word_run: drop text in which one word occurs this many times back to back
            (our benchmark: real speech says "no, no, no", loops say "you you you you").
        max_phrase_run: drop text in which a phrase of 2-4 words occurs this many times back to
            back (our benchmark).
        language_prob_threshold: with a language set, drop text the language detector assigns
            to another language while giving the set language a probability below this, [0, 1],
            when the evidence of speech is weak as for known phrases (our benchmark).
        phrase_no_speech_threshold: a caption made only of known hallucination phrases is
            dropped when no_speech_prob is above this ...
        phrase_log_prob_threshold: ... or its avg_logprob is below this (nats) ...
        phrase_min_words_per_voiced_s: ... or it has fewer words per second of voiced audio
            (webrtcvad speech frames) than this: music keeps webrtcvad voiced for whole 5 s
            windows that decode to one or two words, a real "Thank you." is about 0.6 s of
            voice. A confident decode of a short voiced window is kept. (All three: our
            benchmark, docs/tuning.md.)
        repeat_within_s: drop a caption whose text equals the previous caption's when it starts
            within this many seconds of the previous one's end (stream time).
        phrases_path: the JSON phrase list (``assets/hallucinations.json``); "" disables.
        drop_annotations: drop captions that are only ``[Music]``-style annotations.
        trim_loops: cut a repetition loop at the end of a caption to its first occurrence
            before the filters judge it (:func:`trim_loop`), so the real words before a loop are
            kept (our benchmark: dropping looped captions whole removed 0.7 % of reference
            words with tiny.en).
        loop_no_speech_threshold: a caption that held a loop is dropped (``repetition``) rather
            than cut when no_speech_prob is above this: loops on real speech decoded with
            no_speech_prob <= 0.6, loops on music with 0.73-0.79 (our benchmark).
        partial_no_speech_threshold: interim text (a snapshot's decode) is dropped when
            no_speech_prob is above this, whatever its avg_logprob (upstream's 0.6 alone): no
            kept partial of meeting_dev went above 0.59; a game sound's "Oops." did (0.75 at
            avg_logprob -0.97, shared non-speech 20 dB down; docs/tuning.md, "Filters").
    """

    no_speech_threshold: float | None = 0.45
    log_prob_threshold: float | None = -1.0
    hard_log_prob_threshold: float | None = -1.1
    logprob_min_voiced_s: float = 2.0
    weak_peak_speech_prob: float | None = 0.92
    weak_confirmed_s: float = 0.6
    weak_log_prob_threshold: float = -1.0
    weak_no_speech_threshold: float | None = 0.5
    weak_no_speech_confirmed_s: float = 1.0
    compression_ratio_threshold: float | None = 2.4
    min_alnum_share: float | None = 0.5
    max_word_run: int | None = 4
    max_phrase_run: int | None = 3
    language_prob_threshold: float | None = 0.05
    phrase_no_speech_threshold: float | None = 0.5
    phrase_log_prob_threshold: float | None = -1.0
    phrase_min_words_per_voiced_s: float | None = 0.6
    repeat_within_s: float | None = 10.0
    phrases_path: str = str(HALLUCINATIONS_PATH)
    drop_annotations: bool = True
    trim_loops: bool = True
    loop_no_speech_threshold: float | None = 0.65
    partial_no_speech_threshold: float | None = 0.6


@dataclass(frozen=True)
class FilterContext:
    """What the chain knows beyond the window it judges.

    Attributes:
        language: the language the user set (ISO 639-1), or None when it is detected.
        previous_text: text of the previous caption emitted in the session ("" if none).
        previous_end_s: stream time at which the previous caption's window ended, seconds.
    """

    language: str | None = None
    previous_text: str = ""
    previous_end_s: float = float("-inf")


@dataclass(frozen=True)
class Verdict:
    """A filter's decision. ``keep`` False means the caption is dropped for ``reason``.

    ``text``, set only by :class:`FilterChain` on a kept caption whose repetition loop was cut
    (:func:`trim_loop`), is the text to emit instead of the decoded one.
    """

    keep: bool
    filter: str = ""
    reason: str = ""
    text: str | None = None


KEEP = Verdict(True)

Filter = Callable[[DecodeResult, SpeechWindow, FilterOptions, FilterContext], Verdict]


# -- the filters --------------------------------------------------------------------------------

def empty_text(r: DecodeResult, w: SpeechWindow, o: FilterOptions, c: FilterContext) -> Verdict:
    """Drop windows that decoded to no text."""
    return Verdict(False, "empty", "no text decoded") if not r.text.strip() else KEEP


_ANNOTATION = re.compile(r"^\s*(?:[\[(*♪♫🎵🎶].*?[\])*♪♫🎵🎶]\s*)+$")


def annotation(r: DecodeResult, w: SpeechWindow, o: FilterOptions, c: FilterContext) -> Verdict:
    """Drop captions that are only non-speech annotations: ``[Music]``, ``(applause)``, ``♪ ♪``.

    Whisper learned these from subtitles; they are never words someone said.
    """
    if o.drop_annotations and _ANNOTATION.match(r.text):
        return Verdict(False, "annotation", "only a non-speech annotation")
    return KEEP


def low_alnum(r: DecodeResult, w: SpeechWindow, o: FilterOptions, c: FilterContext) -> Verdict:
    """Drop text with too small a share of letters and digits (``"..."``, ``"- -"``, ``"♪"``)."""
    t = o.min_alnum_share
    # a run of one punctuation mark counts once, so a real "I..." is not dropped
    chars = [ch for ch in re.sub(r"(\W)\1+", r"\1", r.text) if not ch.isspace()]
    if t is None or not chars:
        return KEEP
    share = sum(ch.isalnum() for ch in chars) / len(chars)
    if share < t:
        return Verdict(False, "low_alnum", f"letters and digits {share:.2f} of the text < {t}")
    return KEEP


def no_speech(r: DecodeResult, w: SpeechWindow, o: FilterOptions, c: FilterContext) -> Verdict:
    """Whisper's silence rule: high no_speech_prob together with low avg_logprob; for interim
    text (a snapshot), no_speech_prob above ``partial_no_speech_threshold`` alone."""
    t = o.partial_no_speech_threshold
    if w.is_snapshot and t is not None and r.no_speech_prob > t:
        return Verdict(False, "no_speech", f"partial: no_speech_prob {r.no_speech_prob:.2f} > {t}")
    if o.no_speech_threshold is None or o.log_prob_threshold is None:
        return KEEP
    if r.no_speech_prob > o.no_speech_threshold and r.avg_logprob < o.log_prob_threshold:
        return Verdict(False, "no_speech",
                       f"no_speech_prob {r.no_speech_prob:.2f} > {o.no_speech_threshold} and "
                       f"avg_logprob {r.avg_logprob:.2f} < {o.log_prob_threshold}")
    return KEEP


def low_logprob(r: DecodeResult, w: SpeechWindow, o: FilterOptions, c: FilterContext) -> Verdict:
    """Drop text the model itself is very unsure of, over a window long enough to judge."""
    t = o.hard_log_prob_threshold
    if t is not None and r.avg_logprob < t and w.voiced_s >= o.logprob_min_voiced_s:
        return Verdict(False, "low_logprob", f"avg_logprob {r.avg_logprob:.2f} < {t}")
    return KEEP


def weak_detection(r: DecodeResult, w: SpeechWindow, o: FilterOptions,
                   c: FilterContext) -> Verdict:
    """Drop a window Silero VAD found only weakly when Whisper doubts it too: an unsure
    decode of a brief confirmation, or a high no_speech_prob over a short confirmation or
    an unrepaired loop (see FilterOptions)."""
    peak, confirmed = w.peak_speech_prob, w.confirmed_s
    if (o.weak_peak_speech_prob is None or peak is None or confirmed is None
            or peak >= o.weak_peak_speech_prob):
        return KEEP
    found = f"Silero peak {peak:.2f} and {confirmed:.2f} s confirmed"
    if confirmed < o.weak_confirmed_s and r.avg_logprob < o.weak_log_prob_threshold:
        return Verdict(False, "weak_detection", f"{found}, avg_logprob {r.avg_logprob:.2f} < "
                                                f"{o.weak_log_prob_threshold}")
    t = o.weak_no_speech_threshold
    if t is not None and r.no_speech_prob > t and (confirmed < o.weak_no_speech_confirmed_s
                                                    or r.unrepaired):
        how = "" if confirmed < o.weak_no_speech_confirmed_s else ", every decode failed its check"
        return Verdict(False, "weak_detection",
                       f"{found}{how}, no_speech_prob {r.no_speech_prob:.2f} > {t}")
    return KEEP


def compression_ratio(r: DecodeResult, w: SpeechWindow, o: FilterOptions,
                      c: FilterContext) -> Verdict:
    """Drop repetitive text (a gzip ratio above 2.4 is Whisper's loop test)."""
    t = o.compression_ratio_threshold
    if t is not None and r.compression_ratio > t:
        return Verdict(False, "compression_ratio",
                       f"compression ratio {r.compression_ratio:.2f} > {t}")
    return KEEP


def repetition(r: DecodeResult, w: SpeechWindow, o: FilterOptions, c: FilterContext) -> Verdict:
    """Drop loops inside a caption: one word, or a 2-4 word phrase, repeated back to back.

    Catches short loops the compression ratio misses (``"you you you you"`` compresses to a
    ratio under 2.4).
    """
    tokens = _tokens(normalize(r.text))
    if o.max_word_run is not None:
        run = longest_run(tokens, 1)
        if run >= o.max_word_run:
            return Verdict(False, "repetition", f"a word repeated {run} times in a row")
    if o.max_phrase_run is not None:
        for n in (2, 3, 4):
            run = longest_run(tokens, n)
            if run >= o.max_phrase_run:
                return Verdict(False, "repetition", f"a {n}-word phrase repeated {run} times")
    return KEEP


def language(r: DecodeResult, w: SpeechWindow, o: FilterOptions, c: FilterContext) -> Verdict:
    """With a language set, drop text the detector hears as another, unlikely-set language,
    when the window's evidence of speech is also weak (:func:`weak_evidence`).

    The detector alone is not enough: on real single-word telephone prompts of the shared set
    base detected another language with p(set language) down to 0.0004 at no_speech_prob 0.03
    (our benchmark). Needs the decoder's detection figures (multilingual models); English-only
    models pass.
    """
    t = o.language_prob_threshold
    if (t is None or c.language is None or r.detected_language is None
            or r.language_probability is None or r.detected_language == c.language):
        return KEEP
    if r.language_probability < t:
        why = weak_evidence(r, w, o)
        if why:
            return Verdict(False, "language",
                           f"detected {r.detected_language}; p({c.language}) "
                           f"{r.language_probability:.3f} < {t} and {why}")
    return KEEP


def weak_evidence(r: DecodeResult, w: SpeechWindow, o: FilterOptions) -> str:
    """Why the window's evidence of speech is weak ("" if it is not).

    Weak means: no_speech_prob above ``phrase_no_speech_threshold``, or avg_logprob below
    ``phrase_log_prob_threshold`` over at least ``logprob_min_voiced_s`` of voiced audio, or
    fewer words per voiced second than
    ``phrase_min_words_per_voiced_s``.
    """
    if o.phrase_no_speech_threshold is not None and r.no_speech_prob > o.phrase_no_speech_threshold:
        return f"no_speech_prob {r.no_speech_prob:.2f} > {o.phrase_no_speech_threshold}"
    if (o.phrase_log_prob_threshold is not None and r.avg_logprob < o.phrase_log_prob_threshold
            and w.voiced_s >= o.logprob_min_voiced_s):
        return f"avg_logprob {r.avg_logprob:.2f} < {o.phrase_log_prob_threshold}"
    rate = o.phrase_min_words_per_voiced_s
    if rate is not None and w.voiced_s > 0:
        words = len(_tokens(normalize(r.text)))
        if words / w.voiced_s < rate:
            return f"{words} word(s) in {w.voiced_s:.2f} s of voiced audio"
    return ""


def known_phrase(r: DecodeResult, w: SpeechWindow, o: FilterOptions, c: FilterContext) -> Verdict:
    """Drop a caption made only of known hallucination phrases when the evidence is weak.

    A real, clearly spoken "Thank you." decodes with a low no_speech_prob and a high
    avg_logprob over enough voiced audio, and is kept.
    """
    if not o.phrases_path or not is_known_phrase(r.text, o.phrases_path):
        return KEEP
    why = weak_evidence(r, w, o)
    if why:
        return Verdict(False, "known_phrase", f"known hallucination phrase and {why}")
    return KEEP


def repeat_previous(r: DecodeResult, w: SpeechWindow, o: FilterOptions,
                    c: FilterContext) -> Verdict:
    """Drop a caption that repeats the previous caption's text shortly after it."""
    t = o.repeat_within_s
    if t is None or not c.previous_text:
        return KEEP
    if w.start_s - c.previous_end_s <= t and normalize(r.text) == normalize(c.previous_text):
        return Verdict(False, "repeat_previous",
                       f"same text as the previous caption {w.start_s - c.previous_end_s:.1f} s "
                       "earlier")
    return KEEP


#: Every filter disabled except ``empty`` (the "filters off" configuration of the benchmarks).
FILTERS_OFF = FilterOptions(
    no_speech_threshold=None, log_prob_threshold=None, hard_log_prob_threshold=None,
    weak_peak_speech_prob=None, weak_no_speech_threshold=None,
    compression_ratio_threshold=None, min_alnum_share=None, max_word_run=None, max_phrase_run=None, language_prob_threshold=None,
    repeat_within_s=None, phrases_path="", drop_annotations=False, trim_loops=False,
    loop_no_speech_threshold=None, partial_no_speech_threshold=None)

#: The chain, in order of evaluation.
DEFAULT_CHAIN: tuple[Filter, ...] = (empty_text, annotation, low_alnum, no_speech, low_logprob,
                                     weak_detection, compression_ratio, repetition, language,
                                     known_phrase, repeat_previous)

#: Filter function -> the name it reports (``Verdict.filter``), in chain order.
FILTER_NAMES: dict[Filter, str] = {
    empty_text: "empty", annotation: "annotation", low_alnum: "low_alnum",
    no_speech: "no_speech", low_logprob: "low_logprob", weak_detection: "weak_detection",
    compression_ratio: "compression_ratio",
    repetition: "repetition", language: "language", known_phrase: "known_phrase",
    repeat_previous: "repeat_previous",
}
