"""scripts/bench.py works end to end on a short clip and its numbers are well-formed."""

import json
import sys

import pytest

from conftest import CLIPS, ROOT, load_pcm

sys.path.insert(0, str(ROOT / "scripts"))
import bench  # noqa: E402


def test_wer_normalises_and_keeps_spoken_parentheses():
    r = bench.wer(["It is (in fact) the FIRST importance; <unk>"],
                  ["it is in fact the first importance"])
    assert r["wer"] == 0.0 and r["ref_words"] == 7
    r = bench.wer(["the cat sat down"], ["the cat down"])
    assert r["wer"] == 25.0 and r["deletions"] == 1


def test_each_sentence_is_normalised_alone():
    # joined, "Four. Five." is one number to Whisper's normaliser ("45"), and "Um..." leaves
    # a "." token: each sentence alone, both read right
    assert bench.normalised_words(["Four.", "Five."]) == ["4", "5"]
    assert bench.normalised_words(["Four. Five."]) == ["4", "5"]
    assert bench.normalised_words(["Um...", "A liner."]) == ["a", "liner"]
    # a caption may end inside a number: captions are joined before they are split
    assert bench.normalised_words(["Twenty", "five."]) == ["25"]
    assert bench.normalised_words(["It is five", "percent."]) == ["it", "is", "5%"]
    r = bench.wer(["four", "five", "a liner"], ["Four.", "Five.", "Um...", "A liner."])
    assert r["wer"] == 0.0 and r["ref_words"] == 4
    with pytest.raises(TypeError):
        bench.normalised_words("a caption")
    import robust_bench

    got = robust_bench.score(["four", "five", "six"], ["Four.", "Five.", "Six."])
    assert got["wer"] == 0.0 and got["lost"] == []
    got = robust_bench.score(["four", "five", "six"], ["Four.", "Six."])
    assert got["lost"] == [1] and got["D"] == 1
    assert robust_bench.score(["twenty five"], ["Twenty", "five."])["lost"] == []


def test_percentiles_and_latency_matching():
    assert bench.percentiles([]) == {"p50": None, "p95": None, "max": None, "n": 0}
    p = bench.percentiles([1.0, 2.0, 3.0])
    assert p["p50"] == 2.0 and p["max"] == 3.0
    segments = [{"start_s": 1.0, "end_s": 4.0}, {"start_s": 6.0, "end_s": 8.0}]
    caps = [(0.7, 3.0, 103.5, "a"), (3.0, 4.3, 104.8, "b"), (9.0, 9.5, 110.0, "c")]
    lat = bench.utterance_latencies(segments, caps, replay_start_wall=100.0)
    assert lat[0] == pytest.approx(0.8)  # the last caption overlapping utterance 1
    assert lat[1] is None  # nothing overlaps utterance 2


@pytest.mark.model
def test_bench_runs_on_a_clip(tmp_path):
    seg = tmp_path / "jfk.json"
    seg.write_text(json.dumps({"segments": [
        {"start_s": 0.3, "end_s": 10.6, "reference": CLIPS["jfk"][1]}]}))
    assert bench.main([str(CLIPS["jfk"][0]), "--segments", str(seg), "--model", "tiny.en",
                       "--mode", "max", "--mode", "sim", "--no-progress", "--name", "t",
                       "--out-dir", str(tmp_path)]) == 0
    result = json.loads((tmp_path / "t.json").read_text())
    assert (tmp_path / "t.md").read_text().startswith("| model |")
    mx, sim = result["runs"]
    for run in (mx, sim):
        assert 0 <= run["stream_wer"]["wer"] < 50 and run["stream_wer"]["ref_words"] == 22
        assert run["rtf"] > 0 and run["peak_rss_mb"] > 50 and run["audio_s"] == 11.0
        assert run["overruns"] == 0 and run["windows"] >= 2 and run["captions"] >= 1
        assert set(run["window_stage_s_median"]) == {"features", "encode", "decode", "filters"}
    assert mx["latency_s"]["n"] == 0  # wall times of a max-speed replay are not latencies
    lat = sim["latency_s"]
    assert lat["n"] == 1 and 0 <= lat["p50"] <= lat["p95"] <= lat["max"] < 11


def test_nonspeech_sequences_skip_what_is_not_installed(tmp_path):
    """bench_nonspeech's held-out sets: a sound after 1-2 s of room tone each, seeded; a
    sequence with a missing part, or none, is skipped, not streamed as room tone."""
    import wave

    from bench_nonspeech import NonSpeechSource, materialize

    boom = ROOT / "assets" / "chromium_bsu_boom.flac"
    src = NonSpeechSource("seq", "sequence", 60, parts=(boom, boom), gain_db=-10.0)
    path = materialize(src, tmp_path)
    with wave.open(str(path)) as w:
        seconds = w.getnframes() / w.getframerate()
    assert 2 * 0.85 + 2 * 1.0 + 1.0 <= seconds <= 2 * 0.85 + 2 * 2.0 + 1.0 + 0.01
    assert materialize(src, tmp_path).read_bytes() == path.read_bytes()  # seeded
    assert materialize(NonSpeechSource("none", "sequence", 60), tmp_path) is None
    missing = NonSpeechSource("gone", "sequence", 60, parts=(boom, tmp_path / "no.wav"))
    assert materialize(missing, tmp_path) is None


def test_room_response_has_the_asked_decay_and_direct_to_reverberant_ratio():
    import numpy as np

    from conditions import room_response

    h = room_response(rt60_s=0.6, drr_db=0.0, rng=np.random.default_rng(1))
    assert h.size == round(0.6 * 16000) and h[0] == 1.0
    tail = h[1:]
    assert 10 * np.log10(1.0 / (tail ** 2).sum()) == pytest.approx(0.0, abs=1e-9)
    first, last = (tail[:1600] ** 2).mean(), (tail[-1600:] ** 2).mean()
    assert 10 * np.log10(first / last) > 40  # ~50 dB between the first and last 0.1 s


def test_nonspeech_skips_a_recording_that_does_not_decode(tmp_path, capsys):
    """A track PyAV cannot read (three HyperRogue Vorbis files) is skipped and named, not a
    crash of the whole run."""
    from bench_nonspeech import NonSpeechSource, run_nonspeech
    from streamer.config import build_config

    bad = tmp_path / "bad.ogg"
    bad.write_bytes(b"OggS" + b"\0" * 200)
    res = run_nonspeech(build_config({}).config, [NonSpeechSource("bad", "music", 5.0, bad)])
    assert res["skipped"] == ["bad"] and res["words"] == 0 and res["sources"] == {}
    assert "skipped bad:" in capsys.readouterr().err


def _shared_speech() -> bool:
    from conditions import SPEECH

    return SPEECH.exists()


needs_shared = pytest.mark.skipif(not _shared_speech(), reason="needs ../shared/speech")


@needs_shared
def test_speed_plays_each_utterance_faster_or_slower_and_keeps_the_pauses():
    """``speed``: every dev utterance 0.85-1.15x as long as it was, its speech bounds moved with
    it, the pauses between utterances as they were."""
    from conditions import dev, speed

    x0, s0 = dev()
    x1, s1 = speed()
    assert len(s1) == len(s0)
    factors = []
    for a, b in zip(s0, s1):
        f = (a["end_s"] - a["start_s"]) / (b["end_s"] - b["start_s"])
        factors.append(f)
        assert 0.85 - 1e-3 <= f <= 1.15 + 1e-3
        assert b["speech_start_s"] - b["start_s"] == pytest.approx(
            (a["speech_start_s"] - a["start_s"]) / f, abs=1e-3)
        assert b["speech_end_s"] - b["start_s"] == pytest.approx(
            (a["speech_end_s"] - a["start_s"]) / f, abs=1e-3)
    assert min(factors) < 0.95 and max(factors) > 1.05  # both ways
    for (a, a2), (b, b2) in zip(zip(s0, s0[1:]), zip(s1, s1[1:])):
        assert b2["start_s"] - b["end_s"] == pytest.approx(a2["start_s"] - a["end_s"], abs=2e-4)
    assert x1.size / 16000 == pytest.approx(s1[-1]["end_s"] + (x0.size / 16000 - s0[-1]["end_s"]),
                                            abs=1e-3)


@needs_shared
def test_rooms_keep_a_sound_s_length_and_change_it_as_their_conditions_do():
    """``conditions.ROOMS``: the same length out; the noise beds add their condition's noise at
    its level; the reverberant room keeps the power; the telephone band leaves nothing under
    300 Hz."""
    import numpy as np

    from conditions import ROOMS, noise_bed

    t = np.arange(2 * 16000) / 16000
    x = (0.1 * np.sin(2 * np.pi * 150 * t) + 0.1 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)
    for name, room in ROOMS.items():
        for n in (x.size, 1001, 1003):  # lengths that are no whole number of samples in seconds
            y = room(x[:n])
            assert y.shape == (n,) and y.dtype in (np.float32, np.float64), name
    bed = noise_bed("pink", 2.0, 10.0)
    assert ROOMS["pink10"](x) - x == pytest.approx(bed, abs=1e-6)
    assert (ROOMS["reverb"](x) ** 2).mean() == pytest.approx((x ** 2).mean(), rel=1e-6)
    spec = np.abs(np.fft.rfft(ROOMS["phone"](x)))
    f = np.fft.rfftfreq(x.size, 1 / 16000)
    assert spec[np.argmin(abs(f - 150))] < 0.01 * spec[np.argmin(abs(f - 1000))]


@needs_shared
def test_a_nonspeech_recording_is_played_in_a_room(tmp_path):
    """``--set rooms``: a recording in a room is as long as without, and not the same; a
    quieter one under a noise bed is the recording's gain plus the bed at its own level; a
    sequence in a room has the gaps of the same sequence without one."""
    import wave

    from bench_nonspeech import NonSpeechSource, materialize, room_sources

    assert {s.room for s in room_sources()} == {"pink10", "fan10", "reverb", "phone"}
    assert sum(s.kind == "sequence" for s in room_sources()) == 8  # desktop, in two rooms
    assert {s.gain_db for s in room_sources()} == {0.0, -10.0}
    boom = ROOT / "assets" / "chromium_bsu_boom.flac"
    dry = materialize(NonSpeechSource("dry", "effects", 5, boom), tmp_path)
    wet = materialize(NonSpeechSource("wet", "effects", 5, boom, room="reverb"), tmp_path)
    with wave.open(str(dry)) as a, wave.open(str(wet)) as b:
        assert a.getnframes() == b.getnframes() > 0
        assert a.readframes(a.getnframes()) != b.readframes(b.getnframes())
    from conditions import noise_bed
    from streamer.capture.audio import int16_to_float32

    quiet = NonSpeechSource("q", "effects", 5, boom, gain_db=-10.0)
    wet = NonSpeechSource("q_in_pink10", "effects", 5, boom, gain_db=-10.0, room="pink10")
    a, b = (int16_to_float32(load_pcm(materialize(src, tmp_path))) for src in (quiet, wet))
    assert b - a == pytest.approx(noise_bed("pink", a.size / 16000, 10.0), abs=2.5 / 32768)
    seq = NonSpeechSource("seq", "sequence", 60, parts=(boom, boom))
    seq_wet = NonSpeechSource("seq_in_reverb", "sequence", 60, parts=(boom, boom), room="reverb")
    dry_n, wet_n = (load_pcm(materialize(src, tmp_path)).size for src in (seq, seq_wet))
    assert dry_n == wet_n


def test_games_set_holds_every_room_and_level_and_renders_midi_the_same_each_run(tmp_path):
    """``--set games``: each source at its level, 20 dB down, in ``reverb``'s room and under
    ``pink10``'s noise; no sound named as a voice; a MIDI tune renders to the same audio twice
    (skipped where fluidsynth or its soundfont is not installed)."""
    import shutil

    from bench_nonspeech import GAME_VOICES, SOUNDFONT, NonSpeechSource, games_sources, materialize

    srcs = games_sources()
    assert {(s.gain_db, s.room) for s in srcs} == {(0.0, ""), (-20.0, ""), (0.0, "reverb"),
                                                   (0.0, "pink10")}
    assert not {p.stem for s in srcs for p in s.parts} & GAME_VOICES
    assert len({s.name for s in srcs}) == len(srcs)
    midi = [s for s in srcs if s.kind == "midi" and not s.gain_db and not s.room]
    gone = NonSpeechSource("gone", "midi", 5, tmp_path / "no.mid")
    assert materialize(gone, tmp_path) is None
    if not midi or not shutil.which("fluidsynth") or not SOUNDFONT.exists():
        pytest.skip("needs openttd-openmsx, fluidsynth and fluid-soundfont-gm")
    tune = NonSpeechSource("tune", "midi", 5, midi[0].path)
    a = materialize(tune, tmp_path).read_bytes()
    assert materialize(tune, tmp_path).read_bytes() == a
    assert len(a) == 44 + 5 * 16000 * 2  # a 44-byte header, 5 s of int16
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tune.wav"]  # the rendering is gone


def test_arcade_set_holds_every_room_and_level_and_renders_trackers_the_same_each_run(tmp_path):
    """``--set arcade``: each source in the same four ways as ``--set games``, no sound named as
    a voice; a tracker module renders to the same audio twice and its rendering is removed; a
    sequence plays a sound PyAV cannot read as nothing (skipped where openmpt123 or the
    packages are not installed)."""
    import shutil

    from bench_nonspeech import (GAME_VOICES, NonSpeechSource, arcade_sources, materialize,
                                 render_tracker)

    srcs = arcade_sources()
    assert {(s.gain_db, s.room) for s in srcs} <= {(0.0, ""), (-20.0, ""), (0.0, "reverb"),
                                                    (0.0, "pink10")}
    assert not {p.stem for s in srcs for p in s.parts} & GAME_VOICES
    assert len({s.name for s in srcs}) == len(srcs)
    assert render_tracker(tmp_path / "no.it", tmp_path, 5) is None
    bad = tmp_path / "cut.wav"
    bad.write_bytes(b"RIFF\x00\x00")
    seq = NonSpeechSource("seq", "sequence", 3, parts=(bad,))
    size = materialize(seq, tmp_path).stat().st_size  # 1-2 s of room tone, the sound, 1 s more
    assert 44 + 2 * 16000 * 2 <= size < 44 + 3 * 16000 * 2  # room tone only
    trackers = [s for s in srcs if s.kind == "tracker" and not s.gain_db and not s.room]
    if not trackers or not shutil.which("openmpt123"):
        pytest.skip("openmpt123 or the tracker modules are not installed")
    tune = NonSpeechSource("tune", "tracker", 5, trackers[0].path)
    a = materialize(tune, tmp_path).read_bytes()
    assert materialize(tune, tmp_path).read_bytes() == a
    assert len(a) == 44 + 5 * 16000 * 2 and a[44:] != bytes(len(a) - 44)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cut.wav", "seq.wav", "tune.wav"]


def test_simulation_decodes_every_final_from_its_pause_snapshot():
    """A final's decode starts 150 ms into its pause, where the live pipeline decodes the pause
    snapshot that holds its audio; a final ended by background talk (decided 1.2 s after its
    speech) too: the segmenter snapshots the talker's speech once the talk has held the
    utterance 600 ms (end_silence_ms) past their last frame."""
    from streamer.events import Caption, WindowStarted

    def run(decided_s: float, decode_s: float = 0.5) -> list:
        r = bench.StreamRun()
        r.started[0] = WindowStarted(0, 0.0, 5.15, 0, started_wall=10.0, reason="end",
                                     speech_end_s=5.0, decided_s=decided_s)
        r.finished_wall[0] = 10.0 + decode_s
        r.captions.append(Caption("words", 0.3, 5.0, 0.0, "en", -0.3, 0.1, 1.0, 0, 0.0))
        return bench.simulate_realtime(r)

    assert run(5.6)[0][2] == pytest.approx(5.65)  # pause decode from 5.15 s, done after the end
    assert run(6.2)[0][2] == pytest.approx(6.2)  # background end: decoded during the hold
    assert run(6.2, decode_s=1.5)[0][2] == pytest.approx(7.1)  # from 5.6 s, longer than it
