"""A worker slower than real time: the backlog is decoded window by window, nothing is lost or
blocked."""

import threading
import wave

import numpy as np
import pytest

from conftest import CLIPS, in_order, load_pcm, tiny_config, words
from streamer.config import PipelineOptions
from streamer.events import Caption, PipelineStats, WindowStarted
from streamer.pipeline import Pipeline
from streamer.capture.sources import FileSource
from streamer.decoding.worker import InferenceWorker

HANG_BOUND_S = 120  #: bounds a hang only; the test never waits on a clock


def write_wav(path, clips, gap_s: float = 1.0) -> None:
    """``clips`` (int16 at 16 kHz) with ``gap_s`` of low room tone between them, as a WAV."""
    rng = np.random.default_rng(0)
    parts = []
    for c in clips:
        parts += [(rng.standard_normal(int(gap_s * 16000)) * 30).astype(np.int16), c]
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(np.concatenate(parts).tobytes())


@pytest.mark.model
def test_held_back_worker_decodes_its_backlog_and_keeps_every_word(monkeypatch, tmp_path):
    """The first *final* is held until the segmenter has queued every window behind it, so a
    backlog is certain (not a race between replay speed and this machine's decode time). The
    source is live, so pause snapshots may be decoded too: the hold is on the final handler,
    not on the first decode (which may be a snapshot's)."""
    real_handle = InferenceWorker.handle_final
    pipeline: list[Pipeline] = []
    held = threading.Event()

    def held_handle(self, w, free=None):
        if not held.is_set():
            held.set()
            pipeline[0]._seg_thread.join(HANG_BOUND_S)  # every window is queued behind this one
            assert not pipeline[0]._seg_thread.is_alive()
        return real_handle(self, w, free)

    monkeypatch.setattr(InferenceWorker, "handle_final", held_handle)
    path = tmp_path / "three.wav"  # three utterances, so two queue behind the held one
    write_wav(path, [load_pcm(CLIPS[c][0]) for c in ("ljspeech", "librispeech", "jfk")])
    # a live (finitely paced) replay, paced so fast that it never waits for the worker;
    # the ring holds the whole file (30.2 s), so no overrun hangs on the segmenter's start
    config = tiny_config(pipeline=PipelineOptions(ring_capacity_s=60.0))
    p = Pipeline(config, lambda ring: FileSource(path, ring, speed=1e6))
    pipeline.append(p)
    events = list(p.events())
    assert p.error is None and held.is_set()
    st = [e for e in events if isinstance(e, PipelineStats)][-1]
    assert st.overruns == 0  # capture was never blocked or refused
    # windows waited behind the held final: a backlog, decoded window by window
    started = [e for e in events if isinstance(e, WindowStarted)]
    assert st.windows >= 3 and max(e.queue_depth for e in started) >= 2
    # every window is accounted for: each one started its own decode, in order
    assert len(started) == st.windows + st.windows_gated
    assert [e.window_index for e in started] == sorted(e.window_index for e in started)
    text = words(" ".join(e.text for e in events if isinstance(e, Caption)))
    assert in_order(["importance", "letter", "reader", "excuse", "native", "country",
                     "narrative", "tedious", "painful", "fellow", "americans", "country"],
                    text), " ".join(text)
