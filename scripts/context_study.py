#!/usr/bin/env python3
"""Decoding-context strategies compared on the robustness conditions (issue 12, item 2).

Every strategy uses the real segmenter, decoder and filter chain, replayed offline on one
thread (no capture or worker threads, so no backpressure merging), and is scored like
``scripts/robust_bench.py`` (stream WER, oracle WER, utterances lost):

- ``a-windows``: independent windows of at most 5 s (``max_utterance_s=5``; a longer utterance
  is cut at the middle of its longest pause in the last 3 s), decoded alone: round 1's design;
- ``b-prompt``: the same windows, each decoded with the previous kept caption as decoder
  context (Whisper's ``<|startofprev|>`` prompt) when it ended at most 1 s before;
- ``c-utterance``: one window per utterance (at most 20 s), decoded whole with its encoder
  context sized to the audio: what the pipeline did before its context across a pause (d);
- ``d-overlap``: c, and a window that starts at most 1.5 s after the previous kept caption's
  speech ends is decoded with the audio of the previous windows (up to 15 s in all) before it
  and their text forced as the decoder's prefix; its caption is what the model adds after
  the prefix (an audio overlap, de-duplicated by the forced text);
- ``f-prompt``: c, and a window that starts at most 1.5 s after the previous kept caption's
  speech ends is decoded with that caption's text as decoder context (Whisper's
  ``<|startofprev|>`` prompt), no audio added;
- ``e-align``: c, and such a window is decoded together with the previous windows' audio (up
  to 10 s, 1.0 s gap) freely; its caption is the words whose aligned time (faster-whisper's
  ``find_alignment``, cross-attention DTW) lies after the middle of the pause (an audio
  overlap, de-duplicated by word timestamps).

``--end-silence MS`` (repeatable) runs c with each end-of-utterance silence instead
(``VadOptions.end_silence_ms``; docs/benchmarks.md, "End of utterance"). ``--reference-segments``
adds a row decoding each reference utterance alone with the stream's decoder (beam 1, encoder
context sized to the audio; a longer one than 28 s keeps the oracle's text): what a perfect
segmenter would give, which tells segmentation losses from decoding losses.

Usage::

    .venv/bin/python scripts/context_study.py --model tiny.en dev hesitant voices monologue
    .venv/bin/python scripts/context_study.py --model base --end-silence 300 --end-silence 600 dev
    .venv/bin/python scripts/context_study.py --model base --strategy d-overlap \
        --context-gap 1.0 --context-max 10 hesitant dev

The pipeline's context (``decoding.context_gap_s``, :mod:`streamer.decoding.context`) is d with
a 1.0 s gap and 10 s of audio, except that the filters judge each window's decode alone.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import conditions  # noqa: E402
from robust_bench import oracle_texts, score  # noqa: E402
from streamer.capture.audio import float32_to_int16, int16_to_float32  # noqa: E402
from streamer.decoding.decoder import DecodingOptions, WindowDecoder  # noqa: E402
from streamer.decoding.chain import FilterChain  # noqa: E402
from streamer.decoding.context import joint_audio  # noqa: E402
from streamer.decoding.models import ModelSpec  # noqa: E402
from streamer.segmentation.options import VadOptions  # noqa: E402
from streamer.segmentation.segmenter import Segmenter  # noqa: E402

PROMPT_GAP_S = 1.0  #: b-prompt: the previous caption is context when it ended this close
F_PROMPT_GAP_S = 1.5  #: f-prompt: the same, as d-overlap's default gap
#: d-overlap / e-align: (longest gap to the previous kept caption, most context audio), seconds
#: (``--context-gap``, ``--context-max`` set d-overlap's)
OVERLAP = {"d-overlap": (1.5, 15.0), "e-align": (1.0, 10.0)}
STRATEGIES = {
    "a-windows": VadOptions(max_utterance_s=5.0),
    "b-prompt": VadOptions(max_utterance_s=5.0),
    "c-utterance": VadOptions(),
    "d-overlap": VadOptions(),
    "e-align": VadOptions(),
    "f-prompt": VadOptions(),
}


def windows(x: np.ndarray, vad: VadOptions) -> list:
    """The segmenter's windows over ``float32 [n]`` at 16 kHz, frame by frame."""
    seg = Segmenter(vad)
    pcm = float32_to_int16(x)
    n = vad.frame_samples
    out = []
    for i in range(0, pcm.size // n * n, n):
        out += seg.feed(pcm[i:i + n], 0.0)
    return out + seg.flush()


def _aligned_words(decoder: WindowDecoder, audio: np.ndarray, text: str) -> list[dict]:
    """``text``'s words with start/end seconds in ``audio`` (faster-whisper's alignment)."""
    model = decoder.model
    features = model.feature_extractor(audio)
    n = features.shape[-1]
    frames = min(3000, max(1000, n + 200))
    features = np.pad(features, ((0, 0), (0, max(0, frames - n))))[:, :frames]
    tok = decoder._tokenizer("en")
    return model.find_alignment(tok, [tok.encode(" " + text.strip())], model.encode(features),
                                n)[0]


def _with_context(decoder: WindowDecoder, w, audio: np.ndarray, context: list, how: str):
    """Decode ``w`` after the windows of ``context`` (``[(window, text)]``): the d/e strategies.
    Returns the decode with the window's own text only."""
    joint = joint_audio([cw for cw, _ in context], w)
    speech_s = w.voiced_s + sum(cw.voiced_s for cw, _ in context)
    if how == "d-overlap":
        prefix = " ".join(t for _, t in context)
        r = decoder.decode(joint, speech_s=speech_s, prefix=prefix)
        return replace(r, text=r.text[len(prefix):].strip() if r.text.startswith(prefix)
                       else r.text)
    r = decoder.decode(joint, speech_s=speech_s)
    offset = (joint.size - audio.size) / 16000
    cut = offset + (w.speech_bounds[0] - w.start_s) \
        - (w.speech_bounds[0] - context[-1][0].speech_bounds[1]) / 2
    words = _aligned_words(decoder, joint, r.text) if r.text else []
    return replace(r, text="".join(x["word"] for x in words
                                   if (x["start"] + x["end"]) / 2 >= cut).strip())


def run(x: np.ndarray, decoder: WindowDecoder, vad: VadOptions, how: str) -> list[str]:
    """Caption texts of one strategy over a meeting."""
    chain = FilterChain(language="en")
    texts: list[str] = []
    context: list = []  # (window, kept text) of the kept captions just before
    for w in windows(x, vad):
        start, _ = w.speech_bounds
        audio = int16_to_float32(w.audio)
        near = context and start - context[-1][0].speech_bounds[1] <= (
            PROMPT_GAP_S if how == "b-prompt" else F_PROMPT_GAP_S if how == "f-prompt"
            else OVERLAP.get(how, (-1.0, 0))[0])
        if not near:
            context = []
        if how in OVERLAP:
            while context and w.end_s - context[0][0].start_s > OVERLAP[how][1]:
                context.pop(0)
        if context and how in OVERLAP:
            r = _with_context(decoder, w, audio, context, how)
        else:
            prompt = context[-1][1] if context and how in ("b-prompt", "f-prompt") else None
            r = decoder.decode(audio, speech_s=w.voiced_s, previous_text=prompt)
        verdict = chain.check(r, w)
        if verdict.keep:
            texts.append(r.text if verdict.text is None else verdict.text)
            context.append((w, texts[-1]))
        else:
            context = []
    return texts


def main(argv: list[str] | None = None) -> int:
    """Print a markdown table: condition x strategy -> WER, oracle, lost."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("names", nargs="+", choices=list(conditions.CONDITIONS), metavar="CONDITION")
    p.add_argument("--model", default="tiny.en")
    p.add_argument("--out", type=Path, default=ROOT / "bench-results")
    p.add_argument("--strategy", action="append", choices=list(STRATEGIES),
                   help="repeatable; default all")
    p.add_argument("--reference-segments", action="store_true",
                   help="also decode each reference utterance alone with the stream's decoder")
    p.add_argument("--end-silence", action="append", type=int, metavar="MS",
                   help="run c-utterance with this end-of-utterance silence (repeatable) "
                        "instead of the strategies")
    p.add_argument("--context-gap", type=float, default=OVERLAP["d-overlap"][0], metavar="S",
                   help="d-overlap: longest gap to the previous kept caption (default %(default)s)")
    p.add_argument("--context-max", type=float, default=OVERLAP["d-overlap"][1], metavar="S",
                   help="d-overlap: most seconds of audio in a decode (default %(default)s)")
    args = p.parse_args(argv)
    OVERLAP["d-overlap"] = (args.context_gap, args.context_max)
    if args.end_silence:
        runs = {f"c-utterance, end {ms} ms": (replace(VadOptions(), end_silence_ms=ms),
                                             "c-utterance") for ms in args.end_silence}
    else:
        runs = {k: (STRATEGIES[k], k) for k in args.strategy or STRATEGIES}
    decoder = WindowDecoder(ModelSpec(args.model), DecodingOptions(language="en"))
    print("| condition | strategy | stream WER % | oracle WER % | lost | wall s |")
    print("|---|---|---|---|---|---|")
    for name in args.names:
        x, segs = conditions.build(name)
        refs = [s["reference"] for s in segs]
        oracle = oracle_texts(x, segs, args.model, args.out / "oracle" / f"{name}-{args.model}")
        orc = score(refs, oracle)
        if args.reference_segments:
            t0 = time.perf_counter()
            texts = [o if s["end_s"] - s["start_s"] > 28 else decoder.decode(
                x[int(s["start_s"] * 16000):int(s["end_s"] * 16000)],
                speech_s=s["speech_end_s"] - s["speech_start_s"]).text
                for s, o in zip(segs, oracle)]
            got = score(refs, texts)
            print(f"| {name} | reference segments | {got['wer']} | {orc['wer']} | "
                  f"{len([k for k in got['lost'] if k not in orc['lost']])} | "
                  f"{time.perf_counter() - t0:.0f} |", flush=True)
        for label, (vad, how) in runs.items():
            t0 = time.perf_counter()
            got = score(refs, run(x, decoder, vad, how))
            lost = [k for k in got["lost"] if k not in orc["lost"]]
            print(f"| {name} | {label} | {got['wer']} | {orc['wer']} | {len(lost)} | "
                  f"{time.perf_counter() - t0:.0f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
