"""One window of a session decoded: after its context, through its stable words.

The worker's decodes of a final, a ``"pause"`` snapshot (the decode a final reuses) or an
interim snapshot all come here. Each window is decoded alone, and its decode's confidence
figures (no_speech_prob, avg_logprob, the language detection) are what the filter chain
judges, as for every window. A window with context (:class:`~streamer.decoding.context.Joint`:
the session's kept captions just before it) is decoded a second time after their audio,
forced through their text, and that reading is its text. So context changes what a window
says, never whether it is kept: a forced prefix of speech leaves no_speech_prob low whatever
follows it, and the filters would no longer hear a chime after a sentence for what it is.
The open utterance's stable words (LocalAgreement, :mod:`streamer.decoding.stability`) are
kept as the worker's module doc says.
"""

from __future__ import annotations

from dataclasses import replace

from streamer.capture.audio import int16_to_float32
from streamer.decoding.context import Joint
from streamer.decoding.decoder import WindowDecoder
from streamer.decoding.early_finals import copies_prefix, nothing_after
from streamer.decoding.result import DecodeResult
from streamer.decoding.stability import agreed_prefix
from streamer.segmentation.window import SpeechWindow


def _spent(r: DecodeResult, *others: DecodeResult) -> DecodeResult:
    """``r`` with the time of ``others``' decodes added to its own."""
    return replace(r, feature_s=r.feature_s + sum(o.feature_s for o in others),
                   encode_s=r.encode_s + sum(o.encode_s for o in others),
                   decode_s=r.decode_s + sum(o.decode_s for o in others))


def read_after(decoder: WindowDecoder, joint: Joint, alone: DecodeResult, interim: bool,
               prefix: str = "") -> DecodeResult | None:
    """The window's reading after its context, forced through ``prefix`` too (its stable
    words; none when empty): ``alone`` (its decode alone: the figures the filters judge) with
    the joint decode's text after the context (:meth:`Joint.strip`) and its word alignment;
    without a ``prefix``, ``alone`` is its :attr:`~DecodeResult.own` reading (the worker keeps
    it if the chain drops the joint text: context never decides whether a window is kept).
    None when the joint decode lost the context's text or read nothing after ``prefix`` (the
    window's own reading stands then)."""
    r = decoder.decode(joint.audio, joint.speech_s, prefix=joint.prefix(prefix), interim=interim)
    s = joint.strip(r)
    if s is None or not s.text[len(prefix):].strip():
        return None
    return _spent(replace(alone, text=s.text, compression_ratio=s.compression_ratio,
                          attempts=s.attempts, align=s.align,
                          own=None if prefix else _spent(alone, r)), r)


def decode_keeping(decoder: WindowDecoder, w: SpeechWindow, joint: Joint | None, stable: str,
                   free: DecodeResult | None = None, final_words: int = 0) -> DecodeResult:
    """Decode ``w`` (alone, then after ``joint`` when given: :func:`read_after`) so that its
    text starts with ``stable`` (its utterance's stable words).

    The window is decoded freely first: when its words agree with the stable words
    (:func:`agreed_prefix`), its text is the stable text followed by the rest of its own
    words, so a final is the model's own reading whenever the partials were right. Only
    when they disagree is it decoded again, forced through the stable text (``prefix``), so
    a stable word never changes. ``free``: its free decode alone, already run (in a batch).
    ``final_words``: :func:`~streamer.decoding.early_finals.guarded_words`; none after them
    (:func:`nothing_after`): no force. The times of every decode run are summed.
    """
    interim = w.reason == "partial"  # every 0.5 s of speech: at the interim beam
    alone = free if free is not None else decoder.decode(int16_to_float32(w.audio), w.voiced_s,
                                                          interim=interim)
    r = (read_after(decoder, joint, alone, interim) if joint is not None else None) or alone
    if not stable:
        return r
    r = replace(r, own=None)  # its own reading would not keep the stable words
    words, kept = r.text.split(), stable.split()
    if nothing_after(words, kept, final_words):
        return replace(r, text=stable)
    if agreed_prefix(kept, words) == len(kept):
        if r.text.startswith(stable):
            return r
        return replace(r, text=" ".join([stable, *words[len(kept):]]))
    forced = read_after(decoder, joint, r, interim, stable) if joint is not None else None
    if forced is None:
        forced = _spent(decoder.decode(int16_to_float32(w.audio), w.voiced_s, prefix=stable,
                                       interim=interim), r)
    if copies_prefix(kept, forced.text.split()[len(kept):]):  # read the audio twice
        forced = replace(forced, text=stable)
    return forced
