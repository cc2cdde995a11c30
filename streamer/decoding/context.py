"""Audio context across utterances: the pieces of a sentence cut at a pause read as one.

An utterance ends after ``vad.end_silence_ms`` of non-speech (600 ms); a speaker who stops
longer inside a sentence ("he was not … an ill-disposed young man") has it cut there, and the
piece after the pause, decoded alone, is read without the words it continues ("and he will
suppose young man"). Its caption cannot wait for the sentence to end (the first piece is
already a caption), but its decode can hear what came before: a final window whose speech
starts at most ``context_gap_s`` after the previous kept caption's speech ended is decoded
with the audio of the session's previous windows before it (up to ``context_max_s`` in all,
silence as long as the gaps between them) and their kept text forced as the decoder's prefix;
its caption is what the model reads after that prefix, if the window alone passes the
filters (:mod:`streamer.decoding.keeping`). An audio overlap, de-duplicated by the forced
text: ``d-overlap`` of ``scripts/context_study.py`` (docs/benchmarks.md, "Context across a
pause").

:class:`AudioContext` is one session's memory of its recent kept finals;
:meth:`AudioContext.joint` gives a window's :class:`Joint` decode input, and
:meth:`Joint.strip` takes the context back out of its result.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from streamer.capture.audio import SAMPLE_RATE, int16_to_float32
from streamer.decoding.early_finals import copies_prefix
from streamer.decoding.result import DecodeResult
from streamer.decoding.stability import norm_word
from streamer.events import Word
from streamer.segmentation.window import SpeechWindow

#: punctuation a joint decode may put right after the forced text, closing its last sentence
CLOSING = ".,;:!?…"


def rereads(context: list[str], words: list[str]) -> bool:
    """True when ``words`` (read after ``context``'s words) are its last words again: the same
    words (compared by :func:`~streamer.decoding.stability.norm_word`), or a copy by
    :func:`~streamer.decoding.early_finals.copies_prefix`. Forced through text that ends as
    the new audio begins, a decode may read the text again instead of the audio (``voices``:
    "Montreal Forced Aligner." twice for "Montreal forced, forced aligner", then dropped as a
    repeat of the previous caption; docs/benchmarks.md, "Context across a pause"). The window
    read alone says the same words when they were said twice."""
    n = len(words)
    return bool(n) and ([norm_word(w) for w in words] == [norm_word(w) for w in context[-n:]]
                        or copies_prefix(context, words))


def borrows(context: list[str], words: list[str], own: list[str]) -> bool:
    """True when ``words`` (read after ``context``) hold the context's last two words in a row
    and the window's ``own`` reading does not: a decode that went back into the context
    midway ("5. Record mode. 4. 5." after "… Record mode.", the window alone "5."; `prompts`,
    docs/benchmarks.md "A look-back across short pauses"). Said twice, the window alone reads
    them too."""
    if len(context) < 2:
        return False
    tail = [norm_word(w) for w in context[-2:]]

    def holds(ws: list[str]) -> bool:
        n = [norm_word(w) for w in ws]
        return any(n[i:i + 2] == tail for i in range(len(n) - 1))

    return holds(words) and not holds(own)


@dataclass(frozen=True)
class Joint:
    """A window's decode input with the context before it.

    Attributes:
        audio: ``float32 [n_samples]`` at 16 kHz: the context windows' audio with zeros as
            long as the gaps between them, then the window's own.
        text: the context's kept text, forced as the decoder's prefix.
        offset_s: seconds of ``audio`` before the window's first sample.
        speech_s: seconds of speech in ``audio`` (the windows' ``voiced_s``), for the decoder's
            early-end check.
    """

    audio: np.ndarray
    text: str
    offset_s: float
    speech_s: float

    def prefix(self, stable: str = "") -> str:
        """The forced prefix: the context's text, then ``stable`` (the window's own stable
        words, forced after it)."""
        return f"{self.text} {stable}".strip()

    def strip(self, r: DecodeResult) -> DecodeResult | None:
        """``r`` (a decode of :attr:`audio` forced through :meth:`prefix`) as a decode of the
        window alone: its text after the context's (less the punctuation that closes the
        context's last sentence: ". And therefore..."), its compression ratio recomputed on it,
        its word alignment (when asked) without the context's words (:func:`after_words`) and
        timed from the window's first sample. Its confidence figures stay the joint decode's.

        None (the window's own reading stands) when ``r``'s text does not start with the
        context's (a decode that failed every check keeps its own text), when it goes on inside
        the context's last word ("letter" + "press"), or when what follows is a second reading
        of the context's last words (:func:`rereads`)."""
        from faster_whisper.transcribe import get_compression_ratio

        if not r.text.startswith(self.text):
            return None
        rest = r.text[len(self.text):]
        if rest and rest[0] not in CLOSING + " ":
            return None
        text = rest.lstrip(CLOSING + " ")
        if rereads(self.text.split(), text.split()):
            return None
        align, context, offset = r.align, self.text, self.offset_s

        def aligned() -> tuple[Word, ...]:
            return tuple(Word(w.text, max(0.0, w.start_s - offset), max(0.0, w.end_s - offset),
                              w.probability) for w in after_words(context, align()))

        return replace(r, text=text, compression_ratio=get_compression_ratio(text) if text
                       else 0.0, align=aligned if align is not None else None)


def _letters(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def after_words(context: str, words: tuple[Word, ...]) -> tuple[Word, ...]:
    """The timed words of a joint decode (:class:`Joint`) after those that spell ``context``
    (compared by letters and digits: the alignment splits "ill-disposed" or "1,000" into
    more words than spaces do); none when its first words do not spell it exactly (a word
    glued across the end of the context), so no context word is ever timed as the window's."""
    target, spelt = _letters(context), ""
    for k, w in enumerate(words):
        if spelt == target:
            return words[k:]
        spelt += _letters(w.text)
        if not target.startswith(spelt):
            return ()
    return ()


class AudioContext:
    """One session's kept finals that a window starting soon after them is decoded after.

    Args:
        gap_s: a window whose speech starts at most this long after the last kept final's
            speech ended is decoded with context, seconds; 0 turns the context off.
        max_s: most seconds of audio in a joint decode (context, silences and the window);
            the oldest context windows are let go first, and a longer window has none.
    """

    def __init__(self, gap_s: float, max_s: float) -> None:
        self.gap_s, self.max_s = gap_s, max_s
        self._kept: list[tuple[SpeechWindow, str]] = []

    def keep(self, w: SpeechWindow, text: str) -> None:
        """Final window ``w`` became a caption whose utterance reads ``text`` (its early finals
        included); the context ends before it if it was far from the last."""
        if not self.gap_s or not text:
            return
        if self._kept and not self._near(w):
            self._kept = []
        self._kept = self._within([*self._kept, (w, text)], w.end_s)  # the rest too old to use

    def clear(self) -> None:
        """A final was dropped, gated or failed to decode: the next window is not decoded after
        text that may not be speech."""
        self._kept = []

    def _within(self, kept: list, end_s: float) -> list:
        """The windows of ``kept`` (in stream order) that start at most ``max_s`` before
        ``end_s`` (stream seconds): the oldest are let go first."""
        return [k for k in kept if end_s - k[0].start_s <= self.max_s]

    def _near(self, w: SpeechWindow) -> bool:
        gap = w.speech_bounds[0] - self._kept[-1][0].speech_bounds[1]
        return 0.0 <= gap <= self.gap_s

    def joint(self, w: SpeechWindow) -> Joint | None:
        """``w``'s decode input with the context before it, or None when it has none (no kept
        final within ``gap_s`` before its speech, or no room within ``max_s``)."""
        if not self._kept or not self._near(w):
            return None
        ctx = self._within(self._kept, w.end_s)
        if not ctx:
            return None
        audio = joint_audio([cw for cw, _ in ctx], w)
        return Joint(audio=audio, text=" ".join(t for _, t in ctx),
                     offset_s=(audio.size - w.audio.size) / SAMPLE_RATE,
                     speech_s=w.voiced_s + sum(cw.voiced_s for cw, _ in ctx))


def joint_audio(before: list[SpeechWindow], w: SpeechWindow) -> np.ndarray:
    """``float32 [n_samples]`` at 16 kHz: the audio of the windows ``before`` (in stream
    order), zeros as long as the gaps between them, then ``w``'s."""
    parts = []
    for i, cw in enumerate(before):
        nxt = before[i + 1] if i + 1 < len(before) else w
        parts += [int16_to_float32(cw.audio),
                  np.zeros(int(max(0.0, nxt.start_s - cw.end_s) * SAMPLE_RATE), np.float32)]
    return np.concatenate(parts + [int16_to_float32(w.audio)])
