#!/usr/bin/env python3
"""Soak test: a long session through the real pipeline, watching memory, latency drift and loss.

Replays a recording looped back to back (setting ``input.repeat``; by default the 7-minute
``shared/speech/meeting_dev.flac``) for ``--minutes`` of stream time, at ``--speed max`` (as
fast as the worker decodes) or in real time (``--speed 1``), and reports as JSON and markdown:

- **RSS growth** (psutil, sampled every ``--rss-interval`` wall seconds after a warm-up of
  ``--warmup-minutes`` of stream time): Theil-Sen slope (robust to transient peaks) in MB per
  hour of audio and MB per wall hour, the least-squares slope beside it, and the slope over the
  second half alone (a leak is linear; settling is not); target <= 5 MB/hour. The whole process is measured, the script's own bookkeeping
  included (a few kB per window: arrays of floats, no caption texts are kept);
- **latency drift**: p95 in the first vs the last ``--compare-minutes`` of the stream (target:
  the last within 10 % of the first). Real time: the caption latency the pipeline measures
  (emission minus capture of the window's last sample) and, with ``--segments``, the latency
  per reference utterance (``bench.utterance_latencies``). At max speed wall latencies are
  queueing, so the measured decode times are replayed on a virtual 1x clock instead
  (``bench.simulate_realtime``), plus the decode seconds per window;
- **bounded and lossless**: the largest window-queue depth seen, ring-buffer overruns, windows
  sent vs decoded, every
  counter of the final ``PipelineStats``.

Usage::

    python scripts/soak.py --minutes 60 --speed max --model base
    python scripts/soak.py --minutes 20 --speed 1 --model base

It runs what ``livescribe`` runs: every ``livescribe`` flag is accepted, the configuration is
built by :func:`streamer.config.build_config` (defaults, config file, ``LIVESCRIBE_*``, flags)
and the model is planned and loaded by :class:`streamer.pipeline.Pipeline` with the same loader
(fallback chain, calibration). The soak's own default is ``--speed max``.

Results go to ``bench-results/soak-<model>-<speed>-<minutes>m-<time>.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from array import array
from dataclasses import asdict, replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from bench import (bench_config, config_record, machine_info, percentiles,  # noqa: E402
                   simulate_realtime, utterance_latencies, write_results)
from streamer.capture.audio import SAMPLE_RATE, decode_blocks  # noqa: E402
from streamer.config import Config  # noqa: E402
from streamer.events import (CaptureStarted, Caption, ModelReady, PipelineStats,  # noqa: E402
                             SessionFailed, WindowDropped, WindowStarted)
from streamer.pipeline import Pipeline  # noqa: E402
from tui.cli.parser import session_flags  # noqa: E402

DEFAULT_AUDIO = ROOT.parent / "shared" / "speech" / "meeting_dev.flac"
TARGET_RSS_MB_PER_H = 5.0
TARGET_P95_DRIFT = 0.10


def audio_seconds(path: Path) -> float:
    """Exact length of ``path`` as the pipeline decodes it (16 kHz mono samples / 16000)."""
    return sum(b.shape[0] for b in decode_blocks(path, SAMPLE_RATE * 10)) / SAMPLE_RATE


def theil_sen(x: np.ndarray, y: np.ndarray) -> float | None:
    """Theil-Sen slope of ``y`` over ``x``: the median of the slopes of all pairs of points.

    Robust to transient peaks (a sample taken during a 30 s full-context re-decode can read
    ~85 MB above the baseline and tilt a least-squares line), unlike ``np.polyfit``. None with
    fewer than 2 distinct ``x``.
    """
    i, j = np.triu_indices(len(x), 1)
    dx = x[j] - x[i]
    ok = dx > 0
    return float(np.median((y[j] - y[i])[ok] / dx[ok])) if ok.any() else None


def rss_slope(samples: list[tuple[float, float, float]], warmup_s: float) -> dict:
    """RSS growth after warm-up.

    Args:
        samples: ``(wall seconds since start, stream seconds decoded, RSS MB)``, in order.
        warmup_s: stream seconds to skip (model load, first allocations, caches filling).

    Returns:
        ``mb_per_audio_hour`` and ``mb_per_wall_hour`` (Theil-Sen slopes, robust to transient
        peaks), ``mb_per_audio_hour_lsq`` (least squares, for comparison),
        ``mb_per_audio_hour_second_half`` (Theil-Sen over the second half of the kept stream
        time: a leak grows the same in both halves, allocators and caches settling do not),
        ``growth_mb`` (last minus first kept sample), ``n``, ``rss_after_warmup_mb``,
        ``rss_end_mb``, ``rss_max_mb`` (model loading included). Slopes are None with fewer
        than 3 samples.
    """
    kept = [s for s in samples if s[1] >= warmup_s]
    out = {"n": len(kept), "mb_per_audio_hour": None, "mb_per_wall_hour": None,
           "mb_per_audio_hour_lsq": None, "mb_per_audio_hour_second_half": None,
           "growth_mb": round(kept[-1][2] - kept[0][2], 2) if kept else None,
           "rss_after_warmup_mb": round(kept[0][2], 1) if kept else None,
           "rss_end_mb": round(kept[-1][2], 1) if kept else None,
           "rss_max_mb": round(max(s[2] for s in samples), 1) if samples else None}

    def r2(v):
        return None if v is None else round(v, 2)

    if len(kept) >= 3:
        a = np.asarray(kept)
        hours_audio, hours_wall, mb = a[:, 1] / 3600, a[:, 0] / 3600, a[:, 2]
        out["mb_per_audio_hour"] = r2(theil_sen(hours_audio, mb))
        out["mb_per_wall_hour"] = r2(theil_sen(hours_wall, mb))
        if np.ptp(hours_audio) > 0:
            out["mb_per_audio_hour_lsq"] = r2(float(np.polyfit(hours_audio, mb, 1)[0]))
        half = hours_audio >= (hours_audio[0] + hours_audio[-1]) / 2
        if half.sum() >= 3:
            out["mb_per_audio_hour_second_half"] = r2(theil_sen(hours_audio[half], mb[half]))
    return out


def drift(values: list[tuple[float, float]], stream_s: float, compare_s: float) -> dict:
    """p95 of ``(stream time, value)`` pairs in the first vs the last ``compare_s`` seconds.

    Returns:
        ``{"first": percentiles, "last": percentiles, "p95_change": (last - first) / first}``
        (``p95_change`` None when either side is empty or the first p95 is 0).
    """
    first = [v for t, v in values if t <= compare_s]
    last = [v for t, v in values if t >= stream_s - compare_s]
    f, la = percentiles(first), percentiles(last)
    change = None
    if f["p95"] and la["p95"] is not None:
        change = round((la["p95"] - f["p95"]) / f["p95"], 4)
    return {"first": f, "last": la, "p95_change": change}


def soak(audio: Path, config: Config, minutes: float, speed: float,
         segments: list[dict] | None = None,
         rss_interval_s: float = 5.0, warmup_minutes: float | None = None,
         compare_minutes: float | None = None, progress: bool = True) -> dict:
    """Run one soak session and return its figures (JSON-ready).

    Args:
        audio: recording to loop.
        config: the session's configuration (:func:`streamer.config.build_config`); its input
            becomes ``audio`` looped at ``speed``.
        minutes: stream minutes to run; the replay is stopped (``Pipeline.stop``) once reached.
        speed: 1.0 for real time, ``math.inf`` for as fast as the worker goes.
        segments: reference utterances of one pass (``[{start_s, end_s, ...}]``) for
            per-utterance latency; None skips it.
        rss_interval_s: wall seconds between RSS samples.
        warmup_minutes: stream minutes before RSS growth is measured (default min(5, minutes/4)).
        compare_minutes: length of the first/last spans compared (default min(10, minutes/2)).
        progress: a line on stderr per stream minute.

    Raises:
        SystemExit: the pipeline failed (model or input).
    """
    warmup_s = 60 * (min(5.0, minutes / 4) if warmup_minutes is None else warmup_minutes)
    compare_s = 60 * (min(10.0, minutes / 2) if compare_minutes is None else compare_minutes)
    pass_s = audio_seconds(audio)
    target_s = minutes * 60
    repeat = max(1, math.ceil(target_s / pass_s))
    config = replace(config, input=replace(config.input, file=str(audio), speed=speed,
                                           repeat=repeat))
    pipeline = Pipeline(config)
    failed: SessionFailed | None = None
    replay0: float | None = None
    proc = psutil.Process()
    # compact bookkeeping (arrays of doubles) so the harness itself does not look like a leak
    cap = {k: array("d") for k in ("start", "end", "wall", "latency", "window")}
    win = {k: array("d") for k in ("index", "start", "end", "started_wall")}
    fin_index, fin_wall = array("d"), array("d")
    rss: list[tuple[float, float, float]] = []
    max_queue = 0
    stats = ready = None
    stopped = False
    t0 = time.monotonic()
    next_rss = t0
    next_progress = 60.0
    cpu0 = proc.cpu_times()
    pos_s = 0.0  # stream time decoded so far (at max speed capture runs ~1.5 min ahead)
    for ev in pipeline.events():
        now = time.monotonic()
        if isinstance(ev, Caption):
            for k, v in (("start", ev.start_s), ("end", ev.end_s), ("wall", ev.emitted_wall),
                         ("latency", ev.latency_s), ("window", ev.window_index)):
                cap[k].append(v)
            fin_index.append(ev.window_index)
            fin_wall.append(ev.emitted_wall)
        elif isinstance(ev, WindowDropped):
            fin_index.append(ev.window_index)
            fin_wall.append(now)
        elif isinstance(ev, WindowStarted):
            for k, v in (("index", ev.window_index), ("start", ev.start_s), ("end", ev.end_s),
                         ("started_wall", ev.started_wall)):
                win[k].append(v)
            max_queue = max(max_queue, ev.queue_depth)
            pos_s = max(pos_s, ev.end_s)
        elif isinstance(ev, ModelReady):
            ready = ev
        elif isinstance(ev, CaptureStarted):
            replay0 = ev.started_wall
        elif isinstance(ev, SessionFailed):
            failed = ev
        elif isinstance(ev, PipelineStats):
            max_queue = max(max_queue, ev.queue_depth)
            if ev.final:
                stats = ev
            elif not stopped and ev.stream_s >= target_s:
                stopped = True
                pipeline.stop()
            if progress and pos_s >= next_progress:
                next_progress = 60.0 * (pos_s // 60 + 1)
                print(f"soak: {pos_s / 60:.0f} min of audio decoded in {(now - t0) / 60:.1f} min, "
                      f"RSS {rss[-1][2] if rss else 0:.1f} MB, queue {ev.queue_depth}, "
                      f"{ev.captions} captions, {ev.overruns} overruns", file=sys.stderr,
                      flush=True)
        if now >= next_rss and ready is not None:
            next_rss = now + rss_interval_s
            rss.append((now - t0, pos_s, proc.memory_info().rss / 2**20))
    wall_s = time.monotonic() - t0
    cpu1 = proc.cpu_times()
    if failed is not None:
        raise SystemExit(f"soak: pipeline failed: {failed.message}")
    end_s = stats.stream_s
    realtime = math.isfinite(speed)

    # latency: measured (real time) or simulated on a 1x clock (max speed)
    captions = [SimpleNamespace(start_s=s, end_s=e, window_index=int(w), text="")
                for s, e, w in zip(cap["start"], cap["end"], cap["window"])]
    # (no reason or speech end kept per window: the simulation treats each window as ready
    # when its last sample is captured, as it did before pause decodes existed)
    run = SimpleNamespace(
        captions=captions, vad=None,
        started={int(i): SimpleNamespace(end_s=e, started_wall=w, reason="", speech_end_s=None,
                                             decided_s=None)
                 for i, e, w in zip(win["index"], win["end"], win["started_wall"])},
        finished_wall={int(i): w for i, w in zip(fin_index, fin_wall)})
    if realtime:
        caps = [(s, e, w, "") for s, e, w in zip(cap["start"], cap["end"], cap["wall"])]
        replay0 = replay0 or t0
        caption_latency = drift(list(zip(cap["end"], cap["latency"])), end_s, compare_s)
    else:
        caps, replay0 = simulate_realtime(run), 0.0
        caption_latency = None
    utterance = None
    if segments:
        looped = [{"start_s": s["start_s"] + k * pass_s, "end_s": s["end_s"] + k * pass_s}
                  for k in range(repeat) for s in segments if s["end_s"] + k * pass_s <= end_s]
        lat = utterance_latencies(looped, caps, replay0)
        got = [(seg["end_s"], v) for seg, v in zip(looped, lat) if v is not None]
        utterance = {**drift(got, end_s, compare_s), "utterances": len(looped),
                     "without_caption": sum(v is None for v in lat)}
    decode_s = [(e, run.finished_wall[i] - w) for i, e, w in
                zip((int(x) for x in win["index"]), win["end"], win["started_wall"])
                if i in run.finished_wall]
    return {
        "audio": str(audio), "model": ready.model if ready else config.model.name,
        "speed": "max" if not realtime else speed,
        "minutes_asked": minutes, "audio_s": round(end_s, 1), "wall_s": round(wall_s, 1),
        "passes": round(end_s / pass_s, 2), "pass_s": round(pass_s, 3),
        "compute_type": ready.compute_type if ready else None,
        "threads": ready.threads if ready else None, "beam_size": ready.beam_size if ready else None,
        "rtf": round(stats.rtf, 4),
        "cpu_percent": round(100 * ((cpu1.user - cpu0.user) + (cpu1.system - cpu0.system))
                             / wall_s, 1),
        "warmup_s": warmup_s, "compare_s": compare_s,
        "rss": {**rss_slope(rss, warmup_s), "interval_s": rss_interval_s,
                "target_mb_per_hour": TARGET_RSS_MB_PER_H},
        "rss_samples": [(round(w, 1), round(s, 1), round(m, 2)) for w, s, m in rss],
        "caption_latency_s": caption_latency,
        "utterance_latency_s": utterance,
        "latency_kind": "measured" if realtime else "simulated 1x from decode times",
        "decode_s_per_window": drift(decode_s, end_s, compare_s),
        "max_queue_depth": max_queue,
        "queue_capacity": config.pipeline.window_queue_size,
        "overruns": stats.overruns,
        "windows_sent": stats.windows,
        "windows_decoded": stats.windows_decoded,
        "windows_not_decoded": stats.windows - stats.windows_decoded,
        "captions": stats.captions,
        "final_stats": _jsonable(asdict(stats)),
    }


def verdict(r: dict) -> dict:
    """Each target as pass/fail/None (not measurable on this run)."""
    lat = r["utterance_latency_s"] or r["caption_latency_s"] or {}
    slope = r["rss"]["mb_per_audio_hour"]
    return {
        "rss_growth": None if slope is None else slope <= TARGET_RSS_MB_PER_H,
        "latency_p95_drift": (None if lat.get("p95_change") is None
                              else lat["p95_change"] <= TARGET_P95_DRIFT),
        # at max speed the replay is a blocking producer: a full queue is the design there
        "queue_bounded": (r["max_queue_depth"] < r["queue_capacity"] if r["speed"] != "max"
                          else None),
        "nothing_lost": r["overruns"] == 0 and r["windows_not_decoded"] == 0,
    }


def markdown(r: dict) -> str:
    """A markdown summary of one soak run."""
    lat = r["utterance_latency_s"] or r["caption_latency_s"]
    lat_kind = ("per utterance" if r["utterance_latency_s"] else "per caption") + \
        f", {r['latency_kind']}"
    dec = r["decode_s_per_window"]
    rows = [
        ("audio / wall", f"{r['audio_s'] / 60:.1f} min of audio ({r['passes']} passes) in "
                         f"{r['wall_s'] / 60:.1f} min, RTF {r['rtf']}, CPU {r['cpu_percent']} %"),
        ("model", f"{r['model']} {r['compute_type']}, {r['threads']} threads, beam {r['beam_size']}"),
        ("RSS growth after warm-up (Theil-Sen)",
         f"{r['rss']['mb_per_audio_hour']} MB per audio hour, "
         f"{r['rss']['mb_per_wall_hour']} MB per wall hour; second half "
         f"{r['rss']['mb_per_audio_hour_second_half']} MB per audio hour; least squares "
         f"{r['rss']['mb_per_audio_hour_lsq']} ({r['rss']['rss_after_warmup_mb']} → "
                                     f"{r['rss']['rss_end_mb']} MB, max {r['rss']['rss_max_mb']}; "
                                     f"{r['rss']['n']} samples)"),
    ]
    if lat:
        rows.append((f"latency p95, first vs last {r['compare_s'] / 60:g} min ({lat_kind})",
                     f"{lat['first']['p95']} s → {lat['last']['p95']} s "
                     f"({_pct(lat['p95_change'])}; n {lat['first']['n']} / {lat['last']['n']})"))
    rows += [
        (f"decode s per window p95, first vs last {r['compare_s'] / 60:g} min",
         f"{dec['first']['p95']} → {dec['last']['p95']} ({_pct(dec['p95_change'])})"),
        ("max queue depth", f"{r['max_queue_depth']} of {r['queue_capacity']}"),
        ("overruns / windows not decoded",
         f"{r['overruns']} / {r['windows_not_decoded']} "
         f"(of {r['windows_sent']} windows)"),
        ("captions", str(r["captions"])),
    ]
    if r["utterance_latency_s"]:
        rows.append(("utterances without caption",
                     f"{r['utterance_latency_s']['without_caption']} of "
                     f"{r['utterance_latency_s']['utterances']}"))
    v = verdict(r)
    rows.append(("targets", ", ".join(f"{k} {'ok' if ok else 'MISSED' if ok is False else 'n/a'}"
                                      for k, ok in v.items())))
    head = f"Soak: {r['model']} at speed {r['speed']}, {Path(r['audio']).name} looped\n\n"
    return head + "| | |\n|---|---|\n" + "\n".join(f"| {a} | {b} |" for a, b in rows) + "\n"


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:+.1f} %"


def _jsonable(obj):
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, float) and math.isinf(obj):
        return "inf"
    return obj


def main(argv: list[str] | None = None) -> int:
    """Command line of the soak test."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                parents=[session_flags()])  # every livescribe flag
    p.add_argument("audio", type=Path, nargs="?", default=DEFAULT_AUDIO)
    p.add_argument("--segments", type=Path,
                   help="JSON with segments: [{start_s, end_s}] of one pass (default: the "
                        "audio's .json beside it, if any)")
    p.add_argument("--minutes", type=float, default=60.0, help="stream minutes to run")
    p.add_argument("--rss-interval", type=float, default=5.0, metavar="SECONDS")
    p.add_argument("--warmup-minutes", type=float)
    p.add_argument("--compare-minutes", type=float)
    p.add_argument("--name", help="run name (default: soak-<model>-<speed>-<minutes>m-<time>)")
    p.add_argument("--out-dir", type=Path, default=ROOT / "bench-results")
    p.add_argument("--no-progress", action="store_true")
    args = p.parse_args(argv)
    speed = getattr(args, "input.speed", math.inf)  # the soak's default: max
    seg_path = args.segments or args.audio.with_suffix(".json")
    segments = json.loads(seg_path.read_text())["segments"] if seg_path.exists() else None
    built = bench_config(args)
    result = soak(args.audio, built.config, args.minutes, speed, segments=segments,
                  rss_interval_s=args.rss_interval,
                  warmup_minutes=args.warmup_minutes, compare_minutes=args.compare_minutes,
                  progress=not args.no_progress)
    result["targets"] = verdict(result)
    result["machine"] = machine_info()
    result["config"] = config_record(built)
    speed_name = "max" if math.isinf(speed) else f"{speed:g}"
    name = args.name or (f"soak-{result['model']}-{speed_name}-{args.minutes:g}m-"
                         f"{time.strftime('%Y%m%d-%H%M%S')}")
    write_results(args.out_dir, name, result, markdown(result), "soak")
    return 0


if __name__ == "__main__":
    sys.exit(main())
