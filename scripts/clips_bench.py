#!/usr/bin/env python3
"""Each clip alone: every English clip of ``../shared/speech`` as its own stream, as
``livescribe --file CLIP`` (or a file posted to the server) transcribes it.

The robustness conditions (``scripts/robust_bench.py``) string utterances together with pauses
between them, so every utterance but the first starts after room tone the detectors have
heard. A file cut tight around its speech (a telephone prompt, a read sentence, an unusual
voice) starts with speech at its first sample and ends with its last word: the speech detector
starts cold (Silero's state, the noise floor) and the last window is cut by the end of the
stream (``"flush"``), with no pause after it. This benchmark replays each clip alone through
the real pipeline (:class:`~streamer.pipeline.Pipeline`, default options, ``FileSource`` at max
speed) and scores it against the same model decoding the clip alone (``WhisperModel.transcribe``,
beam 5, temperature 0, language English, the full 30 s context), per group of the shared set:

- **stream WER** and **oracle WER** of the group (its clips' references and texts, each sentence
  normalised alone by Whisper's English normaliser, jiwer; :func:`robust_bench.score`);
- **lost**: clips with half their words or more missing that the oracle did not lose too, by id;
- **doubled**: clips whose captions read a word or phrase twice back to back where the oracle
  does not (a read again at the end of the window);
- **drops**: windows a filter dropped, with the filter and the text.

Oracle texts are cached in ``<out>/oracle/clips-<model>.json`` by clip id and a digest of its
audio. Clips without a reference (``ref_kind`` none) are skipped.

Usage::

    .venv/bin/python scripts/clips_bench.py --model base --model tiny.en --beam-size 5   # ~8 min a model
    .venv/bin/python scripts/clips_bench.py --model tiny.en --group asterisk_en --group mfa
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from bench_nonspeech import stream_file  # noqa: E402
from conditions import SPEECH, load  # noqa: E402
from robust_bench import score  # noqa: E402
from streamer.config import build_config  # noqa: E402
from streamer.decoding.text import doubled_tail, normalize  # noqa: E402


def clips(groups: list[str] | None = None) -> list[dict]:
    """The English rows of ``references.tsv`` that have a reference (``id``, ``file``,
    ``reference``, ...), optionally only those of ``groups`` (the file's folder)."""
    with open(SPEECH / "references.tsv", newline="", encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f, delimiter="\t")
                if r["language"] == "en" and r["ref_kind"] != "none"]
    return [r for r in rows if not groups or r["file"].split("/")[0] in groups]


def oracle(rows: list[dict], model_name: str, cache: Path) -> dict[str, str]:
    """Each clip decoded alone by faster-whisper (beam 5, English), by id; cached in ``cache``
    under the clip's id and a digest of its audio."""
    cached = json.loads(cache.read_text()) if cache.exists() else {}
    model, out = None, {}
    for r in rows:
        x = load(SPEECH / r["file"])
        key = f"{r['id']}-{hashlib.sha1(x.tobytes()).hexdigest()[:10]}"
        if key not in cached:
            if model is None:
                from faster_whisper import WhisperModel

                from streamer.decoding.models import download, resolve_model

                model = WhisperModel(download(resolve_model(model_name)), compute_type="int8")
            segs, _ = model.transcribe(x, beam_size=5, temperature=0.0, language="en",
                                       condition_on_previous_text=False,
                                       without_timestamps=x.size <= 30 * 16000)
            cached[key] = " ".join(s.text.strip() for s in segs)
            cache.parent.mkdir(parents=True, exist_ok=True)
            cache.write_text(json.dumps(cached, indent=0, ensure_ascii=False))
        out[r["id"]] = cached[key]
    return out


def _doubled(text: str) -> bool:
    """The text reads a word or a phrase of up to 4 words twice back to back, anywhere."""
    words = normalize(text).split()
    return any(doubled_tail(" ".join(words[:k])) for k in range(2, len(words) + 1))


def run_model(model: str, rows: list[dict], out: Path, beam_size: int | None = None) -> dict:
    """Stream every clip of ``rows`` alone with ``model`` (at ``beam_size``; None: the plan's,
    which calibration lowers on a loaded machine); per-clip and per-group results."""
    flags = {"model.name": model} | ({"model.beam_size": beam_size} if beam_size else {})
    config = build_config(flags).config
    orc = oracle(rows, model, out / "oracle" / f"clips-{model}.json")
    per = []
    for r in rows:
        got = stream_file(config, SPEECH / r["file"])
        s, o = score([r["reference"]], got["captions"]), score([r["reference"]], [orc[r["id"]]])
        text = " ".join(got["captions"])
        per.append({"id": r["id"], "group": r["file"].split("/")[0], "reference": r["reference"],
                    "oracle": orc[r["id"]], "captions": got["captions"], "dropped": got["dropped"],
                    "lost": bool(s["lost"]) and not o["lost"],
                    "doubled": _doubled(text) and not _doubled(orc[r["id"]])})
    groups = {}
    for g in dict.fromkeys(c["group"] for c in per):
        cs = [c for c in per if c["group"] == g]
        refs = [c["reference"] for c in cs]
        s = score(refs, [t for c in cs for t in c["captions"]])
        o = score(refs, [c["oracle"] for c in cs])
        groups[g] = {"clips": len(cs), "stream_wer": s["wer"], "oracle_wer": o["wer"],
                     "ref_words": s["ref_words"],
                     "lost": [c["id"] for c in cs if c["lost"]],
                     "doubled": [c["id"] for c in cs if c["doubled"]],
                     "drops": [[c["id"], f, t] for c in cs for f, t in c["dropped"]]}
    return {"model": model, "groups": groups, "clips": per}


def markdown(results: list[dict]) -> str:
    """One row per model and group; then the lost and doubled clips."""
    lines = ["| model | group | clips | stream WER % | oracle WER % | Δ | lost | doubled | drops |",
             "|---|---|---|---|---|---|---|---|---|"]
    for res in results:
        for g, r in res["groups"].items():
            lines.append(f"| {res['model']} | {g} | {r['clips']} | {r['stream_wer']} | "
                         f"{r['oracle_wer']} | {r['stream_wer'] - r['oracle_wer']:+.2f} | "
                         f"{len(r['lost'])} | {len(r['doubled'])} | {len(r['drops'])} |")
    for res in results:
        for c in res["clips"]:
            if c["lost"] or c["doubled"]:
                lines.append(f"\n{res['model']} {'lost' if c['lost'] else 'doubled'} {c['id']}: "
                             f"{c['reference']!r} -> {c['captions']} (oracle {c['oracle']!r}; "
                             f"dropped {c['dropped']})")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; write ``<out>/clips-<name>.{json,md}``; print the table."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", action="append", help="repeatable; default tiny.en")
    p.add_argument("--group", action="append", help="repeatable: a folder of ../shared/speech")
    p.add_argument("--out", type=Path, default=ROOT / "bench-results")
    p.add_argument("--name", default=None, help="result file name (default: a timestamp)")
    p.add_argument("--beam-size", type=int, default=None,
                   help="decode at this beam size (default: the plan's; 5 on an int8 CPU)")
    args = p.parse_args(argv)
    rows = clips(args.group)
    results = []
    for model in args.model or ["tiny.en"]:
        t0 = time.perf_counter()
        results.append(run_model(model, rows, args.out, args.beam_size))
        print(f"clips: {model}: {len(rows)} clips, {time.perf_counter() - t0:.0f} s",
              file=sys.stderr, flush=True)
    md = markdown(results)
    name = args.name or time.strftime("%Y%m%d-%H%M%S")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"clips-{name}.json").write_text(
        json.dumps(results, indent=1, ensure_ascii=False))
    (args.out / f"clips-{name}.md").write_text(md)
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
