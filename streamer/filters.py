"""Anti-hallucination filters: each looks at one decoded window and keeps or drops it.

A filter is a small named function ``(result, window, context) -> Verdict``. The chain stops at
the first drop; the worker counts drops per filter name and emits a
:class:`~streamer.events.WindowDropped` event for each.

Thresholds default to Whisper's own (openai/whisper ``transcribe.py``: ``no_speech_threshold``
0.6 with ``logprob_threshold`` -1.0, ``compression_ratio_threshold`` 2.4).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from streamer.decoder import DecodeResult
from streamer.events import SpeechWindow


@dataclass(frozen=True)
class FilterOptions:
    """Thresholds of the filter chain.

    Attributes:
        no_speech_threshold: drop when no_speech_prob is above this and avg_logprob is below
            ``log_prob_threshold`` (Whisper's silence rule; None disables).
        log_prob_threshold: see above; also drops any window whose avg_logprob is below
            ``hard_log_prob_threshold``.
        hard_log_prob_threshold: avg_logprob below which text is dropped whatever no_speech_prob
            says (None disables).
        compression_ratio_threshold: drop text whose gzip ratio exceeds this (loops).
    """

    no_speech_threshold: float | None = 0.6
    log_prob_threshold: float | None = -1.0
    hard_log_prob_threshold: float | None = None
    compression_ratio_threshold: float | None = 2.4


@dataclass(frozen=True)
class Verdict:
    """A filter's decision. ``keep`` False means the caption is dropped for ``reason``."""

    keep: bool
    filter: str = ""
    reason: str = ""


KEEP = Verdict(True)

Filter = Callable[[DecodeResult, SpeechWindow, FilterOptions], Verdict]


def empty_text(r: DecodeResult, w: SpeechWindow, o: FilterOptions) -> Verdict:
    """Drop windows that decoded to no text."""
    return Verdict(False, "empty", "no text decoded") if not r.text.strip() else KEEP


def no_speech(r: DecodeResult, w: SpeechWindow, o: FilterOptions) -> Verdict:
    """Whisper's silence rule: high no_speech_prob together with low avg_logprob."""
    if o.no_speech_threshold is None or o.log_prob_threshold is None:
        return KEEP
    if r.no_speech_prob > o.no_speech_threshold and r.avg_logprob < o.log_prob_threshold:
        return Verdict(False, "no_speech",
                       f"no_speech_prob {r.no_speech_prob:.2f} > {o.no_speech_threshold} and "
                       f"avg_logprob {r.avg_logprob:.2f} < {o.log_prob_threshold}")
    return KEEP


def low_logprob(r: DecodeResult, w: SpeechWindow, o: FilterOptions) -> Verdict:
    """Drop text the model itself is very unsure of."""
    t = o.hard_log_prob_threshold
    if t is not None and r.avg_logprob < t:
        return Verdict(False, "low_logprob", f"avg_logprob {r.avg_logprob:.2f} < {t}")
    return KEEP


def compression_ratio(r: DecodeResult, w: SpeechWindow, o: FilterOptions) -> Verdict:
    """Drop repetitive text (a gzip ratio above 2.4 is Whisper's loop test)."""
    t = o.compression_ratio_threshold
    if t is not None and r.compression_ratio > t:
        return Verdict(False, "compression_ratio", f"compression ratio {r.compression_ratio:.2f} > {t}")
    return KEEP


#: The chain, in order of evaluation.
DEFAULT_CHAIN: tuple[Filter, ...] = (empty_text, no_speech, low_logprob, compression_ratio)


def run_chain(result: DecodeResult, window: SpeechWindow, options: FilterOptions,
              chain: tuple[Filter, ...] = DEFAULT_CHAIN) -> Verdict:
    """Apply ``chain`` in order; return the first drop, or KEEP."""
    for f in chain:
        v = f(result, window, options)
        if not v.keep:
            return v
    return KEEP
