#!/usr/bin/env python3
"""Decoding-context strategies compared on the robustness conditions (issue 12, item 2).

Every strategy uses the real segmenter, decoder and filter chain, replayed offline on one
thread (no capture or worker threads, so no backpressure merging), and is scored like
``scripts/robust_bench.py`` (stream WER, oracle WER, utterances lost):

- ``a-windows``: independent windows of at most 5 s (``max_utterance_s=5``; a longer utterance
  is cut at the middle of its longest pause in the last 3 s), decoded alone: round 1's design;
- ``b-prompt``: the same windows, each decoded with the previous kept caption as decoder
  context (Whisper's ``<|startofprev|>`` prompt) when it ended at most 1 s before;
- ``c-utterance``: one window per utterance (at most 20 s, the default), decoded whole with its
  encoder context sized to the audio: what the pipeline does.

Usage::

    .venv/bin/python scripts/context_study.py --model tiny.en dev hesitant voices monologue
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
from streamer.decoding.filters import FilterChain  # noqa: E402
from streamer.decoding.models import ModelSpec  # noqa: E402
from streamer.segmentation.segmenter import Segmenter, VadOptions  # noqa: E402

PROMPT_GAP_S = 1.0  #: b-prompt: the previous caption is context when it ended this close
STRATEGIES = {
    "a-windows": (VadOptions(max_utterance_s=5.0), False),
    "b-prompt": (VadOptions(max_utterance_s=5.0), True),
    "c-utterance": (VadOptions(), False),
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


def run(x: np.ndarray, decoder: WindowDecoder, vad: VadOptions, prompt: bool) -> list[str]:
    """Caption texts of one strategy over a meeting."""
    chain = FilterChain(language="en")
    texts, prev, prev_end = [], None, -1e9
    for w in windows(x, vad):
        start, end = w.speech_bounds
        context = prev if prompt and prev and start - prev_end <= PROMPT_GAP_S else None
        r = decoder.decode(int16_to_float32(w.audio), speech_s=w.voiced_s, previous_text=context)
        verdict = chain.check(r, w)
        if verdict.keep:
            prev = r.text if verdict.text is None else verdict.text
            prev_end = end
            texts.append(prev)
    return texts


def main(argv: list[str] | None = None) -> int:
    """Print a markdown table: condition x strategy -> WER, oracle, lost."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("names", nargs="+", choices=list(conditions.CONDITIONS), metavar="CONDITION")
    p.add_argument("--model", default="tiny.en")
    p.add_argument("--out", type=Path, default=ROOT / "bench-results")
    args = p.parse_args(argv)
    decoder = WindowDecoder(ModelSpec(args.model), DecodingOptions(language="en"))
    print("| condition | strategy | stream WER % | oracle WER % | lost | wall s |")
    print("|---|---|---|---|---|---|")
    for name in args.names:
        x, segs = conditions.build(name)
        refs = [s["reference"] for s in segs]
        orc = score(refs, oracle_texts(x, segs, args.model,
                                       args.out / "oracle" / f"{name}-{args.model}.json"))
        for label, (vad, prompt) in STRATEGIES.items():
            t0 = time.perf_counter()
            got = score(refs, run(x, decoder, vad, prompt))
            lost = [k for k in got["lost"] if k not in orc["lost"]]
            print(f"| {name} | {label} | {got['wer']} | {orc['wer']} | {len(lost)} | "
                  f"{time.perf_counter() - t0:.0f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
