"""The zero-crossing gate on real speech and generated noise."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from conftest import ASSETS, CLIPS, load_pcm
from streamer.capture.audio import float32_to_int16
from streamer.decoding.gate import GateOptions, check, rms_level, window_zcr, zero_crossing_rate
from streamer.segmentation.segmenter import Segmenter

sys.path.insert(0, str(ASSETS.parent / "scripts"))
from bench_nonspeech import generate  # noqa: E402  (numpy signals at a fixed seed)


def speech_windows(pcm: np.ndarray) -> list:
    """The pipeline's VAD windows of ``int16`` 16 kHz audio."""
    seg = Segmenter()
    pcm = np.concatenate([pcm, np.zeros((-pcm.size) % 480, np.int16)])
    out = [w for i in range(0, pcm.size, 480) for w in seg.feed(pcm[i:i + 480], 0.0)]
    return out + seg.flush()


@pytest.mark.parametrize("clip", [*CLIPS, "asterisk_en_vm-goodbye", "asterisk_en_queue-thankyou"])
def test_every_real_speech_window_passes(clip):
    path = CLIPS[clip][0] if clip in CLIPS else ASSETS / f"{clip}.flac"
    windows = speech_windows(load_pcm(path))
    assert windows
    for w in windows:
        d = check(w.audio)
        assert d.passed, (clip, d)
        assert d.zcr < GateOptions().max_zcr / 2


@pytest.mark.parametrize("gain_db", [0, -20, -40])
def test_the_gate_does_not_depend_on_the_level(gain_db):
    """No level threshold: a real speech window passes at any gain, digital silence too (the
    segmenter never sends silence: it opens windows only on confirmed speech)."""
    pcm = load_pcm(CLIPS["jfk"][0]).astype(np.float32) * 10 ** (gain_db / 20)
    assert check(pcm.astype(np.int16)).passed
    assert check(np.zeros(16000, np.int16)).passed


@pytest.mark.parametrize("name", ["white_-20dBFS", "white_-35dBFS", "clicks"])
def test_broadband_noise_is_gated_by_zero_crossings(name):
    pcm = float32_to_int16(generate(name, 5.0))
    d = check(pcm)
    assert not d.passed and "zero-crossing" in d.reason


def test_a_fricative_does_not_look_like_noise():
    """Half a second of LJSpeech around an /s/ has a whole-window ZCR near white noise's; the
    window figure (10th percentile over frames) stays low because vowels are in it."""
    pcm = load_pcm(CLIPS["ljspeech"][0])[int(1.4 * 16000):int(1.9 * 16000)]
    assert zero_crossing_rate(pcm) > 0.45
    assert window_zcr(pcm) < 0.2 and check(pcm).passed


def test_options_validate_and_disable():
    with pytest.raises(ValueError):
        GateOptions(max_zcr=0.0)
    off = GateOptions(max_zcr=None)
    assert check(np.zeros(800, np.int16), off).passed
    assert rms_level(np.zeros(0, np.int16)) == 0.0
