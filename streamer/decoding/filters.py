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
  at several levels and speeds, and real speech under 13 conditions); or, with under 1.0 s
  confirmed, a caption of sound words only ("Boom.", "Beep!": what Whisper writes for an
  effect), or an unsure decode that is hardly pitched (under 0.1 s of frames with a
  fundamental, :mod:`streamer.segmentation.voicing`: an explosion, not a voice);
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

from streamer.decoding.filter_options import FilterOptions
from streamer.decoding.result import DecodeResult
from streamer.decoding.text import _tokens, is_known_phrase, longest_run, normalize
from streamer.segmentation.voicing import FRAME_SAMPLES, pitched_seconds
from streamer.segmentation.window import SpeechWindow


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
    an unrepaired loop; or, over a brief confirmation, when the text is only sound words
    ("Boom.") or an unsure decode is hardly pitched (see FilterOptions)."""
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
    if confirmed >= o.weak_brief_confirmed_s:
        return KEEP
    if o.phrases_path and is_known_phrase(r.text, o.phrases_path, "sound_words"):
        return Verdict(False, "weak_detection", f"{found}, only sound words")
    p = o.weak_pitched_s
    if (p is not None and r.avg_logprob < o.weak_pitched_log_prob
            and w.audio.size >= FRAME_SAMPLES):  # no audio is no evidence
        pitched = pitched_seconds(w.audio)
        if pitched < p:
            return Verdict(False, "weak_detection",
                           f"{found}, {pitched:.2f} s pitched < {p}, avg_logprob "
                           f"{r.avg_logprob:.2f} < {o.weak_pitched_log_prob}")
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


def _doubted_brief(r: DecodeResult, w: SpeechWindow, o: FilterOptions) -> str:
    """Why both detectors doubt a brief window ("" if they do not): Silero found it weakly and
    briefly (peak below ``weak_peak_speech_prob``, under ``weak_brief_confirmed_s``
    confirmed) and its avg_logprob is below ``phrase_log_prob_threshold``."""
    peak, conf, t = w.peak_speech_prob, w.confirmed_s, o.phrase_log_prob_threshold
    if (o.weak_peak_speech_prob is None or t is None or peak is None or conf is None
            or peak >= o.weak_peak_speech_prob or conf >= o.weak_brief_confirmed_s
            or r.avg_logprob >= t):
        return ""
    return (f"Silero peak {peak:.2f} and {conf:.2f} s confirmed, "
            f"avg_logprob {r.avg_logprob:.2f} < {t}")


def known_phrase(r: DecodeResult, w: SpeechWindow, o: FilterOptions, c: FilterContext) -> Verdict:
    """Drop a caption made only of known hallucination phrases when the evidence is weak.

    A real, clearly spoken "Thank you." decodes with a low no_speech_prob and a high
    avg_logprob over enough voiced audio, and is kept. A window Silero VAD found only weakly
    and briefly (peak below ``weak_peak_speech_prob``, under ``weak_brief_confirmed_s``
    confirmed) is also judged on its avg_logprob when it is short of ``logprob_min_voiced_s``:
    a known phrase both detectors doubt is dropped however little is voiced (our benchmark,
    docs/benchmarks.md, "Held out: non-speech in the conditions' rooms": "Hmm, hmm." on a
    sound under pink noise, Silero peak 0.71, 0.81 s confirmed, avg_logprob -1.43, 1.2 s
    voiced; a real telephone "Goodbye." is as weakly found, peak 0.68, but sure, -0.72).
    """
    if not o.phrases_path or not is_known_phrase(r.text, o.phrases_path):
        return KEEP
    why = weak_evidence(r, w, o) or _doubted_brief(r, w, o)
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
