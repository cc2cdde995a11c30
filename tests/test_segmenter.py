"""Segmenter on real speech: window bounds, onset kept, fragments dropped and counted."""

import numpy as np
import pytest

from conftest import CLIPS, load_pcm
from streamer.segmenter import Segmenter, VadOptions


def segment(pcm: np.ndarray, options: VadOptions = VadOptions()):
    seg = Segmenter(options)
    n = options.frame_samples
    windows = []
    for i in range(0, pcm.size - n + 1, n):
        windows += seg.feed(pcm[i:i + n], captured_wall=i / 16000)
    windows += seg.flush()
    return seg, windows


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * 16000), np.int16)


@pytest.mark.parametrize("frame_ms", [10, 20, 30])
def test_windows_respect_bounds_and_cover_speech(frame_ms):
    opts = VadOptions(frame_ms=frame_ms)
    pcm = np.concatenate([silence(1.0), load_pcm(CLIPS["librispeech"][0]), silence(1.0)])
    seg, windows = segment(pcm, opts)
    assert len(windows) >= 3  # 11.7 s of speech cannot fit in fewer 5 s windows
    for w in windows:
        assert w.duration_s <= opts.max_window_s + 1e-6
        assert w.audio.dtype == np.int16 and w.audio.size == round(w.duration_s * 16000)
        assert w.voiced_s * 1000 >= opts.min_speech_ms
    starts = [w.start_s for w in windows]
    assert starts == sorted(starts)
    # windows are cut on the stream clock: each starts no earlier than the previous pre-roll
    for a, b in zip(windows, windows[1:]):
        assert b.start_s >= a.end_s - opts.pre_roll_ms / 1000 - 1e-6
    # the speech (the clip starts with ~0.5 s of its own silence) is covered
    assert windows[0].start_s < 2.0 and windows[-1].end_s > 12.0
    assert [w.index for w in windows] == list(range(len(windows)))


def test_onset_is_kept_by_pre_roll():
    pcm = np.concatenate([silence(1.0), load_pcm(CLIPS["jfk"][0])])
    _, plain = segment(pcm, VadOptions(pre_roll_ms=30, onset_frames=1, onset_window_frames=1))
    _, padded = segment(pcm, VadOptions(pre_roll_ms=300))
    # the first voiced frame is where the plain run starts; pre-roll reaches 300 ms before it
    onset = plain[0].start_s
    assert padded[0].start_s <= onset - 0.2
    assert padded[0].start_s >= onset - 0.3 - 1e-6


def test_cap_cuts_at_a_quiet_frame_and_carries_the_rest():
    pcm = load_pcm(CLIPS["librispeech"][0])
    opts = VadOptions(min_window_s=4.9, max_window_s=5.0, pause_ms=3000, hangover_ms=3000)
    _, windows = segment(pcm, opts)
    capped = [w for w in windows if w.reason == "cap"]
    assert capped, "an 11.7 s utterance with long hang-over must hit the cap"
    for a, b in zip(windows, windows[1:]):
        if a.reason == "cap":
            assert b.start_s == pytest.approx(a.end_s)  # nothing lost, nothing repeated
    # the cut frame is the quietest of the search span: quieter than the window's speech
    w = capped[0]
    last = w.audio[-opts.frame_samples:].astype(np.float64)
    body = w.audio.astype(np.float64)
    assert np.mean(last ** 2) < np.mean(body ** 2)


def test_short_fragment_is_dropped_and_counted():
    speech = load_pcm(CLIPS["jfk"][0])
    blip = speech[int(0.5 * 16000):int(0.62 * 16000)]  # 120 ms of a real word
    pcm = np.concatenate([silence(1.0), blip, silence(1.0)])
    seg, windows = segment(pcm, VadOptions(min_speech_ms=200))
    assert windows == []
    assert seg.fragments_dropped == 1


def test_silence_gives_no_window():
    seg, windows = segment(silence(5.0))
    assert windows == [] and seg.fragments_dropped == 0


def test_bad_options_rejected():
    with pytest.raises(ValueError):
        VadOptions(frame_ms=25)
    with pytest.raises(ValueError):
        VadOptions(min_window_s=6, max_window_s=5)
    with pytest.raises(ValueError):
        Segmenter().feed(np.zeros(100, np.int16), 0.0)
