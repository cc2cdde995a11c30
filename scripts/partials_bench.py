#!/usr/bin/env python3
"""Interim captions benchmark: how soon words appear, whether they flicker, what they cost.

Replays a condition of the robustness benchmark (``scripts/conditions.py``; default
``meeting_dev`` as it is) at real time through the real pipeline twice per model, with partials
on and off (same options otherwise), and reports:

- **first words**: for each reference utterance, seconds from its ``speech_start_s`` to the first
  partial whose speech overlaps it by at least 0.2 s, or to its final caption when no partial
  came first (a short utterance may be final before its first snapshot); p50 / p95;
- **refresh**: median interval between consecutive partials of one utterance, seconds;
- **stable changed**: share of words ever shown in a stable prefix that a later partial or the
  final caption of the utterance did not keep in place (the target is 0);
- **unstable not kept**: share of unstable words shown (each partial's tail, counted once per
  partial) that are not at the same place in the final caption;
- **final latency** p50 / p95 from ``speech_end_s`` (to the last caption overlapping the
  utterance; per utterance in the JSON) and **stream WER**, partials on against off; partials
  emitted / skipped and finals reused (the counters of ``PipelineStats``).

An utterance may end in several captions (early finals, ``pipeline.early_finals``; on for live
input, so also with partials off): the stability figures read a partial as the utterance's
captions before it followed by its own text. ``LIVESCRIBE_PIPELINE_EARLY_FINALS=false``
measures without them.

Usage (2 cores: ~4 x ``--seconds`` of wall time)::

    .venv/bin/python scripts/partials_bench.py --model base --model tiny.en --seconds 180

Writes ``bench-results/partials-<name>.{json,md}``.
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
from bench import percentiles, run_stream, utterance_latencies, wer  # noqa: E402
from bench_nonspeech import _write_wav  # noqa: E402
from streamer.capture.audio import SAMPLE_RATE, float32_to_int16  # noqa: E402
from streamer.config import build_config  # noqa: E402

OVERLAP_S = 0.2  #: a partial "shows" an utterance when its speech overlaps it by this much


def crop(x, segments: list[dict], seconds: float | None):
    """The utterances that end within the first ``seconds`` of a condition, and its audio up to
    the start of the next utterance (so no reference is cut)."""
    if seconds is None:
        return x, segments
    kept = [s for s in segments if s["end_s"] <= seconds]
    rest = [s["start_s"] for s in segments if s["end_s"] > seconds]
    end_s = min(rest) if rest else len(x) / SAMPLE_RATE
    return x[:int(end_s * SAMPLE_RATE)], kept


def first_words(segments: list[dict], run) -> list[float]:
    """Seconds from each utterance's speech start to the first words of it on screen."""
    t0 = run.replay_start_wall
    out = []
    for seg in segments:
        s0, s1 = seg["speech_start_s"], seg["speech_end_s"]
        walls = [p.emitted_wall for p in run.partials
                 if min(p.end_s, s1) - max(p.start_s, s0) >= OVERLAP_S and p.text]
        walls += [c.emitted_wall for c in run.captions
                  if min(c.end_s, s1) - max(c.start_s, s0) >= 0.1]
        if walls:
            out.append(min(walls) - (t0 + s0))
    return out


def stability(run) -> dict:
    """Refresh interval, stable words changed, unstable words not kept (see the module doc)."""
    said: dict[int, list[tuple[float, str]]] = {}  # an utterance's captions, in order
    for c in run.captions:  # its early finals (pipeline.early_finals), then the rest
        said.setdefault(c.utterance_id, []).append((c.emitted_wall, c.text))
    finals = {u: " ".join(t for _, t in cs) for u, cs in said.items()}

    def whole(p) -> tuple[str, str]:
        """A partial's (text, stable text) as the utterance's so far: the early finals
        emitted before it, then its own (it shows only what is not final)."""
        before = " ".join(t for wall, t in said.get(p.utterance, []) if wall <= p.emitted_wall)
        return (" ".join(x for x in (before, p.text) if x),
                " ".join(x for x in (before, p.stable) if x))

    by_utt: dict[int, list] = {}
    for p in run.partials:
        by_utt.setdefault(p.utterance, []).append(whole(p) + (p.emitted_wall,))
    intervals, stable_shown, stable_changed, unstable_shown, unstable_lost = [], 0, 0, 0, 0
    for u, ps in by_utt.items():
        intervals += [b[2] - a[2] for a, b in zip(ps, ps[1:])]
        final = finals.get(u)
        if final is None:  # dropped by a filter or the gate: nothing of it stays
            continue
        later = [text for text, _, _ in ps[1:]] + [final]
        final_words = final.split()
        for k, (text_k, stable_k, _) in enumerate(ps):
            st = stable_k.split()
            stable_shown += len(st)
            for text in later[k:]:  # every later text of the utterance starts with it
                if not text.startswith(stable_k):
                    same = 0
                    for a, b in zip(st, text.split()):
                        if a != b:
                            break
                        same += 1
                    stable_changed += max(1, len(st) - same)
                    break
            tail = text_k.split()[len(st):]
            unstable_shown += len(tail)
            unstable_lost += sum(1 for i, w in enumerate(tail) if len(st) + i >= len(final_words)
                                 or final_words[len(st) + i] != w)
    return {
        "refresh_p50_s": percentiles(intervals)["p50"],
        "stable_words_shown": stable_shown, "stable_words_changed": stable_changed,
        "stable_changed_share": round(stable_changed / stable_shown, 4) if stable_shown else 0.0,
        "unstable_words_shown": unstable_shown,
        "unstable_not_kept_share": round(unstable_lost / unstable_shown, 3)
        if unstable_shown else 0.0,
    }


def run_one(wav: Path, segments: list[dict], model: str, partials: bool) -> dict:
    """One real-time replay, scored: ``livescribe --model MODEL [--partials]`` as configured
    (defaults, config file, ``LIVESCRIBE_*``; :func:`streamer.config.build_config`)."""
    config = build_config({"model.name": model, "output.partials": partials}).config
    run = run_stream(wav, config, 1.0, progress=False)
    caps = [(c.start_s, c.end_s, c.emitted_wall, c.text) for c in run.captions]
    per_utterance = utterance_latencies(segments, caps, run.replay_start_wall)
    lat = [v for v in per_utterance if v is not None]
    st = run.stats
    out = {
        "model": model, "partials": partials,
        "wer": wer([s["reference"] for s in segments], [c.text for c in run.captions])["wer"],
        "final_latency_s": percentiles(lat),
        "first_words_s": percentiles(first_words(segments, run)),
        "partials_emitted": st.partials, "partials_skipped": st.partials_skipped,
        "finals_reused": st.finals_reused, "captions": st.captions, "rtf": round(st.rtf, 3),
        "peak_rss_mb": round(run.peak_rss_mb),
        "captions_text": [[round(c.start_s, 2), round(c.end_s, 2),
                           round(c.emitted_wall - run.replay_start_wall, 2), c.text]
                          for c in run.captions],
        "latency_per_utterance_s": [[s["id"], None if v is None else round(v, 2)]
                                    for s, v in zip(segments, per_utterance)],
    }
    if partials:
        out.update(stability(run))
    return out


def markdown(rows: list[dict], label: str) -> str:
    """A table: one row per model and partials on/off."""
    lines = [f"Condition: {label}", "",
             "| model | partials | first words p50 / p95 s | refresh p50 s | stable changed "
             "| unstable not kept | final latency p50 / p95 s | stream WER % | partials "
             "(skipped) | finals reused | RTF |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        fw, fl = r["first_words_s"], r["final_latency_s"]
        on = r["partials"]
        lines.append(
            f"| {r['model']} | {'on' if on else 'off'} | {fw['p50']} / {fw['p95']} | "
            f"{r.get('refresh_p50_s', '–') if on else '–'} | "
            f"{r['stable_words_changed'] if on else '–'} of {r['stable_words_shown'] if on else '–'} | "
            f"{r['unstable_not_kept_share'] if on else '–'} | {fl['p50']} / {fl['p95']} | "
            f"{r['wer']} | {r['partials_emitted']} ({r['partials_skipped']}) | "
            f"{r['finals_reused']} | {r['rtf']} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print and write the table."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", action="append", help="repeatable; default tiny.en")
    p.add_argument("--condition", default="dev", choices=list(conditions.CONDITIONS))
    p.add_argument("--seconds", type=float, default=None,
                   help="replay only the first SECONDS (utterances ending inside them)")
    p.add_argument("--runs", choices=("both", "on", "off"), default="both",
                   help="replay with partials on and off (default), or one of them")
    p.add_argument("--no-reuse", action="store_true",
                   help="always decode a final window, never take its pause snapshot's decode")
    p.add_argument("--out", type=Path, default=ROOT / "bench-results")
    p.add_argument("--name", default=None)
    args = p.parse_args(argv)
    if args.no_reuse:
        import streamer.decoding.worker

        streamer.decoding.worker.REUSE_PAUSE_DECODE = False
    x, segments = crop(*conditions.build(args.condition), args.seconds)
    rows = []
    with tempfile.TemporaryDirectory(prefix="livescribe-partials-") as tmp:
        wav = Path(tmp) / f"{args.condition}.wav"
        _write_wav(wav, float32_to_int16(x))
        for model in args.model or ["tiny.en"]:
            for on in {"both": (True, False), "on": (True,), "off": (False,)}[args.runs]:
                r = run_one(wav, segments, model, on)
                rows.append(r)
                brief = {k: v for k, v in r.items() if k != "captions_text"}
                print(f"partials: {model} {'on' if on else 'off'}: {json.dumps(brief)}",
                      file=sys.stderr, flush=True)
    label = f"{args.condition}" + (f", first {args.seconds:g} s" if args.seconds else "") + \
        f" ({len(segments)} utterances)"
    md = markdown(rows, label)
    name = args.name or time.strftime("%Y%m%d-%H%M%S")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"partials-{name}.json").write_text(json.dumps(rows, indent=1))
    (args.out / f"partials-{name}.md").write_text(md)
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
