"""While the model loads: the session's events keep flowing (fast tier, a held fake load)."""

from __future__ import annotations

import threading

from conftest import FakeDecoder
from streamer.config import Config, ModelRequest
from streamer.events import FragmentDropped, InputLevel, ModelReady, PipelineStats, PlanReady
from streamer.pipeline import Pipeline
from streamer.tuning.plan import plan_for

BOUND_S = 60  #: bounds a hang only
FRAGMENTS = 1500  #: more than the event queue holds (1024)


class Quiet:
    """A microphone-like source (captures before the model loads) that captures nothing."""

    description, error, live, start_before_model = "quiet", None, True, True
    rate_hz, duration_s = 16000, None

    def __init__(self, ring) -> None:
        self.ring = ring

    def start(self) -> None:
        pass

    def stop(self) -> None:
        self.ring.close()

    def pause(self, paused: bool) -> None:
        pass

    def join(self, timeout: float | None = None) -> None:
        pass


def test_events_flow_while_the_model_loads():
    """A long load with a microphone on: the level meter moves and dropped fragments come out
    while it lasts. More fragments than the event queue holds are reported before the load
    ends; undrained, they would block the segmenter and the loader's own put of the
    calibrated plan (a deadlock)."""
    go, level_seen = threading.Event(), threading.Event()
    plan = plan_for(ModelRequest(name="tiny.en"), None)[1]

    def loader(spec, decoding):
        assert go.wait(BOUND_S)
        return FakeDecoder(spec, decoding)

    p = Pipeline(Config(model=ModelRequest(name="tiny.en")), Quiet, plan=plan, loader=loader)

    def fragments():  # what the segmenter reports while the model loads
        for i in range(FRAGMENTS):
            p._fragment(i * 0.1, i * 0.1 + 0.05, 0.01)
        assert level_seen.wait(BOUND_S)
        go.set()

    thread = threading.Thread(target=fragments, daemon=True)
    events = []
    for ev in p.events():
        events.append(ev)
        if isinstance(ev, InputLevel):
            level_seen.set()
        if len(events) == 1:
            thread.start()
        if isinstance(ev, ModelReady):
            p.stop()
    thread.join(BOUND_S)
    assert p.error is None and go.is_set()
    ready = next(i for i, e in enumerate(events) if isinstance(e, ModelReady))
    before = events[:ready]
    assert sum(isinstance(e, FragmentDropped) for e in before) == FRAGMENTS
    assert any(isinstance(e, InputLevel) for e in before)
    assert any(isinstance(e, PlanReady) and e.calibrated for e in before)
    assert isinstance(events[-1], PipelineStats) and events[-1].final


class Replay(Quiet):
    """A file replayed at max speed: not live."""

    live = False


def _snapshots(source, **pipeline) -> tuple[int | None, bool, bool]:
    """(snapshot interval, worker decodes snapshots, early finals) of a pipeline's wiring."""
    from dataclasses import replace

    from streamer.config import OutputOptions, PipelineOptions

    config = Config(model=ModelRequest(name="tiny.en"), output=OutputOptions(partials=False),
                    pipeline=replace(PipelineOptions(), **pipeline))
    p = Pipeline(config, source, plan=plan_for(ModelRequest(name="tiny.en"), None)[1],
                 loader=lambda spec, decoding: FakeDecoder(spec, decoding))
    w = p.worker
    return p.segmenter.options.partial_interval_ms, w._decodes_snapshots, w.early_finals


def test_early_finals_decode_snapshots_on_live_input_without_partials():
    """Early finals need the decodes partials are made of: on live input they are taken even
    when no partial is shown; off, or on a replay at max speed, only pause snapshots are."""
    interval, decodes, early = _snapshots(Quiet)
    assert interval is not None and decodes and early
    interval, _, early = _snapshots(Quiet, early_finals=False)
    assert interval is None and not early
    interval, _, early = _snapshots(Replay)
    assert interval is None and not early
