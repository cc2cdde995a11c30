#!/usr/bin/env python3
"""Backlog relief: what a session behind real time should do with the windows waiting for it
(docs/benchmarks.md, "Backlog").

Groups of ``--group`` consecutive ``meeting_dev`` utterances (speech bounds from
``meeting_dev.json``, plus 0.1 s before and 0.15 s after, as the segmenter cuts an "end"
window; groups over 24 s of audio are skipped) are decoded three ways on one warm model:

- ``one by one``: each window decoded alone (what the worker does);
- ``batch``: the group as one batch of CTranslate2 (:func:`streamer.decoding.batch.decode_batch`);
- ``joined``: the windows joined with 0.2 s of digital silence into one window, decoded once
  (what the worker did before: one encoder pass for the whole backlog).

For each: wall seconds (the median of ``--repeats`` runs, as a ratio to one by one) and the WER
and deleted words against the references (jiwer + Whisper's normaliser).

Usage::

    python scripts/backlog_bench.py --model base --group 3 --repeats 3

Results go to ``bench-results/backlog-<model>-<group>.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from bench import machine_info, wer, write_results  # noqa: E402
from streamer.capture.audio import decode_blocks, int16_to_float32  # noqa: E402

SPEECH = ROOT.parent / "shared" / "speech"
JOIN_GAP_S = 0.2  #: the silence the worker once put between joined windows
MAX_GROUP_S = 24.0  #: the most audio the worker once joined into one decode


def groups(size: int) -> list[tuple[list[np.ndarray], list[str]]]:
    """Consecutive meeting_dev utterances in groups of ``size``: ``float32 [n]`` windows at
    16 kHz and their reference texts; groups over :data:`MAX_GROUP_S` are skipped."""
    audio = np.concatenate(list(decode_blocks(SPEECH / "meeting_dev.flac", 16000 * 10)))
    segs = json.loads((SPEECH / "meeting_dev.json").read_text())["segments"]
    out = []
    for i in range(0, len(segs) - size + 1, size):
        grp = segs[i:i + size]
        clips = [int16_to_float32(audio[int((s["speech_start_s"] - 0.1) * 16000):
                                        int((s["speech_end_s"] + 0.15) * 16000)]) for s in grp]
        if sum(len(c) for c in clips) / 16000 + JOIN_GAP_S * (size - 1) <= MAX_GROUP_S:
            out.append((clips, [s["reference"] for s in grp]))
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="base")
    p.add_argument("--group", type=int, default=3, help="windows waiting (2..6)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--out", type=Path, default=ROOT / "bench-results")
    args = p.parse_args(argv)
    if not 2 <= args.group <= 6:
        p.error("--group must be within 2..6")

    from streamer.decoding.batch import Job, decode_batch
    from streamer.decoding.decoder import DecodingOptions, WindowDecoder
    from streamer.decoding.models import ModelSpec

    d = WindowDecoder(ModelSpec(args.model), DecodingOptions(language="en"))
    d.warm_up(28.0)
    todo = groups(args.group)
    gap = np.zeros(int(JOIN_GAP_S * 16000), np.float32)

    def one_by_one(clips):
        return [d.for_session().decode(c).text for c in clips]

    def batch(clips):
        return [r.text for r in decode_batch([Job(d.for_session(), c, "en", False)
                                              for c in clips])]

    def joined(clips):
        parts = [x for c in clips for x in (c, gap)][:-1]
        return [d.for_session().decode(np.concatenate(parts)).text]

    ways = {"one by one": one_by_one, "batch": batch, "joined": joined}
    walls: dict[str, list[float]] = {k: [] for k in ways}
    texts: dict[str, list[str]] = {k: [] for k in ways}
    for rep in range(args.repeats):
        for name, way in ways.items():  # interleaved, so load drifts hit every way alike
            t0 = time.perf_counter()
            out = [" ".join(way(clips)) for clips, _ in todo]
            walls[name].append(time.perf_counter() - t0)
            texts[name] = out
    refs = [" ".join(r) for _, r in todo]
    base_s = statistics.median(walls["one by one"])
    rows = {}
    for name in ways:
        w = wer(refs, texts[name])
        rows[name] = {"wall_s": round(statistics.median(walls[name]), 2),
                      "ratio": round(statistics.median(walls[name]) / base_s, 2),
                      "wer": w["wer"], "deletions": w["deletions"], "ref_words": w["ref_words"]}
    result = {"model": args.model, "group": args.group, "groups": len(todo),
              "repeats": args.repeats, "machine": machine_info(), "rows": rows}
    md = [f"{args.model}, {len(todo)} backlogs of {args.group} windows, median of "
          f"{args.repeats} runs:", "",
          "| backlog decoded | wall s | vs one by one | WER % | deleted words |",
          "|---|---|---|---|---|"]
    for name, r in rows.items():
        md.append(f"| {name} | {r['wall_s']} | {r['ratio']} | {r['wer']} | "
                  f"{r['deletions']} of {r['ref_words']} |")
    write_results(args.out, f"backlog-{args.model}-{args.group}", result, "\n".join(md) + "\n",
                  "backlog_bench")
    return 0


if __name__ == "__main__":
    sys.exit(main())
