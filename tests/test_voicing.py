"""Pitched frames (streamer.segmentation.voicing): voices have a fundamental, noise does not."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import ASSETS, load_pcm
from streamer.segmentation.voicing import HOP_S, frame_periodicity, pitched_seconds

_T = np.arange(16000) / 16000


@pytest.mark.parametrize("f0", [80.0, 150.0, 300.0, 450.0])
def test_a_harmonic_tone_in_the_voice_range_is_pitched_throughout(f0):
    tone = sum(np.sin(2 * np.pi * f0 * k * _T) / k for k in range(1, 6))
    frames = frame_periodicity(tone)
    assert pitched_seconds(tone) == pytest.approx(frames.size * HOP_S)


def test_noise_silence_and_short_input_are_not_pitched():
    rng = np.random.default_rng(0)
    white = rng.standard_normal(16000)
    lowpassed = np.convolve(white, np.ones(16) / 16, mode="same")  # falling autocorrelation
    for x in (white, lowpassed, np.zeros(16000), np.zeros(100)):
        assert pitched_seconds(x) == 0.0


def test_the_scale_does_not_matter():
    tone = 0.5 * np.sin(2 * np.pi * 200 * _T)
    assert pitched_seconds(tone) == pitched_seconds((tone * 32767).astype(np.int16))
    assert pitched_seconds(tone) == pitched_seconds(tone * 1e-3)


def test_real_speech_is_pitched_a_game_explosion_is_not():
    """The recordings behind the weak_detection pitch branch (tests/test_filters.py)."""
    assert pitched_seconds(load_pcm(ASSETS / "jfk.flac")) > 3.0  # 11 s, pauses included
    assert pitched_seconds(load_pcm(ASSETS / "asterisk_en_vm-goodbye.flac")) > 0.3
    assert pitched_seconds(load_pcm(ASSETS / "chromium_bsu_boom.flac")) < 0.05
