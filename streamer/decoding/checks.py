"""Checks on one decode of a window: whether the decoder reads it again
(:meth:`streamer.decoding.decoder.WindowDecoder.decode`), and what it keeps.

- :func:`problem`: a loop (Whisper's compression-ratio test, or a repeated tail), an early
  end of a long window, or a final read ending in a word or phrase said twice: the fallback
  chain decodes it again, first in timestamp mode, then with the full 30 s context; a retry
  that Whisper would try again goes on too (:func:`retry_problem`), and :func:`kept` picks
  what the chain keeps.
- :func:`ended_short`: a clean decode on the sized context (the first, or the
  timestamp-mode retry the chain kept, unless it carries a doubled first reading's doubt) that
  leaves the end of the window unread: the encoder context sized to the window (at least
  10 s) sometimes makes Whisper end a window early ("Press 3 4" for "press 3 for advanced
  options", avg_logprob -0.97; "It imitates" for "imitates a much freer hand", -1.37), which
  Whisper's own 30 s context reads whole (-0.23 for both); a quiet voice under noise, too
  ("Unless to be rather", -1.13), and as surely as -0.54 ("Mr. John Dashwood had then
  leisure to consider how much", 3 s of the sentence unread).
  :func:`sure_and_longer` says whether that 30 s reading replaces it.

Thresholds: :class:`~streamer.decoding.decoder.DecodingOptions` (sources there).
"""

from __future__ import annotations

from dataclasses import replace

from streamer.decoding.result import DecodeResult, clean_attempt


def problem(text: str, speech_s: float, o, final: bool = False) -> str:
    """``"loop"``, ``"doubled"``, ``"early_end"`` or ``""`` for a decoded text.

    Args:
        text: the decode's text.
        speech_s: seconds of speech in the window (the segmenter's ``voiced_s``).
        o: the :class:`~streamer.decoding.decoder.DecodingOptions` (``loop_compression_ratio``,
            ``min_words_per_speech_s``, ``early_end_min_speech_s``).
        final: a final's decode, also ``"doubled"`` when it ends in a word or a phrase of up
            to 4 words said again (:func:`~streamer.decoding.text.doubled_tail`): on a short
            prompt alone, base read "10 10", "June June", "Delta Delta Delta", the copy given
            audio of its own by the alignment, where the 30 s context reads the word once
            (docs/benchmarks.md, "Each clip alone"); a real "No, no." read so again is kept
            (:func:`kept`). Not for an interim decode, which is judged and replaced.
    """
    from faster_whisper.transcribe import get_compression_ratio

    from streamer.decoding.text import doubled_tail, trim_loop

    if text and (get_compression_ratio(text) > o.loop_compression_ratio
                 or trim_loop(text)[1] > 0):
        return "loop"
    if final and doubled_tail(text):
        return "doubled"
    if (speech_s >= o.early_end_min_speech_s
            and len(text.split()) < o.min_words_per_speech_s * speech_s):
        return "early_end"
    return ""


def ended_short(r: DecodeResult, speech_s: float, audio_s: float, o) -> bool:
    """True when a clean decode of at least ``short_read_min_speech_s`` of speech, at an
    avg_logprob below ``short_read_log_prob`` (0.0: any reading) and fewer than
    ``short_read_words_per_s`` words per second of it (when set), leaves at least
    ``short_read_unread_s`` of the window's audio (``audio_s`` seconds) after the end of its
    last word (Whisper's alignment, run only then): it stopped while the speaker went on
    ("Press 3 4": 1.4 s unread; a drawn-out "LINE!" read whole: 0.5 s); False when nothing was
    aligned. ``o``: the decoder's options (``short_read_log_prob`` None disables)."""
    if (o.short_read_log_prob is None or speech_s < o.short_read_min_speech_s
            or r.avg_logprob >= o.short_read_log_prob
            or (o.short_read_words_per_s is not None
                and len(r.text.split()) >= o.short_read_words_per_s * speech_s)):
        return False
    words = r.aligned().words
    return bool(words) and audio_s - max(w.end_s for w in words) >= o.short_read_unread_s


def sure_and_longer(full: DecodeResult, short: DecodeResult, speech_s: float, o) -> bool:
    """True when the 30 s reading ``full`` of a window that :func:`ended_short` replaces it:
    clean, more words, and an avg_logprob above ``sure_log_prob`` (None: above ``short``'s)
    or at least ``whisper_log_prob`` (None: no such bar), the avg_logprob Whisper accepts a
    decode at: a reading that goes on where the short one stopped is less sure than the words
    it was sure of ("Unless to be rather cold", -0.64; the 30 s reading "... cold-heartedly
    rather selfless to be held exposed", -0.80)."""
    bar = short.avg_logprob if o.sure_log_prob is None else o.sure_log_prob
    accepted = o.whisper_log_prob is not None and full.avg_logprob >= o.whisper_log_prob
    return ((full.avg_logprob > bar or accepted)
            and len(full.text.split()) > len(short.text.split())
            and not problem(full.text, speech_s, o))


#: Whisper does not try again a decode whose no_speech_prob is above this (openai/whisper
#: ``transcribe.py``, ``no_speech_threshold``): "this is silence"; nor does :func:`retry_problem`
WHISPER_NO_SPEECH = 0.6


def retry_problem(r: DecodeResult, speech_s: float, o, retry: bool, final: bool = False) -> str:
    """:func:`problem` of ``r``'s text (``final``: a final's), or ``"low_logprob"`` when it is
    clean but a ``retry`` (a decode after a failed one, with a mode left after it) below ``o.retry_log_prob`` with
    no_speech_prob at most :data:`WHISPER_NO_SPEECH`: Whisper would try again ("Special Special
    Special", -1.43, for a loop read again in timestamp mode; the 30 s context, -0.50:
    "especially as regards the lower case numbers")."""
    p = problem(r.text, speech_s, o, final)
    if (not p and retry and o.retry_log_prob is not None and r.avg_logprob < o.retry_log_prob
            and r.no_speech_prob <= WHISPER_NO_SPEECH):
        return "low_logprob"
    return p


def kept(tried: list[DecodeResult], names: list[str], prefix: str | None) -> DecodeResult:
    """The decode of a window to keep from the fallback chain's ``tried`` (``names``: each
    one's mode and problem): the last when it is clean and no retry was too unsure; else of the
    clean ones (no loop, no early end, nothing said twice) the surest (faster-whisper's pick
    when every temperature fails); else :func:`longest_trimmed` (a word every mode read twice
    stays twice: "No, no."; a loop only when every mode looped).

    A final first read with a word said twice (``"doubled"``) and read again as that reading's
    first copy keeps that reading's doubt: the kept decode carries its avg_logprob when lower
    and its no_speech_prob when higher, since the retry mended the text and brought no new
    evidence (base on a game sound under a fan read "La la la", avg_logprob -1.33,
    no_speech_prob 0.51, which the no_speech filter drops; read again, "La", -0.92, passed). A
    retry that reads other words is judged on its own ("Special, special" read with the 30 s
    context as "especially as regards the lower case numbers.", -0.50; docs/benchmarks.md, "A
    word read twice, read again, keeps its doubt")."""
    from streamer.decoding.text import doubled_tail, normalize

    if ":" not in names[-1] and not any(n.endswith(":low_logprob") for n in names):
        k = tried[-1]
    else:
        clean = [t for t, n in zip(tried, names) if clean_attempt(n)]
        k = (max(clean, key=lambda t: t.avg_logprob) if clean
             else longest_trimmed(tried, names, prefix))
    first = tried[0]
    if names[0].endswith(":doubled") and normalize(k.text) == normalize(
            first.text.rsplit(maxsplit=doubled_tail(first.text))[0]):
        k = replace(k, avg_logprob=min(k.avg_logprob, first.avg_logprob),
                    no_speech_prob=max(k.no_speech_prob, first.no_speech_prob))
    return k


def longest_trimmed(tried: list[DecodeResult], names: list[str],
                    prefix: str | None) -> DecodeResult:
    """When every decode of a window failed :func:`problem` (``names``: each one's mode and
    problem): of the decodes that read words and did not loop (a word said twice, an early end)
    or, when there is none, of all, the one with the most words once its loop is cut
    (:func:`streamer.decoding.text.trim_loop`; of as many, the surest), with that text (its loop
    kept when the loop was inside the forced ``prefix``).

    A loop is the failure Whisper trusts least: faster-whisper, when every temperature fails,
    picks among the decodes under the compression-ratio threshold first
    (``generate_with_fallback``; our loop is that test or a repeated tail). base on a tracker
    tune 20 dB down read "you you" (-2.36), then in timestamp mode "I don't know what you're
    talking about," six times (-0.45), then "you" with the 30 s context: the loop's 7 words were
    a caption; the reading said twice is dropped as silence (no_speech_prob 0.76). Our
    benchmark, docs/benchmarks.md, "Every mode failed: a loop comes last"."""
    from faster_whisper.transcribe import get_compression_ratio

    from streamer.decoding.text import trim_loop

    pool = [t for t, n in zip(tried, names) if not n.endswith(":loop") and t.text] or tried
    text, best = max(((trim_loop(t.text)[0], t) for t in pool),
                     key=lambda c: (len(c[0].split()), c[1].avg_logprob))
    if prefix and not text.startswith(prefix.strip()):  # the loop was in the prefix
        text = best.text
    return replace(best, text=text,
                   compression_ratio=get_compression_ratio(text) if text else 0.0)
