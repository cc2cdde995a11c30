"""Decoding windows in one CTranslate2 call: the body of :meth:`WindowDecoder._decode` for one
window or a batch of them.

A server decodes the windows of many sessions on one warm model
(:mod:`streamer.decoding.scheduler`). On a GPU the encoder and the decoder are far from busy
with one 5-20 s window, so finals of different sessions waiting at the same time are decoded
together: their mel features are padded to one length (the longest context of the batch) and
encoded as one ``[batch, n_mels, frames]`` input, each gets its own language detection and
prompt (its session's language, initial prompt and forced prefix), and ``generate`` runs once
over the batch of prompts. A single decode is the same code with a batch of one, so the two
paths cannot drift apart.

What a batch changes for a window, against decoding it alone:

- a window shorter than the longest of its batch sees more trailing silence in the encoder (its
  context is the batch's); windows of the same context length (every window under
  ``encoder_context_s - trailing_context_s``, 8 s by default) get the same encoder input;
- the token budget (``max_tokens_per_s``) is the batch's largest: a window whose output reaches
  its own budget (a loop) is decoded again alone, so the budget still cuts it where it would;
- stage timings are the batch's, shared out evenly between its windows (the encode that
  detects the language of the windows whose session has none fixed yet included).

Timestamp mode (the first fallback) suppresses timestamps past each window's own end, which
``generate`` cannot take per item: it is decoded one window at a time.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from streamer.capture.audio import SAMPLE_RATE
from streamer.decoding.decoder import MAX_TEXT_TOKENS, TIMESTAMP_S, WindowDecoder
from streamer.decoding.prompt import hotword_tokens, suppressed_tokens
from streamer.decoding.result import DecodeResult
from streamer.decoding.words import align_words

logger = logging.getLogger(__name__)


class Abandoned(Exception):
    """An interim decode given up after its encode, before ``generate``: its session's
    :attr:`WindowDecoder.yield_to` said a final or a pause snapshot waits (the scheduler's rule:
    a pause's decode does not wait for the interim text it makes stale)."""


@dataclass(frozen=True)
class Job:
    """One window to decode.

    Attributes:
        decoder: the session's view of the warm model (:meth:`WindowDecoder.for_session`): its
            options, prompt and language state. Every job of a batch shares one model.
        audio: ``float32 [n_samples]`` at 16 kHz in [-1, 1], at most 30 s.
        language: language to decode in (None: English, unless ``detect``).
        detect: decode in the language detected on this window.
        previous_text: text said just before, given as context (or None).
        prefix: text the window is known to start with; the decoder is forced through it.
        speech_s: seconds of speech in the window, for the early-end check of
            :func:`decode_batch` (None: the audio's length).
        beam_size: beam size (None: its decoder's ``options.beam_size``); one per batch. Batches
            hold finals only (:mod:`streamer.decoding.scheduler`), at the options' beam.
        interim: an interim snapshot's decode: it detects its language only when its utterance
            has no detection yet, or reaches ``language_fix_min_speech_s``
            (:meth:`WindowDecoder.known_detection`). :func:`decode_batch` is for finals only.
    """

    decoder: WindowDecoder
    audio: np.ndarray
    language: str | None
    detect: bool
    previous_text: str | None = None
    prefix: str | None = None
    speech_s: float | None = None
    beam_size: int | None = None
    interim: bool = False


def _features(job: Job, mode: str) -> tuple[np.ndarray, int]:
    """``(float32 [n_mels, n_frames] features, the encoder frames this window wants)``."""
    d, o = job.decoder, job.decoder.options
    features = d.model.feature_extractor(job.audio)  # float32 [n_mels, n_frames], 100 frames/s
    full = d.model.feature_extractor.nb_max_frames  # 3000
    if o.encoder_context_s is None or mode == "full":
        frames = full
    else:
        wanted = features.shape[-1] + int(o.trailing_context_s * d._frames_per_s)
        frames = min(full, max(int(o.encoder_context_s * d._frames_per_s), wanted))
    return features, frames


def _fit(features: np.ndarray, frames: int) -> np.ndarray:
    """Pad ``features`` with zeros, or cut them, to ``frames`` frames."""
    if features.shape[-1] < frames:
        return np.pad(features, ((0, 0), (0, frames - features.shape[-1])))
    return features[:, :frames]


def _language_probs(model, jobs: Sequence[Job], feats: list[tuple[np.ndarray, int]],
                    encoder_output, frames: int) -> list[dict[str, float]]:
    """Each job's language probabilities, ``{code: p}``.

    A job that detects its language (its session's is not fixed yet) has them from Whisper's
    full 30 s input (its features padded to 3000 frames), as upstream detects, not from the
    shorter context it is decoded with: on 597 English windows (the shared English clips and
    dev's utterances in six conditions), base's detection on the sized context (10 s for a
    short window) put another language first on 16, 6 of them above the 0.5 that fixes a
    session's language at once (a 2 s prompt as Japanese at 0.86); on the full input, 3
    (single letters under 1 s), none above 0.5 (``scripts/language_study.py``;
    docs/benchmarks.md, "Short answers and the session's language"). The extra encode (0.7 s
    for base on one core) is paid only until the language is fixed. The other jobs' come from
    the batch's own encoder output (the language filter's figures), which is not read at all
    when every job detects on the full input.

    A growing utterance's windows reuse one detection until its audio has doubled, its
    interim snapshots until it reaches ``language_fix_min_speech_s`` and then the detection
    made there, however it grows (:meth:`WindowDecoder.known_detection`).
    """
    full = model.feature_extractor.nb_max_frames
    sized = frames >= full or not all(j.detect for j in jobs)
    probs = ([{tok[2:-2]: p for tok, p in pairs}
              for pairs in model.model.detect_language(encoder_output)] if sized
             else [{} for _ in jobs])
    detect = []
    for i, j in enumerate(jobs):
        known = (j.decoder.known_detection(j.audio, j.interim) if j.detect and frames < full
                 else None)
        if known is not None:
            probs[i] = known
        elif j.detect:
            detect.append(i)
    if detect and frames < full:
        enc = model.encode(np.stack([_fit(feats[i][0], full) for i in detect]))
        for i, pairs in zip(detect, model.model.detect_language(enc)):
            probs[i] = {tok[2:-2]: p for tok, p in pairs}
    for i in detect:  # (a batch already on the full input detected on its own encoding)
        jobs[i].decoder.remember_detection(jobs[i].audio, probs[i])
    return probs


def _prompt(job: Job, language: str | None, mode: str):
    """``(tokenizer, prompt ids, suppressed ids, forced prefix ids, token budget)``."""
    d, o = job.decoder, job.decoder.options
    tok = d._tokenizer(language or "en")
    prompt: list[int] = []
    context: list[int] = []
    if o.initial_prompt:
        if d._prompt_tokens is None:
            d._prompt_tokens = tok.encode(" " + o.initial_prompt.strip())
        context += d._prompt_tokens
    if job.previous_text:
        context += tok.encode(" " + job.previous_text.strip())
    hot = [] if job.prefix else hotword_tokens(tok, o.hotwords, MAX_TEXT_TOKENS // 2)
    if context or hot:  # upstream keeps the last half of the decoder context for the prompt
        prompt = [tok.sot_prev, *hot, *context[-(MAX_TEXT_TOKENS // 2 - 1):]]
    prompt += [*tok.sot_sequence]
    duration_s = job.audio.shape[0] / 16000
    suppress = suppressed_tokens(tok)
    timestamps = mode == "timestamps"
    if timestamps:
        # no timestamp past the end of the audio: text there cannot be speech
        last = int(duration_s / TIMESTAMP_S) + 2
        suppress += range(tok.timestamp_begin + last, tok.timestamp_begin + 1501)
    else:
        prompt.append(tok.no_timestamps)
    prefix = job.prefix.strip() if job.prefix else ""
    forced = tok.encode(" " + prefix) if prefix else []
    if forced and timestamps:
        prompt.append(tok.timestamp_begin)  # a forced text starts at <|0.00|>, as upstream
    prompt += forced
    per_s = o.max_tokens_per_s * (2 if timestamps else 1)  # a timestamp pair per segment
    max_new = 16 + int(math.ceil(duration_s * per_s))
    return tok, prompt, suppress, forced, min(MAX_TEXT_TOKENS, len(prompt) + max_new)


def _text(tok, ids: list[int], forced: list[int], prefix: str, timestamps: bool) -> str:
    """The text of generated ``ids``: a forced prefix as given, then what the model added."""
    tokens = [t for t in ids if t < tok.eot]  # text tokens (timestamps are above eot)
    body = ids[1:] if forced and timestamps and ids and ids[0] >= tok.eot else ids
    if forced and body[:len(forced)] == forced:
        # the forced words as given, then what the model added after them
        rest = [t for t in body[len(forced):] if t < tok.eot]
        text = prefix + tok.decode(rest).rstrip()
    elif forced:  # pragma: no cover - CTranslate2 returned the prompt otherwise
        logger.warning("forced prefix not echoed by the decoder; text may not extend it")
        text = tok.decode(tokens).strip()
    else:
        text = tok.decode(tokens).strip()
    return " ".join(text.split()) if timestamps else text


def _aligner(model, tok, encoder_output, features: tuple[np.ndarray, int],
             text_tokens: list[int], num_frames: int):
    """A call that aligns ``text_tokens`` (:func:`align_words`) when made: on
    ``encoder_output`` (a window decoded alone: the encoder's output is reused), else on the
    window's own encoding of ``features`` (``(float32 [n_mels, n_frames], context frames)``,
    one window of a batch, encoded alone then, as a decode of it alone would have been)."""
    done: list[tuple] = []  # computed once: the filter chain and the caption may both ask

    def align():
        if not done:
            enc = (encoder_output if encoder_output is not None
                   else model.encode(_fit(*features)[None]))
            done.append(align_words(model, tok, enc, text_tokens, num_frames))
        return done[0]

    return align


def decode_many(jobs: Sequence[Job], mode: str = "plain") -> list[DecodeResult]:
    """Decode ``jobs`` with one encoder call and one ``generate`` call (see the module doc).

    Args:
        jobs: one or more windows; all of one model.
        mode: ``"plain"`` (no timestamps, context sized to the audio), ``"full"`` (no
            timestamps, 30 s context) or ``"timestamps"`` (one job only).

    Returns:
        One :class:`DecodeResult` per job, in order; ``attempts`` is ``(mode,)``.

    Raises:
        ValueError: no jobs, jobs of different models or beam sizes, or a batch in timestamp
            mode.
    """
    from faster_whisper.transcribe import get_compression_ratio

    if not jobs:
        raise ValueError("nothing to decode")
    d0 = jobs[0].decoder
    model, o = d0.model, d0.options
    if any(j.decoder.model is not model for j in jobs):
        raise ValueError("a batch decodes windows of one model")
    beams = {j.decoder.options.beam_size if j.beam_size is None else j.beam_size for j in jobs}
    if len(beams) > 1:
        raise ValueError("a batch decodes with one beam size")
    beam = beams.pop()
    timestamps = mode == "timestamps"
    if timestamps and len(jobs) > 1:
        raise ValueError("timestamp mode decodes one window at a time")
    t0 = time.perf_counter()
    feats = [_features(j, mode) for j in jobs]
    frames = max(f for _, f in feats)  # one length for the batch: its longest context
    batch = np.stack([_fit(f, frames) for f, _ in feats])  # [jobs, n_mels, frames]
    t1 = time.perf_counter()
    encoder_output = model.encode(batch)
    if any(j.interim and j.decoder.yield_to is not None and j.decoder.yield_to() for j in jobs):
        raise Abandoned(f"interim decode of {jobs[0].audio.size / SAMPLE_RATE:.1f} s given up")
    probs: list[dict[str, float]] = [{} for _ in jobs]
    if d0.multilingual:  # one decoder step; the language filter needs the figures
        probs = _language_probs(model, jobs, feats, encoder_output, batch.shape[-1])
    t2 = time.perf_counter()
    # while a session's language is open, a window is decoded in its top detection
    languages = [max(p, key=p.get) if j.detect else j.language for j, p in zip(jobs, probs)]
    prompts = [_prompt(j, lang, mode) for j, lang in zip(jobs, languages)]
    suppress = prompts[0][2]
    if any(p[2] != suppress for p in prompts[1:]):  # pragma: no cover - one vocabulary
        raise ValueError("a batch needs one set of suppressed tokens")
    results = model.model.generate(
        encoder_output, [p[1] for p in prompts],
        beam_size=beam,
        max_length=max(p[4] for p in prompts),
        return_scores=True,
        return_no_speech_prob=True,
        suppress_blank=o.suppress_blank,
        suppress_tokens=suppress,
        max_initial_timestamp_index=50,  # upstream: the first segment starts within 1 s
    )
    t3 = time.perf_counter()
    n = len(jobs)
    out: list[DecodeResult] = []
    for i, (job, lang, p, (tok, prompt, _, forced, max_length), result) in enumerate(zip(
            jobs, languages, probs, prompts, results)):
        ids = result.sequences_ids[0]
        if n > 1 and len(ids) >= max_length - len(prompt):  # its own budget would cut it
            out.append(decode_many([job], mode)[0])
            continue
        # generate returns the cumulative log-prob divided by length (length_penalty 1);
        # faster-whisper divides by (length + 1) for the end token; we do the same.
        avg_logprob = result.scores[0] * len(ids) / (len(ids) + 1)
        prefix = job.prefix.strip() if job.prefix else ""
        text = _text(tok, ids, forced, prefix, timestamps)
        # run only when asked: the short-read test, a caption with word times, an early
        # final's end, or a phrase read twice at the end (the filter chain)
        audio_frames = int(job.audio.shape[0] / SAMPLE_RATE * d0._frames_per_s)
        align = _aligner(model, tok, encoder_output if n == 1 else None, feats[i],
                         [t for t in ids if t < tok.eot], min(feats[i][1], audio_frames))
        out.append(DecodeResult(
            text=text,
            language=lang or "en",
            avg_logprob=float(avg_logprob),
            no_speech_prob=float(result.no_speech_prob),
            compression_ratio=get_compression_ratio(text) if text else 0.0,
            feature_s=(t1 - t0) / n,
            encode_s=(t2 - t1) / n,
            decode_s=(t3 - t2) / n,
            detected_language=max(p, key=p.get) if p else None,
            language_probability=p.get(lang or "en") if p else None,
            attempts=(mode,),
            align=align,
        ))
    return out


def decode_batch(jobs: Sequence[Job]) -> list[DecodeResult]:
    """:meth:`WindowDecoder.decode` for several windows: their plain decodes run as one batch
    (:func:`decode_many`), then a window whose text fails the loop or early-end check goes on
    down its own fallback (``decode(first=...)``), alone.

    Args:
        jobs: windows of one model; each job's ``language``/``detect`` should be its
            decoder's (``decoder.language``, ``decoder.language is None``), as ``decode`` does.

    Returns:
        One result per job, as :meth:`WindowDecoder.decode` returns it.
    """
    plain = decode_many(jobs, "plain")
    return [j.decoder.decode(j.audio, speech_s=j.speech_s, previous_text=j.previous_text,
                             prefix=j.prefix, first=r) for j, r in zip(jobs, plain)]
