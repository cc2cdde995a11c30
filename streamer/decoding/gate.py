"""A cheap voicing gate on whole speech windows, before the model.

The speech detector decides frame by frame; this gate looks at a finished
:class:`~streamer.segmentation.window.SpeechWindow` and keeps windows that cannot be speech away from the
worker, where Whisper would be tempted to invent text ("you", "Thank you."):

- **zero-crossing rate** (ZCR): a window whose most tonal tenth still changes sign more often
  than ``max_zcr`` is broadband noise. The ZCR is measured per 30 ms frame and the window's
  figure is the 10th percentile over its frames: white noise crosses zero on about half of its
  sample pairs in every frame, while any speech window holds vowel frames at a few percent
  (a lone fricative can reach 0.5 over half a second, so a whole-window ZCR is not safe).

There is no energy test: a fixed level threshold (issue 6 seeded 0.005 RMS, -46 dBFS) removed
every window of a speaker 20 dB quieter than the dev meeting, and the zero-crossing rate does not
depend on the level. Silence and room tone never reach the gate: the segmenter opens a window
only on speech Silero VAD confirms (:mod:`streamer.segmentation.vad`).

The inference worker calls :func:`check` on each window, final or snapshot, before decoding it
(on the inference thread, :mod:`streamer.decoding.worker`) and counts the final windows it gates
(``PipelineStats.windows_gated``); a gated snapshot simply gives no partial.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from streamer.capture.audio import INT16_SCALE


@dataclass(frozen=True)
class GateOptions:
    """Thresholds of the window gate; None disables a test.

    Attributes:
        max_zcr: zero-crossing rate (sign changes per adjacent sample pair, [0, 1]) of the
            window's most tonal tenth (10th percentile over 30 ms frames) above which it is
            gated as broadband noise. White noise and clicks over a noise floor sit at
            0.45-0.47; real speech windows of the shared set at 0.08 at most (docs/tuning.md).
    """

    max_zcr: float | None = 0.35

    def __post_init__(self) -> None:
        if self.max_zcr is not None and not 0 < self.max_zcr <= 1:
            raise ValueError("gate max_zcr must be within (0, 1]")


@dataclass(frozen=True)
class GateDecision:
    """The gate's decision on one window.

    Attributes:
        passed: True if the window goes on to the model.
        reason: why it was gated (empty when passed).
        rms: the window's RMS level, full-scale units.
        zcr: the window's zero-crossing rate (:func:`window_zcr`), [0, 1].
    """

    passed: bool
    reason: str
    rms: float
    zcr: float


def rms_level(pcm: np.ndarray) -> float:
    """RMS level of ``int16 [n]`` PCM in full-scale units ([0, 1]); 0.0 for no samples."""
    if pcm.size == 0:
        return 0.0
    x = pcm.astype(np.float64) / INT16_SCALE
    return float(np.sqrt(np.mean(x * x)))


def zero_crossing_rate(pcm: np.ndarray) -> float:
    """Share of adjacent sample pairs of ``int16 [n]`` PCM whose signs differ, [0, 1].

    Zero samples count as positive, so digital silence has a rate of 0.
    """
    if pcm.size < 2:
        return 0.0
    negative = pcm < 0
    return float(np.count_nonzero(negative[1:] != negative[:-1])) / (pcm.size - 1)


FRAME_SAMPLES = 480  #: 30 ms at 16 kHz, the frame of the percentile ZCR
ZCR_PERCENTILE = 10  #: the window's ZCR is this percentile over its frames


def window_zcr(pcm: np.ndarray) -> float:
    """The window's zero-crossing rate: the 10th percentile of its 30 ms frames' rates.

    Args:
        pcm: ``int16 [n]`` at 16 kHz; shorter than two frames, the whole-window rate is used.
    """
    n = pcm.size // FRAME_SAMPLES
    if n < 2:
        return zero_crossing_rate(pcm)
    frames = pcm[:n * FRAME_SAMPLES].reshape(n, FRAME_SAMPLES) < 0
    rates = np.count_nonzero(frames[:, 1:] != frames[:, :-1], axis=1) / (FRAME_SAMPLES - 1)
    return float(np.percentile(rates, ZCR_PERCENTILE))


def check(pcm: np.ndarray, options: GateOptions = GateOptions()) -> GateDecision:
    """Decide whether a window may reach the model.

    Args:
        pcm: the window, ``int16 [n_samples]`` at 16 kHz mono.
        options: thresholds.

    Returns:
        The decision with the measured RMS level and zero-crossing rate.
    """
    rms = rms_level(pcm)
    zcr = window_zcr(pcm)
    if options.max_zcr is not None and zcr > options.max_zcr:
        return GateDecision(False, f"zero-crossing rate {zcr:.3f} > {options.max_zcr}", rms, zcr)
    return GateDecision(True, "", rms, zcr)
