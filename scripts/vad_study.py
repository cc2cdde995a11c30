#!/usr/bin/env python3
"""Frame-level study of the speech detectors behind :mod:`streamer.segmentation.vad` (docs/tuning.md).

1. **Recall and false alarms per detector and input level** (0, -20, -30 dB): the share of
   frames marked speech inside ``meeting_dev``'s annotated speech, in its gaps (0.2 s away from
   any utterance), inside the speech of unusual voices (``mfa/``, each clip alone), and on the
   effects and music of ``../shared/nonspeech``. Detectors: webrtcvad modes 0-3 (30 ms frames)
   and Silero VAD (:class:`streamer.segmentation.vad.SileroVad`, 32 ms chunks) at thresholds 0.5/0.35.
2. **Streaming Silero against batch**: the largest difference between our chunk-by-chunk
   probabilities and faster-whisper's own batch run of the same model on one clip.
3. **Silero state over a long stream**: unusual voices after two minutes of the meeting, with the
   LSTM state kept, or reset after 0.5 / 1 / 2 s of non-speech (probability < 0.1), against each
   clip alone.

Usage::

    .venv/bin/python scripts/vad_study.py            # prints markdown tables (about 2 min)
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import conditions  # noqa: E402
from streamer.segmentation.vad import SILERO_CHUNK_SAMPLES, SileroVad  # noqa: E402

VOICES = ("whisper", "breathy", "creaky", "falsetto", "laughter", "hes", "exaggerated", "uhum",
          "internalsil", "cutoff")
NONSPEECH = conditions.SPEECH.parent / "nonspeech"


def webrtc(x: np.ndarray, mode: int) -> np.ndarray:
    """webrtcvad decisions on 30 ms frames, on a 10 ms grid (bool [n])."""
    import webrtcvad

    v = webrtcvad.Vad(mode)
    pcm = (np.clip(x, -1, 1) * 32767).astype(np.int16)
    dec = [v.is_speech(pcm[i:i + 480].tobytes(), 16000) for i in range(0, pcm.size - 479, 480)]
    return np.repeat(np.asarray(dec, bool), 3)


def silero(x: np.ndarray, reset_after_s: float | None = None) -> np.ndarray:
    """Silero probabilities chunk by chunk on a 10 ms grid (float [n]); optional state reset."""
    vad, out, quiet = SileroVad(), [], 0
    for i in range(0, x.size - SILERO_CHUNK_SAMPLES + 1, SILERO_CHUNK_SAMPLES):
        p = vad(x[i:i + SILERO_CHUNK_SAMPLES])
        out.append(p)
        quiet = quiet + 1 if p < 0.1 else 0
        if reset_after_s and quiet * 0.032 >= reset_after_s:
            vad.reset()
            quiet = 0
    grid = np.arange(int(len(out) * 3.2)) * 10 // 32
    return np.asarray(out)[grid]


def detectors(x: np.ndarray) -> dict[str, np.ndarray]:
    """Every detector's speech decisions on a 10 ms grid."""
    out = {f"webrtc{m}": webrtc(x, m) for m in range(4)}
    p = silero(x)
    out.update({"silero>0.5": p > 0.5, "silero>0.35": p > 0.35})
    return out


def share(d: np.ndarray, mask: np.ndarray) -> float:
    n = min(d.size, mask.size)
    m = mask[:n]
    return float(d[:n][m].mean()) if m.any() else float("nan")


def study_levels() -> str:
    x, segs = conditions.dev()
    n10 = x.size // 160
    speech, gap = np.zeros(n10, bool), np.zeros(n10, bool)
    prev = 0.0
    for s in segs:
        speech[int(s["speech_start_s"] * 100):int(s["speech_end_s"] * 100)] = True
        gap[int(prev * 100) + 20:int(s["start_s"] * 100) - 20] = True
        prev = s["end_s"]
    voices = {v: conditions.load(conditions.SPEECH / "mfa" / f"mfa_{v}.flac") for v in VOICES}
    ns = conditions.load(NONSPEECH / "nonspeech_dev.flac")
    import json

    kinds = json.loads((NONSPEECH / "nonspeech_dev.json").read_text())["segments"]
    nn = ns.size // 160
    effect, music = np.zeros(nn, bool), np.zeros(nn, bool)
    for s in kinds:
        (effect if s["kind"] == "effect" else music)[int(s["start_s"] * 100):int(s["end_s"] * 100)] = True
    rows = []
    for gain_db in (0, -20, -30):
        g = 10 ** (gain_db / 20)
        dm, dn = detectors(x * g), detectors(ns * g)
        dv = {}
        for v, clip in voices.items():
            a, b = conditions.speech_bounds(clip)
            mask = np.zeros(clip.size // 160, bool)
            mask[a // 160:b // 160] = True
            dv[v] = (detectors(clip * g), mask)
        for k in dm:
            cells = [share(dm[k], speech), share(dm[k], gap)]
            cells += [share(dv[v][0][k], dv[v][1]) for v in VOICES]
            cells += [share(dn[k], effect), share(dn[k], music)]
            rows.append(f"| {gain_db:+d} | {k} | " + " | ".join(f"{c:.2f}" for c in cells) + " |")
    head = ("| level dB | detector | dev speech | dev gaps | " + " | ".join(VOICES)
            + " | effects | music |\n|" + "---|" * (6 + len(VOICES)))
    return head + "\n" + "\n".join(rows)


def study_batch() -> str:
    from faster_whisper.vad import get_vad_model

    clip = conditions.load(conditions.SPEECH / "mfa" / "mfa_falsetto.flac")
    n = clip.size // SILERO_CHUNK_SAMPLES * SILERO_CHUNK_SAMPLES
    batch = np.asarray(get_vad_model()(clip[:n])).reshape(-1)
    vad = SileroVad()
    ours = np.asarray([vad(clip[i:i + SILERO_CHUNK_SAMPLES])
                       for i in range(0, n, SILERO_CHUNK_SAMPLES)])
    return f"streaming vs batch Silero on mfa_falsetto: max |difference| {np.abs(ours - batch).max():.4f}"


def study_reset() -> str:
    x, segs = conditions.dev()
    rng = np.random.default_rng(conditions.SEED)
    tone = conditions.room_tone(x, segs)
    head = x[: int(120 * 16000)]
    parts, marks, pos = [head], [], head.size
    for v in VOICES:
        clip = conditions.load(conditions.SPEECH / "mfa" / f"mfa_{v}.flac")
        n = int(rng.uniform(0.3, 2.0) * 16000)
        i = int(rng.integers(0, tone.size - n))
        parts.append(tone[i:i + n])
        pos += n
        a, b = conditions.speech_bounds(clip)
        marks.append((v, clip, (pos + a) // 160, (pos + b) // 160, a // 160, b // 160))
        parts.append(clip)
        pos += clip.size
    stream = np.concatenate(parts)
    lines = ["| Silero state | " + " | ".join(VOICES) + " |", "|" + "---|" * (1 + len(VOICES))]
    alone = [float((silero(clip)[a:b] > 0.5).mean()) for _, clip, _, _, a, b in marks]
    lines.append("| each clip alone | " + " | ".join(f"{v:.2f}" for v in alone) + " |")
    for reset in (None, 0.5, 1.0, 2.0):
        p = silero(stream, reset)
        cells = [float((p[a:b] > 0.5).mean()) for _, _, a, b, _, _ in marks]
        label = "kept" if reset is None else f"reset after {reset:g} s"
        lines.append(f"| {label} | " + " | ".join(f"{c:.2f}" for c in cells) + " |")
    return "\n".join(lines)


def main() -> int:
    """Print the three studies as markdown."""
    print("## Frame decisions per detector and level\n")
    print(study_levels())
    print("\n## Streaming Silero\n")
    print(study_batch())
    print("\n## Silero state after two minutes of the meeting (share of speech frames > 0.5)\n")
    print(study_reset())
    return 0


if __name__ == "__main__":
    sys.exit(main())
