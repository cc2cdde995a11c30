"""Sources a server feeds: PCM pushed by a client (PushSource) and uploads decoded from memory."""

from __future__ import annotations

import math

import numpy as np
import pytest

from conftest import CLIPS, load_pcm
from streamer.capture.audio import duration_s
from streamer.capture.push import SILENCE_FLUSH_S, PushSource
from streamer.capture.ringbuffer import RingBuffer
from streamer.capture.sources import FileSource
from streamer.errors import InputError, LimitError


def drain(ring: RingBuffer) -> np.ndarray:
    out = []
    while (item := ring.read(160)) is not None:
        out.append(item[0])
    return np.concatenate(out) if out else np.zeros(0, np.int16)


def test_pushed_bytes_of_any_length_arrive_whole_and_in_order():
    ring = RingBuffer(10)
    src = PushSource(ring)
    pcm = (np.arange(16000) % 2000 - 1000).astype(np.int16)
    raw = pcm.astype("<i2").tobytes()
    for a, b in ((0, 1), (1, 7777), (7777, 7778), (7778, len(raw))):  # odd cuts included
        assert src.push(raw[a:b])
    src.end()
    assert np.array_equal(drain(ring), pcm) and src.received_s == 1.0
    assert not src.push(raw)  # after the end nothing is taken


def test_24khz_is_resampled_to_16khz():
    ring = RingBuffer(10)
    src = PushSource(ring, rate_hz=24000)
    t = np.arange(24000 * 2) / 24000
    tone = (np.sin(2 * np.pi * 440 * t) * 8000).astype(np.int16)
    for k in range(0, len(tone), 4800):
        src.push(tone[k:k + 4800].tobytes())
    src.end()
    out = drain(ring)
    assert abs(len(out) - 32000) <= 160  # 2 s at 16 kHz (less than one VAD read left over)
    spectrum = np.abs(np.fft.rfft(out[4000:20000].astype(np.float32)))
    assert abs(np.argmax(spectrum) * 16000 / 16000 - 440) <= 2  # still 440 Hz


def test_a_full_ring_counts_overruns_and_the_limit_raises():
    ring = RingBuffer(0.1)  # 1600 samples
    src = PushSource(ring, max_s=0.5)
    block = np.zeros(1000, np.int16).tobytes()
    assert src.push(block) and not src.push(block)  # the second does not fit: refused, counted
    assert ring.overruns == 1
    with pytest.raises(LimitError):
        for _ in range(10):
            src.push(block)
    assert isinstance(src.error, LimitError)


def test_an_end_from_another_thread_waits_for_the_push_in_progress():
    """``stop()``/``end()`` come from other threads than the pushing one: an end arriving while
    a push is resampling waits for it (the resampler never runs on two threads, nothing is
    lost or written after the close), and a push after the end is refused."""
    import threading

    ring = RingBuffer(10)
    src = PushSource(ring, rate_hz=24000)
    real, inside, go = src._resampler, threading.Event(), threading.Event()

    class HeldResampler:
        def resample_chunk(self, pcm, last=False):
            if not last:
                inside.set()
                assert go.wait(30)
            return real.resample_chunk(pcm, last=last)

    src._resampler = HeldResampler()
    pushing = threading.Thread(target=src.push, args=(np.ones(24000, np.int16).tobytes(),))
    pushing.start()
    assert inside.wait(30)  # the push is resampling
    ending = threading.Thread(target=src.end)
    ending.start()
    ending.join(0.2)
    assert ending.is_alive() and not ring.closed  # the end waits for the push
    go.set()
    pushing.join(30)
    ending.join(30)
    assert ring.closed and abs(len(drain(ring)) - 16000) <= 160  # the pushed second, whole
    assert not src.push(np.ones(2400, np.int16).tobytes())


def test_flush_pushes_a_pause_long_enough_to_end_an_utterance():
    ring = RingBuffer(10)
    src = PushSource(ring)
    src.flush()
    src.end()
    out = drain(ring)
    assert len(out) >= int(SILENCE_FLUSH_S * 16000) - 160 and not out.any()
    from streamer.segmentation.options import VadOptions

    assert SILENCE_FLUSH_S * 1000 > VadOptions().end_silence_ms  # it ends an utterance


def test_an_upload_is_decoded_from_memory_like_the_file():
    data = CLIPS["jfk"][0].read_bytes()
    assert duration_s(data) == pytest.approx(11.0, abs=0.01)
    ring = RingBuffer(30)
    src = FileSource(data, ring, speed=math.inf, name="jfk.flac")
    assert src.description == "upload jfk.flac" and src.path is None
    src.start()
    got = drain(ring)
    src.join(10)
    assert src.error is None
    full = load_pcm(CLIPS["jfk"][0])
    assert len(full) - len(got) < 160  # all of it (to a resampler's tail)
    assert np.array_equal(got, full[:len(got)])


def test_an_upload_past_the_duration_limit_stops_with_a_limit_error():
    ring = RingBuffer(30)
    src = FileSource(CLIPS["jfk"][0].read_bytes(), ring, speed=math.inf, max_s=2.0)
    src.start()
    got = drain(ring)
    src.join(10)
    assert isinstance(src.error, LimitError) and len(got) <= 2 * 16000


@pytest.mark.parametrize("data", [b"", b"RIFF not really a wav file at all"])
def test_bad_bytes_are_input_errors(data):
    with pytest.raises(InputError):
        FileSource(data, RingBuffer(1))
