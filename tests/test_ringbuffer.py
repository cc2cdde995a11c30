import threading
import time

import numpy as np
import pytest

from streamer.capture.ringbuffer import RingBuffer


def test_fifo_across_wraparound():
    rb = RingBuffer(capacity_s=0.01)  # 160 samples
    data = np.arange(1000, dtype=np.int16)
    out = []
    for i in range(0, 1000, 100):
        assert rb.write(data[i:i + 100])
        got = rb.read(100, timeout=0)
        assert got is not None
        out.append(got[0])
    assert np.array_equal(np.concatenate(out), data)
    assert rb.overruns == 0


def test_full_buffer_refuses_and_counts_never_overwrites():
    rb = RingBuffer(capacity_s=0.01)  # 160 samples
    assert rb.write(np.full(100, 1, np.int16))
    assert not rb.write(np.full(100, 2, np.int16))  # no room: refused
    assert rb.overruns == 1 and rb.overrun_samples == 100
    samples, _ = rb.read(100, timeout=0)
    assert (samples == 1).all()  # the unread audio was not overwritten
    assert rb.write(np.full(100, 3, np.int16))
    assert (rb.read(100, timeout=0)[0] == 3).all()


def test_capture_time_of_last_sample_is_interpolated_within_block():
    rb = RingBuffer(capacity_s=1)
    rb.write(np.zeros(480, np.int16), captured_wall=100.0)  # last sample heard at t=100
    s, t = rb.read(160, timeout=0)
    assert t == pytest.approx(100.0 - 320 / 16000)
    s, t = rb.read(320, timeout=0)
    assert t == pytest.approx(100.0)


def test_close_drains_then_ends():
    rb = RingBuffer(capacity_s=1)
    rb.write(np.ones(500, np.int16))
    rb.close()
    assert rb.read(480, timeout=0) is not None
    assert rb.read(480, timeout=0) is None  # 20 samples left: less than a frame
    assert not rb.write(np.ones(10, np.int16))


def test_reader_waits_for_writer_and_write_wait_blocks_until_room():
    rb = RingBuffer(capacity_s=0.01)  # 160 samples
    got = []

    def consumer():
        while (item := rb.read(80)) is not None:
            got.append(item[0].copy())
            time.sleep(0.001)

    t = threading.Thread(target=consumer)
    t.start()
    data = np.arange(8000, dtype=np.int16)
    for i in range(0, 8000, 80):
        assert rb.write_wait(data[i:i + 80])
    rb.close()
    t.join(5)
    assert np.array_equal(np.concatenate(got), data)
    assert rb.overruns == 0
