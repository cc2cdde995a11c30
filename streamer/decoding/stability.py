"""Stability of interim text: LocalAgreement-3 over the decodes of one open utterance.

The words three decodes of the utterance agree on (compared without case and punctuation)
become stable (Macháček et al., 2023, whisper_streaming's LocalAgreement-n, here with n = 3),
under the rules measured in docs/benchmarks.md, "Interim captions". :class:`UtteranceState` holds one
utterance's stable text and earlier hypotheses; :mod:`streamer.decoding.worker` decodes, this
module only compares words.
"""

from __future__ import annotations


def _norm(word: str) -> str:
    """A word compared for agreement: lower case, letters, digits and apostrophes only."""
    return "".join(ch for ch in word.lower() if ch.isalnum() or ch == "'")


def agreed_prefix(older: list[str], newer: list[str]) -> int:
    """Number of leading words two hypotheses share, compared by :func:`_norm`."""
    n = 0
    for a, b in zip(older, newer):
        if _norm(a) != _norm(b) or not _norm(b):
            break
        n += 1
    return n


#: LocalAgreement compares a hypothesis with one decoded on at least this much less audio,
#: seconds: two decodes of nearly the same audio agree on garbage as readily as on words
#: (a 0.4 s snapshot and the pause snapshot 0.1 s later both heard "S" for "ask")
AGREEMENT_GROWTH_S = 0.4
#: no word becomes stable from a decode of less audio than this, seconds
COMMIT_MIN_AUDIO_S = 1.0
#: hypotheses that must agree on a word, each decoded on :data:`AGREEMENT_GROWTH_S` more audio
#: than the one before (LocalAgreement-n). 3 by ``scripts/partials_bench.py``: with 2, tiny.en's
#: finals lost 1.1 WER points against partials off (stable words from short decodes that the
#: final disagreed with were forced on it), with 3 0.3; agreement over 1.0 s of growth instead
#: (n = 2) lost 0.8 (docs/benchmarks.md, "Interim captions")
AGREEMENT_N = 3


class UtteranceState:
    """Partial state of the open utterance: its stable text and earlier hypotheses."""

    def __init__(self, index: int) -> None:
        self.index = index
        self.stable = ""
        self.history: list[tuple[int, list[str]]] = []  # (audio samples, words) per decode
        self.pause: tuple[tuple[float, float], object] | None = None  # (speech bounds, result)

    def commit(self, n_samples: int, words: list[str]) -> None:
        """LocalAgreement-n with a hold-back: make stable the words ``words`` shares with the
        latest hypothesis decoded on at least :data:`AGREEMENT_GROWTH_S` less audio (and with
        the one before that, and so on: :data:`AGREEMENT_N` hypotheses in all), except the
        last shared word when fewer than two words follow it (a word at the audio's edge may
        still grow: "America" -> "Americans"). Stable words keep the form already shown (the
        older hypothesis's); the last one is held without its trailing punctuation until the
        next word becomes stable, which appends it (so the stable text only grows and keeps
        the punctuation Whisper gave: a prefix without any steers later decodes into
        unpunctuated text)."""
        if n_samples < COMMIT_MIN_AUDIO_S * 16000:
            return
        n, size, base = len(words), n_samples, None
        for _ in range(AGREEMENT_N - 1):  # each older hypothesis must agree too
            size, older = next(((s, w) for s, w in reversed(self.history)
                                if size - s >= AGREEMENT_GROWTH_S * 16000), (None, None))
            if older is None:
                return
            if base is None:  # stable words take the form of the newest agreeing one
                base = older
            n = min(n, agreed_prefix(older, words))
        if len(words) - n < 2:
            n -= 1
        stable = self.stable.split()
        k = len(stable)
        if n > k:
            if k and base[k - 1].startswith(stable[-1]):
                stable[-1] = base[k - 1]  # its punctuation is decided now: appended, still a prefix
            self.stable = " ".join(stable + base[k:n]).rstrip(".,?!;:")
