"""--record: the Recorder encodes exactly what it is given; the pipeline records exactly what it
heard; the command line wires it."""

from __future__ import annotations

import math

import av
import numpy as np
import pytest

from conftest import CLIPS, load_pcm, run_cli
from streamer.errors import ExitCode, LivescribeError
from streamer.capture.recorder import Recorder


def decode(path) -> tuple[np.ndarray, int, int]:
    """``(int16 [n], sample rate, channels)`` of a file, decoded by PyAV without resampling."""
    with av.open(str(path)) as c:
        s = c.streams.audio[0]
        pcm = np.concatenate([f.to_ndarray().reshape(-1) for f in c.decode(s)])
        return pcm, s.rate, s.channels


@pytest.mark.parametrize("suffix", [".wav", ".flac", ".FLAC"])
def test_round_trip_is_exact(tmp_path, suffix):
    rng = np.random.default_rng(1)
    x = (rng.standard_normal(16000 * 2 + 77) * 4000).astype(np.int16)
    x[:100] = [-32768, 32767] * 50  # full-scale extremes survive too
    rec = Recorder(tmp_path / f"a{suffix}")
    i = 0
    for n in rng.integers(1, 2000, 200):  # uneven pieces, like frames of any size
        rec.write(x[i:i + n])
        i += n
        if i >= x.size:
            break
    rec.write(x[i:])
    rec.close()
    rec.close()  # idempotent
    y, rate, channels = decode(tmp_path / f"a{suffix}")
    assert (rate, channels, y.dtype) == (16000, 1, np.int16)
    assert y.size == x.size and np.array_equal(y, x)
    assert rec.error is None and math.isclose(rec.duration_s, x.size / 16000)


def test_writes_after_close_are_ignored_and_bad_shapes_refused(tmp_path):
    rec = Recorder(tmp_path / "a.wav")
    with pytest.raises(ValueError):
        rec.write(np.zeros(10, dtype=np.float32))
    with pytest.raises(ValueError):
        rec.write(np.zeros((10, 2), dtype=np.int16))
    rec.write(np.ones(480, dtype=np.int16))
    rec.close()
    rec.write(np.ones(480, dtype=np.int16))
    assert decode(tmp_path / "a.wav")[0].size == 480


def test_unknown_suffix_and_unwritable_path(tmp_path):
    with pytest.raises(LivescribeError) as e:
        Recorder(tmp_path / "a.mp3")
    assert e.value.exit_code == ExitCode.USAGE and ".flac or .wav" in str(e.value)
    with pytest.raises(LivescribeError) as e:
        Recorder(tmp_path / "no" / "such" / "dir" / "a.flac")
    assert e.value.exit_code == ExitCode.CANT_CREATE and "cannot write" in str(e.value)


@pytest.mark.model
def test_pipeline_records_what_it_heard(tmp_path):
    """The recording decodes back to the replayed clip: same samples, length within one VAD
    frame (the segmenter never reads a last partial frame)."""
    from conftest import tiny_config
    from streamer.capture.sources import FileSource
    from streamer.config import OutputOptions
    from streamer.events import Caption
    from streamer.pipeline import Pipeline

    clip = CLIPS["jfk"][0]
    out = tmp_path / "heard.flac"
    config = tiny_config(output=OutputOptions(record=str(out)))
    p = Pipeline(config, lambda ring: FileSource(clip, ring, speed=math.inf))
    captions = [ev for ev in p.events() if isinstance(ev, Caption)]
    assert captions and p.error is None and p.recorder.closed
    original = load_pcm(clip)
    y, rate, channels = decode(out)
    assert (rate, channels) == (16000, 1)
    frame = config.vad.frame_samples
    assert original.size - frame < y.size <= original.size
    assert np.array_equal(y, original[:y.size])


@pytest.mark.model
def test_cli_record_wav(tmp_path):
    out = tmp_path / "session.wav"
    r = run_cli("--file", str(CLIPS["jfk"][0]), "--model", "tiny.en", "--speed", "max",
                "--no-transcript", "--record", str(out))
    assert r.returncode == 0, r.stderr
    assert "country" in r.stdout.lower() and "error" not in r.stderr
    original = load_pcm(CLIPS["jfk"][0])
    y, rate, _ = decode(out)
    assert rate == 16000 and original.size - 480 < y.size <= original.size
    assert np.array_equal(y, original[:y.size])


@pytest.mark.model
def test_cli_record_bad_suffix_is_a_usage_error(tmp_path):
    r = run_cli("--file", str(CLIPS["jfk"][0]), "--model", "tiny.en", "--no-transcript",
                "--record", str(tmp_path / "x.ogg"))
    assert r.returncode == 2 and r.stdout == ""
    assert len(r.stderr.strip().splitlines()) == 1 and ".flac or .wav" in r.stderr
