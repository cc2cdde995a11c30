#!/usr/bin/env python3
"""Where a final caption's time goes at real time: every decode of a replay, traced.

Replays a condition of the robustness benchmark (``scripts/conditions.py``) at real time through
the real pipeline, as ``scripts/partials_bench.py`` does, and records every decode the session's
worker runs — its kind (``final``, or a snapshot: ``pause`` / ``partial``), the window's stream
times and its wall start and end on the replay's clock (seconds since the replay's first
sample) — by wrapping :meth:`InferenceWorker.handle_final` and ``handle_snapshot`` (a call that
decoded nothing, a stale or gated snapshot, is kept but marked). For each final it then reports
what its caption waited for, from the end of speech (``speech_end_s``):

- **hold** (per utterance): the speech end of the final window nearest it less the
  reference's: the detector's hold after the last word;
- **wait**: from the moment the decode its caption came from could start (a reused pause
  snapshot, as the worker's ``finals_reused`` counter says: the snapshot's end; else the
  stream time the segmenter cut the final window) to the moment it started: the decode
  running then (an interim decode is not interrupted);
- **decode**: that worker call's wall time (decode, filters, alignment); a final that reused
  its pause decode also has its own wait and time (filters, the caption).

Usage (2 cores: about the condition's length in wall time)::

    .venv/bin/python scripts/decode_trace.py --model base --condition dev --seconds 180

Writes ``<out>/trace-<name>.json`` (every decode, the captions, per-utterance latency).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import conditions  # noqa: E402
from bench import percentiles, run_stream, utterance_latencies  # noqa: E402
from bench_nonspeech import _write_wav  # noqa: E402
from partials_bench import crop  # noqa: E402
from streamer.capture.audio import float32_to_int16  # noqa: E402
from streamer.config import build_config  # noqa: E402
from streamer.decoding import worker  # noqa: E402


def traced() -> list[dict]:
    """Wrap the worker's two decode entry points (once per process); returns the list each
    call is added to: ``kind``, ``reason``, ``index``, window ``start``/``end``/``speech_end``/
    ``decided`` in stream seconds, wall ``t0``/``t1`` from ``time.monotonic()``, ``decoded``
    (the worker's inference time grew) and, for a final, ``reused`` (its pause decode)."""
    decodes: list[dict] = []
    for kind, name in (("final", "handle_final"), ("snapshot", "handle_snapshot")):
        inner = getattr(worker.InferenceWorker, name)

        def wrapped(self, w, *args, _inner=inner, _kind=kind, **kwargs):
            t0, busy, reused = time.monotonic(), self.inference_s, self.finals_reused
            try:
                return _inner(self, w, *args, **kwargs)
            finally:
                decodes.append({"kind": _kind, "reason": w.reason, "index": w.index,
                                "start": w.start_s, "end": w.end_s,
                                "speech_end": w.speech_bounds[1],
                                "decided": w.end_s if w.decided_s is None else w.decided_s,
                                "t0": t0, "t1": time.monotonic(),
                                "decoded": self.inference_s > busy,
                                "reused": self.finals_reused > reused})
        setattr(worker.InferenceWorker, name, wrapped)
    return decodes


def waits(decodes: list[dict]) -> list[dict]:
    """For each final: the decode its caption came from, how long that decode waited and ran
    (seconds), and for a reused pause decode the final's own wait and time."""
    out = []
    for k, f in enumerate(decodes):
        if f["kind"] != "final":
            continue
        row = {"index": f["index"], "reason": f["reason"], "reused": f["reused"],
               "final_wait_s": round(max(0.0, f["t0"] - f["decided"]), 2),
               "final_s": round(f["t1"] - f["t0"], 2)}
        pause = [d for d in decodes[:k] if d["kind"] == "snapshot" and d["reason"] == "pause"
                 and d["index"] == f["index"] and d["decoded"]
                 and abs(d["end"] - f["end"]) < 1e-6]
        d, ready = (pause[-1], pause[-1]["end"]) if f["reused"] and pause else (f, f["decided"])
        row.update(wait_s=round(max(0.0, d["t0"] - ready), 2),
                   decode_s=round(d["t1"] - d["t0"], 2))
        out.append(row)
    return out


def holds(segments: list[dict], decodes: list[dict]) -> list[float | None]:
    """Per reference utterance: the speech end of the final window nearest its ``speech_end_s``
    (within 1 s) less that, seconds; None when no final ends near it."""
    out = []
    for s in segments:
        near = [f for f in decodes if f["kind"] == "final"
                and abs(f["speech_end"] - s["speech_end_s"]) < 1.0]
        best = min(near, key=lambda f: abs(f["speech_end"] - s["speech_end_s"]), default=None)
        out.append(None if best is None else round(best["speech_end"] - s["speech_end_s"], 2))
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the trace; print the summary and write the JSON."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="base")
    p.add_argument("--condition", default="dev", choices=list(conditions.CONDITIONS))
    p.add_argument("--seconds", type=float, default=180.0)
    p.add_argument("--partials", action="store_true", help="show partials (the UI's default)")
    p.add_argument("--out", type=Path, default=ROOT / "bench-results")
    p.add_argument("--name", default=None)
    args = p.parse_args(argv)
    decodes = traced()
    x, segments = crop(*conditions.build(args.condition), args.seconds)
    with tempfile.TemporaryDirectory(prefix="livescribe-trace-") as tmp:
        wav = Path(tmp) / f"{args.condition}.wav"
        _write_wav(wav, float32_to_int16(x))
        config = build_config({"model.name": args.model, "output.partials": args.partials}).config
        run = run_stream(wav, config, 1.0, progress=False)
    z = run.replay_start_wall
    for d in decodes:
        d["t0"], d["t1"] = round(d["t0"] - z, 3), round(d["t1"] - z, 3)
    caps = [(c.start_s, c.end_s, c.emitted_wall, c.text) for c in run.captions]
    latency = utterance_latencies(segments, caps, z)
    finals = waits(decodes)
    summary = {"condition": args.condition, "model": args.model, "partials": args.partials,
               "final_latency_s": percentiles([v for v in latency if v is not None]),
               "decodes": sum(d["decoded"] for d in decodes), "finals": finals,
               "hold_s": [[s["id"], h] for s, h in zip(segments, holds(segments, decodes))]}
    name = args.name or time.strftime("%Y%m%d-%H%M%S")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"trace-{name}.json").write_text(json.dumps(dict(
        summary, decode_log=decodes,
        captions=[[round(c.start_s, 2), round(c.end_s, 2), round(c.emitted_wall - z, 2),
                   c.text] for c in run.captions],
        latency_per_utterance_s=[[s["id"], None if v is None else round(v, 2)]
                                 for s, v in zip(segments, latency)]), indent=1))
    print(json.dumps({k: v for k, v in summary.items() if k != "finals"}))
    for f in finals:
        what = "its pause decode" if f["reused"] else "its own decode"
        print(f"window {f['index']:3d} {f['reason']:4s} {what}: waited {f['wait_s']:.2f} s, "
              f"decoded in {f['decode_s']:.2f} s (the final: {f['final_wait_s']:.2f} s "
              f"waiting, {f['final_s']:.2f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
