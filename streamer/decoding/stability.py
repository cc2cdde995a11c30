"""Stability of interim text: LocalAgreement-3 over the decodes of one open utterance.

The words three decodes of the utterance agree on (compared without case and punctuation)
become stable (Macháček et al., 2023, whisper_streaming's LocalAgreement-n, here with n = 3),
under the rules measured in docs/benchmarks.md, "Interim captions". :class:`UtteranceState` holds one
utterance's stable text and earlier hypotheses; :mod:`streamer.decoding.worker` decodes, this
module only compares words.
"""

from __future__ import annotations


def norm_word(word: str) -> str:
    """A word compared for agreement: lower case, letters, digits and apostrophes only."""
    return "".join(ch for ch in word.lower() if ch.isalnum() or ch == "'")


def agreed_prefix(older: list[str], newer: list[str]) -> int:
    """Number of leading words two hypotheses share, compared by :func:`norm_word`."""
    n = 0
    for a, b in zip(older, newer):
        if norm_word(a) != norm_word(b) or not norm_word(b):
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
#: a word this close to the end of a decode's audio may be left out of it, seconds (a
#: snapshot's last word shows up in the next one 0.5 s later; :data:`AGREEMENT_GROWTH_S` is
#: the same evidence for LocalAgreement)
EDGE_S = 0.5
#: what ends a sentence (Whisper's punctuation)
SENTENCE_END = (".", "?", "!")
#: words whose full stop ends no sentence
ABBREVIATIONS = frozenset({"mr.", "mrs.", "ms.", "dr.", "st.", "vs.", "prof.", "etc."})


def ends_sentence(word: str) -> bool:
    """True when ``word`` ends a sentence: a full stop, question or exclamation mark, not an
    ellipsis (speech trailing off) or a title such as "Mr."."""
    return (word.endswith(SENTENCE_END) and not word.endswith("..")
            and word.lower() not in ABBREVIATIONS)


class UtteranceState:
    """Partial state of the open utterance: its stable text and earlier hypotheses."""

    def __init__(self, index: int) -> None:
        self.index = index
        self.stable = ""
        self.history: list[tuple[int, list[str]]] = []  # (audio samples, words) per decode
        self.pause: tuple[tuple[float, float], object] | None = None  # (speech bounds, result)
        self.final_words = 0  #: leading words already emitted as early finals
        self.final_end_s: float | None = None  #: stream time where the last of them ends
        #: stream time until which a decode heard nothing after them (less :data:`EDGE_S`)
        self.quiet_until_s: float | None = None

    def _agreeing(self, n_samples: int) -> list[tuple[int, list[str]]] | None:
        """The :data:`AGREEMENT_N` - 1 earlier hypotheses a decode of ``n_samples`` is compared
        with (newest first, each on at least :data:`AGREEMENT_GROWTH_S` less audio than the
        one after it), or None when there are not enough."""
        out, size = [], n_samples
        for _ in range(AGREEMENT_N - 1):
            size, older = next(((s, w) for s, w in reversed(self.history)
                                if size - s >= AGREEMENT_GROWTH_S * 16000), (None, None))
            if older is None:
                return None
            out.append((size, older))
        return out

    def early_final(self, n_samples: int, words: list[str]) -> tuple[int, int] | None:
        """Leading words of ``words`` that can be a final caption before the utterance ends.

        ``words`` and the :data:`AGREEMENT_N` - 1 earlier hypotheses LocalAgreement compares
        it with (each decoded on at least :data:`AGREEMENT_GROWTH_S` less audio) must agree on
        them word for word (compared by :func:`norm_word`), and where they end must be settled:

        - **the text stopped growing**: no hypothesis has a word after them (over
          ``AGREEMENT_N - 1`` growths of audio nothing more was said: only background talk or
          noise keeps the detector open), punctuated or not (Whisper leaves long noisy
          stretches unpunctuated); or
        - **a sentence ends there**: their last word ends a sentence (:func:`ends_sentence`)
          in every hypothesis (a full stop Whisper kept over ``AGREEMENT_N - 1`` growths is
          not the edge of the audio), whatever follows it.

        Words already final (:attr:`final_words`) are never counted twice, and the prefix
        holds at least every stable word (:attr:`stable`: a reader of partials was promised
        that the next caption starts with them).

        Returns:
            ``(k, n_samples_oldest)``: the prefix length in words (more than
            :attr:`final_words`), and the audio samples of the oldest hypothesis that agreed
            (the words had been said within them: the caption's end when the decoder gives
            no word times); None when no such prefix exists.
        """
        if n_samples < COMMIT_MIN_AUDIO_S * 16000:
            return None
        older = self._agreeing(n_samples)
        if older is None:
            return None
        hyps = [words] + [w for _, w in older]
        n = min(agreed_prefix(h, words) for h in hyps[1:])
        least = max(self.final_words + 1, len(self.stable.split()))
        if all(len(h) == n for h in hyps):  # the text stopped growing
            return (n, older[-1][0]) if n >= least else None
        for k in range(n, least - 1, -1):
            if all(ends_sentence(h[k - 1]) for h in hyps):
                return k, older[-1][0]
        return None

    def finalize(self, words: list[str], k: int, end_s: float) -> None:
        """The first ``k`` of ``words`` are final (an early final ending at stream time
        ``end_s``): later decodes keep them (the stable text holds at least them)."""
        self.final_words, self.final_end_s = k, end_s
        if len(self.stable.split()) < k:
            self.stable = " ".join(words[:k])

    def heard(self, words: list[str], end_s: float) -> None:
        """A decode of the utterance up to stream time ``end_s`` read ``words``: if nothing
        after its early finals, no word of the rest starts before ``end_s - EDGE_S``."""
        if self.final_words and len(words) <= self.final_words:
            self.quiet_until_s = max(self.quiet_until_s or 0.0, end_s - EDGE_S)

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
        older = self._agreeing(n_samples)  # each older hypothesis must agree too
        if older is None:
            return
        base = older[0][1]  # stable words take the form of the newest agreeing one
        n = min([len(words)] + [agreed_prefix(w, words) for _, w in older])
        if len(words) - n < 2:
            n -= 1
        stable = self.stable.split()
        k = len(stable)
        if n > k:
            if k and base[k - 1].startswith(stable[-1]):
                stable[-1] = base[k - 1]  # its punctuation is decided now: appended, still a prefix
            self.stable = " ".join(stable + base[k:n]).rstrip(".,?!;:")
