#!/usr/bin/env python3
"""Benchmark livescribe: caption latency, streaming vs offline WER, RTF, memory.

Runs the real pipeline (file replay -> ring buffer -> VAD -> warm worker) on a recording whose
utterances are known (``segments: [{start_s, end_s, reference}]``, the format of
``shared/speech/meeting_dev.json``) and reports, as JSON and as a markdown table:

- **caption latency** per reference utterance: wall time its final caption was emitted minus the
  wall time the utterance's last sample was captured (real-time replay); p50 / p95 / max;
- **WER** of the streamed captions; of offline faster-whisper on the whole file (long-form
  ``transcribe`` with the same model and decoding options); and of each utterance decoded alone
  (oracle segmentation); text normalised with Whisper's normalisers and scored with jiwer;
- **RTF** (inference seconds / audio seconds) at ``--speed max`` and wall time;
- **peak RSS** and CPU use (psutil), ring-buffer overruns, windows per minute, filtered captions.

Modes: ``live`` plays the recording into a virtual microphone (``scripts/virtual-mic.sh``:
PulseAudio null sink -> ALSA pulse plugin -> PortAudio) while ``livescribe`` runs in microphone
mode as a separate process, and measures from outside it: the wall time each caption line
reaches stdout minus the wall time the utterance's last sample was played (an upper bound: the
few milliseconds paplay takes to start count as latency; the rig is primed with 0.5 s of silence
first, because the first stream into an idle virtual microphone arrives 0.3-0.7 s late). ``realtime`` replays at 1x (what a user sees; 7 minutes for meeting_dev); ``max`` replays
as fast as the worker goes (RTF, WER); ``sim`` replays at max speed and replays the measured
decode times on a virtual real-time clock (a queue model: a window can start decoding when its
last sample has been captured and the previous decode is done) to estimate latency quickly for
parameter sweeps. ``realtime`` is the reference; ``sim`` ignores CPU contention from capture.

Usage::

    python scripts/bench.py ../shared/speech/meeting_dev.flac \
        --segments ../shared/speech/meeting_dev.json --model base --mode realtime

It measures what ``livescribe`` runs: it takes every ``livescribe`` flag (``--model``,
``--beam-size``, ``--vad-aggressiveness``...; :func:`tui.cli.parser.session_flags`), builds the
configuration with the same builder (defaults, the user's config file, ``LIVESCRIBE_*``, flags:
:func:`streamer.config.build_config`) and runs :class:`streamer.pipeline.Pipeline`, which plans
and loads the model with the same loader (the fallback chain, then calibration). The effective
configuration and where each value came from are in the result file.

Results go to ``bench-results/<run name>.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import threading
import time
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

import numpy as np
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from streamer.config import BuiltConfig, Config, build_config  # noqa: E402
from streamer.events import (CaptureStarted, Caption, ModelReady, Partial, PipelineStats,  # noqa: E402
                             SessionFailed, WindowDropped, WindowStarted, WindowTimings)
from streamer.pipeline import Pipeline  # noqa: E402
from streamer.segmentation.options import VadOptions  # noqa: E402
from tui.cli.parser import argv_for, flags_from, session_flags  # noqa: E402


# --------------------------------------------------------------------------- text and WER
def _clean_reference(text: str) -> str:
    """Drop markup that is not spoken (``<unk>``, ``[laughter]``); keep words in parentheses
    (spoken in LJSpeech), which Whisper's normalisers would otherwise delete."""
    text = re.sub(r"<[^>]*>|\[[^\]]*\]", " ", text)
    return text.replace("(", " ").replace(")", " ")


@lru_cache(maxsize=None)
def normalizer(language: str = "en"):
    """Whisper's English normaliser for ``en``, the basic one otherwise (whisper-normalizer);
    one per language (built once: the English one loads its spelling table, and the scorers
    normalise each reference utterance alone)."""
    if language == "en":
        from whisper_normalizer.english import EnglishTextNormalizer

        return EnglishTextNormalizer()
    from whisper_normalizer.basic import BasicTextNormalizer

    return BasicTextNormalizer()


#: where a sentence ends: Whisper's normaliser reads each sentence alone (normalised_words)
SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def normalised_words(texts: list[str], language: str = "en", reference: bool = False) -> list[str]:
    """The words of ``texts`` (a list of strings, in order), normalised by Whisper's
    normaliser one sentence at a time.

    Whisper's English normaliser reads spelled numbers in a row as one number, across
    sentence ends too: the captions "Four." and "Five." joined into one text became "45"
    against the references' "4" and "5" (2 of tiny.en's "lost" prompts in one run;
    docs/benchmarks.md, "Scoring: each sentence normalised alone"). So each sentence (split
    after ``.``, ``!`` or ``?``) is normalised alone. Captions (``reference`` False) are
    joined first, since a caption may end inside a number ("Twenty" / "five." is 25);
    references are split within each utterance, after dropping unspoken markup
    (:func:`_clean_reference`). Tokens with no letter or digit are dropped: the normaliser
    keeps the "." of an ellipsis ("Um..." gives ".").

    Raises:
        TypeError: ``texts`` is a string, not a list of them.
    """
    if isinstance(texts, str):
        raise TypeError("texts must be a list of strings")
    norm = normalizer(language)
    units = [_clean_reference(t) for t in texts] if reference else [" ".join(texts)]
    return [w for u in units for sentence in SENTENCE_END.split(u)
            for w in norm(sentence).split() if any(c.isalnum() for c in w)]


def wer(references: list[str], hypotheses: list[str], language: str = "en") -> dict:
    """Corpus WER of ``hypotheses`` against ``references``, normalised one sentence at a time
    (:func:`normalised_words`).

    Returns:
        ``{"wer": percent, "substitutions", "deletions", "insertions", "ref_words"}``.

    Raises:
        ValueError: the references hold no word.
    """
    import jiwer

    ref = normalised_words(references, language, reference=True)
    hyp = normalised_words(hypotheses, language)
    if not ref:
        raise ValueError("empty reference")
    out = jiwer.process_words(" ".join(ref), " ".join(hyp) if hyp else "")
    return {"wer": round(100 * out.wer, 2), "substitutions": out.substitutions,
            "deletions": out.deletions, "insertions": out.insertions, "ref_words": len(ref)}


# --------------------------------------------------------------------------- running
@dataclass
class StreamRun:
    """What one replay through the pipeline produced."""

    captions: list[Caption] = field(default_factory=list)
    partials: list[Partial] = field(default_factory=list)
    started: dict[int, WindowStarted] = field(default_factory=dict)
    finished_wall: dict[int, float] = field(default_factory=dict)
    dropped: list[WindowDropped] = field(default_factory=list)
    ready: ModelReady | None = None
    stats: PipelineStats | None = None
    replay_start_wall: float = 0.0
    wall_s: float = 0.0
    peak_rss_mb: float = 0.0
    cpu_percent: float = 0.0  # mean over the run, 100 = one core busy
    audio_s: float = 0.0
    timings: list[tuple[float, float, float, float]] = field(default_factory=list)
    vad: VadOptions | None = None  #: the session's segmentation options (for the simulation)


class RssSampler(threading.Thread):
    """Samples a process's RSS every ``interval_s`` and keeps the peak (bytes).

    Args:
        interval_s: seconds between two samples.
        pid: the process (None: this one); sampling stops when it is gone.
    """

    def __init__(self, interval_s: float = 0.1, pid: int | None = None) -> None:
        super().__init__(daemon=True)
        self.interval_s = interval_s
        self.peak = 0
        self._done = threading.Event()
        self._proc = psutil.Process(pid)

    def _sample(self) -> None:
        try:
            self.peak = max(self.peak, self._proc.memory_info().rss)
        except psutil.Error:  # the process is gone
            self._done.set()

    def run(self) -> None:
        while not self._done.is_set():
            self._sample()
            self._done.wait(self.interval_s)

    def stop(self) -> int:
        """Stop sampling; the peak RSS, bytes."""
        self._done.set()
        self.join()
        self._sample()
        return self.peak


def with_input(config: Config, audio: Path, speed: float) -> Config:
    """``config`` replaying ``audio`` at ``speed`` (1.0 real time, ``math.inf`` max)."""
    return replace(config, input=replace(config.input, file=str(audio), speed=speed))


def release_freed_memory() -> None:
    """Collect garbage and hand memory freed by earlier sessions back to the OS (glibc's
    ``malloc_trim``; a no-op elsewhere). Without it a process that runs session after session
    keeps the freed model memory of each in its heap: base grew ~150 MB per session on a short
    clip, and back to one session's size after the trim (no object survives a session)."""
    import ctypes
    import gc

    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def run_stream(audio: Path, config: Config, speed: float, progress: bool = True) -> StreamRun:
    """Replay ``audio`` through the real pipeline, as ``livescribe`` would, and collect every
    event.

    Args:
        audio: recording to replay.
        config: the session's configuration (:func:`streamer.config.build_config`); its input
            is replaced by ``audio`` at ``speed``.
        speed: 1.0 for real time, ``math.inf`` for as fast as the worker goes.
        progress: show a progress bar (stream seconds) on stderr.

    Raises:
        SystemExit: the session failed.
    """
    from tqdm import tqdm

    release_freed_memory()  # so that peak RSS is this session's, not the sessions' before it
    pipeline = Pipeline(with_input(config, audio, speed))
    run = StreamRun(vad=config.vad)
    failed: SessionFailed | None = None
    sampler = RssSampler()
    sampler.start()
    proc = psutil.Process()
    cpu0 = proc.cpu_times()
    t0 = time.monotonic()
    bar = tqdm(total=None, unit="s", desc=f"{config.model.name} x{speed:g}", disable=not progress,
               file=sys.stderr, bar_format="{desc}: {n:.0f} s of audio [{elapsed}]")
    for ev in pipeline.events():
        now = time.monotonic()
        if isinstance(ev, Caption):
            run.captions.append(ev)
            run.finished_wall[ev.window_index] = ev.emitted_wall
        elif isinstance(ev, Partial):
            run.partials.append(ev)
        elif isinstance(ev, WindowDropped):
            if ev.lost:  # not a window whose words were all in early finals
                run.dropped.append(ev)
            run.finished_wall[ev.window_index] = now
        elif isinstance(ev, WindowStarted):
            run.started[ev.window_index] = ev
        elif isinstance(ev, ModelReady):
            run.ready = ev
        elif isinstance(ev, WindowTimings):
            run.timings.append((ev.feature_s, ev.encode_s, ev.decode_s, ev.filter_s))
        elif isinstance(ev, CaptureStarted):
            run.replay_start_wall = ev.started_wall
        elif isinstance(ev, SessionFailed):
            failed = ev
        elif isinstance(ev, PipelineStats):
            bar.n = ev.stream_s
            bar.refresh()
            if ev.final:
                run.stats = ev
    bar.close()
    run.wall_s = time.monotonic() - t0
    cpu1 = proc.cpu_times()
    run.cpu_percent = 100 * ((cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)) / run.wall_s
    run.peak_rss_mb = sampler.stop() / 2**20
    if failed is not None:
        raise SystemExit(f"bench: pipeline failed: {failed.message}")
    run.replay_start_wall = run.replay_start_wall or t0
    run.audio_s = run.stats.stream_s if run.stats else 0.0
    return run


# --------------------------------------------------------------------------- latency
def _final_caption_wall(segment: dict, captions: list[tuple[float, float, float, str]],
                        min_overlap_s: float = 0.1) -> float | None:
    """Emission wall time of the last caption overlapping the utterance, or None."""
    best = None
    for start_s, end_s, wall, _ in captions:
        overlap = min(end_s, segment["end_s"]) - max(start_s, segment["start_s"])
        if overlap >= min_overlap_s:
            best = wall if best is None else max(best, wall)
    return best


def utterance_latencies(segments: list[dict], captions: list[tuple[float, float, float, str]],
                        replay_start_wall: float) -> list[float | None]:
    """Seconds from the end of each utterance's speech to its final caption (None if none came).

    ``captions`` are ``(start_s, end_s, emitted_wall, text)``; speech ending at stream time
    ``speech_end_s`` (the segment's ``end_s`` when it has no speech bounds) was captured at
    ``replay_start_wall + speech_end_s`` (1x replay).
    """
    out = []
    for seg in segments:
        wall = _final_caption_wall(seg, captions)
        end = seg.get("speech_end_s", seg["end_s"])
        out.append(None if wall is None else wall - (replay_start_wall + end))
    return out


def simulate_realtime(run: StreamRun, vad: VadOptions | None = None) -> list[tuple[float, float, float, str]]:
    """Replay measured decode times on a virtual 1x clock (stream seconds as wall seconds).

    A window is decoded after the previous one finishes, taking the time it took in the
    max-speed run, as soon as a live session would have it: an utterance's final (``"end"``)
    window once ``vad.pause_snapshot_ms`` of its pause have passed (the live pipeline decodes
    the pause snapshot, which holds the same audio, while the pause goes on), its caption no
    earlier than the stream time the segmenter ended the utterance (``decided_s``; without it,
    ``vad.end_silence_ms`` after its speech ends); any other window once its last sample is
    captured (``end_s``). A final ended by background talk (decided more than
    ``vad.end_silence_ms`` after its speech: ``vad.background_hold_ms``) is decoded from its
    pause snapshot too, which the segmenter takes of the talker's speech once the talk has
    held the utterance ``vad.end_silence_ms`` past their last frame. ``vad`` None: the
    default :class:`VadOptions`.

    Returns:
        ``(start_s, end_s, virtual emission time, text)`` per caption.
    """
    vad = vad or run.vad or VadOptions()
    by_index = {c.window_index: c for c in run.captions}
    busy_until = 0.0
    out = []
    for idx in sorted(run.started):
        st = run.started[idx]
        duration = run.finished_wall.get(idx, st.started_wall) - st.started_wall
        available, not_before = st.end_s, st.end_s
        if st.reason == "end" and st.speech_end_s is not None:
            not_before = (st.decided_s if st.decided_s is not None
                          else st.speech_end_s + vad.end_silence_ms / 1000)
            held = not_before - st.speech_end_s > (vad.end_silence_ms + vad.frame_ms) / 1000
            available = st.speech_end_s + (vad.end_silence_ms if held
                                           else vad.pause_snapshot_ms) / 1000
        begin = max(available, busy_until)
        busy_until = begin + duration
        if idx in by_index:
            c = by_index[idx]
            out.append((c.start_s, c.end_s, max(busy_until, not_before), c.text))
    return out


def percentiles(values: list[float]) -> dict:
    """p50, p95 (the engine's :func:`streamer.output.figures.percentiles`, as the server and the
    UI report them) and max of ``values`` (seconds, rounded to ms)."""
    from streamer.output.figures import percentiles as engine_percentiles

    p50, p95 = engine_percentiles(values, (50, 95))
    return {"p50": p50, "p95": p95, "max": round(float(max(values)), 3) if values else None,
            "n": len(values)}


# --------------------------------------------------------------------------- offline baselines
def offline_wer(audio: Path, config: Config, segments: list[dict], language: str) -> dict:
    """WER of faster-whisper on the whole file (long-form) and on each utterance alone.

    The model is planned and loaded as a session loads it (:func:`streamer.tuning.plan.plan_for`,
    :func:`streamer.tuning.loader.start_decoder`: same model, device, compute type, threads and
    beam size), then decoded at temperature 0 with ``condition_on_previous_text=False``; the
    whole file goes through ``WhisperModel.transcribe`` (30 s chunks, upstream behaviour) and
    each utterance through it alone (oracle segmentation).
    """
    from streamer.capture.audio import decode_blocks, int16_to_float32
    from streamer.tuning.loader import start_decoder
    from streamer.tuning.plan import plan_for

    pcm = np.concatenate(list(decode_blocks(audio, 16000 * 10)))
    x = int16_to_float32(pcm)
    _, plan = plan_for(config.model, config.decoding.language, task=config.decoding.task)
    decoder, plan = start_decoder(plan, replace(config.decoding, beam_size=plan.beam_size))
    model = decoder.model  # the faster_whisper.WhisperModel the session would decode with
    lang = config.decoding.language or ("en" if not model.model.is_multilingual else None)
    kw = dict(beam_size=plan.beam_size, temperature=0.0,
              condition_on_previous_text=False, language=lang)
    t0 = time.perf_counter()
    segs, _ = model.transcribe(x, **kw)
    long_text = [s.text for s in segs]
    long_s = time.perf_counter() - t0
    oracle = []
    for seg in segments:
        a = x[int(seg["start_s"] * 16000):int(seg["end_s"] * 16000)]
        s2, _ = model.transcribe(a, **kw, without_timestamps=True)
        oracle.append(" ".join(s.text for s in s2))
    refs = [s["reference"] for s in segments]
    return {"long_form": wer(refs, long_text, language), "long_form_rtf": round(long_s / (x.size / 16000), 4),
            "oracle": wer(refs, oracle, language)}


# --------------------------------------------------------------------------- live (virtual mic)
def run_live(audio: Path, extra_args: list[str], segments: list[dict], language: str,
             tail_s: float = 3.0) -> dict:
    """Play ``audio`` into the virtual microphone while ``livescribe`` captions it.

    ``extra_args`` are the session flags the benchmark was given (:func:`argv_for`); the
    child reads the same config file and environment.

    Needs PulseAudio and PortAudio (see scripts/virtual-mic.sh). Captions are matched to
    utterances by stream time, mapped to play time with each caption's own ``latency`` field
    (see the code); the latency reported is measured from outside the process.

    Returns:
        The live run's figures: latency p50/p95/max per utterance, WER, input overflows.
    """
    import os
    import signal
    import subprocess

    script = ROOT / "scripts" / "virtual-mic.sh"
    env = dict(os.environ, LIVESCRIBE_PULSE_DIR="/tmp/livescribe-bench-pulse")
    r = subprocess.run(["bash", str(script), "start"], env=env, capture_output=True, text=True)
    if r.returncode:
        raise SystemExit(f"bench: virtual microphone failed: {r.stderr.strip()}")
    for line in r.stdout.splitlines():
        name, _, value = line.removeprefix("export ").partition("=")
        env[name] = value
    proc = subprocess.Popen([sys.executable, "-m", "tui", "-v", "--format", "jsonl",
                             "--no-transcript", *extra_args], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    marks: dict[str, float] = {}
    err_lines: list[str] = []
    lines: list[tuple[float, dict]] = []
    ready = threading.Event()

    def read_err():
        for line in proc.stderr:
            err_lines.append(line.rstrip())
            if "input:" in line and "input" not in marks:
                marks["input"] = time.monotonic()
            if "ready on" in line:
                ready.set()
        ready.set()

    def read_out():
        for line in proc.stdout:
            lines.append((time.monotonic(), json.loads(line)))

    threads = [threading.Thread(target=read_err, daemon=True),
               threading.Thread(target=read_out, daemon=True)]
    for t in threads:
        t.start()
    peak = 0
    try:
        ready.wait(120)
        if proc.poll() is not None:
            raise SystemExit("bench: livescribe exited early:\n" + "\n".join(err_lines))
        # The first stream into an idle virtual microphone reaches PortAudio 0.3-0.7 s late
        # (measured with a click: 0.72 s the first time, 6 ms after); prime it with silence so
        # that start-up delay of the test rig is not counted as caption latency.
        import tempfile
        import wave

        with tempfile.NamedTemporaryFile(suffix=".wav") as silence:
            with wave.open(silence.name, "wb") as w:
                w.setnchannels(1)
                w.setsampwidth(2)
                w.setframerate(16000)
                w.writeframes(bytes(16000))  # 0.5 s
            subprocess.run(["paplay", silence.name], env=env, check=True)
        t_play = time.monotonic()
        player = subprocess.Popen(["paplay", str(audio)], env=env)
        ps = psutil.Process(proc.pid)
        while player.poll() is None:
            peak = max(peak, ps.memory_info().rss)
            time.sleep(0.5)
        time.sleep(tail_s)
        proc.send_signal(signal.SIGINT)
        proc.wait(120)
    finally:
        if proc.poll() is None:
            proc.kill()
        subprocess.run(["bash", str(script), "stop"], env=env, capture_output=True)
    for t in threads:
        t.join(5)
    # Map stream time to wall time with the process's own figures: a caption line read at
    # t_line whose window ended at stream time `end` was captured `latency` seconds before it
    # was emitted, so stream time 0 was heard at t_line - latency - end (median over captions).
    # This only decides which utterance a caption belongs to; the latency reported is measured
    # from outside: t_line - (t_play + utterance end).
    stream0 = float(np.median([wall - row["latency"] - row["end"] for wall, row in lines])) \
        if lines else marks.get("input", t_play)
    offset = t_play - stream0
    caps = [(row["start"] - offset, row["end"] - offset, wall, row["text"]) for wall, row in lines]
    lat = utterance_latencies(segments, caps, t_play)
    got = [v for v in lat if v is not None]
    overflow = next((ln for ln in err_lines if "input overflows" in ln), "")
    return {
        "mode": "live",
        "latency_s": percentiles(got),
        "utterances_without_caption": sum(v is None for v in lat),
        "stream_wer": wer([s["reference"] for s in segments], [c[3] for c in caps], language),
        "peak_rss_mb": round(peak / 2**20, 1),
        "stream_offset_s": round(offset, 3),
        "microphone": overflow.removeprefix("livescribe: "),
        "exit_code": proc.returncode,
        "latency_per_utterance_s": [None if v is None else round(v, 3) for v in lat],
    }


# --------------------------------------------------------------------------- report
def summarize(run: StreamRun, segments: list[dict], mode: str, language: str) -> dict:
    """The figures of one stream run."""
    if mode == "sim":
        caps = simulate_realtime(run)
        lat = utterance_latencies(segments, caps, 0.0)
    else:
        caps = [(c.start_s, c.end_s, c.emitted_wall, c.text) for c in run.captions]
        lat = utterance_latencies(segments, caps, run.replay_start_wall)
    st = run.stats
    timings = np.asarray(run.timings) if run.timings else np.zeros((0, 4))
    minutes = run.audio_s / 60 if run.audio_s else 1
    got = [v for v in lat if v is not None]
    if mode == "max":  # wall times of a faster-than-real-time replay are not latencies
        got, lat = [], [None] * len(lat)
    return {
        "mode": mode,
        "latency_s": percentiles(got),
        "utterances_without_caption": sum(v is None for v in lat),
        "stream_wer": wer([s["reference"] for s in segments], [c.text for c in run.captions], language),
        "rtf": round(st.rtf, 4),
        "wall_s": round(run.wall_s, 2),
        "audio_s": round(run.audio_s, 2),
        "peak_rss_mb": round(run.peak_rss_mb, 1),
        "cpu_percent": round(run.cpu_percent, 1),
        "overruns": st.overruns,
        "windows": st.windows,
        "windows_per_min": round(st.windows / minutes, 1),
        "fragments_dropped": st.fragments_dropped,
        "filtered": st.filtered,
        "captions": st.captions,
        "model_load_s": round(run.ready.load_s, 3) if run.ready else None,
        "warmup_s": round(run.ready.warmup_s, 3) if run.ready else None,
        "window_stage_s_median": {
            k: round(float(np.median(timings[:, i])), 4) if len(timings) else None
            for i, k in enumerate(("features", "encode", "decode", "filters"))},
        "latency_per_utterance_s": [None if v is None else round(v, 3) for v in lat],
        "caption_texts": [[round(c.start_s, 2), round(c.end_s, 2), c.text] for c in run.captions],
    }


def markdown(result: dict) -> str:
    """A markdown table of one benchmark result."""
    rows = []
    for run in result["runs"]:
        lat = run["latency_s"]
        filtered = run.get("filtered")
        rows.append(
            f"| {result['model']} | {run['mode']} | {lat['p50']} | {lat['p95']} | {lat['max']} | "
            f"{run['stream_wer']['wer']} | {run.get('rtf', '')} | {run['peak_rss_mb']} | "
            f"{run.get('cpu_percent', '')} | {run.get('overruns', '')} | "
            f"{run.get('windows_per_min', '')} | "
            f"{sum(filtered.values()) if filtered else (0 if filtered is not None else '')} |")
    head = ("| model | mode | latency p50 s | p95 s | max s | stream WER % | RTF | peak RSS MB | "
            "CPU % | overruns | windows/min | filtered |\n|---|---|---|---|---|---|---|---|---|---|---|---|")
    out = [head, *rows]
    if "offline" in result:
        o = result["offline"]
        out.append("")
        out.append(f"Offline WER (same model/options): long-form {o['long_form']['wer']} %, "
                   f"each utterance alone {o['oracle']['wer']} %.")
    return "\n".join(out) + "\n"


def bench_config(args: argparse.Namespace) -> BuiltConfig:
    """The configuration ``livescribe`` would run with these flags (config file and
    ``LIVESCRIBE_*`` included), through :func:`streamer.config.build_config`."""
    return build_config(flags_from(args), path=getattr(args, "config_file", None))


def config_record(built: BuiltConfig) -> dict:
    """The effective settings and their sources, for a result file."""
    return {"file": str(built.file) if built.file_found else None,
            "settings": {k: _jsonable(v) for k, v, _ in built.rows()},
            "sources": {k: src for k, _, src in built.rows() if src != "default"}}


def main(argv: list[str] | None = None) -> int:
    """Command line of the benchmark."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                parents=[session_flags()])  # every livescribe flag
    p.add_argument("audio", type=Path)
    p.add_argument("--segments", type=Path, required=True,
                   help="JSON with segments: [{start_s, end_s, reference}]")
    p.add_argument("--mode", action="append", choices=("realtime", "max", "sim", "live"),
                   help="repeatable; default: realtime and max")
    p.add_argument("--offline", action="store_true", help="also score offline faster-whisper")
    p.add_argument("--name", help="run name (default: model, modes and a timestamp)")
    p.add_argument("--out-dir", type=Path, default=ROOT / "bench-results")
    p.add_argument("--no-progress", action="store_true")
    args = p.parse_args(argv)
    modes = args.mode or ["realtime", "max"]
    segments = json.loads(args.segments.read_text())["segments"]
    built = bench_config(args)
    config = built.config
    language = config.decoding.language or "en"  # the WER normaliser's language
    result = {"audio": str(args.audio), "model": config.model.name,
              "config": config_record(built), "machine": machine_info(), "runs": []}
    for mode in modes:
        if mode == "live":
            flags = {k: v for k, v in flags_from(args).items()
                     if not k.startswith(("input.", "output.", "ui."))}
            extra = argv_for(flags)
            if getattr(args, "config_file", None):
                extra += ["--config", str(args.config_file)]
            result["runs"].append(run_live(args.audio, extra, segments, language))
            continue
        speed = 1.0 if mode == "realtime" else math.inf
        run = run_stream(args.audio, config, speed, progress=not args.no_progress)
        if run.ready is not None:
            result["model"] = run.ready.model
        result["runs"].append(summarize(run, segments, mode, language))
    if args.offline:
        result["offline"] = offline_wer(args.audio, config, segments, language)
    name = args.name or f"{time.strftime('%Y%m%d-%H%M%S')}-{result['model']}-{'-'.join(modes)}"
    write_results(args.out_dir, name, result, markdown(result), "bench")
    return 0


def machine_info() -> dict:
    """CPU count, physical cores and RAM (GiB) of this machine, for result files."""
    return {"cpus": psutil.cpu_count(), "physical_cores": psutil.cpu_count(False),
            "ram_gb": round(psutil.virtual_memory().total / 2**30, 1)}


def write_results(out_dir: Path, name: str, result: dict, md: str, tool: str) -> None:
    """Write ``name``.json and ``name``.md to ``out_dir``; print the markdown on stdout."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"{name}.json").write_text(json.dumps(result, indent=1))
    (out_dir / f"{name}.md").write_text(md)
    print(md)
    print(f"{tool}: results in {out_dir / name}.json", file=sys.stderr)


def _jsonable(obj):
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, float) and math.isinf(obj):
        return "inf"
    return obj


if __name__ == "__main__":
    sys.exit(main())
