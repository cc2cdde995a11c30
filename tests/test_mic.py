"""Microphone source without a sound card: a fake sounddevice module drives the real MicSource.

The fake stands in for PortAudio only (device list, format checks, the stream); selection,
format choice, the callback, the capture thread, downmix and soxr resampling are the real code,
fed real speech. The same code against real PortAudio is in test_live.py.
"""

from __future__ import annotations

import builtins
import sys
import threading
import tracemalloc
import types

import numpy as np
import pytest

from conftest import CLIPS, in_order, load_pcm, words
from streamer.capture import mic
from streamer.errors import DeviceError, ExitCode, LivescribeError
from streamer.capture.ringbuffer import RingBuffer


# -- a fake sounddevice ---------------------------------------------------------------------

class FakePortAudioError(Exception):
    pass


class FakeStream:
    """Records how it was opened; tests call ``callback`` / ``finished_callback`` themselves."""

    def __init__(self, sd, **kw):
        self.sd, self.kw = sd, kw
        self.callback = kw["callback"]
        self.finished_callback = kw["finished_callback"]
        self.time = 1000.0  # PortAudio stream clock, seconds
        self.active = False
        self.closed = False
        sd.streams.append(self)

    def start(self):
        self.active = True

    def stop(self, ignore_errors=True):
        self.active = False

    def close(self, ignore_errors=True):
        self.active = False
        self.closed = True


def fake_sd(devices, formats=None, default=0, open_error=None):
    """A sounddevice stand-in.

    devices: (name, max_input_channels, default_rate); formats: {index: {(rate, channels)}}
    accepted by check_input_settings (default: everything).
    """
    sd = types.SimpleNamespace(PortAudioError=FakePortAudioError, streams=[])
    sd.default = types.SimpleNamespace(device=[default, default])
    sd.query_hostapis = lambda: [{"name": "ALSA"}]
    sd.query_devices = lambda: [
        {"index": i, "name": n, "hostapi": 0, "max_input_channels": c, "default_samplerate": r}
        for i, (n, c, r) in enumerate(devices)]

    def check_input_settings(device, channels, dtype, samplerate):
        assert dtype == "int16"
        if formats is not None and (samplerate, channels) not in formats.get(device, ()):
            raise FakePortAudioError(f"Invalid sample rate/channels [{samplerate}, {channels}]")

    def input_stream(**kw):
        if open_error:
            raise FakePortAudioError(open_error)
        return FakeStream(sd, **kw)

    sd.check_input_settings = check_input_settings
    sd.InputStream = input_stream
    return sd


class Flags:
    def __init__(self, overflow=False, underflow=False):
        self.input_overflow, self.input_underflow = overflow, underflow

    def __bool__(self):
        return self.input_overflow or self.input_underflow


def time_info(adc):
    return types.SimpleNamespace(inputBufferAdcTime=adc, currentTime=adc + 0.01)


DEVICES = [("HDA Intel PCH: ALC256 Analog (hw:0,0)", 2, 48000.0),
           ("USB Audio Mic (hw:1,0)", 1, 44100.0),
           ("pulse", 32, 44100.0),
           ("default", 32, 44100.0)]


def dev_list(default=3):
    return mic.list_input_devices(fake_sd(DEVICES, default=default))


# -- device selection ---------------------------------------------------------------------------

def test_select_default_index_and_substring():
    devices = dev_list(default=3)
    assert mic.select_device(None, devices).name == "default"
    assert mic.select_device("1", devices).name == "USB Audio Mic (hw:1,0)"
    assert mic.select_device("usb", devices).index == 1
    assert mic.select_device("ALC256", devices).index == 0
    # an exact name wins over substrings ("pulse" is not ambiguous with other names)
    assert mic.select_device("Default", devices).index == 3


def test_select_errors():
    devices = dev_list()
    with pytest.raises(DeviceError, match="no input device with index 9") as e:
        mic.select_device("9", devices)
    assert e.value.exit_code == ExitCode.UNAVAILABLE
    with pytest.raises(DeviceError, match="no input device matches 'webcam'"):
        mic.select_device("webcam", devices)
    with pytest.raises(LivescribeError, match="ambiguous") as e:
        mic.select_device("hw:", devices)
    assert e.value.exit_code == ExitCode.USAGE
    with pytest.raises(DeviceError, match="no audio input device found"):
        mic.select_device(None, [])


def test_output_only_devices_are_not_listed():
    sd = fake_sd([("HDMI out", 0, 48000.0), ("mic", 1, 16000.0)], default=1)
    assert [(d.index, d.name, d.is_default) for d in mic.list_input_devices(sd)] == [(1, "mic", True)]


def test_devices_listing(monkeypatch, capsys):
    from tui import cli

    monkeypatch.setattr(mic, "import_sounddevice", lambda: fake_sd(DEVICES, default=3))
    assert cli.main(["devices"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4
    assert lines[3].startswith("*") and "default" in lines[3] and "44100 Hz" in lines[3]
    assert not lines[0].startswith("*") and "ALC256" in lines[0] and "ALSA" in lines[0]
    assert "2 ch" in lines[0] and "48000 Hz" in lines[0]


def test_devices_json_shape(monkeypatch, capsys):
    """``livescribe devices --json``: one JSON array, an object per input device with its
    index, name, host API, channels, default rate and whether it is the default."""
    import json

    from tui import cli

    monkeypatch.setattr(mic, "import_sounddevice", lambda: fake_sd(DEVICES, default=3))
    assert cli.main(["-v", "devices", "--json"]) == 0
    out = capsys.readouterr()
    rows = json.loads(out.out)
    assert isinstance(rows, list) and len(rows) == 4
    for row in rows:
        assert set(row) == {"index", "name", "hostapi", "channels", "default_rate_hz",
                            "is_default"}
        assert isinstance(row["index"], int) and isinstance(row["channels"], int)
        assert isinstance(row["default_rate_hz"], float)
    assert [r["is_default"] for r in rows] == [False, False, False, True]
    assert rows[0]["hostapi"] == "ALSA" and rows[0]["channels"] == 2


# -- failures a user meets ----------------------------------------------------------------------

def test_no_portaudio_is_one_clear_line(monkeypatch, capsys):
    real_import = builtins.__import__

    def no_portaudio(name, *args, **kwargs):
        if name == "sounddevice":
            raise OSError("PortAudio library not found")  # what sounddevice raises
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "sounddevice", raising=False)
    monkeypatch.setattr(builtins, "__import__", no_portaudio)
    with pytest.raises(DeviceError, match="libportaudio2"):
        mic.import_sounddevice()

    from tui import cli

    assert cli.main(["--model", "tiny.en"]) == ExitCode.UNAVAILABLE
    assert cli.main(["devices"]) == ExitCode.UNAVAILABLE
    err = capsys.readouterr()
    assert err.out == ""
    lines = err.err.splitlines()
    assert len(lines) == 2
    assert all(ln.startswith("livescribe: error: PortAudio library not found") for ln in lines)
    assert all("apt-get install libportaudio2" in ln for ln in lines)


def test_no_input_device():
    sd = fake_sd([("HDMI out", 0, 48000.0)], default=-1)
    with pytest.raises(DeviceError, match="no audio input device found") as e:
        mic.MicSource(RingBuffer(1.0), sd=sd)
    assert e.value.exit_code == ExitCode.UNAVAILABLE


def test_busy_device():
    sd = fake_sd(DEVICES, open_error="Error opening InputStream: Device unavailable [PaErrorCode -9985]")
    with pytest.raises(DeviceError, match="Device unavailable.*busy") as e:
        mic.MicSource(RingBuffer(1.0), device="usb", sd=sd)
    assert e.value.exit_code == ExitCode.UNAVAILABLE


def test_channel_out_of_range():
    with pytest.raises(LivescribeError, match="--channel 3") as e:
        mic.MicSource(RingBuffer(1.0), device="usb", channel=3, sd=fake_sd(DEVICES))
    assert e.value.exit_code == ExitCode.CONFIG


# -- format choice ----------------------------------------------------------------------------

def test_opens_16k_mono_when_the_device_takes_it():
    ring = RingBuffer(1.0)
    sd = fake_sd(DEVICES, default=3)
    src = mic.MicSource(ring, sd=sd)
    kw = sd.streams[0].kw
    assert (kw["samplerate"], kw["channels"], kw["dtype"]) == (16000, 1, "int16")
    assert kw["blocksize"] == 320  # 20 ms
    assert src._raw is ring  # the callback writes the pipeline's ring directly
    assert src.start_before_model


def test_falls_back_to_native_rate_and_channels():
    sd = fake_sd(DEVICES, formats={0: {(48000, 2)}, 1: {(44100, 1)}})
    src = mic.MicSource(RingBuffer(1.0), device="0", sd=sd)
    assert (src.rate_hz, src.channels) == (48000, 2)
    assert sd.streams[0].kw["blocksize"] == 960
    assert "downmixed" in src.description
    src = mic.MicSource(RingBuffer(1.0), device="usb", sd=sd)
    assert (src.rate_hz, src.channels) == (44100, 1)
    with pytest.raises(DeviceError, match="accepts no usable format"):
        mic.MicSource(RingBuffer(1.0), device="usb", rate_hz=16000, sd=sd)


# -- the callback ---------------------------------------------------------------------------

def test_callback_copies_block_and_counts_flags(caplog):
    ring = RingBuffer(0.05)  # 800 samples: room for two 320-sample blocks
    sd = fake_sd(DEVICES, default=3)
    src = mic.MicSource(ring, sd=sd)
    src._clock_offset = -900.0  # monotonic = stream clock - 900 s
    cb = sd.streams[0].callback
    a = np.arange(320, dtype=np.int16).reshape(320, 1)
    b = -np.arange(320, dtype=np.int16).reshape(320, 1)
    with caplog.at_level("DEBUG"):
        cb(a, 320, time_info(1000.0), Flags())
        cb(b, 320, time_info(1000.02), Flags(overflow=True))
        cb(a, 320, time_info(1000.04), Flags(underflow=True))  # no room: refused, counted
    assert caplog.records == []  # no logging in the callback
    assert (src.callbacks, src.input_overflows, src.input_underflows) == (3, 1, 1)
    assert ring.overruns == 1 and ring.overrun_samples == 320
    a[:] = 7  # the ring holds a copy, not a view of PortAudio's buffer
    out, wall = ring.read(640)
    assert np.array_equal(out, np.concatenate([np.arange(320), -np.arange(320)]))
    # capture time of the last sample: ADC time of the block + offset + 319 samples
    assert wall == pytest.approx(1000.02 - 900.0 + 319 / 16000)


def test_callback_allocates_no_block_sized_memory():
    sd = fake_sd(DEVICES, formats={0: {(48000, 2)}})
    src = mic.MicSource(RingBuffer(1.0), device="0", sd=sd)
    cb = sd.streams[0].callback
    block = np.ones((960, 2), dtype=np.int16)  # 3840 bytes
    flags, info = Flags(), time_info(1000.0)
    cb(block, 960, info, flags)  # warm up
    tracemalloc.start()
    try:
        for _ in range(20):
            tracemalloc.reset_peak()
            before = tracemalloc.get_traced_memory()[0]
            cb(block, 960, info, flags)
            peak = tracemalloc.get_traced_memory()[1] - before
            assert peak < block.nbytes // 4, f"callback allocated {peak} bytes"
    finally:
        tracemalloc.stop()
    assert src._raw.available == 21 * 960 * 2


def test_paused_blocks_are_discarded():
    ring = RingBuffer(1.0)
    sd = fake_sd(DEVICES, default=3)
    src = mic.MicSource(ring, sd=sd)
    src.pause(True)
    sd.streams[0].callback(np.ones((320, 1), np.int16), 320, time_info(1000.0), Flags())
    assert ring.available == 0 and ring.overruns == 0


# -- conversion on real speech ----------------------------------------------------------------

def _resample_with_ffmpeg(pcm16k: np.ndarray, rate: int) -> np.ndarray:
    """int16 [n] at 16 kHz -> int16 [m] at ``rate`` with FFmpeg's swresample (independent of soxr)."""
    import av

    frame = av.AudioFrame.from_ndarray(pcm16k[None, :], format="s16", layout="mono")
    frame.sample_rate = 16000
    rs = av.AudioResampler(format="s16", layout="mono", rate=rate)
    out = [f.to_ndarray().reshape(-1) for f in rs.resample(frame)]
    out += [f.to_ndarray().reshape(-1) for f in rs.resample(None)]
    return np.concatenate(out)


def _convert_in_blocks(conv: mic.ToMono16k, frames: np.ndarray, block: int) -> np.ndarray:
    out = [conv.process(frames[i:i + block]) for i in range(0, len(frames), block)]
    out.append(conv.process(frames[:0], last=True))
    return np.concatenate(out)


def _corr(x: np.ndarray, y: np.ndarray) -> float:
    n = min(len(x), len(y))
    return float(np.corrcoef(x[:n].astype(np.float64), y[:n].astype(np.float64))[0, 1])


@pytest.mark.parametrize("rate", [44100, 48000])
def test_downmix_and_resample_real_speech(rate):
    speech = load_pcm(CLIPS["jfk"][0])
    other = load_pcm(CLIPS["librispeech"][0])[:len(speech)]
    other = np.pad(other, (0, len(speech) - len(other)))
    left, right = _resample_with_ffmpeg(speech, rate), _resample_with_ffmpeg(other, rate)
    n = min(len(left), len(right))
    stereo = np.stack([left[:n], right[:n]], axis=1)  # int16 [n, 2] at `rate`
    block = rate * mic.BLOCK_MS // 1000

    mixed = _convert_in_blocks(mic.ToMono16k(rate, 2), stereo, block)
    expected_mix = (speech.astype(np.float32) + other) / 2
    assert abs(len(mixed) - len(speech)) <= 2  # one 16 kHz sample out per rate/16000 in
    assert _corr(mixed, expected_mix) > 0.99

    left_only = _convert_in_blocks(mic.ToMono16k(rate, 2, channel=1), stereo, block)
    right_only = _convert_in_blocks(mic.ToMono16k(rate, 2, channel=2), stereo, block)
    assert _corr(left_only, speech) > 0.99
    assert _corr(right_only, other) > 0.99
    assert abs(_corr(left_only, other)) < 0.2  # the channels really are kept apart
    # level is preserved (no int16 scaling mistakes): RMS within 2 %
    rms = lambda x: float(np.sqrt(np.mean(x.astype(np.float64) ** 2)))
    assert rms(left_only) == pytest.approx(rms(speech), rel=0.02)


def test_16k_stereo_downmixes_without_resampler():
    conv = mic.ToMono16k(16000, 2)
    block = np.array([[100, 300], [-32768, -32768], [32767, 32767]], dtype=np.int16)
    assert conv.delay_s == 0.0
    assert conv.process(block).tolist() == [200, -32768, 32767]


# -- the whole source, capture thread included, on real speech at 48 kHz stereo -------------------

def _feed(sd_stream, stereo: np.ndarray, rate: int, block: int) -> None:
    """Play ``int16 [n, 2]`` into the fake stream's callback, block by block, then finish."""
    t = 1000.0
    for i in range(0, len(stereo) - block + 1, block):
        sd_stream.callback(stereo[i:i + block], block, time_info(t), Flags())
        t += block / rate


def test_mic_source_48k_stereo_to_ring_real_speech(monkeypatch):
    monkeypatch.setattr(mic, "RAW_RING_S", 30.0)  # the fake plays faster than real time
    speech = load_pcm(CLIPS["jfk"][0])
    left = _resample_with_ffmpeg(speech, 48000)
    stereo = np.stack([left, np.zeros_like(left)], axis=1)
    ring = RingBuffer(30.0)
    sd = fake_sd([("USB stereo mic", 2, 48000.0)], formats={0: {(48000, 2)}})
    src = mic.MicSource(ring, sd=sd)
    src.start()
    feeder = threading.Thread(target=_feed, args=(sd.streams[0], stereo, 48000, 960))
    feeder.start()
    feeder.join()
    src.stop()
    src.join(10)
    assert src.error is None and ring.closed and sd.streams[0].closed
    got = []
    while (item := ring.read(320)) is not None:
        got.append(item[0])
    got = np.concatenate(got)
    assert abs(len(got) - len(speech)) <= 320
    # downmix of (speech, silence) = speech / 2
    assert _corr(got, speech) > 0.99
    assert src.raw_overruns == 0 and ring.overruns == 0


def test_device_that_stops_ends_capture_with_error():
    ring = RingBuffer(1.0)
    sd = fake_sd(DEVICES, default=3)
    src = mic.MicSource(ring, sd=sd)
    src.start()
    sd.streams[0].callback(np.ones((320, 1), np.int16), 320, time_info(1000.0), Flags())
    sd.streams[0].active = False
    sd.streams[0].finished_callback()  # PortAudio: the stream ended (device gone)
    src.join(10)
    assert isinstance(src.error, DeviceError) and "stopped delivering audio" in str(src.error)
    assert src.error.exit_code == ExitCode.UNAVAILABLE
    assert ring.closed and ring.available == 320  # what was captured is kept


@pytest.mark.model
def test_pipeline_transcribes_48k_stereo_mic(monkeypatch):
    """The pipeline on MicSource (fake PortAudio, real callback path): the words come out."""
    from conftest import tiny_config
    from streamer.events import Caption
    from streamer.pipeline import Pipeline

    monkeypatch.setattr(mic, "STALL_S", 1e9)  # the fake device is silent once the clip is played
    sd = fake_sd([("USB stereo mic", 2, 48000.0)], formats={0: {(48000, 2)}})
    speech = load_pcm(CLIPS["ljspeech"][0])
    speech = np.concatenate([np.zeros(8000, np.int16), speech, np.zeros(16000, np.int16)])
    side = _resample_with_ffmpeg(speech, 48000)
    stereo = np.stack([side, side], axis=1)

    def play_then_stop():
        _feed(sd.streams[0], stereo, 48000, 960)
        pipeline.stop()

    feeder = threading.Thread(target=play_then_stop)

    def make_source(ring):
        src = mic.MicSource(ring, sd=sd)
        start = src.start
        src.start = lambda: (start(), feeder.start())  # the device plays once capture runs
        return src

    pipeline = Pipeline(tiny_config(), make_source)
    captions = [ev.text for ev in pipeline.events() if isinstance(ev, Caption)]
    feeder.join()
    assert pipeline.error is None
    assert pipeline.ring.overruns == 0
    got = words(" ".join(captions))
    assert in_order(["first", "importance", "letter", "used", "should", "fine"], got), " ".join(got)
