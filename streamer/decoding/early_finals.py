"""Early finals: settled text of an utterance still open becomes a caption.

An utterance ends after ``vad.end_silence_ms`` of non-speech; where the detector never hears
that much (other people talking behind the speaker, a noise it takes for a voice), its caption
would wait for the utterance cap (20 s). On live input the snapshots of the open utterance are
decoded (for partials, shown or not), and LocalAgreement tells when words are settled
(:meth:`UtteranceState.early_final`: a sentence end the compared decodes all keep, or text
that stopped growing): this module turns them into a
:class:`~streamer.events.Caption` of the open utterance, and the worker
(:mod:`streamer.decoding.worker`) keeps them: later decodes of the utterance are forced
through them, its partials show only the words after them, and its final caption holds only
the rest. Measured in docs/benchmarks.md, "Early finals".
"""

from __future__ import annotations

import time
from difflib import SequenceMatcher

import numpy as np

from streamer.decoding.result import DecodeResult
from streamer.decoding.stability import UtteranceState, agreed_prefix, norm_word
from streamer.decoding.words import to_stream
from streamer.events import Caption
from streamer.segmentation.window import SpeechWindow


def early_caption(s: SpeechWindow, r: DecodeResult, words: list[str], k: int,
                  oldest_samples: int, utt: UtteranceState,
                  word_timestamps: bool = False) -> Caption:
    """The caption of words ``[utt.final_words, k)`` of ``words`` (the text of ``r``, snapshot
    ``s``'s decode); ``utt`` is not changed (:meth:`UtteranceState.finalize` does that).

    The caption spans its words as the decoder's alignment (:meth:`DecodeResult.aligned`,
    cross-attention DTW) times them: from the start of its first word (:func:`next_start`; the
    utterance's speech start for its first caption) to the end of word ``k``. Without word
    times (a decode built without ``align``, or an alignment whose words do not match the
    text's) it starts where the previous early final ended and ends where the oldest agreeing
    hypothesis's audio ended (``oldest_samples``, 16 kHz samples from the snapshot's start):
    the words had been said by then. Its ``latency_s`` counts from its end on the snapshot's
    clock (``speech_end_wall`` less the stream time between), as every caption's does.

    Args:
        s: the snapshot decoded.
        r: its decode; ``words`` is ``r.text.split()``.
        k: leading words of ``words`` that are final now (more than ``utt.final_words``).
        oldest_samples: see above.
        utt: the open utterance's state (its early finals so far).
        word_timestamps: give the caption its words' times.
    """
    end_s = s.start_s + oldest_samples / 16000
    timed = r.aligned().words if r.align is not None else ()
    if len(timed) != len(words):  # one timed word per word of the text, or none used
        timed = ()
    if timed:
        end_s = s.start_s + timed[k - 1].end_s
    done = utt.final_words
    start_s = next_start(utt, s, timed)
    end_s = min(max(end_s, start_s), s.speech_bounds[1])
    now = time.monotonic()
    speech_end_wall = s.captured_wall if s.speech_end_wall is None else s.speech_end_wall
    return Caption(
        text=" ".join(words[done:k]), start_s=start_s, end_s=end_s,
        latency_s=now - (speech_end_wall - (s.speech_bounds[1] - end_s)),
        language=r.language, avg_logprob=r.avg_logprob, no_speech_prob=r.no_speech_prob,
        compression_ratio=r.compression_ratio, window_index=s.index, emitted_wall=now,
        utterance=s.index,
        words=to_stream(timed[done:k], s, start_s, end_s) if word_timestamps else ())


def nothing_after(words: list[str], stable: list[str], final_words: int) -> bool:
    """True when a free decode of an utterance's window (a snapshot or its final), ``words``,
    reads nothing after its first ``final_words`` stable words (its early finals): some words,
    no more than they are, ending on their last word, and no stable word shown after them (an
    empty decode says nothing either way).

    Its text is then the early finals', and the window is not decoded again forced through
    them: forced through a word the audio does not quite hold (a 3 s decode's "mutates" for
    "imitates"), a decode with nothing left to read invented a sentence after it ("You can
    find the link in the description below."; docs/benchmarks.md, "Early finals").
    """
    return bool(final_words and words and len(words) <= final_words
                and len(stable) <= final_words
                and agreed_prefix(words[-1:], stable[final_words - 1:]) == 1)


#: Least share of matching words (difflib ratio) for :func:`copies_prefix`: a second reading of
#: the same audio differs from the first by the odd word (tiny.en babble20, beam 5 finals: 19
#: of 20 words, "aforesaid" for "aforementioned"; docs/benchmarks.md, "Beam size"). Our choice.
COPY_MIN_RATIO = 0.8
#: Fewest words a continuation needs to count as a copy (a word or two repeated is speech).
COPY_MIN_WORDS = 4


def copies_prefix(prefix: list[str], continuation: list[str]) -> bool:
    """True when the words a forced decode wrote after its ``prefix`` (the utterance's stable
    words) are a second reading of the prefix's last words: at least :data:`COPY_MIN_WORDS`,
    no more than the prefix, and matching its tail in :data:`COPY_MIN_RATIO` of their words
    (compared without case and punctuation).

    Forced through text that already holds all the audio says, a decode may read the audio
    again after it: tiny.en under background talk repeated an early final's whole sentence as
    its utterance's final caption.
    """
    n = len(continuation)
    if n < COPY_MIN_WORDS or n > len(prefix):
        return False
    a, b = [norm_word(w) for w in continuation], [norm_word(w) for w in prefix[-n:]]
    return SequenceMatcher(None, a, b, autojunk=False).ratio() >= COPY_MIN_RATIO


#: :func:`nothing_after` is trusted only for a window whose speech ends at most this long after
#: the utterance's last early final, seconds: over tiny.en's babble20 run, a long window's free
#: decode stopped at the early finals while 6 s of speech followed them (a forced decode read
#: the sentence; docs/benchmarks.md, "Early finals")
NOTHING_AFTER_MAX_S = 1.0


def guarded_words(utt: UtteranceState | None, w: SpeechWindow) -> int:
    """``utt``'s early-final word count for :func:`nothing_after` on window ``w``, or 0 (no
    guard) when it has none or ``w``'s speech goes on more than :data:`NOTHING_AFTER_MAX_S`
    after the last of them."""
    if utt is None or utt.final_end_s is None:
        return 0
    return utt.final_words if w.speech_bounds[1] - utt.final_end_s <= NOTHING_AFTER_MAX_S else 0


def next_start(utt: UtteranceState, w: SpeechWindow, timed: tuple) -> float:
    """Stream time where the words after ``utt``'s early finals start, in window ``w``.

    ``w``'s speech start when nothing is final yet. Else the start of the first of them in
    ``timed`` (the words of ``w``'s decode, timed from its first sample, one per word of its
    text), with faster-whisper's clamp for a word after a sentence end: no longer than twice
    the median word duration (itself at most 0.7 s; ``WhisperModel.add_word_timestamps``), as
    the alignment stretches a word that follows a pause back over it; never before the last
    early final's end, nor before a decode heard nothing after it
    (:attr:`UtteranceState.quiet_until_s`; the alignment's only bound through background
    talk).
    """
    if utt.final_end_s is None:
        return w.speech_bounds[0]
    quiet = utt.quiet_until_s  # heard in snapshots that may run past a cap cut: not this window
    floor = max(utt.final_end_s,
                quiet if quiet is not None and quiet < w.speech_bounds[1] else 0.0)
    if len(timed) <= utt.final_words:
        return min(floor, w.speech_bounds[1])
    durations = [x.end_s - x.start_s for x in timed if x.end_s > x.start_s]
    longest = 2 * min(0.7, float(np.median(durations))) if durations else 0.0
    word = timed[utt.final_words]
    start = max(word.start_s, word.end_s - longest) if longest else word.start_s
    return min(max(floor, w.start_s + start), w.speech_bounds[1])
