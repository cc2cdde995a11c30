"""The filters' thresholds (:class:`FilterOptions`), each with where its value comes from.

The filters themselves are in :mod:`streamer.decoding.filters`; these options are the
``filters`` section of the configuration (``streamer.config.schema``).
"""

from __future__ import annotations

from dataclasses import dataclass

from streamer.decoding.text import HALLUCINATIONS_PATH


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
            were fillers ("Er.", "Ah", "...") already dropped by ``no_speech``. Its cost
            outside those conditions: on the shared clip set (``scripts/bench_filters.py``) it
            drops isolated telephone words decoded below -1.0 ("Quote", "E.", "Punto.";
            docs/benchmarks.md, "Real speech: reference words removed").
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
            "NO"), kept when it ends the fallback chain clean, is the surest clean decode or
            the longest one that did not loop (when every mode looped, the longest cut to its
            first copy), or replaced a short reading (:mod:`streamer.decoding.checks`). With
            ``fallback`` off no decode is ``unrepaired``, so only the confirmation bound
            applies. None disables this branch; ``weak_peak_speech_prob`` None disables every
            branch. On the shared clip set it drops isolated telephone letters and words at
            no_speech_prob 0.53-0.65 with tiny.en ("D.", "E.", "Victor."), the same figures as
            the false captions it removes ("Oops.", "Who?").
        weak_brief_confirmed_s: the next two tests judge only a window Silero found weakly
            with under this many seconds confirmed (our benchmark: the false captions they
            remove had 0.21-0.69 s); so does the known-phrase filter's avg_logprob test of a
            window short of ``logprob_min_voiced_s`` (``phrase_log_prob_threshold``).
        weak_pitched_s, weak_pitched_log_prob: such a window is dropped when its avg_logprob
            is below ``weak_pitched_log_prob`` and fewer than ``weak_pitched_s`` of it are pitched
            (:func:`streamer.segmentation.voicing.pitched_seconds`; audio shorter than one
            frame is not judged). Our benchmark (docs/benchmarks.md, "Held out: desktop
            sounds..."): a game explosion base read as "10,000!" (0.69 s confirmed,
            avg_logprob -1.43, no_speech_prob 0.39, 0.0 s pitched) passed every other filter;
            of the 243 weakly found real-speech windows with under 1 s confirmed (the 13
            robustness conditions and the shared clip set, base and tiny.en), those under 0.1 s
            pitched were a codec-worn Italian "Ciao" (avg_logprob -0.40: kept by the decode
            test), two prompts already dropped by the first branch, and a creaky voice read as
            "4 4 4" (-1.94). Pitch alone would not do: creaky and codec-worn speech has little.
            The decode bar was upstream's -1.0 at first; held-out alerts under pink noise
            (``bench_nonspeech.py --set games``) were read as "Oh.", "Good.", "Go." at -0.66 to
            -0.80 with 0.00-0.07 s pitched, so it is -0.6: above them, under "Ciao" (-0.40),
            and no weakly found real word of the robustness conditions with under 0.1 s
            pitched decodes between the two bars (docs/benchmarks.md, "Held out: more games'
            sounds"). ``weak_pitched_s`` None disables this test.
        The ``sound_words`` of ``phrases_path`` (onomatopoeia that are no everyday word:
            "boom", "beep", "whoosh", ...) are the other test: a caption made only of them is
            dropped, as Whisper writes them for game and desktop effects (our benchmark:
            "BEEP!", "Boom.", "Boom. Boom."). A phrase file without that key has none;
            ``phrases_path`` "" disables them with the known phrases.
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
        phrase_log_prob_threshold: ... or its avg_logprob is below this (nats; over at least
            ``logprob_min_voiced_s`` voiced, or any length when Silero's peak is below
            ``weak_peak_speech_prob`` with under ``weak_brief_confirmed_s`` confirmed:
            :func:`~streamer.decoding.filters.known_phrase`) ...
        phrase_min_words_per_voiced_s: ... or it has fewer words per second of voiced audio
            (webrtcvad speech frames) than this: music keeps webrtcvad voiced for whole 5 s
            windows that decode to one or two words, a real "Thank you." is about 0.6 s of
            voice. A confident decode of a short voiced window is kept. (All three: our
            benchmark, docs/tuning.md.)
        repeat_within_s: drop a caption whose text equals the previous caption's when it starts
            within this many seconds of the previous one's end (stream time).
        phrases_path: the JSON phrase list (``assets/hallucinations.json``); "" disables the
            known phrases and the sound words.
        drop_annotations: drop captions that are only ``[Music]``-style annotations.
        trim_loops: cut a repetition loop at the end of a caption to its first occurrence
            before the filters judge it (:func:`trim_loop`), so the real words before a loop are
            kept (our benchmark: dropping looped captions whole removed 0.7 % of reference
            words with tiny.en); and a 2-4 word phrase read a second time at the end when the
            alignment gives that copy no audio (:class:`~streamer.decoding.chain.FilterChain`;
            our benchmark: one caption in 40 robustness runs, none on real words).
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
    weak_brief_confirmed_s: float = 1.0
    weak_pitched_s: float | None = 0.1
    weak_pitched_log_prob: float = -0.6
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


#: Every filter disabled except ``empty`` (the "filters off" configuration of the benchmarks).
FILTERS_OFF = FilterOptions(
    no_speech_threshold=None, log_prob_threshold=None, hard_log_prob_threshold=None,
    weak_peak_speech_prob=None, weak_no_speech_threshold=None, weak_pitched_s=None,
    compression_ratio_threshold=None, min_alnum_share=None, max_word_run=None, max_phrase_run=None, language_prob_threshold=None,
    repeat_within_s=None, phrases_path="", drop_annotations=False, trim_loops=False,
    loop_no_speech_threshold=None, partial_no_speech_threshold=None)
