#!/usr/bin/env python3
"""Onset rules for the segmenter: speech found against non-speech opened (issue 12 study).

The segmenter opens an utterance on Silero VAD: two consecutive 30 ms frames at >= 0.5
(``VadOptions.speech_threshold``, ``onset_frames``). A telephone-band utterance of the
robustness benchmark never reaches 0.5, so this study asks what a second onset path would cost:
``R1:T:W:K:S`` also opens when at least ``K`` of the last ``W`` frames are webrtcvad-voiced at
``S`` dB or more above the adaptive floor and Silero reached ``T`` among them (and is still at
``T``/2); ``R2:K:W`` (the segmenter's soft onset, ``VadOptions.soft_onset_frames`` and
``soft_onset_window_ms``) when at least ``K`` of the last ``W`` frames are at once at Silero
>= 0.35, webrtcvad-voiced and 6 dB or more above the floor. It counts reference utterances
with an onset inside their speech, on speech conditions (``scripts/conditions.py``), and sounds
of ``../shared/nonspeech`` with an onset inside them, at their level and 20 dB down. Frame
decisions come from the real :class:`SpeechDetector`; R0 and R1 leave the soft onset out.

Usage::

    .venv/bin/python scripts/onset_study.py R0 R1:0.3:10:8:10 R1:0.2:10:8:10
    .venv/bin/python scripts/onset_study.py R0 R2:6:10 R2:5:10 --condition phone --condition prompts
    .venv/bin/python scripts/onset_study.py R2:6:10 --phases 1 2 4 --condition prompts

``R2`` rules include R0 (``R2:6:10`` is the segmenter's onset). ``--phases`` compares Silero on
one chunk grid with the mean over two or four (``DetectorOptions.silero_phases``; the default is
the detector's, 2; the figures of docs/benchmarks.md before "Silero on two chunk grids" ran one:
``--phases 1``).
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
from streamer.capture.audio import float32_to_int16  # noqa: E402
from streamer.segmentation.vad import DetectorOptions, SpeechDetector  # noqa: E402

FRAME_S = 0.03
NONSPEECH = ROOT.parent / "shared" / "nonspeech"


def frame_decisions(x: np.ndarray, phases: int = DetectorOptions().silero_phases) -> np.ndarray:
    """``float [n_frames, 3]``: Silero probability, webrtcvad voiced, SNR dB, per 30 ms frame
    (Silero on ``phases`` chunk grids, ``DetectorOptions.silero_phases``)."""
    pcm = float32_to_int16(x)
    det = SpeechDetector(DetectorOptions(silero_phases=phases), 30)
    out = []
    for i in range(0, pcm.size // 480 * 480, 480):
        d = det.frame(pcm[i:i + 480])
        out.append((d.speech_prob, d.voiced, d.snr_db))
    return np.array(out, dtype=float)


def onsets(frames: np.ndarray, rule: str) -> np.ndarray:
    """``bool [n_frames]``: frames where ``rule`` would open an utterance (see the module doc)."""
    p, voiced, snr = frames[:, 0], frames[:, 1] > 0, frames[:, 2]
    trig = np.zeros(len(p), bool)
    trig[1:] = (p[1:] >= .5) & (p[:-1] >= .5)  # R0: the segmenter's rule
    if rule.startswith("R2:"):
        _, k, w = rule.split(":")
        both = np.concatenate([[0], np.cumsum((p >= .35) & voiced & (snr >= 6))])
        i = np.arange(int(w), len(p) + 1)
        trig[i - 1] |= both[i] - both[i - int(w)] >= int(k)
    elif rule != "R0":
        _, t, w, k, s = rule.split(":")
        t, w, k, s = float(t), int(w), int(k), float(s)
        good = np.concatenate([[0], np.cumsum(voiced & (snr >= s))])
        for i in range(w, len(p)):
            if good[i + 1] - good[i + 1 - w] >= k and p[i + 1 - w:i + 1].max() >= t \
                    and p[i] >= t / 2:
                trig[i] = True
    return trig


def main(argv: list[str] | None = None) -> int:
    """Print, per rule, utterances found on speech conditions and sounds opened on non-speech."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("rules", nargs="+")
    ap.add_argument("--condition", action="append",
                    help="speech conditions (default: phone dev voices pink10)")
    ap.add_argument("--phases", type=int, nargs="+", default=[DetectorOptions().silero_phases],
                    help="Silero chunk grids to compare (DetectorOptions.silero_phases)")
    args = ap.parse_args(argv)
    for name in args.condition or ["phone", "dev", "voices", "pink10"]:
        x, segs = conditions.build(name)
        for n in args.phases:
            f = frame_decisions(x, n)
            for r in args.rules:
                t = onsets(f, r)
                missed = [s.get("id", "?") for s in segs if not t[
                    int(s["speech_start_s"] / FRAME_S):int(s["speech_end_s"] / FRAME_S) + 1].any()]
                print(f"{name:10s} grids {n} {r:16s} utterances with an onset "
                      f"{len(segs) - len(missed)}/{len(segs)} {' '.join(missed)}", flush=True)
    x = conditions.load(NONSPEECH / "nonspeech_dev.flac")
    meta = json.loads((NONSPEECH / "nonspeech_dev.json").read_text())["segments"]
    for gain_db in (0, -20):
        for n in args.phases:
            f = frame_decisions(x * 10 ** (gain_db / 20), n)
            for r in args.rules:
                t = onsets(f, r)
                kinds = [s["kind"] for s in meta
                         if t[int(s["start_s"] / FRAME_S):int(s["end_s"] / FRAME_S) + 1].any()]
                print(f"nonspeech {gain_db:+d} dB grids {n} {r:16s} sounds opened: effects "
                      f"{kinds.count('effect')}, music {kinds.count('music')} (of {len(meta)})",
                      flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
