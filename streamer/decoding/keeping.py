"""One window of a session decoded: through its stable words, and after its context.

The worker's decodes of a final, a ``"pause"`` snapshot (the decode a final reuses) or an
interim snapshot all come here. Each window is decoded alone, kept through its open
utterance's stable words (LocalAgreement, :mod:`streamer.decoding.stability`) as the worker's
module doc says: its *own* reading, what every window had before context. A window with
context (:class:`~streamer.decoding.context.Joint`: the session's kept captions just before
it) is then decoded a second time after their audio, forced through their text (and its
stable words), and the text it reads after them is its caption's, with the confidence figures
(no_speech_prob, avg_logprob, language) of its decode alone. The worker keeps a window only
when its own reading passes the filter chain, and shows the reading after the context only
when that passes too (:attr:`~streamer.decoding.result.DecodeResult.own`): a forced prefix of
speech leaves no_speech_prob low whatever follows it, and may read words after it where the
window alone read none, so context changes what a kept window says, never whether it is kept.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from streamer.capture.audio import int16_to_float32
from streamer.decoding.context import Joint, borrows
from streamer.decoding.decoder import WindowDecoder
from streamer.decoding.early_finals import copies_prefix, nothing_after
from streamer.decoding.result import DecodeResult
from streamer.decoding.stability import agreed_prefix
from streamer.segmentation.window import SpeechWindow


def through(r: DecodeResult, stable: str, final_words: int,
            forced: Callable[[], DecodeResult | None]) -> DecodeResult | None:
    """A free reading ``r`` kept through the utterance's stable words ``stable``.

    When its words agree with them (:func:`agreed_prefix`), its text is the stable text
    followed by the rest of its own words, so a final is the model's own reading whenever
    the partials were right; only when they disagree is ``forced()`` run (the decode forced
    through them, so a stable word never changes; None when it could not be had), and a
    forced reading that reads the audio a second time after them (:func:`copies_prefix`) is
    the stable text alone. ``final_words``: :func:`~streamer.decoding.early_finals.guarded_words`;
    none after them (:func:`nothing_after`): the stable text, no force.
    """
    if not stable:
        return r
    words, kept = r.text.split(), stable.split()
    if nothing_after(words, kept, final_words):
        return replace(r, text=stable)
    if agreed_prefix(kept, words) == len(kept):
        if r.text.startswith(stable):
            return r
        return replace(r, text=" ".join([stable, *words[len(kept):]]))
    f = forced()
    if f is not None and copies_prefix(kept, f.text.split()[len(kept):]):
        f = replace(f, text=stable)
    return f


def _timed(r: DecodeResult, runs: list[DecodeResult]) -> DecodeResult:
    """``r`` with the time of every decode in ``runs``."""
    return replace(r, feature_s=sum(x.feature_s for x in runs),
                   encode_s=sum(x.encode_s for x in runs), decode_s=sum(x.decode_s for x in runs))


def decode_keeping(decoder: WindowDecoder, w: SpeechWindow, joint: Joint | None, stable: str,
                   free: DecodeResult | None = None, final_words: int = 0) -> DecodeResult:
    """Decode ``w`` so that its text starts with ``stable`` (its utterance's stable words; see
    :func:`through`): alone, then after ``joint`` when given (see the module doc).

    Args:
        decoder: the session's view of the model.
        w: the window (``reason`` ``"partial"``: an interim decode, at the interim beam).
        joint: its context, or None.
        stable: the stable words ("" when none).
        free: its free decode alone, already run (in a batch).
        final_words: :func:`~streamer.decoding.early_finals.guarded_words`.

    Returns:
        Its own reading when it has no context, or the context's reading lost the context's
        text, read nothing after it or read it again (:meth:`Joint.strip`, or midway where
        the window alone does not: :func:`~streamer.decoding.context.borrows`); else the reading
        after the context, its :attr:`~DecodeResult.own` the window's own. Both carry the time
        of every decode run.
    """
    interim = w.reason == "partial"  # every 0.5 s of speech: at the interim beam
    audio = int16_to_float32(w.audio)
    runs: list[DecodeResult] = []

    def run(a, speech_s: float, prefix: str = "", language: str | None = None):
        runs.append(decoder.decode(a, speech_s, prefix=prefix or None, interim=interim,
                                   language=language))
        return runs[-1]

    alone = free if free is not None else run(audio, w.voiced_s)
    if free is not None:
        runs.append(free)
    own = through(alone, stable, final_words, lambda: run(audio, w.voiced_s, stable))
    if joint is None:
        return _timed(own, runs)

    def after(prefix: str = "") -> DecodeResult | None:
        """The reading after the context (and ``prefix``), with ``alone``'s figures."""
        s = joint.strip(run(joint.audio, joint.speech_s, joint.prefix(prefix),
                            language=alone.language))
        if s is None or not s.text[len(prefix):].strip() or borrows(
                joint.text.split(), s.text.split(), alone.text.split()):
            return None
        return replace(alone, text=s.text, compression_ratio=s.compression_ratio,
                       attempts=s.attempts, align=s.align)

    first = after()
    theirs = None if first is None else through(first, stable, final_words,
                                                lambda: after(stable))
    own = _timed(own, runs)
    return own if theirs is None else replace(_timed(theirs, runs), own=own)
