"""The shared inference scheduler's policy, with a fake decoder (fast tier).

One scheduler thread serves several :class:`InferenceWorker` sessions: finals before partials,
round robin between sessions, batches of finals of different sessions, a full queue holding back
only its own session, a load failure reaching every session. The model load or a decode is held
by the test (an event) wherever an order must be certain: nothing races a clock.
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import replace

import numpy as np
import pytest

from conftest import queued
from streamer.decoding.decoder import DecodingOptions
from streamer.decoding.result import DecodeResult
from streamer.decoding.filter_options import FilterOptions
from streamer.decoding.scheduler import Scheduler
from streamer.decoding.worker import InferenceWorker
from streamer.errors import ExitCode, LivescribeError
from streamer.events import Caption, ModelReady, Partial
from streamer.segmentation.window import SpeechWindow

BOUND_S = 30  #: bounds a hang only


def window(session: int, index: int, reason: str = "end", seconds: float = 1.0) -> SpeechWindow:
    """A voiced-like window (passes the gate) whose first sample names its session and index."""
    t = np.arange(int(seconds * 16000)) / 16000
    audio = (np.sin(2 * np.pi * 220 * t) * 3000).astype(np.int16)
    audio[0] = session * 100 + index
    return SpeechWindow(index=index, audio=audio, start_s=float(index), end_s=index + seconds,
                        voiced_s=seconds, captured_wall=0.0, reason=reason,
                        speech_start_s=float(index), speech_end_s=index + seconds,
                        confirmed_s=seconds, peak_speech_prob=0.9)


class FakeModel:
    """What the scheduler and its sessions need of a warm decoder, decoding instantly: each
    decode is logged as ``(kind, session, index)`` and its text is ``"s<session> w<index>"``.
    ``hold`` (an event) holds every decode until set; ``entered`` is set by the first one."""

    def __init__(self, log: list, hold: threading.Event | None = None) -> None:
        from types import SimpleNamespace

        self.log = log
        self.hold = hold
        self.entered = threading.Event()
        self.spec = SimpleNamespace(name="fake", device="cpu", cpu_threads=1)
        self.model = SimpleNamespace(model=SimpleNamespace(compute_type="int8"))
        self.options = DecodingOptions(language="en")
        self.load_s = self.warmup_s = 0.0
        self.multilingual = False
        self.language = "en"
        self.views = 0
        self.yield_to = None  # set by the scheduler (WindowDecoder.yield_to)

    def for_session(self, options):
        self.views += 1
        return self

    def decode(self, audio, speech_s=None, previous_text=None, prefix=None, first=None,
               interim=False, language=None):
        tag = int(round(audio[0] * 32768))
        kind = "partial" if len(audio) < 16000 else "final"
        self.log.append((kind, tag // 100, tag % 100))
        self.entered.set()
        if self.hold is not None:
            assert self.hold.wait(BOUND_S)
        return DecodeResult(text=f"s{tag // 100} w{tag % 100}", language="en", avg_logprob=-0.2,
                            no_speech_prob=0.01, compression_ratio=1.1, feature_s=0.0,
                            encode_s=0.0, decode_s=0.0)

    def vote_language(self, result, speech_s=None) -> None:
        pass


#: the scheduling tests' windows follow each other closely, so each would also be decoded after
#: the one before (:mod:`streamer.decoding.context`); the order of service is in the decodes' log
NO_CONTEXT = DecodingOptions(language="en", context_gap_s=0.0)


def session(scheduler: Scheduler, partials: bool = False, queue_size: int = 16,
            decoding: DecodingOptions = NO_CONTEXT,
            ) -> tuple[InferenceWorker, queue.Queue]:
    events: queue.Queue = queue.Queue()
    w = InferenceWorker(lambda: None, decoding, FilterOptions(),
                        queue.Queue(queue_size), events, partials=partials,
                        scheduler=scheduler)
    return w, events


@pytest.fixture
def held_load():
    """A scheduler whose model load waits for ``go``: sessions attach and queue their windows
    first, so the order of service is decided by the policy alone."""
    go = threading.Event()
    log: list = []
    model = FakeModel(log)

    def load():
        assert go.wait(BOUND_S)
        return model

    s = Scheduler(load)
    s.start()
    yield s, go, model, log
    go.set()
    s.stop()
    s.join(BOUND_S)


def test_sessions_are_served_in_turn(held_load):
    sched, go, model, log = held_load
    a, ea = session(sched)
    b, eb = session(sched)
    for w in (a, b):
        w.start()
    for i in range(3):
        a.put(window(1, i))
    for i in range(2):
        b.put(window(2, i))
    a.put(None)
    b.put(None)
    go.set()
    a.join(BOUND_S)
    b.join(BOUND_S)
    assert a.done.is_set() and b.done.is_set()
    assert log == [("final", 1, 0), ("final", 2, 0), ("final", 1, 1), ("final", 2, 1),
                   ("final", 1, 2)]
    # each session's captions hold its own windows only, after its ModelReady
    for events, sid, n in ((ea, 1, 3), (eb, 2, 2)):
        evs = queued(events)
        assert isinstance(evs[0], ModelReady)
        assert [c.text for c in evs if isinstance(c, Caption)] == \
            [f"s{sid} w{i}" for i in range(n)]
    assert model.views == 2  # one view of the model per session
    assert sched.sessions() == [] and sched.stats().finals == 5


def test_finals_of_any_session_come_before_partials(held_load):
    sched, go, model, log = held_load
    a, ea = session(sched, partials=True)
    b, eb = session(sched)
    a.start()
    b.start()
    a.offer(window(1, 0, reason="partial", seconds=0.5))  # a snapshot of a's open utterance
    b.put(window(2, 0))  # a final of b, queued after it
    b.put(window(2, 1))
    go.set()
    b.put(None)
    b.join(BOUND_S)
    # a's end is a final too: queue it only once the partial is decoded
    deadline = time.monotonic() + BOUND_S  # bounds a hang only
    while ("partial", 1, 0) not in log and time.monotonic() < deadline:
        time.sleep(0.01)
    a.put(None)
    a.join(BOUND_S)
    assert log == [("final", 2, 0), ("final", 2, 1), ("partial", 1, 0)]
    assert [p.text for p in queued(ea) if isinstance(p, Partial)] == ["s1 w0"]


def test_a_full_queue_holds_back_its_own_session_only():
    """Session a's queue (one window) is full while the model is busy with a's first window:
    a's producer waits (backpressure), b's windows still queue, and all are decoded in turn."""
    log: list = []
    hold = threading.Event()
    model = FakeModel(log, hold)
    sched = Scheduler(lambda: model)
    sched.start()
    a, _ = session(sched, queue_size=1)
    b, _ = session(sched)
    a.start()
    b.start()
    a.put(window(1, 0))
    assert model.entered.wait(BOUND_S)  # the model is busy with a's first window
    a.put(window(1, 1))  # fills a's queue
    blocked = threading.Thread(target=a.put, args=(window(1, 2),), daemon=True)
    blocked.start()
    b.put(window(2, 0))  # another session is not held back
    assert b.windows.qsize() == 1 and a.windows.full()
    blocked.join(0.2)
    assert blocked.is_alive()  # a's producer waits for room; nothing was dropped
    hold.set()
    blocked.join(BOUND_S)
    for w in (a, b):
        w.put(None)
        w.join(BOUND_S)
    sched.stop()
    sched.join(BOUND_S)
    assert sorted(log) == [("final", 1, 0), ("final", 1, 1), ("final", 1, 2), ("final", 2, 0)]
    assert log.index(("final", 2, 0)) < log.index(("final", 1, 2))  # b's turn came between


def test_a_behind_session_decodes_its_backlog_window_by_window(held_load):
    """Three windows queued before the model is ready: three decodes, three captions, in order
    (a backlog is never joined into one decode, which loses whole utterances)."""
    sched, go, model, log = held_load
    a, ea = session(sched)
    a.start()
    for i in range(3):
        a.put(window(1, i))
    a.put(None)
    go.set()
    a.join(BOUND_S)
    assert log == [("final", 1, 0), ("final", 1, 1), ("final", 1, 2)]
    caps = [e for e in queued(ea) if isinstance(e, Caption)]
    assert [(c.window_index, c.utterance_id, c.text) for c in caps] == [
        (i, i, f"s1 w{i}") for i in range(3)]


def test_finals_of_different_sessions_are_batched(held_load, monkeypatch):
    """batch_size 2: one batch holds one window from each of two sessions, never two of one."""
    import streamer.decoding.batch as batch

    sched, go, model, log = held_load
    sched.batch_size = 2
    batches: list[list[tuple[int, int]]] = []

    def fake_batch(jobs):
        tags = [int(round(j.audio[0] * 32768)) for j in jobs]
        batches.append([(t // 100, t % 100) for t in tags])
        return [DecodeResult(text=f"s{t // 100} w{t % 100} batched", language="en",
                             avg_logprob=-0.2, no_speech_prob=0.01, compression_ratio=1.1,
                             feature_s=0.0, encode_s=0.0, decode_s=0.0) for t in tags]

    monkeypatch.setattr(batch, "decode_batch", fake_batch)
    a, ea = session(sched)
    b, eb = session(sched)
    a.start()
    b.start()
    for i in range(2):
        a.put(window(1, i))
    b.put(window(2, 0))
    a.put(None)
    b.put(None)
    go.set()
    a.join(BOUND_S)
    b.join(BOUND_S)
    assert batches == [[(1, 0), (2, 0)]]
    assert log == [("final", 1, 1)]  # alone in its turn: the ordinary decode
    assert [c.text for c in queued(ea) if isinstance(c, Caption)] == ["s1 w0 batched", "s1 w1"]
    assert [c.text for c in queued(eb) if isinstance(c, Caption)] == ["s2 w0 batched"]
    st = sched.stats()
    assert (st.batches, st.batched, st.finals) == (1, 2, 3)


def test_a_load_failure_reaches_every_session():
    def load():
        raise LivescribeError("no such model", ExitCode.UNAVAILABLE)

    sched = Scheduler(load)
    a, _ = session(sched)
    a.start()  # attached while loading
    sched.start()
    assert a.ready.wait(BOUND_S) and a.error is not None and "no such model" in str(a.error)
    b, _ = session(sched)
    b.start()  # attached after the failure
    assert b.error is not None and b.done.is_set()
    sched.join(BOUND_S)


def test_a_language_the_model_cannot_decode_fails_that_session_only():
    model = FakeModel([])

    def refuse(options):
        if options.language == "fr":
            raise LivescribeError("model 'fake' is English-only", ExitCode.UNAVAILABLE)
        return model

    model.for_session = refuse
    sched = Scheduler(lambda: model)
    sched.start()
    assert sched.ready.wait(BOUND_S)
    ok, _ = session(sched)
    events: queue.Queue = queue.Queue()
    fr = InferenceWorker(lambda: None, DecodingOptions(language="fr"), FilterOptions(),
                         queue.Queue(), events, scheduler=sched)
    ok.start()
    fr.start()
    assert fr.error is not None and fr.done.is_set() and ok.error is None
    assert sched.sessions() == [ok]
    ok.put(None)
    ok.join(BOUND_S)
    sched.stop()
    sched.join(BOUND_S)


def test_pause_decodes_of_any_session_come_before_partials(held_load):
    """A pause snapshot makes its final free; a partial only refreshes interim text."""
    sched, go, model, log = held_load
    a, _ = session(sched, partials=True)
    b, _ = session(sched, partials=True)
    a.start()
    b.start()
    a.offer(window(1, 0, reason="partial", seconds=0.5))  # a is first in turn...
    b.offer(window(2, 0, reason="pause", seconds=0.5))  # ...but b's pause decode goes first
    go.set()
    deadline = time.monotonic() + BOUND_S  # bounds a hang only
    while len(log) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert log == [("partial", 2, 0), ("partial", 1, 0)]
    for w in (a, b):
        w.put(None)
        w.join(BOUND_S)


def test_a_partial_gives_way_after_its_encode_when_a_final_or_a_pause_comes(held_load):
    """A partial decode is running (held) when a pause snapshot of its own utterance and a
    final of another session come: asked after its encode (the fake's point for
    ``batch.decode_many``'s check), it gives way and is counted skipped; the final, then the
    pause decode, follow."""
    from streamer.decoding.batch import Abandoned

    sched, go, model, log = held_load
    hold = model.hold = threading.Event()
    real = model.decode

    def decode(audio, *args, interim=False, **kwargs):
        r = real(audio, *args, interim=interim, **kwargs)  # held until ``hold`` is set
        if interim and model.yield_to is not None and model.yield_to():
            raise Abandoned("interim decode given up")
        return r

    model.decode = decode
    a, ea = session(sched, partials=True)
    b, _ = session(sched)
    a.start()
    b.start()
    a.offer(window(1, 0, reason="partial", seconds=0.5))
    go.set()
    assert model.entered.wait(BOUND_S)  # the partial is being decoded
    assert not sched._pause_waits()  # nothing else waits yet
    a.offer(window(1, 0, reason="pause", seconds=0.6))  # a pause of the same utterance
    assert sched._pause_waits()
    b.put(window(2, 0))  # and a final of b
    hold.set()
    deadline = time.monotonic() + BOUND_S  # bounds a hang only
    while len(log) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert log == [("partial", 1, 0), ("final", 2, 0), ("partial", 1, 0)]
    for w in (a, b):
        w.put(None)
        w.join(BOUND_S)
    assert a.partials_skipped == 1  # the partial given up
    assert [p.text for p in queued(ea) if isinstance(p, Partial)] == ["s1 w0"]  # the pause's


def test_a_detached_session_is_served_no_more(held_load):
    sched, go, model, log = held_load
    a, _ = session(sched)
    b, _ = session(sched)
    a.start()
    b.start()
    a.put(window(1, 0))
    b.put(window(2, 0))
    sched.detach(a)  # its consumer is gone: what it queued is not decoded
    assert a.done.is_set()
    go.set()
    b.put(None)
    b.join(BOUND_S)
    assert log == [("final", 2, 0)] and sched.sessions() == []


def test_a_session_detached_during_its_last_decode_is_let_go_once():
    """``detach`` (the consumer left) while the scheduler decodes a session's last window, its
    end queued behind it: the session is let go once, its end never taken, and no error."""
    log: list = []
    hold = threading.Event()
    model = FakeModel(log, hold)
    sched = Scheduler(lambda: model)
    sched.start()
    a, _ = session(sched)
    b, _ = session(sched)
    a.start()
    b.start()
    a.put(window(1, 0))
    a.put(None)
    assert model.entered.wait(BOUND_S)  # decoding a's last window
    sched.detach(a)
    hold.set()
    b.put(window(2, 0))
    b.put(None)
    b.join(BOUND_S)  # served after a's step: that step is over
    assert b.done.is_set() and sched.stats().errors == 0 and sched.sessions() == []
    sched.stop()
    sched.join(BOUND_S)


def test_word_times_are_aligned_only_for_a_kept_caption():
    """With ``word_timestamps``, a decode's ``align`` runs once it becomes a caption, never for
    a partial's decode; without, never."""
    aligned: list[str] = []

    class Aligning(FakeModel):
        def decode(self, audio, *a, **kw):
            r = super().decode(audio, *a, **kw)
            return replace(r, align=lambda: aligned.append(r.text) or ())

    model = Aligning([])
    sched = Scheduler(lambda: model)
    a, events = session(sched, partials=True,
                        decoding=replace(NO_CONTEXT, word_timestamps=True))
    a.bind(model, ModelReady("fake", "cpu", "int8", 1, 1, 0.0, 0.0, False))
    a.handle_snapshot(window(1, 0, reason="partial", seconds=0.5))
    assert [p.text for p in queued(events) if isinstance(p, Partial)] == ["s1 w0"]
    assert aligned == []  # a partial's decode is not aligned
    a.handle_final(window(1, 0))
    assert [c.text for c in queued(events) if isinstance(c, Caption)] == ["s1 w0"]
    assert aligned == ["s1 w0"]  # the final's, once
    b, events = session(sched, partials=True)  # word times off: nothing is aligned
    b.bind(model, ModelReady("fake", "cpu", "int8", 1, 1, 0.0, 0.0, False))
    b.handle_final(window(1, 0))
    assert [c.words for c in queued(events) if isinstance(c, Caption)] == [()]
    assert aligned == ["s1 w0"]
