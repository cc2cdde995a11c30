#!/usr/bin/env python3
"""Benchmark ``livescribe serve`` on loopback: live streams and REST uploads (docs/benchmarks.md,
"Server (issue 16)").

``live``: a fresh server per run (``livescribe serve --port 0``, a child process), then N
WebSocket clients (``/v1/stream``, partials on) each sending a different part of
``meeting_dev.flac`` (cut at pauses between utterances into parts of about ``--seconds``) as
20 ms frames paced at real time. Per reference utterance: the final-caption latency, from the
moment the client sent the end of its speech to the moment the caption arrived (client clock);
WER of the finals against the references; from the server's last ``stats`` line the windows
filtered and the ring overruns; utterances with no caption at all
("lost"); the server's RSS when ready and its peak during the run (psutil), hence RSS per
session.

``batch``: pairs of meeting_dev utterances decoded one after the other and as one batch of
two (the GPU path, :mod:`streamer.decoding.batch`) on this machine: the wall time of each.

``rest``: a fresh server, then ``--files`` recordings of 10-60 s from ``../shared/speech`` with
references, ``--concurrency`` at a time, ``POST /v1/audio/transcriptions``: requests/s, audio
seconds per second, p95 response time, WER; against ``livescribe --file X --speed max`` run
one by one (its wall time with and without each run's model load and warm-up).

Usage::

    python scripts/serve_bench.py live --model tiny.en --streams 1 2 4 8
    python scripts/serve_bench.py rest --model base --files 20 --concurrency 4

Results go to ``bench-results/serve-<mode>-<model>.json`` and ``.md`` (markdown also on stdout).
Everything is bounded: at most 8 streams of ``--seconds`` each, at most 24 files.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import psutil

ROOT = Path(__file__).resolve().parent.parent
SPEECH = ROOT.parent / "shared" / "speech"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from bench import machine_info, percentiles, utterance_latencies, wer, write_results  # noqa: E402
from streamer.capture.audio import decode_blocks  # noqa: E402

CLI = [sys.executable, "-m", "tui"]
FRAME = 320  #: samples per message: 20 ms, like a PortAudio callback


# -------------------------------------------------------------------------- the server
class Server:
    """``livescribe serve`` as a child process on a free port; its RSS sampled every 0.25 s."""

    def __init__(self, model: str, arenas: int | None = None, max_sessions: int = 16,
                 extra: tuple[str, ...] = ()) -> None:
        env = dict(os.environ)
        env.pop("MALLOC_ARENA_MAX", None)
        if arenas is not None:
            env["LIVESCRIBE_PIPELINE_MALLOC_ARENA_MAX"] = str(arenas)
        self.proc = subprocess.Popen(
            [*CLI, "serve", "--model", model, "--port", "0", "--max-sessions", str(max_sessions),
             "--idle-timeout", "120", *extra], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, text=True)
        self.base = None
        for line in self.proc.stderr:
            rec = json.loads(line)
            if "port" in rec:
                self.base = f"http://127.0.0.1:{rec['port']}"
                break
        if self.base is None:
            raise SystemExit("serve_bench: the server did not start")
        threading.Thread(target=lambda: [None for _ in self.proc.stderr], daemon=True).start()
        self._ps = psutil.Process(self.proc.pid)
        self.peak = 0
        self._stop = threading.Event()
        self._wait_ready()
        self.ready_rss = self.rss()
        threading.Thread(target=self._sample, daemon=True).start()

    def _wait_ready(self, bound_s: float = 300) -> None:
        import httpx

        deadline = time.monotonic() + bound_s
        while httpx.get(self.base + "/health").status_code != 200:
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise SystemExit("serve_bench: the model did not load")
            time.sleep(0.2)

    def rss(self) -> int:
        return self._ps.memory_info().rss

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.rss())
            self._stop.wait(0.25)

    def performance(self) -> dict:
        import httpx

        return httpx.get(self.base + "/performance").json()

    def stop(self) -> None:
        self._stop.set()
        self.proc.terminate()
        self.proc.wait(60)


# -------------------------------------------------------------------------- live streams
def meeting_parts(n: int, seconds: float) -> list[tuple[np.ndarray, list[dict]]]:
    """``n`` consecutive parts of meeting_dev of about ``seconds`` each, cut in the middle of
    the pause between two utterances: ``(int16 audio, its segments with times relative to the
    part)``."""
    audio = np.concatenate(list(decode_blocks(SPEECH / "meeting_dev.flac", 16000 * 10)))
    segs = json.loads((SPEECH / "meeting_dev.json").read_text())["segments"]
    parts, start, i = [], 0.0, 0
    for _ in range(n):
        group = []
        while i < len(segs) and (not group or segs[i]["end_s"] - start <= seconds):
            group.append(segs[i])
            i += 1
        end = (group[-1]["end_s"] + segs[i]["start_s"]) / 2 if i < len(segs) else len(audio) / 16000
        rel = [{**s, **{k: s[k] - start for k in ("start_s", "end_s", "speech_start_s",
                                                  "speech_end_s")}} for s in group]
        parts.append((audio[int(start * 16000):int(end * 16000)], rel))
        start = end
    if not parts[-1][1]:
        raise SystemExit(f"serve_bench: meeting_dev holds fewer than {n} parts of {seconds} s")
    return parts


async def live_client(base: str, audio: np.ndarray, partials: bool = True) -> dict:
    """Send ``audio`` at real time over ``/v1/stream``; the finals with their arrival wall time,
    the partial count and the last stats line."""
    import websockets

    finals, shown, stats = [], 0, {}
    url = base.replace("http", "ws") + "/v1/stream" + ("" if partials else "?partials=false")
    async with websockets.connect(url, max_size=None) as ws:
        await ws.recv()  # the session line

        async def send() -> float:
            t0 = time.monotonic()
            for k in range(0, len(audio), FRAME):
                due = t0 + (k + FRAME) / 16000  # the frame's last sample "is heard" now
                await asyncio.sleep(max(0.0, due - time.monotonic()))
                await ws.send(audio[k:k + FRAME].tobytes())
            await ws.send(json.dumps({"type": "end"}))
            return t0

        sender = asyncio.create_task(send())
        async for raw in ws:
            m = json.loads(raw)
            if m["type"] == "final":
                finals.append((m["start"], m["end"], time.monotonic(), m["text"], m["latency"]))
            elif m["type"] == "partial":
                shown += 1
            elif m["type"] == "stats":
                stats = m
        t0 = await sender
    return {"t0": t0, "finals": finals, "partials": shown, "stats": stats}


def run_live(model: str, n: int, parts, arenas: int | None,
             extra: tuple[str, ...] = (), partials: bool = True) -> dict:
    server = Server(model, arenas, extra=extra)
    try:
        async def all_clients():
            return await asyncio.gather(*[live_client(server.base, a, partials)
                                          for a, _ in parts[:n]])

        t0 = time.monotonic()
        results = asyncio.run(all_clients())
        wall = time.monotonic() - t0
        perf = server.performance()
    finally:
        server.stop()
    lat, server_lat, refs, hyps, lost = [], [], [], [], 0
    totals = {"windows": 0, "overruns": 0, "filtered": 0, "captions": 0,
              "partials": 0, "fragments_dropped": 0, "finals_reused": 0}
    for (_, segs), r in zip(parts, results):
        caps = [(s, e, w, t) for s, e, w, t, _ in r["finals"]]
        got = utterance_latencies(segs, caps, r["t0"])
        lost += sum(x is None for x in got)
        lat += [x for x in got if x is not None]
        server_lat += [f[4] for f in r["finals"]]
        refs += [s["reference"] for s in segs]
        hyps += [c[3] for c in caps]
        st = r["stats"]
        for k in ("windows", "overruns", "captions", "fragments_dropped",
                  "finals_reused"):
            totals[k] += st.get(k, 0)
        totals["filtered"] += sum(st.get("filtered", {}).values())
        totals["partials"] += r["partials"]
    mb = 2**20
    return {"model": model, "streams": n, "arenas": arenas if arenas is not None else 2,
            "serve_args": " ".join(extra) + ("" if partials else " partials=false"),
            "load_avg": round(os.getloadavg()[0], 1),
            "audio_s": round(sum(len(a) for a, _ in parts[:n]) / 16000, 1),
            "wall_s": round(wall, 1), "utterances": len(refs), "lost": lost,
            "latency": percentiles(lat), "server_latency": percentiles(server_lat),
            "wer": wer(refs, hyps), **totals,
            "rss_ready_mb": round(server.ready_rss / mb, 1),
            "rss_peak_mb": round(server.peak / mb, 1),
            "rss_per_session_mb": round((server.peak - server.ready_rss) / mb / n, 1),
            "utilization": perf["scheduler"]["utilization"], "rtf": perf["rtf"],
            "batches": perf["scheduler"]["batches"]}


# -------------------------------------------------------------------------- REST
def rest_files(count: int) -> list[dict]:
    """The first ``count`` English recordings of 10-60 s with a reference, by file name."""
    with open(SPEECH / "references.tsv", newline="") as f:
        rows = [r for r in csv.DictReader(f, delimiter="\t") if r["language"] == "en"
                and 10 <= float(r["duration_s"]) <= 60 and r["ref_kind"] != "none"]
    return sorted(rows, key=lambda r: r["file"])[:count]


async def rest_requests(base: str, files: list[dict], concurrency: int) -> list[dict]:
    import httpx

    gate = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(timeout=600) as client:
        async def one(row):
            data = (SPEECH / row["file"]).read_bytes()
            async with gate:
                t0 = time.monotonic()
                r = await client.post(base + "/v1/audio/transcriptions",
                                      files={"file": (Path(row["file"]).name, data)},
                                      data={"model": "whisper-1", "language": "en"})
                r.raise_for_status()
                return {"s": time.monotonic() - t0, "text": r.json()["text"]}
        return await asyncio.gather(*[one(row) for row in files])


def run_rest(model: str, files: list[dict], concurrency: int, arenas: int | None,
             extra: tuple[str, ...] = ()) -> dict:
    audio_s = sum(float(r["duration_s"]) for r in files)
    server = Server(model, arenas, extra=extra)
    try:
        t0 = time.monotonic()
        out = asyncio.run(rest_requests(server.base, files, concurrency))
        wall = time.monotonic() - t0
        rss_after = server.rss()
    finally:
        server.stop()
    cli_wall, cli_load, cli_texts = 0.0, 0.0, []
    for row in files:  # the command line, one file at a time
        t = time.monotonic()
        p = subprocess.run([*CLI, "--file", str(SPEECH / row["file"]), "--speed", "max",
                            "--model", model, "--language", "en", "--plain", "--no-transcript",
                            "-v"], cwd=ROOT, capture_output=True, text=True, check=True)
        cli_wall += time.monotonic() - t
        m = re.search(r"\(load ([0-9.]+) s, warm-up ([0-9.]+) s\)", p.stderr)
        cli_load += float(m.group(1)) + float(m.group(2)) if m else 0.0
        cli_texts.append(" ".join(p.stdout.split()))
    refs = [r["reference"] for r in files]
    mb = 2**20
    return {"model": model, "files": len(files), "concurrency": concurrency,
            "serve_args": " ".join(extra), "load_avg": round(os.getloadavg()[0], 1),
            "audio_s": round(audio_s, 1), "wall_s": round(wall, 1),
            "requests_per_s": round(len(files) / wall, 3),
            "audio_s_per_s": round(audio_s / wall, 2),
            "response_s": percentiles([o["s"] for o in out]),
            "wer": wer(refs, [o["text"] for o in out]),
            "rss_ready_mb": round(server.ready_rss / mb, 1),
            "rss_after_mb": round(rss_after / mb, 1), "rss_peak_mb": round(server.peak / mb, 1),
            "cli_wall_s": round(cli_wall, 1), "cli_audio_s_per_s": round(audio_s / cli_wall, 2),
            "cli_warm_wall_s": round(cli_wall - cli_load, 1),
            "cli_warm_audio_s_per_s": round(audio_s / (cli_wall - cli_load), 2),
            "cli_wer": wer(refs, cli_texts),
            "vs_cli": round(cli_wall / wall, 2),
            "vs_cli_warm": round((cli_wall - cli_load) / wall, 2)}


# -------------------------------------------------------------------------- batching
def run_batch(model: str, pairs: int, threads: int = 0) -> dict:
    """Decode ``pairs`` pairs of meeting_dev utterances (each pair of the same encoder context:
    both under 8 s, or both 8-18 s) one after the other and as one batch; wall seconds of each,
    and whether the batch gave the same words."""
    from streamer.capture.audio import int16_to_float32
    from streamer.decoding.batch import Job, decode_batch
    from streamer.decoding.decoder import DecodingOptions, WindowDecoder
    from streamer.decoding.models import ModelSpec

    d = WindowDecoder(ModelSpec(model, cpu_threads=threads), DecodingOptions(language="en"))
    d.warm_up(28.0)
    audio = np.concatenate(list(decode_blocks(SPEECH / "meeting_dev.flac", 16000 * 10)))
    segs = json.loads((SPEECH / "meeting_dev.json").read_text())["segments"]
    clips = [int16_to_float32(audio[int(s["start_s"] * 16000):int(s["end_s"] * 16000)])
             for s in segs]
    short = [c for c in clips if len(c) < 8 * 16000]
    longer = [c for c in clips if 8 * 16000 <= len(c) < 18 * 16000]
    todo = [(short[2 * i], short[2 * i + 1]) for i in range(len(short) // 2)]
    todo = (todo + [(longer[2 * i], longer[2 * i + 1]) for i in range(len(longer) // 2)])[:pairs]
    seq_s = batch_s = 0.0
    same = 0
    for a, b in todo:
        t0 = time.perf_counter()
        alone = [d.for_session().decode(x).text for x in (a, b)]
        t1 = time.perf_counter()
        views = [d.for_session() for _ in (a, b)]
        both = decode_batch([Job(v, x, "en", False) for v, x in zip(views, (a, b))])
        t2 = time.perf_counter()
        seq_s += t1 - t0
        batch_s += t2 - t1
        same += sum(x.lower().split() == r.text.lower().split() for x, r in zip(alone, both))
    return {"model": model, "threads": threads or "ct2 default", "pairs": len(todo),
            "sequential_s": round(seq_s, 2), "batched_s": round(batch_s, 2),
            "batch_over_sequential": round(batch_s / seq_s, 2),
            "same_words": f"{same}/{2 * len(todo)}"}


# -------------------------------------------------------------------------- report
def live_markdown(rows: list[dict]) -> str:
    lines = ["| model | serve flags | streams | utterances | final p50 / p95 s | server p95 s "
             "| WER % | lost | overruns | reused | partials | RSS ready / peak MB "
             "| load |", "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lat = r["latency"]
        lines.append(f"| {r['model']} | {r['serve_args'] or '-'} | {r['streams']} | "
                     f"{r['utterances']} | {lat['p50']} / {lat['p95']} | "
                     f"{r['server_latency']['p95']} | {r['wer']['wer']} | {r['lost']} | "
                     f"{r['overruns']} | {r['finals_reused']} | "
                     f"{r['partials']} | {r['rss_ready_mb']} / {r['rss_peak_mb']} | "
                     f"{r['load_avg']} |")
    return "\n".join(lines) + "\n"


def rest_markdown(r: dict) -> str:
    return (f"| model | files | audio s | wall s | req/s | audio s/s | p95 response s | WER % | "
            f"CLI wall s (warm) | CLI audio s/s (warm) | CLI WER % | server / CLI (warm) | "
            f"RSS ready / after MB |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|\n"
            f"| {r['model']} | {r['files']} x{r['concurrency']} | {r['audio_s']} | {r['wall_s']} | "
            f"{r['requests_per_s']} | {r['audio_s_per_s']} | {r['response_s']['p95']} | "
            f"{r['wer']['wer']} | {r['cli_wall_s']} ({r['cli_warm_wall_s']}) | "
            f"{r['cli_audio_s_per_s']} ({r['cli_warm_audio_s_per_s']}) | {r['cli_wer']['wer']} | "
            f"{r['vs_cli']} ({r['vs_cli_warm']}) | {r['rss_ready_mb']} / {r['rss_after_mb']} |\n")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("mode", choices=("live", "rest", "batch"))
    p.add_argument("--pairs", type=int, default=10, help="window pairs (batch)")
    p.add_argument("--threads", type=int, default=0, help="CTranslate2 threads (batch)")
    p.add_argument("--model", default="tiny.en")
    p.add_argument("--streams", type=int, nargs="+", default=[1, 2, 4, 8])
    p.add_argument("--seconds", type=float, default=52.0, help="audio per stream (live)")
    p.add_argument("--files", type=int, default=20)
    p.add_argument("--concurrency", type=int, default=4)
    p.add_argument("--arenas", type=int, default=None,
                   help="pipeline.malloc_arena_max for the server (default: its own, 2; 0: glibc's)")
    p.add_argument("--serve-arg", action="append", default=[], metavar="ARG",
                   help="pass ARG to livescribe serve (e.g. --serve-arg=--threads=2)")
    p.add_argument("--no-partials", action="store_true",
                   help="live streams ask for finals only (/v1/stream?partials=false)")
    p.add_argument("--tag", default="", help="added to the result file name")
    p.add_argument("--out", type=Path, default=ROOT / "bench-results")
    a = p.parse_args(argv)
    if max(a.streams) > 8 or a.files > 24 or a.seconds > 120 or a.pairs > 20:
        p.error("bounded: at most 8 streams, 24 files, 120 s per stream")
    tag = f"{a.mode}-{a.model}" + (f"-arenas{a.arenas}" if a.arenas is not None else "") + \
        (f"-{a.tag}" if a.tag else "")
    extra = tuple(a.serve_arg)
    if a.mode == "live":
        parts = meeting_parts(max(a.streams), a.seconds)
        rows = []
        for n in a.streams:
            rows.append(run_live(a.model, n, parts, a.arenas, extra, not a.no_partials))
            print(live_markdown(rows[-1:]), file=sys.stderr)
        result, md = {"machine": machine_info(), "runs": rows}, live_markdown(rows)
    elif a.mode == "rest":
        r = run_rest(a.model, rest_files(a.files), a.concurrency, a.arenas, extra)
        result, md = {"machine": machine_info(), "run": r}, rest_markdown(r)
    else:
        r = run_batch(a.model, a.pairs, a.threads)
        result = {"machine": machine_info(), "run": r}
        md = ("| " + " | ".join(r) + " |\n|" + "---|" * len(r) + "\n| "
              + " | ".join(str(v) for v in r.values()) + " |\n")
    write_results(a.out, f"serve-{tag}", result, md, "serve_bench")
    return 0


if __name__ == "__main__":
    sys.exit(main())
