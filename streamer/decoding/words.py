"""Word times of a decoded window (``decoding.word_timestamps``).

Whisper's cross-attention heads tie each text token to the audio frames it was read from;
faster-whisper's public ``WhisperModel.find_alignment`` runs that alignment (CTranslate2's
``align``, dynamic time warping) on an encoder output and returns words with start, end and
probability. :func:`align_words` calls it on the window's own encoder output (the short
context the decoder used, not 30 s), then merges punctuation into its words as
``WhisperModel.transcribe`` does; :func:`to_stream` moves the times onto the stream clock.
"""

from __future__ import annotations

from streamer.events import Word
from streamer.segmentation.window import SpeechWindow

#: punctuation merged into the next / the previous word (faster-whisper's defaults)
PREPEND_PUNCTUATIONS = "\"'“¿([{-"
APPEND_PUNCTUATIONS = "\"'.。,，!！?？:：”)]}、"


def align_words(model, tok, encoder_output, text_tokens: list[int],
                num_frames: int) -> tuple[Word, ...]:
    """Words of ``text_tokens`` with their times in the window.

    Args:
        model: the :class:`faster_whisper.WhisperModel`.
        tok: the :class:`faster_whisper.tokenizer.Tokenizer` the tokens were decoded with.
        encoder_output: the encoder's output for the window (a CTranslate2 ``StorageView``,
            ``[1, frames / 2, d_model]``).
        text_tokens: the decoded text tokens (no timestamp or control tokens).
        num_frames: mel frames (100 per second) holding the window's audio, padding excluded.

    Returns:
        :class:`Word` s whose ``start_s``/``end_s`` are seconds from the window's first sample,
        punctuation merged as faster-whisper does; empty for no tokens.
    """
    from faster_whisper.transcribe import merge_punctuations

    if not text_tokens:
        return ()
    alignment = model.find_alignment(tok, [list(text_tokens)], encoder_output, num_frames)[0]
    merge_punctuations(alignment, PREPEND_PUNCTUATIONS, APPEND_PUNCTUATIONS)
    return tuple(Word(a["word"], float(a["start"]), float(a["end"]), float(a["probability"]))
                 for a in alignment if a["word"])


def to_stream(words: tuple[Word, ...], window: SpeechWindow, start_s: float | None = None,
              end_s: float | None = None) -> tuple[Word, ...]:
    """``words`` timed from ``window``'s first sample, moved to stream time and kept within the
    window, and within ``[start_s, end_s]`` when given (a caption's bounds: the alignment may
    stretch the first word after a pause back over it, as after an early final,
    :mod:`streamer.decoding.early_finals`)."""
    lo = window.start_s if start_s is None else max(window.start_s, start_s)
    hi = window.end_s if end_s is None else min(window.end_s, end_s)

    def at(t: float) -> float:
        return min(hi, max(lo, round(window.start_s + t, 3)))

    return tuple(Word(w.text, at(w.start_s), at(w.end_s), w.probability) for w in words)


def prefix_words(text: str, words: tuple[Word, ...]) -> tuple[Word, ...]:
    """The first ``len(text.split())`` of ``words`` when they spell ``text``'s words (case and
    punctuation aside): the timed words of a caption cut to a prefix of its decode (a loop cut
    by the decoder or the filter chain, a repeat the audio does not hold), whose alignment
    timed every decoded word. ``words`` unchanged otherwise."""
    from streamer.decoding.text import normalize

    toks = text.split()
    n = len(toks)
    if len(words) > n and [normalize(w.text) for w in words[:n]] == [normalize(t) for t in toks]:
        return words[:n]
    return words
