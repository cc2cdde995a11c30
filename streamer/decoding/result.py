"""What decoding one window gives: :class:`DecodeResult` (text, confidence figures, timings and
the decodes run), as :mod:`streamer.decoding.decoder` and :mod:`streamer.decoding.batch` return
it and the filters, worker and early finals read it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace


def clean_attempt(attempt: str) -> bool:
    """True when ``attempt`` (a name of :attr:`DecodeResult.attempts`) read clean: no failed
    loop or early-end check, or a clean retry the chain went on from (``":low_logprob"``)."""
    return ":" not in attempt or attempt.endswith(":low_logprob")


@dataclass(frozen=True)
class DecodeResult:
    """What the model said about one window.

    Attributes:
        text: decoded text, stripped.
        language: language the window was decoded in.
        avg_logprob: mean log-probability per token (nats).
        no_speech_prob: probability of the no-speech token, [0, 1].
        compression_ratio: gzip compression ratio of ``text``.
        feature_s, encode_s, decode_s: wall seconds spent in each stage (``encode_s``
            holds the language detection, and its own encode while the language is detected).
        detected_language: the language detector's top language for this window (multilingual
            models; None for English-only ones).
        language_probability: the detector's probability of ``language``, [0, 1] (None for
            English-only models); the language filter drops text in another language.
        attempts: the decodes run, in order: ``"plain"``, then on a failed check
            ``"timestamps"`` and ``"full"`` (30 s context); each with ``":loop"``,
            ``":doubled"`` (a final's word said twice at its end) or ``":early_end"`` when it
            failed its check, a clean retry with ``":low_logprob"`` when the chain went on
            from it (``DecodingOptions.retry_log_prob``: it may still be the one kept, the
            surest clean one); ``("plain:short", "full")`` when a reading that stopped short was
            replaced by the 30 s one, ``("plain", "full:unsure")`` when it was kept, and so
            for a timestamp-mode retry kept (``(..., "timestamps:short", "full")``)
            (:mod:`streamer.decoding.checks`).
        words: its words timed from the window's first sample, once :meth:`aligned`.
        align: aligns this decode's tokens on its encoder output when called (:meth:`aligned`
            calls it: to find what a clean final or pause decode leaves unread, for a caption with
            ``word_timestamps``, to find where an early final ends, or to hear whether a final's
            phrase read twice is in the audio; the result is cached); None when
            there is nothing to align.
        own: when the text is the window's reading after its context
            (:mod:`streamer.decoding.context`), its reading alone (the time of both decodes):
            the filter chain judges it first, the window is kept only if it passes, and it is
            shown when the reading after the context does not pass; else None.
    """

    text: str
    language: str
    avg_logprob: float
    no_speech_prob: float
    compression_ratio: float
    feature_s: float
    encode_s: float
    decode_s: float
    detected_language: str | None = None
    language_probability: float | None = None
    attempts: tuple[str, ...] = ("plain",)
    words: tuple = ()
    align: Callable[[], tuple] | None = field(default=None, repr=False, compare=False)
    own: DecodeResult | None = field(default=None, repr=False, compare=False)

    @property
    def unrepaired(self) -> bool:
        """True when every decode run failed its loop or early-end check (:attr:`attempts`):
        the text is the longest that did not loop or, when every decode looped, the longest
        cut to its first copy; not a clean reading (a ``":low_logprob"`` retry is clean, and a
        ``":doubled"`` one read the window, a word twice at its end).
        False without attempts, and for a decode not checked (``DecodingOptions.fallback``
        off: ``("plain",)``)."""
        return bool(self.attempts) and not any(clean_attempt(a) or a.endswith(":doubled")
                                               for a in self.attempts)

    def aligned(self) -> DecodeResult:
        """This result with :attr:`words` timed (the alignment runs now, on the thread that
        owns the model: a decode's words are aligned only when the short-read test, a caption,
        an early final or the filter chain's check of a phrase read twice needs them);
        itself when there is nothing to align (already done, or a result built without it).

        Returns:
            A result whose ``words`` are :class:`~streamer.events.Word` s, seconds from the
            window's first sample, and whose ``align`` is None.
        """
        if self.align is None:
            return self
        return replace(self, words=self.align(), align=None)
