"""How much of a window is pitched: voiced speech has a fundamental, an explosion or a swoosh
has none.

Speech detectors answer "is this speech?" with one learned score. A second, physical question
helps where that score is weak: vowels are periodic at the speaker's fundamental frequency
(about 60-500 Hz, a child's or a falsetto voice included), while the noise bursts of game
effects, explosions, clicks and swooshes are not. The measure is the classic short-time
normalised autocorrelation (Rabiner, "On the use of autocorrelation analysis for pitch
detection", IEEE Trans. ASSP 25(1), 1977; Boersma, "Accurate short-term analysis of the
fundamental frequency...", IFA Proceedings 17, 1993, whose voicing threshold is 0.45 on a
windowed frame): a frame is pitched when its autocorrelation, normalised by its energy and
corrected for the shrinking overlap, has a local maximum above :data:`PITCHED_NCCF` at a lag
inside the pitch range.

Used by the ``weak_detection`` filter (:mod:`streamer.decoding.filters`), only on windows Silero
VAD found weakly with under 1 s confirmed and an unsure decode: a few windows a minute, each
one batch of FFTs over its frames (a 5 s window: ~500 frames, about 10 ms on this project's
2-core machine).

What counts: a tone above :data:`F0_MAX_HZ` is periodic at every multiple of its period too,
so chimes, beeps and whistles count as pitched, as does noise in a narrow band of the voice
range; chance peaks in a long window of low-passed noise add a few hundredths of a second. The
filter only ever drops a window for *lacking* pitch, so each of these errs towards keeping.
"""

from __future__ import annotations

import numpy as np

from streamer.capture.audio import SAMPLE_RATE

FRAME_S = 0.040  #: analysis frame, seconds (2.5 periods of the lowest fundamental counted)
FRAME_SAMPLES = round(FRAME_S * SAMPLE_RATE)  #: the shortest audio measured, samples (640)
HOP_S = 0.010  #: frame hop, seconds
F0_MIN_HZ = 62.5  #: lowest fundamental counted: the longest lag searched, 16 ms
F0_MAX_HZ = 500.0  #: the shortest lag searched, 2 ms: falsetto and children's voices
#: normalised autocorrelation a pitched frame exceeds. Ours, measured (docs/benchmarks.md,
#: "Held out: desktop sounds..."): at 0.7 the game explosion that passed every other filter
#: had 0.00 s pitched and the weakly found real words 0.03 s or more; at 0.5 the explosion had
#: 0.08 s and codec-worn real words 0.10 s: no margin. Stricter than Boersma's 0.45.
PITCHED_NCCF = 0.7


def frame_periodicity(audio: np.ndarray) -> np.ndarray:
    """Each frame's highest normalised autocorrelation at a local maximum within the pitch lags.

    Args:
        audio: ``int16`` or ``float32 [n_samples]`` mono at 16 kHz.

    Returns:
        ``float64 [n_frames]`` (frames of :data:`FRAME_S` every :data:`HOP_S`), in about
        [-1, 1]; -1 where no lag in the range is a local maximum (falling autocorrelation: low-
        passed noise). Empty when the audio is shorter than one frame; the samples after the
        last whole frame are not measured.
    """
    frame, hop = FRAME_SAMPLES, round(HOP_S * SAMPLE_RATE)
    lag_min, lag_max = round(SAMPLE_RATE / F0_MAX_HZ), round(SAMPLE_RATE / F0_MIN_HZ)
    x = np.asarray(audio, dtype=np.float64)
    if x.size < frame:
        return np.zeros(0)
    n = 1 + (x.size - frame) // hop
    frames = x[np.arange(frame)[None, :] + hop * np.arange(n)[:, None]]
    frames -= frames.mean(axis=1, keepdims=True)
    power = np.abs(np.fft.rfft(frames, 2 * frame, axis=1)) ** 2
    r = np.fft.irfft(power, axis=1)[:, :lag_max + 2]
    lags = np.arange(r.shape[1])
    r = r / (r[:, :1] + 1e-12) * (frame / (frame - lags))[None, :]
    around = r[:, lag_min - 1:lag_max + 2]
    mid = around[:, 1:-1]
    peaks = (mid > around[:, :-2]) & (mid >= around[:, 2:])
    return np.where(peaks, mid, -1.0).max(axis=1)


def pitched_seconds(audio: np.ndarray) -> float:
    """Seconds of ``audio`` whose frames are pitched (:func:`frame_periodicity` above
    :data:`PITCHED_NCCF`), counted in hops of :data:`HOP_S`.

    Args:
        audio: ``int16`` or ``float32 [n_samples]`` mono at 16 kHz (the scale does not matter).

    Returns:
        Seconds, >= 0: about the length of the vowels in speech (a fully pitched 1 s reads
        0.97: 97 frames); about 0 for white, pink or low-passed noise and for impulses; 0 for
        audio shorter than :data:`FRAME_SAMPLES`, which is no evidence either way.
    """
    return float(np.count_nonzero(frame_periodicity(audio) > PITCHED_NCCF)) * HOP_S
