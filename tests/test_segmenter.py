"""The segmenter: its state machine on scripted frame decisions, and on real speech.

The state machine is driven by a scripted detector (each frame's webrtcvad decision, Silero
probability and SNR given by the test), so every rule is forced, not hoped for; real clips then
check the whole detector: speech found, quiet not, the same windows at any input level.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import CLIPS, load_pcm
from streamer.segmentation.options import VadOptions
from streamer.segmentation.segmenter import Segmenter
from streamer.segmentation.vad import FrameDecision

FRAME = 480  # 30 ms
FS = 0.03


class Scripted:
    """A detector returning scripted decisions: ``"S"`` Silero speech (p 0.9) at -30 dBFS,
    ``"b"`` the same 20 dB quieter (background talk), ``"v"`` webrtcvad-voiced only, 12 dB
    above the floor, ``"."`` nothing; Silero unsure (p 0.4): ``"u"`` voiced 12 dB above the
    floor, ``"w"`` not voiced, ``"q"`` voiced at the floor."""

    def __init__(self, script: str) -> None:
        self.script = script
        self.i = 0

    def frame(self, pcm: np.ndarray) -> FrameDecision:
        c = self.script[self.i]
        self.i += 1
        return FrameDecision(voiced=c in "Svuqb",
                             speech_prob={"S": 0.9, "b": 0.9, "u": 0.4, "w": 0.4,
                                          "q": 0.4}.get(c, 0.02),
                             level_dbfs={".": -60.0, "q": -60.0, "b": -50.0}.get(c, -30.0),
                             snr_db=12.0 if c not in ".q" else 0.0)


def run(script: str, options: VadOptions = VadOptions()):
    seg = Segmenter(options, detector=Scripted(script))
    out = []
    for i in range(len(script)):
        out += seg.feed(np.full(FRAME, i, np.int16), captured_wall=100.0 + i * FS)
    out += seg.flush()
    return seg, out


def frames(w) -> tuple[int, int]:
    return round(w.start_s / FS), round(w.end_s / FS)


def test_onset_needs_consecutive_speech_frames():
    _, out = run("." * 30 + "S." * 20 + "." * 30)  # isolated Silero spikes: never two in a row
    assert out == []
    _, out = run("." * 30 + "SS" + "." * 30, VadOptions(min_confirmed_ms=0))
    assert len(out) == 1


def test_soft_onset_needs_both_detectors_on_most_of_300_ms():
    # Silero unsure (0.4, under the 0.5 onset) on voiced frames well above the floor: telephone
    # speech; 6 of the last 10 frames open it, and it goes on at neg_threshold
    _, (w,) = run("." * 30 + "u" * 40 + "." * 40)
    assert w.speech_start_s == pytest.approx(30 * FS)  # the look-back reaches its first frame
    assert w.speech_end_s == pytest.approx(70 * FS)
    _, out = run("." * 30 + "u" * 40 + "." * 40, VadOptions(soft_onset_frames=0))  # off
    assert out == []
    _, out = run("." * 30 + "uu..." * 8 + "." * 40)  # 4 of any 10 frames: not enough
    assert out == []
    _, (w,) = run("." * 30 + "uuu.." * 8 + "." * 40)  # 6 of 10, opened on frame 37
    assert w.speech_start_s == pytest.approx(30 * FS)  # at the pattern's first frame
    assert frames(w)[0] == 30 - 10  # and the pre-roll before it
    # Silero unsure alone (webrtcvad says no) or at the noise floor: never
    for c in "wq":
        _, out = run("." * 30 + c * 40 + "." * 40)
        assert out == [], c
    for bad in ({"soft_onset_frames": -1}, {"soft_onset_window_ms": -30},
                {"soft_onset_frames": 11}):  # more than the 10 frames of its window: never
        with pytest.raises(ValueError):
            VadOptions(**bad)


def test_lookback_reaches_a_first_word_across_a_short_pause():
    # "press … one": a word Silero missed (voiced, above the floor), a 240 ms pause, then speech
    # Silero confirms; the look-back keeps the word (the pause frames are not speech)
    _, (w,) = run("." * 30 + "vvvv" + "." * 8 + "S" * 20 + "." * 40)
    assert w.speech_start_s == pytest.approx(30 * FS)
    assert frames(w)[0] == 30 - 10  # and the pre-roll before it
    assert w.voiced_s == pytest.approx((4 + 20) * FS)
    # a pause as long as the one that ends an utterance (600 ms) is not crossed
    _, (w,) = run("." * 30 + "vvvv" + "." * 20 + "S" * 20 + "." * 40)
    assert w.speech_start_s == pytest.approx(54 * FS)
    # nor is anything beyond onset_lookback_ms (1 s: 33 frames) before the onset
    _, (w,) = run("." * 30 + "vvv" + ("." * 14 + "vvv") * 3 + "S" * 20 + "." * 40)  # vvv at 30,
    assert w.speech_start_s == pytest.approx(64 * FS)  # 47, 64, 81, S from 84: 49 is 35 back
    # nor a blip of room noise over the floor (under 90 ms): only a run of 3 frames or more
    _, (w,) = run("." * 30 + "vv" + "." * 8 + "S" * 20 + "." * 40)
    assert w.speech_start_s == pytest.approx(40 * FS)


def test_a_full_lookback_keeps_its_whole_pre_roll():
    # 1 s of voiced frames before the onset: the look-back takes 33 frames back from the onset's
    # first frame, the pre-roll 10 more, whether the onset is a strict run or a soft pattern
    for script, onset in (("v" * 60 + "SS", 60), ("v" * 60 + "u" * 10, 60)):
        _, (w,) = run("." * 5 + script + "S" * 20 + "." * 40)
        assert frames(w)[0] == 5 + onset - 33 - 10, script


def test_soft_pattern_gaps_are_not_speech():
    _, (w,) = run("." * 30 + "u....uuuuu" + "u" * 20 + "." * 40, VadOptions(pre_roll_ms=0))
    assert w.speech_start_s == pytest.approx(30 * FS)
    assert w.voiced_s == pytest.approx(26 * FS)  # the 4 frames of nothing inside the pattern


def test_soft_onset_starts_afresh_after_an_end():
    # the frames of the utterance before do not count towards the next soft onset: 4 unsure
    # frames right after an end are 4 of 10, not 6 with the strict onset's two before them
    seg, out = run("." * 30 + "S" * 20 + "." * 20 + "uuuu" + "." * 40)
    assert len(out) == 1 and seg.fragments_dropped == 0  # not even opened
    _, out = run("." * 30 + "S" * 20 + "." * 20 + "uuuuuu" + "." * 40)
    assert len(out) == 2


def test_confirmed_speech_counts_every_confirmed_frame_of_the_onset():
    # a partial snapshot is due on 300 ms (10 frames) of Silero-confirmed speech, counted over
    # every frame the onset kept, not as the strict onset run's two frames
    o = VadOptions(partial_interval_ms=500, pre_roll_ms=0)
    _, out = run("." * 30 + "u" * 8 + "SS" + "." * 40, o)  # soft open on the 6th: 10 confirmed
    assert [w.reason for w in out][:1] == ["partial"]
    _, out = run("." * 30 + "v" * 8 + "SS" + "." * 40, o)  # voiced, not Silero: 2 confirmed
    assert "partial" not in [w.reason for w in out]


def test_soft_onset_with_a_longer_strict_onset_keeps_its_frames():
    # onset_frames above soft_onset_frames: the utterance opened by the soft rule still holds
    # its audio and speech flags frame for frame
    _, (w,) = run("." * 30 + "u" * 40 + "." * 40, VadOptions(onset_frames=8, pre_roll_ms=0,
                                                              onset_lookback_ms=0))
    assert w.audio.size == round((w.end_s - w.start_s) / FS) * FRAME
    assert w.speech_start_s >= w.start_s and w.speech_end_s == pytest.approx(70 * FS)


def test_window_has_pre_roll_lookback_and_ends_after_the_silence():
    o = VadOptions()  # pre-roll 300 ms = 10 frames, end silence 20 frames, extension 10
    script = "." * 40 + "vvvvv" + "S" * 50 + "." * 40
    _, (w,) = run(script, o)
    start, end = frames(w)
    assert start == 40 - 10  # the voiced frames before the onset, then the pre-roll
    assert w.speech_start_s == pytest.approx(40 * FS)  # speech starts with the voiced frames
    assert w.speech_end_s == pytest.approx((40 + 5 + 50) * FS)
    assert end == 40 + 5 + 50 + 5  # the pause snapshot's 150 ms of the end silence
    assert w.reason == "end"
    assert w.captured_wall == pytest.approx(100.0 + (40 + 5 + 50 + 20 - 1) * FS)  # cut then
    assert w.decided_s == pytest.approx((40 + 5 + 50 + 20) * FS)  # the same, in stream time
    assert w.confirmed_s == pytest.approx(50 * FS)
    assert w.speech_end_wall == pytest.approx(100.0 + (40 + 5 + 50 - 1) * FS)
    assert w.audio.shape == ((end - start) * FRAME,) and w.audio.dtype == np.int16


def test_voiced_frames_extend_speech_only_near_confirmed_speech():
    # 8 voiced frames after Silero's last: within the 10-frame extension, one utterance; they
    # follow its speech without a break (a creaky ending), so the pause counts from them
    _, (w,) = run("." * 20 + "S" * 30 + "v" * 8 + "." * 30)
    assert w.speech_end_s == pytest.approx((20 + 30 + 8) * FS)
    assert w.decided_s == pytest.approx((20 + 30 + 8 + 20) * FS)
    # 40 voiced frames (music after speech): speech ends 10 frames after Silero's last
    _, (w,) = run("." * 20 + "S" * 30 + "v" * 40 + "." * 30)
    assert w.speech_end_s == pytest.approx((20 + 30 + 10) * FS)


def test_a_click_after_the_speech_is_kept_but_does_not_hold_the_utterance_open():
    # a voiced frame 180 ms after Silero's last (a key click, a chime), after a break: inside
    # the extension, so the window keeps it, but the end of utterance counts from the speech
    _, (w,) = run("." * 20 + "S" * 30 + "." * 6 + "v" + "." * 40)
    assert w.speech_end_s == pytest.approx((20 + 30 + 6 + 1) * FS)
    assert frames(w)[1] == 20 + 30 + 6 + 1 + 5  # and the pause snapshot's 150 ms after it
    assert w.decided_s == pytest.approx((20 + 30 + 20) * FS)  # 600 ms after the speech
    assert w.captured_wall == pytest.approx(100.0 + (20 + 30 + 20 - 1) * FS)
    # speech 630 ms after Silero's last, 420 ms after the click: a pause, two utterances
    _, out = run("." * 20 + "S" * 30 + "." * 6 + "v" + "." * 14 + "S" * 30 + "." * 30)
    assert len(out) == 2
    # the same click, and with partials on the pause snapshot still holds the final's audio
    _, out = run("." * 20 + "S" * 30 + "." * 6 + "v" + "." * 40, VadOptions(pause_snapshots=True))
    assert [w.reason for w in out] == ["pause", "pause", "end"]
    assert np.array_equal(out[-1].audio, out[-2].audio)


def test_a_short_pause_does_not_end_the_utterance():
    _, out = run("." * 20 + "S" * 30 + "." * 19 + "S" * 30 + "." * 30)  # 570 ms < 600 ms
    assert len(out) == 1
    _, out = run("." * 20 + "S" * 30 + "." * 20 + "S" * 30 + "." * 30)  # 600 ms
    assert len(out) == 2


def test_the_next_onset_reaches_back_into_the_pause_that_ended_an_utterance():
    # a word starts softly (voiced, no Silero) in the last 300 ms of the pause that ends the
    # utterance, and Silero confirms it only after the end: its soft start is kept
    script = "." * 20 + "S" * 30 + "." * 10 + "v" * 10 + "S" * 30 + "." * 30
    _, (first, second) = run(script)
    assert frames(first) == (10, 55)  # pre-roll, speech, the 150 ms pause snapshot
    assert second.speech_start_s == pytest.approx(60 * FS)  # the soft start, before the end
    assert frames(second)[0] == 55  # its pre-roll reaches the first window's end, no further


def test_pause_snapshots_without_partials_hold_the_final_windows_audio():
    script = "." * 20 + "S" * 30 + "." * 12 + "S" * 30 + "." * 30
    _, out = run(script, VadOptions(pause_snapshots=True))
    assert [w.reason for w in out] == ["pause", "pause", "end"]  # one per pause, no partials
    first, last, final = out
    assert final.speech_bounds == last.speech_bounds and first.speech_end_s < last.speech_end_s
    assert np.array_equal(final.audio, last.audio)  # the speculative decode is the final's
    _, out = run(script)  # off (a replay at max speed): finals only
    assert [w.reason for w in out] == ["end"]


def test_background_talk_holds_an_utterance_open_no_longer_than_its_hold():
    # talk 20 dB under the talker (over background_db, 15) goes on after the talker stops:
    # the utterance (2.4 s of the talker, over background_min_s) ends background_hold_ms
    # (1200 ms, 40 frames) after the talker's last frame, its speech there, and the talk is
    # an utterance of its own (at its own level)
    script = "." * 20 + "S" * 80 + "b" * 100 + "." * 40
    _, (talker, talk) = run(script)
    assert talker.reason == "end" and talker.speech_end_s == pytest.approx(100 * FS)
    assert frames(talker)[1] == 100 + 5  # and the pause snapshot's 150 ms, as at any end
    assert talker.decided_s == pytest.approx((100 + 40) * FS)
    assert talker.speech_end_wall == pytest.approx(100.0 + 99 * FS)
    assert talker.confirmed_s == pytest.approx(80 * FS)  # the talk after it is not its speech
    assert frames(talk)[0] == 105 and talk.speech_end_s == pytest.approx(200 * FS)
    # live (pause snapshots on): once the talk has held the utterance 600 ms (end_silence_ms)
    # past the talker's last frame, a pause snapshot holds exactly the final's audio and
    # speech, so the worker decodes it during the rest of the hold
    _, out = run(script, VadOptions(pause_snapshots=True))
    assert [w.reason for w in out] == ["pause", "end", "pause", "end"]
    snap, final = out[:2]
    assert snap.speech_bounds == final.speech_bounds and np.array_equal(snap.audio, final.audio)
    assert snap.decided_s == pytest.approx((100 + 20) * FS) and snap.voiced_s == final.voiced_s
    # not sooner: a talker's pause with a soft frame 20 dB under them, then their own silence,
    # is an ordinary pause (one ordinary pause snapshot, the final reuses it; under 600 ms of
    # talk after the talker, as a syllable's soft end, none of the talker's)
    soft = "." * 20 + "S" * 80 + "b" * 3 + "." * 40
    _, out = run(soft, VadOptions(pause_snapshots=True))
    assert [w.reason for w in out] == ["pause", "end"]
    assert out[0].speech_bounds == out[1].speech_bounds
    # once that snapshot is taken, no other while the talk holds the utterance (the worker
    # would decode it instead, and a final reuses only the last pause decode): no partial of
    # the talk, no pause snapshot in a gap of it; a cap cut in the hold takes it again
    for o, sc in ((VadOptions(pause_snapshots=True, partial_interval_ms=500), script),
                  (VadOptions(pause_snapshots=True),
                   "." * 20 + "S" * 80 + "b" * 22 + "." * 6 + "b" * 40 + "." * 40),
                  (VadOptions(pause_snapshots=True, max_utterance_s=3.9), script)):
        _, out = run(sc, o)
        i = next(i for i, w in enumerate(out) if w.reason == "end")
        assert out[i - 1].reason == "pause" and out[i - 1].speech_bounds == out[i].speech_bounds
    # a pause of the talker under the talk, who then goes on: one such snapshot per pause,
    # none while the talker speaks, and the same utterance windows as without snapshots
    gaps = "." * 20 + "S" * 80 + "b" * 20 + "S" * 20 + "b" * 20 + "S" * 20 + "." * 40
    _, out = run(gaps, VadOptions(pause_snapshots=True))
    assert [(w.reason, frames(w)) for w in out] == [
        ("pause", (10, 105)), ("pause", (10, 145)), ("pause", (10, 185)), ("end", (10, 185))]
    assert [frames(w) for w in run(gaps)[1]] == [(10, 185)]
    # off, under the hold (900 ms of talk, then the talker again), or after only 1.2 s of the
    # talker (a first loud word, then a quieter voice): one utterance
    for o, sc in ((VadOptions(background_db=None), script),
                  (VadOptions(), "." * 20 + "S" * 80 + "b" * 30 + "S" * 20 + "." * 40),
                  (VadOptions(), "." * 20 + "S" * 40 + "b" * 100 + "." * 40)):
        _, (w,) = run(sc, o)
        assert w.speech_end_s == pytest.approx((len(sc) - 40) * FS)
    # a quiet talker alone is measured against their own level: an ordinary end
    _, (w,) = run("." * 20 + "b" * 100 + "." * 40)
    assert w.speech_end_s == pytest.approx(120 * FS) and w.decided_s == pytest.approx(140 * FS)
    # an utterance cut at its cap goes on: its foreground is its last window's worth of Silero
    # frames (2 s here: 67), so an hour of it keeps 67 levels, not an hour's
    o = VadOptions(max_utterance_s=2.0, cut_search_ms=1000)
    seg = Segmenter(o, detector=Scripted("." * 20 + "S" * 2000))
    for i in range(2020):
        seg.feed(np.zeros(FRAME, np.int16), captured_wall=100.0 + i * FS)
    assert seg.in_speech and len(seg._fg_level) == 67


def test_the_foreground_level_is_the_90th_percentile_of_the_last_levels_kept():
    from streamer.segmentation.foreground import ForegroundLevel

    fg = ForegroundLevel(background_db=15.0, max_frames=10)
    assert fg.is_foreground(-90.0)  # nothing kept yet: any frame is the talker's
    for level in [-60.0] * 2 + [-30.0] * 8:
        fg.keep(level)
    assert fg.is_foreground(-45.0) and not fg.is_foreground(-45.5)  # 15 dB under -30
    for _ in range(9):  # the talker's levels let go as quieter ones come: the last 10 count
        fg.keep(-50.0)
    assert len(fg) == 10 and fg.is_foreground(-45.5) and not fg.is_foreground(-65.5)
    fg.clear()
    assert len(fg) == 0 and fg.is_foreground(-90.0)


def test_cap_cuts_at_the_best_pause_and_loses_nothing():
    o = VadOptions(max_utterance_s=3.0, cut_search_ms=1500)  # 100 frames, search 50
    script = "." * 20 + "S" * 70 + "..." + "S" * 100 + "." * 30
    _, out = run(script, o)
    assert [w.reason for w in out][0] == "cap"
    first = out[0]
    assert round(first.end_s / FS) - round(first.start_s / FS) <= 100
    cut = round(first.end_s / FS)
    assert 20 + 70 <= cut <= 20 + 73  # inside the 3-frame pause
    assert out[1].start_s == first.end_s  # contiguous: nothing lost, nothing doubled


def test_fragments_below_the_confirmed_minimum_are_dropped_and_counted():
    seg, out = run("." * 20 + "SSS" + "." * 30 + "S" * 10 + "." * 30,
                   VadOptions(min_confirmed_ms=150))  # 90 ms, then 300 ms
    assert seg.fragments_dropped == 1 and len(out) == 1 and out[0].index == 0


def test_flush_emits_the_open_utterance():
    _, (w,) = run("." * 10 + "S" * 30)
    assert w.reason == "flush" and frames(w)[1] == 40


def test_options_are_checked():
    with pytest.raises(ValueError):
        VadOptions(frame_ms=25)
    with pytest.raises(ValueError):
        VadOptions(speech_threshold=0.3, neg_threshold=0.5)
    with pytest.raises(ValueError):
        VadOptions(max_utterance_s=40)
    for bad in ({"background_db": 0.0}, {"background_hold_ms": 900}, {"background_min_s": -1}):
        with pytest.raises(ValueError):
            VadOptions(**bad)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("Svb."), st.integers(1, 80)), min_size=1, max_size=40),
       st.sampled_from([2.0, 5.0, 20.0]), st.sampled_from([150, 0]))
def test_properties_on_random_frame_sequences(runs, max_s, min_confirmed_ms):
    """Windows never overlap, never exceed the cap, come in order with monotonic stream times,
    and every run of confirmed speech frames is inside a window unless it was a fragment; with
    no fragment minimum (``--min-speech-ms 0``) too, where an end soon after a cap cut leaves
    only pause frames to emit."""
    script = "".join(c * n for c, n in runs)
    o = VadOptions(max_utterance_s=max_s, cut_search_ms=int(max_s * 500),
                   min_confirmed_ms=min_confirmed_ms)
    seg, out = run(script, o)
    assert [w.index for w in out] == list(range(len(out)))
    cap = round(max_s / FS)
    for a, b in zip(out, out[1:]):
        assert a.end_s <= b.start_s
        assert a.speech_end_wall <= b.speech_end_wall
    covered = np.zeros(len(script), bool)
    for w in out:
        s, e = frames(w)
        assert 0 < e - s <= cap
        assert np.array_equal(w.audio[::FRAME], np.arange(s, e))  # its own frames, in order
        assert w.start_s <= w.speech_start_s < w.speech_end_s <= w.end_s
        covered[s:e] = True
    # an onset (two S in a row) that no window covers must belong to a dropped fragment (not
    # background talk: a window ends 150 ms into it, and what is left may never make an onset)
    onsets = [i for i in range(1, len(script)) if script[i - 1:i + 1] == "SS"]
    if any(not covered[i] for i in onsets):
        assert seg.fragments_dropped > 0


# -- the real detector on real audio ------------------------------------------------------

def segment_pcm(pcm: np.ndarray, options: VadOptions = VadOptions()):
    seg = Segmenter(options)
    n = options.frame_samples
    out = [w for i in range(0, pcm.size - n + 1, n) for w in seg.feed(pcm[i:i + n], i / 16000)]
    return seg, out + seg.flush()


def room(seconds: float, level: float = 30.0, seed: int = 0) -> np.ndarray:
    """Low broadband room tone (about -60 dBFS), int16."""
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(int(seconds * 16000)) * level).astype(np.int16)


def test_real_speech_is_found_and_room_tone_is_not():
    speech = load_pcm(CLIPS["librispeech"][0])
    pcm = np.concatenate([room(2.0), speech, room(2.0, seed=1)])
    seg, out = segment_pcm(pcm)
    assert out and seg.fragments_dropped == 0
    assert out[0].speech_start_s < 2.5 and out[-1].speech_end_s > 2.0 + speech.size / 16000 - 0.5
    for w in out:
        assert w.duration_s <= VadOptions().max_utterance_s
    _, none = segment_pcm(room(10.0, seed=2))
    assert none == []


@pytest.mark.parametrize("gain_db", [-20, -30])
def test_the_same_windows_at_a_quieter_level(gain_db):
    """No absolute level in the speech path: a microphone 20-30 dB quieter gives the same
    utterances (within the 300 ms pre-roll at each bound; webrtcvad, the only level-dependent
    stage, may stretch a speech start into leading noise when it is loud)."""
    speech = load_pcm(CLIPS["jfk"][0]).astype(np.float32)
    _, loud = segment_pcm(speech.astype(np.int16))
    _, quiet = segment_pcm((speech * 10 ** (gain_db / 20)).astype(np.int16))
    assert len(loud) == len(quiet) > 0
    for a, b in zip(loud, quiet):
        assert abs(a.start_s - b.start_s) <= 0.3 and abs(a.end_s - b.end_s) <= 0.3
        assert abs(a.speech_end_s - b.speech_end_s) <= 0.3
