"""Running the filter chain on a session's decoded windows (:mod:`streamer.decoding.filters`
holds the filters and their thresholds)."""

from __future__ import annotations

import logging
from dataclasses import replace

from streamer.decoding.filter_options import FilterOptions
from streamer.decoding.filters import DEFAULT_CHAIN, KEEP, Filter, FilterContext, Verdict
from streamer.decoding.result import DecodeResult
from streamer.decoding.text import doubled_tail, trim_loop
from streamer.segmentation.window import SpeechWindow

logger = logging.getLogger(__name__)


def run_chain(result: DecodeResult, window: SpeechWindow, options: FilterOptions,
              context: FilterContext = FilterContext(),
              chain: tuple[Filter, ...] = DEFAULT_CHAIN) -> Verdict:
    """Apply ``chain`` in order; return the first drop, or KEEP."""
    for f in chain:
        v = f(result, window, options, context)
        if not v.keep:
            return v
    return KEEP


class FilterChain:
    """The filter chain of one session, remembering the previous caption.

    Args:
        options: thresholds.
        language: the language the user set, or None when it is detected.
        chain: filters in order of evaluation.
    """

    def __init__(self, options: FilterOptions = FilterOptions(), language: str | None = None,
                 chain: tuple[Filter, ...] = DEFAULT_CHAIN) -> None:
        self.options = options
        self.chain = chain
        self.context = FilterContext(language=language)

    def check(self, result: DecodeResult, window: SpeechWindow, remember: bool = True) -> Verdict:
        """Judge one decoded window; a kept window becomes the previous caption unless
        ``remember`` is False (a partial's text is judged, not remembered).

        A repetition loop at the end of the text is cut first (:func:`trim_loop`, when
        ``options.trim_loops``), and so is a word or a phrase of up to 4 words said again at
        the end when the decode's alignment gives the copies no audio (:func:`doubled_tail`,
        :func:`unheard`: tiny.en read "Not only by chauffeur. Not only by chauffeur." for one
        "not only by Schoeffer", its second copy aligned at the window's last sample, 0 s long;
        "9 9" for a telephone prompt's "nine"; the alignment runs only for such a tail, and not
        for a snapshot, whose text is judged, not shown, here). The filters then judge the
        trimmed text, and a kept verdict carries it in ``Verdict.text``.
        """
        trimmed, why = None, ""
        if self.options.trim_loops and result.text:
            text, period, repeats = trim_loop(result.text)
            if period:
                logger.info("window %d: cut a loop of %d token(s) x%d: %r -> %r", window.index,
                            period, repeats, result.text[:80], text)
                result, trimmed, why = _with_text(result, text), text, "loop cut"
            elif remember and (p := doubled_tail(result.text)) and result.align is not None:
                words = result.aligned().words
                if len(words) == len(result.text.split()) and unheard(words[-p:]):
                    text = result.text.rsplit(maxsplit=p)[0]
                    logger.info("window %d: cut a repeat the audio does not hold: %r -> %r",
                                window.index, result.text[-80:], text)
                    result, trimmed, why = _with_text(result, text), text, "unheard repeat cut"
        t = self.options.loop_no_speech_threshold
        if why == "loop cut" and t is not None and result.no_speech_prob > t:
            return Verdict(False, "repetition", f"a loop and no_speech_prob "
                                                f"{result.no_speech_prob:.2f} > {t}")
        v = run_chain(result, window, self.options, self.context, self.chain)
        if v.keep and remember:
            self.context = replace(self.context, previous_text=result.text,
                                   previous_end_s=window.end_s)
            if trimmed is not None:
                v = Verdict(True, "repetition", why, trimmed)
        return v


#: longest aligned duration of a word the audio does not hold, seconds: Whisper's alignment
#: moves in 20 ms steps (one step of its cross-attention), and a repeated phrase whose every
#: word got at most one step was not heard (our benchmark: docs/benchmarks.md, "A phrase read
#: twice": the copy's words were 0 s long at the window's end)
UNHEARD_S = 0.02


def unheard(copies) -> bool:
    """Whether the audio does not hold these aligned words (:class:`~streamer.events.Word` s,
    a caption's repeated tail, :func:`doubled_tail`): each is at most :data:`UNHEARD_S` long,
    but for the last one when a word before it is. The alignment gives a decode's last word
    whatever audio is left after the word before it, so a copy's last word can look heard
    when the words before it were given none (tiny.en on a telephone prompt, "Press 0 for
    help. Press 0 for help.": the copy's "Press", "0", "for" 0 s each, "help." the clip's last
    0.18 s; our benchmark, docs/benchmarks.md, "Each clip alone"). A single word must be
    unheard itself: "x x" whose copy got 0.12 s is kept, as a real "No, no." is."""
    short = [round(w.end_s - w.start_s, 3) <= UNHEARD_S for w in copies]
    return bool(short) and all(short[:-1]) and (len(short) > 1 or short[0])


def _with_text(result: DecodeResult, text: str) -> DecodeResult:
    """``result`` with ``text`` in place of its own and that text's compression ratio."""
    from faster_whisper.transcribe import get_compression_ratio

    return replace(result, text=text, compression_ratio=get_compression_ratio(text))
