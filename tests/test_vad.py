"""The frame-level detector: Silero on several chunk grids, and what holds an utterance open.

Silero VAD's probability for a short sound depends on where its 512-sample grid falls; the
detector averages grids offset by a fraction of a chunk (``DetectorOptions.silero_phases``) and
holds an open utterance on the surest grid (``silero_hold``). These tests run the real ONNX
model on a real clip and check the arithmetic against grids run by hand, then force the
segmenter's use of the hold probability with scripted frames.
"""

from __future__ import annotations

import numpy as np
import pytest

from conftest import CLIPS, load_pcm
from streamer.capture.audio import int16_to_float32
from streamer.segmentation.options import VadOptions
from streamer.segmentation.segmenter import Segmenter
from streamer.segmentation.vad import (SILERO_CHUNK_SAMPLES, DetectorOptions, FrameDecision,
                                       SileroVad, SpeechDetector)

FRAME = 480  # 30 ms


def grid_probs(x: np.ndarray, offset: int) -> list[tuple[int, float]]:
    """(stream sample where the chunk ends, probability) of one grid run by hand: the stream
    delayed by ``offset`` zeros, no state reset (the clip has no second of quiet)."""
    vad, y = SileroVad(), np.concatenate([np.zeros(offset, np.float32), x])
    return [(i + SILERO_CHUNK_SAMPLES - offset, vad(y[i:i + SILERO_CHUNK_SAMPLES]))
            for i in range(0, y.size - SILERO_CHUNK_SAMPLES + 1, SILERO_CHUNK_SAMPLES)]


def latest(grid: list[tuple[int, float]], end: int) -> float:
    return max([(e, p) for e, p in grid if e <= end], default=(0, 0.0))[1]


@pytest.mark.parametrize("hold", ["mean", "max"])
def test_two_grids_half_a_chunk_apart_are_averaged_and_the_surest_holds(hold):
    pcm = load_pcm(CLIPS["jfk"][0])[:3 * 16000]
    det = SpeechDetector(DetectorOptions(silero_phases=2, silero_hold=hold, webrtc_mode=1))
    x = int16_to_float32(pcm)
    a, b = grid_probs(x, 0), grid_probs(x, SILERO_CHUNK_SAMPLES // 2)
    differ = 0
    for i in range(0, pcm.size - FRAME + 1, FRAME):
        d = det.frame(pcm[i:i + FRAME])
        pa, pb = latest(a, i + FRAME), latest(b, i + FRAME)
        assert d.speech_prob == pytest.approx((pa + pb) / 2, abs=1e-5)
        assert d.hold_prob == pytest.approx(max(pa, pb) if hold == "max" else (pa + pb) / 2,
                                            abs=1e-5)
        differ += abs(pa - pb) > 0.1
    assert differ > 0  # the grids do disagree on real speech: the mean is not one grid


def test_one_grid_is_upstreams_streaming_silero():
    pcm = load_pcm(CLIPS["jfk"][0])[:2 * 16000]
    det = SpeechDetector(DetectorOptions(silero_phases=1))
    grid = grid_probs(int16_to_float32(pcm), 0)
    for i in range(0, pcm.size - FRAME + 1, FRAME):
        d = det.frame(pcm[i:i + FRAME])
        assert d.speech_prob == pytest.approx(latest(grid, i + FRAME), abs=1e-5)
        assert d.hold_prob == d.speech_prob  # one grid: the surest is the mean


def test_detector_options_are_checked():
    for bad in ({"silero_phases": 0}, {"silero_phases": 5}, {"silero_hold": "min"}):
        with pytest.raises(ValueError):
            DetectorOptions(**bad)


class Held:
    """Scripted frames: ``"S"`` speech on every grid; ``"h"`` the grids disagree (mean 0.2,
    the surest 0.6); ``"."`` quiet. None of them webrtcvad-voiced, so only Silero holds."""

    def __init__(self, script: str) -> None:
        self.script, self.i = script, 0

    def frame(self, pcm: np.ndarray) -> FrameDecision:
        c = self.script[self.i]
        self.i += 1
        prob, hold = {"S": (0.9, 0.9), "h": (0.2, 0.6), ".": (0.02, 0.02)}[c]
        return FrameDecision(False, prob, -30.0 if c != "." else -60.0,
                             12.0 if c != "." else 0.0, hold)


def test_an_open_utterance_is_held_by_the_hold_probability_but_never_opened_by_it():
    script = "." * 20 + "S" * 20 + "h" * 30 + "S" * 20 + "." * 40  # 900 ms the grids disagree
    seg, out = Segmenter(VadOptions(), detector=Held(script)), []
    for i in range(len(script)):
        out += [w for w in seg.feed(np.zeros(FRAME, np.int16), 100.0 + i * 0.03)]
    assert [(round(w.speech_start_s / 0.03), round(w.speech_end_s / 0.03)) for w in out] \
        == [(20, 90)]  # one utterance across them, not two
    assert out[0].confirmed_s == pytest.approx(40 * 0.03)  # confirmed on the mean only
    script = "." * 20 + "h" * 40 + "." * 40
    seg, out = Segmenter(VadOptions(), detector=Held(script)), []
    for i in range(len(script)):
        out += seg.feed(np.zeros(FRAME, np.int16), 100.0 + i * 0.03)
        assert not seg.in_speech  # the surest grid alone never opens one
    assert out + seg.flush() == [] and seg.fragments_dropped == 0


def test_snapshots_wait_for_speech_confirmed_on_the_mean():
    # 300 ms of confirmed speech (10 frames) before the first partial snapshot: the 2 onset
    # frames, then the frames after the stretch the surer grid alone holds (20 + 2 + 30 + 8)
    script = "." * 20 + "SS" + "h" * 30 + "S" * 20 + "." * 40
    seg, snaps = Segmenter(VadOptions(partial_interval_ms=300), detector=Held(script)), []
    for i in range(len(script)):
        snaps += [w for w in seg.feed(np.zeros(FRAME, np.int16), 100.0 + i * 0.03)
                  if w.reason == "partial"]
    assert snaps and round(snaps[0].end_s / 0.03) == 20 + 2 + 30 + 8
