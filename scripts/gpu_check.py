#!/usr/bin/env python3
"""The GPU path on a machine that has one (docs/tuning.md, "Checked on a GPU").

What every session does before its first caption, then the decodes the server batches:

1. which CUDA libraries the dynamic loader finds (CTranslate2 4.x opens ``libcublas.so.12``
   at its first encode, not when it loads the weights);
2. the probe (:func:`streamer.tuning.probe.probe`) and the plan for ``--model``;
3. the load down the plan's fallback chain, calibration included
   (:func:`streamer.tuning.loader.start_decoder`): which step loaded and why the others failed;
4. each clip decoded alone (:meth:`WindowDecoder.decode`) and all of them as one batch
   (:func:`streamer.decoding.batch.decode_batch`, the server's GPU path), ``--runs`` times each:
   the text and the median wall seconds, as RTF (decode seconds / audio seconds).

Prints one JSON object on stdout. Clips: audio files (decoded with PyAV) or ``.npy`` files of
``float32 [n_samples]`` at 16 kHz (for a machine without PyAV).

Usage::

    python scripts/gpu_check.py --model base assets/jfk.flac assets/ljspeech_LJ001-0011.flac
    python scripts/gpu_check.py --model tiny.en --device cpu clip.npy   # the same on the CPU
"""

from __future__ import annotations

import argparse
import ctypes
import json
import logging
import statistics
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from streamer.config.schema import ModelRequest  # noqa: E402
from streamer.decoding.batch import Job, decode_batch  # noqa: E402
from streamer.decoding.decoder import DecodingOptions  # noqa: E402
from streamer.tuning.loader import start_decoder  # noqa: E402
from streamer.tuning.plan import plan_for  # noqa: E402

#: the CUDA libraries CTranslate2 4.x wheels open (CUDA 12 builds), and the CUDA 13 cuBLAS
LIBRARIES = ("libcuda.so.1", "libcublas.so.12", "libcublasLt.so.12", "libcudnn.so.9",
             "libcublas.so.13")


def found(name: str) -> bool:
    """True when the dynamic loader opens ``name`` (as CTranslate2's dlopen would)."""
    try:
        ctypes.CDLL(name)
        return True
    except OSError:
        return False


def load_clip(path: Path) -> np.ndarray:
    """``float32 [n_samples]`` at 16 kHz from a ``.npy`` file or any audio file (PyAV)."""
    if path.suffix == ".npy":
        return np.load(path).astype(np.float32)
    from streamer.capture.audio import decode_blocks, int16_to_float32

    return int16_to_float32(np.concatenate(list(decode_blocks(path, 16000))))


def timed(fn, runs: int):
    """``(last result, median wall seconds)`` of ``runs`` calls of ``fn``."""
    seconds, out = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        out = fn()
        seconds.append(time.perf_counter() - t0)
    return out, statistics.median(seconds)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("clips", nargs="+", type=Path)
    p.add_argument("--model", default="auto")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    p.add_argument("--compute-type", default="auto")
    p.add_argument("--runs", type=int, default=5)
    args = p.parse_args(argv)
    if args.runs < 1:
        p.error("--runs must be at least 1")
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    report: dict = {"libraries": {name: found(name) for name in LIBRARIES}}
    request = ModelRequest(name=args.model, device=args.device, compute_type=args.compute_type)
    machine, plan = plan_for(request, "en")
    report["probe"] = asdict(machine)
    report["plan"] = plan.rows()
    report["chain"] = [s.describe() for s in plan.fallback]
    t0 = time.perf_counter()
    decoder, plan = start_decoder(plan, replace(DecodingOptions(), language="en",
                                                beam_size=plan.beam_size))
    report["load_s"] = round(time.perf_counter() - t0, 2)
    cal = plan.calibration
    report["loaded"] = cal.loaded.describe() if cal and cal.loaded else None
    report["failures"] = list(cal.failures) if cal else []
    report["calibration"] = [asdict(s) for s in cal.steps] if cal else []
    clips = [(c.name, load_clip(c)) for c in args.clips]
    audio_s = sum(len(a) for _, a in clips) / 16000
    report["clips"] = []
    single = 0.0
    for name, audio in clips:
        result, s = timed(lambda: decoder.decode(audio), args.runs)
        single += s
        report["clips"].append({"clip": name, "audio_s": round(len(audio) / 16000, 2),
                                "decode_s": round(s, 4), "text": result.text})
    jobs = [Job(decoder, a, decoder.language, decoder.language is None) for _, a in clips]
    results, batch_s = timed(lambda: decode_batch(jobs), args.runs)
    report["batch"] = {"n": len(jobs), "decode_s": round(batch_s, 4),
                       "same_text": [r.text == c["text"] for r, c in zip(results, report["clips"])]}
    report["rtf_single"] = round(single / audio_s, 4)
    report["rtf_batch"] = round(batch_s / audio_s, 4)
    json.dump(report, sys.stdout, indent=1, default=str)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
