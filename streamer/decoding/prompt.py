"""What the decoder is given besides the audio: hotword tokens and the tokens never sampled.

Both are computed from faster-whisper's public :class:`~faster_whisper.tokenizer.Tokenizer`
as ``WhisperModel.transcribe`` computes them (its ``get_prompt`` and its default
``suppress_tokens=[-1]``), so a window decodes with the same prompt as upstream would give it.
"""

from __future__ import annotations


def hotword_tokens(tok, hotwords: str | None, limit: int) -> list[int]:
    """The tokens of ``hotwords`` for the previous-text slot of the prompt (after
    ``<|startofprev|>``, before any previous text), as faster-whisper's ``get_prompt`` builds
    them: ``" " + hotwords`` encoded, cut to ``limit - 1`` tokens.

    Args:
        tok: a :class:`faster_whisper.tokenizer.Tokenizer`.
        hotwords: words or phrases to favour (``"Kubernetes, Nginx, Dr. Okafor"``); None or
            blank gives none.
        limit: half the decoder's text context (224 tokens), the most the slot may hold.

    Returns:
        Token ids, possibly empty.
    """
    if not hotwords or not hotwords.strip():
        return []
    return tok.encode(" " + hotwords.strip())[:limit - 1]


def suppressed_tokens(tok) -> list[int]:
    """Token ids never to sample: the tokenizer's public ``non_speech_tokens`` (symbols and
    speaker-tag openers) and the task/control tokens, sorted.

    The same set faster-whisper's ``transcribe`` suppresses for its default
    ``suppress_tokens=[-1]`` (its module-level ``get_suppressed_tokens``, not part of its public
    API, does exactly this); computed here from the public :class:`faster_whisper.tokenizer.Tokenizer`.
    """
    ids = set(tok.non_speech_tokens)
    ids.update((tok.transcribe, tok.translate, tok.sot, tok.sot_prev, tok.sot_lm, tok.no_speech))
    return sorted(ids)
