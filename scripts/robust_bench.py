#!/usr/bin/env python3
"""Robustness benchmark: does the stream keep every word under conditions we do not tune on?

For every condition of :mod:`conditions` (levels, noise beds, unusual voices, monologues,
hesitant speech, telephone band, and ``meeting_dev`` itself) and every model, it replays the
meeting through the real pipeline (:class:`~streamer.pipeline.Pipeline`, default options,
``FileSource`` at max speed) and reports:

- **stream WER** of the captions, and the **oracle** WER: the same model decoding each
  reference utterance alone (``WhisperModel.transcribe``, beam 5, temperature 0, no timestamps);
  text normalised with Whisper's normaliser, scored with jiwer;
- **utterances lost**: half their words or more missing from the global alignment of captions
  to references; ``lost`` counts those the oracle did not lose as well;
- **drops on speech**: windows a filter dropped although they overlap a reference utterance,
  listed with the filter and the text;
- **final-caption latency** p50/p95 from each utterance's ``speech_end_s``, in the queue-model
  simulation of a real-time run (``scripts/bench.py --mode sim``; check it against
  ``--mode realtime`` there);
- **RTF** at max speed and peak RSS;
- **words on noise alone**: each noise bed (pink, fan, music) at its 10 dB-SNR level for 60 s.

Oracle transcripts are cached in ``<out>/oracle/``, one file per condition, model and digest of
the condition's audio and bounds (a rebuilt condition is decoded again).

Usage::

    .venv/bin/python scripts/robust_bench.py --model tiny.en --model base
    .venv/bin/python scripts/robust_bench.py --model tiny.en --condition dev --condition voices
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import conditions  # noqa: E402
from bench_nonspeech import _write_wav as write_int16_wav  # noqa: E402
from bench import normalised_words, percentiles, run_stream, simulate_realtime, utterance_latencies  # noqa: E402
from streamer.capture.audio import SAMPLE_RATE, float32_to_int16  # noqa: E402
from streamer.config import Config, build_config  # noqa: E402

LOST_FRACTION = 0.5  #: an utterance with this share of its words or more missing is lost (issue 12)
BEDS = ("pink", "fan", "music")  #: noise beds streamed alone


def score(references: list[str], hypotheses: list[str]) -> dict:
    """Corpus WER and lost utterances of caption texts against per-utterance references.

    Args:
        references: one reference text per utterance, in order.
        hypotheses: caption texts in order (any number), normalised one sentence at a time
            as the references are (:func:`bench.normalised_words`).

    Returns:
        ``{"wer": percent, "S", "D", "I", "ref_words", "lost": [utterance indices]}``; an
        utterance is lost when under ``1 - LOST_FRACTION`` of its words align as equal.
        References with no word give WER 100 % over 0 words (jiwer's measure of an empty
        reference), never an error.
    """
    import jiwer

    words = [normalised_words([r], "en", reference=True) for r in references]
    owner = np.asarray([k for k, ws in enumerate(words) for _ in ws])
    ref = [w for ws in words for w in ws]
    hyp = normalised_words(hypotheses, "en")
    out = jiwer.process_words(" ".join(ref), " ".join(hyp))
    hit = np.zeros(len(ref), bool)
    for chunk in out.alignments[0]:
        if chunk.type == "equal":
            hit[chunk.ref_start_idx:chunk.ref_end_idx] = True
    lost = [k for k, ws in enumerate(words) if ws and hit[owner == k].mean() < 1 - LOST_FRACTION]
    return {"wer": round(100 * out.wer, 2), "S": out.substitutions, "D": out.deletions,
            "I": out.insertions, "ref_words": len(ref), "lost": lost}


def oracle_texts(x: np.ndarray, segments: list[dict], model_name: str, cache: Path) -> list[str]:
    """Each utterance ``[start_s, end_s]`` decoded alone by faster-whisper (beam 5), cached.

    ``cache`` is the cache file's stem: a digest of the audio and the segments is added to its
    name, so a condition whose construction changes is decoded again, never scored against a
    stale oracle. Utterances over 30 s (the monologues) are decoded with timestamps, so that
    ``transcribe`` seeks by segment instead of cutting words at 30 s chunk boundaries."""
    digest = hashlib.sha1(np.ascontiguousarray(x).tobytes())
    digest.update(json.dumps([(s["start_s"], s["end_s"]) for s in segments]).encode())
    cache = cache.with_name(f"{cache.name}-{digest.hexdigest()[:10]}.json")
    if cache.exists():
        return json.loads(cache.read_text())
    from faster_whisper import WhisperModel

    from streamer.decoding.models import download, resolve_model

    model = WhisperModel(download(resolve_model(model_name)), compute_type="int8")
    texts = []
    for s in segments:
        a = x[int(s["start_s"] * SAMPLE_RATE):int(s["end_s"] * SAMPLE_RATE)]
        segs, _ = model.transcribe(a, beam_size=5, temperature=0.0, language="en",
                                   condition_on_previous_text=False,
                                   without_timestamps=a.size <= 30 * SAMPLE_RATE)
        texts.append(" ".join(t.text.strip() for t in segs))
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(texts, indent=1))
    return texts


def _write_wav(path: Path, x: np.ndarray) -> None:
    """``x`` (float32 at 16 kHz) as a 16-bit WAV, through the non-speech bench's writer."""
    write_int16_wav(path, float32_to_int16(x))


def drops_on_speech(run, segments: list[dict]) -> list[dict]:
    """Windows a filter dropped that overlap a reference utterance's speech by >= 0.1 s."""
    out = []
    for d in run.dropped:
        for s in segments:
            if min(d.end_s, s["speech_end_s"]) - max(d.start_s, s["speech_start_s"]) >= 0.1:
                out.append({"start_s": round(d.start_s, 2), "filter": d.filter, "text": d.text,
                            "utterance": s.get("id")})
                break
    return out


def run_condition(name: str, config: Config, work: Path, out: Path) -> dict:
    """Build condition ``name``, stream it as ``livescribe`` would with ``config`` and score it
    (see the module doc)."""
    model = config.model.name
    x, segments = conditions.build(name)
    wav = work / f"{name}.wav"
    _write_wav(wav, x)
    run = run_stream(wav, config, math.inf, progress=False)
    refs = [s["reference"] for s in segments]
    got = score(refs, [c.text for c in run.captions])
    orc = score(refs, oracle_texts(x, segments, model, out / "oracle" / f"{name}-{model}"))
    lat = [v for v in utterance_latencies(segments, simulate_realtime(run), 0.0) if v is not None]
    st = run.stats
    return {
        "condition": name, "model": model, "utterances": len(segments),
        "audio_s": round(run.audio_s, 1),
        "stream": got, "oracle": orc,
        "lost": [segments[k].get("id", k) for k in got["lost"] if k not in orc["lost"]],
        "lost_by_oracle_too": [segments[k].get("id", k) for k in got["lost"] if k in orc["lost"]],
        "drops_on_speech": drops_on_speech(run, segments),
        "latency_sim_s": percentiles(lat),
        "rtf": round(st.rtf, 4), "peak_rss_mb": round(run.peak_rss_mb, 1),
        "windows": st.windows, "windows_gated": st.windows_gated,
        "fragments_dropped": st.fragments_dropped, "filtered": dict(st.filtered),
        "captions": [[round(c.start_s, 2), round(c.end_s, 2), c.text] for c in run.captions],
    }


def run_beds(config: Config, work: Path) -> dict:
    """Words emitted on each noise bed alone (60 s at its 10 dB-SNR level)."""
    out = {}
    for kind in BEDS:
        wav = work / f"bed-{kind}.wav"
        _write_wav(wav, conditions.noise_bed(kind))
        run = run_stream(wav, config, math.inf, progress=False)
        out[kind] = {"words": sum(len(c.text.split()) for c in run.captions),
                     "captions": [c.text for c in run.captions]}
    return out


def markdown(results: list[dict], beds: dict) -> str:
    """One table row per condition and model, then the noise beds."""
    lines = ["| condition | model | utt. | stream WER % | oracle WER % | Δ | lost | drops on speech "
             "| latency p50 / p95 s (sim) | RTF |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        s, o, lat = r["stream"], r["oracle"], r["latency_sim_s"]
        lines.append(
            f"| {r['condition']} | {r['model']} | {r['utterances']} | {s['wer']} | {o['wer']} | "
            f"{s['wer'] - o['wer']:+.1f} | {len(r['lost'])} | {len(r['drops_on_speech'])} | "
            f"{lat['p50']} / {lat['p95']} | {r['rtf']} |")
    for model, per in beds.items():
        lines.append("")
        lines.append(f"Noise beds alone ({model}): " + ", ".join(
            f"{k} {v['words']} words" for k, v in per.items()))
    listed = [(r["condition"], r["model"], d) for r in results for d in r["drops_on_speech"]]
    if listed:
        lines.append("")
        lines.append("Windows dropped on speech: " + "; ".join(
            f"{c}/{m} {d['utterance']} {d['filter']} {d['text']!r}" for c, m, d in listed))
    lost = [(r["condition"], r["model"], r["lost"]) for r in results if r["lost"]]
    if lost:
        lines.append("")
        lines.append("Lost utterances (not lost by the oracle): " + "; ".join(
            f"{c}/{m} {', '.join(map(str, ids))}" for c, m, ids in lost))
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; write ``<out>/robust-<name>.{json,md}``; print the table."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", action="append", help="repeatable; default tiny.en")
    p.add_argument("--condition", action="append", choices=list(conditions.CONDITIONS),
                   help="repeatable; default all")
    p.add_argument("--no-beds", action="store_true", help="skip the noise beds alone")
    p.add_argument("--out", type=Path, default=ROOT / "bench-results")
    p.add_argument("--name", default=None, help="result file name (default: a timestamp)")
    p.add_argument("--beam-size", type=int, default=None,
                   help="decode the stream with this beam size (default: the plan's; "
                        "5 on an int8 CPU)")
    args = p.parse_args(argv)
    models = args.model or ["tiny.en"]
    names = args.condition or list(conditions.CONDITIONS)
    results, beds = [], {}
    with tempfile.TemporaryDirectory(prefix="livescribe-robust-") as tmp:
        work = Path(tmp)
        for model in models:
            # livescribe --model MODEL [--beam-size N], as configured (config file, env)
            flags = {"model.name": model}
            if args.beam_size is not None:
                flags["model.beam_size"] = args.beam_size
            config = build_config(flags).config
            for name in names:
                t0 = time.perf_counter()
                try:
                    r = run_condition(name, config, work, args.out)
                except FileNotFoundError as exc:  # typing needs bucklespring-data
                    print(f"robust: {name} skipped: {exc} is not installed", file=sys.stderr)
                    continue
                results.append(r)
                print(f"robust: {name} {model}: WER {r['stream']['wer']} (oracle "
                      f"{r['oracle']['wer']}), lost {len(r['lost'])}, "
                      f"{time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
            if not args.no_beds:
                beds[model] = run_beds(config, work)
    md = markdown(results, beds)
    name = args.name or time.strftime("%Y%m%d-%H%M%S")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"robust-{name}.json").write_text(
        json.dumps({"results": results, "beds": beds}, indent=1, ensure_ascii=False))
    (args.out / f"robust-{name}.md").write_text(md)
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
