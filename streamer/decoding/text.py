"""Text helpers of the filter chain: normalisation, repetition loops, the phrase list.

Pure functions of text (no model, no audio), shared by the filters (:mod:`streamer.decoding.filters`)
and the decoder's loop check (:mod:`streamer.decoding.decoder`).
"""

from __future__ import annotations

import json
import re
import unicodedata
from functools import lru_cache
from pathlib import Path

#: The phrase list shipped with the project (sources cited inside the file). It lives in
#: assets/; streamer/decoding/hallucinations.json links to it so that wheels carry it as package
#: data.
HALLUCINATIONS_PATH = Path(__file__).resolve().parent / "hallucinations.json"


def normalize(text: str) -> str:
    """Case-folded text with punctuation and symbols removed and spaces collapsed.

    Apostrophes inside words are kept (``"i'll"``); NFKC folds full-width forms.
    """
    t = unicodedata.normalize("NFKC", text).casefold().replace("’", "'")
    out = []
    for ch in t:
        cat = unicodedata.category(ch)
        if ch == "'" or not (cat.startswith("P") or cat.startswith("S")):
            out.append(ch)
        else:
            out.append(" ")
    t = re.sub(r"(?<!\w)'|'(?!\w)", " ", "".join(out))
    return " ".join(t.split())


#: Unicode character-name prefixes of scripts written without spaces between words
UNSPACED_SCRIPTS = ("CJK UNIFIED", "CJK COMPATIBILITY", "HIRAGANA", "KATAKANA",
                    "HALFWIDTH KATAKANA", "THAI", "LAO", "KHMER", "MYANMAR")


def unspaced(text: str) -> bool:
    """True when ``text`` of at most two words should be read a character at a time: longer
    than 12 characters (a sentence with no spaces), or holding a character of a script written
    without spaces (a short Japanese loop such as ``"ぷっぷっぷっぷっぷっぷっ"``, base on game
    music 10 dB down: one "word" otherwise; docs/benchmarks.md, "Non-speech at other levels
    and speeds")."""
    return len(text.split()) <= 2 and (len(text) > 12 or _unspaced_script(text))


def _unspaced_script(text: str) -> bool:
    """True when ``text`` holds a character of a script written without spaces."""
    return any(unicodedata.name(ch, "").startswith(UNSPACED_SCRIPTS) for ch in text)


def _tokens(norm: str) -> list[str]:
    """Words of normalised text; characters for scripts written without spaces (CJK)."""
    if unspaced(norm):
        return [c for c in norm if not c.isspace()]
    return norm.split()


def longest_run(tokens: list[str], n: int) -> int:
    """Most times an ``n``-token sequence occurs back to back in ``tokens``."""
    best = 1 if len(tokens) >= n else 0
    for start in range(n):
        run, prev = 0, None
        for i in range(start, len(tokens) - n + 1, n):
            gram = tuple(tokens[i:i + n])
            run = run + 1 if gram == prev else 1
            prev = gram
            best = max(best, run)
    return best


def _spans(text: str, by_word: bool = False) -> list[tuple[int, int]]:
    """Character spans of the tokens of ``text``: words, or characters for text
    :func:`unspaced` reads a character at a time (never when ``by_word``)."""
    if not by_word and unspaced(text):
        return [(i, i + 1) for i, ch in enumerate(text) if not ch.isspace()]
    return [(m.start(), m.end()) for m in re.finditer(r"\S+", text)]


def trim_loop(text: str, min_word_repeats: int = 4, min_phrase_repeats: int = 2,
              long_phrase_words: int = 5, by_word: bool = False) -> tuple[str, int, int]:
    """Cut a decoding loop at the end of a caption down to its first occurrence.

    Whisper that falls into a loop repeats a word or phrase until the token limit, often after
    real words: ``"The pound gee. Printing. Printing. Printing. ... Print"`` becomes
    ``"The pound gee. Printing."``, and ``"Papa Papa Papa ..."`` (a real single-word prompt)
    becomes ``"Papa"``. A loop is a periodic tail of the token sequence (a cut-off last token
    counts): one word repeated ``min_word_repeats`` times or more ("no, no, no" is speech), a phrase
    of 2-4 words 3 times, a phrase of ``long_phrase_words`` or more ``min_phrase_repeats`` times.
    Text :func:`unspaced` claims is read a character at a time unless ``by_word``. A cut that
    leaves another loop at the new end is cut again (tiny.en on a falsetto voice:
    ``"I'm tree of forest a liner."`` three times, then ``"I'm tree."`` until the token limit,
    cut once to the three copies; our benchmark, docs/benchmarks.md, "A loop under a loop").

    Returns:
        The trimmed text (``text`` itself when there is no loop), the first loop's period in
        tokens and how many times it occurred (0, 0 when there is no loop).
    """
    cut, period, repeats = _trim_tail(text, min_word_repeats, min_phrase_repeats,
                                      long_phrase_words, by_word)
    while period and cut:
        cut, more, _ = _trim_tail(cut, min_word_repeats, min_phrase_repeats, long_phrase_words,
                                  by_word)
        if not more:
            break
    return cut, period, repeats


def _trim_tail(text: str, min_word_repeats: int, min_phrase_repeats: int,
               long_phrase_words: int, by_word: bool) -> tuple[str, int, int]:
    """One cut of :func:`trim_loop`: the periodic tail of ``text`` down to its first copy."""
    spans = _spans(text, by_word)
    toks = [normalize(text[a:b]) or text[a:b] for a, b in spans]
    n = len(toks)
    best: tuple[int, int, int] | None = None  # (start of the periodic tail, period, repeats)
    for p in range(1, n // 2 + 1):
        end = n
        # a last token cut off by the token limit ("Min" after "Minus") counts as a repeat
        if end - 1 - p >= 0 and toks[end - 1] != toks[end - 1 - p] and \
                toks[end - 1 - p].startswith(toks[end - 1]):
            end -= 1
        i = end - p
        while i - 1 >= 0 and toks[i - 1] == toks[i - 1 + p]:
            i -= 1
        repeats = (end - i) / p
        need = (min_word_repeats if p == 1 else
                min_phrase_repeats if p >= long_phrase_words else max(3, min_phrase_repeats))
        if repeats >= need and (best is None or i < best[0]):
            best = (i, p, int(repeats))
    if best is None:
        return text, 0, 0
    i, p, repeats = best
    return text[:spans[i + p - 1][1]], p, repeats


def doubled_tail(text: str, max_words: int = 4) -> int:
    """Words after the first copy when ``text`` ends with a word or a phrase of up to
    ``max_words`` words said again back to back (``"... years. Not only by chauffeur. Not only
    by chauffeur."``: 4; ``"9 9"``: 1; ``"Messages Messages Messages"``: 2), else 0:
    :func:`trim_loop`'s periodic tail, with one more copy enough. Words are compared without
    case and punctuation (a token of punctuation alone is a word, but a tail of punctuation
    alone, ``". . ."``, is no word read twice: tiny.en's 30 s-context reading of game music
    under noise, which low_alnum drops), and always as words, so that two long ones count
    (``"Montreal, Montreal."``, ``"Messages Messages"``, which :func:`unspaced` would read a
    character at a time); text in a script written without spaces never matches.

    Text alone cannot tell such a tail from speech (a real Asterisk prompt says "para aceptar
    la llamada para aceptar la llamada"; people say "No, no."):
    :class:`~streamer.decoding.chain.FilterChain` cuts it only when the alignment gives the
    copies no audio.
    """
    if _unspaced_script(text):
        return 0
    cut, p, _ = trim_loop(text, min_word_repeats=2, min_phrase_repeats=2, long_phrase_words=2,
                          by_word=True)
    if not normalize(text[len(cut):]):  # punctuation said again (". . .") is no word read twice
        return 0
    return len(text.split()) - len(cut.split()) if 1 <= p <= max_words else 0


@lru_cache(maxsize=4)
def load_phrases(path: str = str(HALLUCINATIONS_PATH),
                 key: str = "phrases") -> tuple[re.Pattern, int]:
    """Compile one list of the phrase file at ``path`` into one alternation, longest first.

    Args:
        path: the JSON phrase file (``assets/hallucinations.json``).
        key: ``"phrases"`` (captions Whisper invents from silence, noise and music) or
            ``"sound_words"`` (what it writes for a sound effect); each maps a language to
            its phrases. A file without ``key`` has none: 0 phrases.

    Returns:
        The compiled pattern (phrases between non-word boundaries) and the number of phrases.

    Raises:
        OSError: the file cannot be read; ValueError (json.JSONDecodeError): it is not JSON.
    """
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    phrases = {normalize(p) for ps in data.get(key, {}).values() for p in ps}
    phrases.discard("")
    alternation = "|".join(re.escape(p) for p in sorted(phrases, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternation})(?!\w)"), len(phrases)


def is_known_phrase(text: str, path: str = str(HALLUCINATIONS_PATH),
                    key: str = "phrases") -> bool:
    """True if ``text`` consists only of phrases of the list ``key`` (``"phrases"`` or
    ``"sound_words"``) of ``path`` (:func:`load_phrases`), one or repeated; False for a list
    the file does not have."""
    norm = normalize(text)
    if not norm:
        return False
    pattern, n = load_phrases(path, key)
    if not n:
        return False
    # "oooohhhh" -> "oh": a letter held three times or more counts once ("beeeep" -> "beep")
    forms = {norm, re.sub(r"(\w)\1{2,}", r"\1", norm), re.sub(r"(\w)\1{2,}", r"\1\1", norm)}
    return any(not pattern.sub(" ", form).strip() for form in forms)
