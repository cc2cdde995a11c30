"""The Textual UI: the view model, a real replay in ``App.run_test()``, keys, and snapshots.

Integration tests run the real pipeline on ``assets/jfk.flac`` with tiny.en and wait for
*events* (captions, stats snapshots, the end of the session), never for fixed durations; the
only time limits are safety nets. Snapshot tests feed fixed events to an app without a
pipeline, so what they draw is deterministic (no clock, no memory reading, no model).
"""

from __future__ import annotations

import asyncio
import io
import re
import threading
import time
from dataclasses import replace

import numpy as np
import pytest

from conftest import CLIPS, held_file_source, in_order, words

pytest.importorskip("textual")

from streamer.events import (Caption, ModelReady, Partial, PipelineStats, SourceOpened,  # noqa: E402
                             WindowDropped, WindowStarted)
from tui.app import LivescribeApp, make_app  # noqa: E402
from streamer.output.figures import percentile, percentiles  # noqa: E402
from tui.session import SessionInfo, SessionView, format_stream_time  # noqa: E402
from tui.widgets.captions import CaptionsPane  # noqa: E402
from tui.widgets.device import DevicePanel  # noqa: E402
from tui.widgets.latency import LatencyPanel  # noqa: E402
from tui.widgets.status import StatusBar, meter  # noqa: E402

JFK = str(CLIPS["jfk"][0])
SAFETY_S = 120.0  # only a guard against a hung test; no assertion depends on time
HOLD_S = 9.0  # where held replays stop: inside jfk.flac's last phrase (7.0–10.6 s), after its first


# -- engine addition: the input level ---------------------------------------------------------

def test_segmenter_level_dbfs_of_real_frames():
    from streamer.segmentation.options import VadOptions
    from streamer.segmentation.segmenter import LEVEL_FLOOR_DBFS, Segmenter

    seg = Segmenter(VadOptions())
    n = seg.options.frame_samples
    assert seg.level_dbfs == LEVEL_FLOOR_DBFS  # nothing fed yet
    seg.feed(np.zeros(n, np.int16), 0.0)
    assert seg.level_dbfs == LEVEL_FLOOR_DBFS
    t = np.arange(n) / 16000
    sine = (0.1 * 32767 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)  # -20 dBFS peak
    seg.feed(sine, 0.0)
    assert seg.level_dbfs == pytest.approx(-23.0, abs=0.1)  # RMS of a sine: peak - 3 dB
    square = np.where(np.sin(2 * np.pi * 100 * t) >= 0, 32767, -32768).astype(np.int16)
    seg.feed(square, 0.0)
    assert seg.level_dbfs == pytest.approx(0.0, abs=0.01)
    from conftest import load_pcm

    speech = load_pcm(CLIPS["jfk"][0])
    levels = []
    for i in range(0, len(speech) - n, n):
        seg.feed(speech[i:i + n], 0.0)
        levels.append(seg.level_dbfs)
    assert -60 < max(levels) < 0 and min(levels) < max(levels) - 20  # speech moves the meter


# -- the headless view model -----------------------------------------------------------------

def _caption(i: int, text: str, start: float, latency: float) -> Caption:
    return Caption(text=text, start_s=start, end_s=start + 3.0, latency_s=latency, language="en",
                   avg_logprob=-0.2, no_speech_prob=0.01, compression_ratio=1.2, window_index=i,
                   emitted_wall=100.0 + i)


def _stats(**kw) -> PipelineStats:
    base = dict(stream_s=12.0, overruns=0, overrun_samples=0, windows=3, fragments_dropped=1,
                windows_decoded=3, captions=2, filtered={"no_speech": 1}, queue_depth=0,
                inference_s=1.2)
    base.update(kw)
    return PipelineStats(**base)


def _partial(u: int, text: str, stable: str) -> Partial:
    return Partial(utterance=u, text=text, stable=stable, start_s=float(u), end_s=u + 1.0,
                   emitted_wall=0.0)


def test_session_view_keeps_the_open_utterance_partial_until_its_final_or_drop():
    v = SessionView()
    v.apply(_partial(0, "Hello", ""))
    v.apply(_partial(0, "Hello there", "Hello"))
    assert v.partial.text == "Hello there" and v.partials_seen == 2
    v.apply(_caption(0, "Hello there.", 0.0, 0.5))  # the final replaces its partials
    assert v.partial is None and [c.text for c in v.captions] == ["Hello there."]
    v.apply(_partial(1, "you", ""))
    v.apply(WindowDropped(1, 1.0, 2.0, "no_speech", "no_speech_prob 0.9 > 0.6", "you"))
    assert v.partial is None  # a drop ends them too
    v.apply(_partial(3, "General", ""))
    v.apply(_caption(2, "Kenobi.", 2.0, 0.5))  # an earlier utterance's final keeps it
    assert v.partial is not None and v.partial.utterance == 3


def test_one_percentile_for_every_front_end():
    """The engine's percentile (numpy's linear interpolation, rounded to ms) is the UI's."""
    assert percentile([], 50) is None and percentiles([], (50, 95)) == (None, None)
    assert percentile([3.0], 95) == 3.0
    xs = [0.5, 0.1, 0.9, 0.3, 0.7]
    assert percentile(xs, 50) == 0.5
    assert percentiles(xs, (50, 95)) == (0.5, 0.86)
    assert percentile(range(1, 101), 95) == 95.05
    with pytest.raises(ValueError):
        percentile(xs, 101)


def test_the_latency_view_is_bounded_and_its_percentiles_follow_each_caption():
    from streamer.output.figures import LATENCIES_KEPT

    v = SessionView()
    for i in range(LATENCIES_KEPT + 10):
        v.apply(_caption(i, "Hi.", float(i), 1.0 if i < 10 else 2.0))
    assert len(v.latencies_s) == LATENCIES_KEPT and len(v.captions) == LATENCIES_KEPT + 10
    assert (v.latency_p50_s, v.latency_p95_s) == (2.0, 2.0)  # the first ten fell out


def test_session_view_folds_events():
    v = SessionView()
    v.apply(WindowStarted(0, 0.0, 3.0, queue_depth=1))
    assert v.pending == {0: (0.0, 3.0)}
    v.apply(_caption(0, "Hello there.", 0.0, 0.8))
    v.apply(WindowStarted(1, 3.0, 6.0, queue_depth=0))
    v.apply(WindowDropped(1, 3.0, 6.0, "no_speech", "no_speech_prob 0.9 > 0.6", "you"))
    v.apply(WindowStarted(2, 65.0, 68.0, queue_depth=0))
    v.apply(_caption(2, "General Kenobi.", 65.0, 1.6))
    assert v.pending == {} and v.dropped == 1
    assert v.last_latency_s == 1.6 and v.latency_p50_s == 1.2
    lines = ("[00:00:00.000 --> 00:00:03.000] Hello there.\n"
             "[00:01:05.000 --> 00:01:08.000] General Kenobi.\n")
    assert v.transcript(header=False) == lines  # the journal's lines
    v.apply(SourceOpened("file jfk.flac", None, True))
    head = v.transcript().splitlines()[0]
    assert head.startswith("# livescribe session ") and head.endswith(", file jfk.flac")
    assert v.transcript() == head + "\n" + lines
    v.apply(_stats(final=True))
    assert v.finished and v.stats_seen == 1
    assert format_stream_time(3725.0) == "1:02:05"


def test_meter_scale():
    assert meter(None).plain == "░" * 20
    assert meter(-60.0).plain == "░" * 20
    assert meter(0.0).plain == "█" * 20
    assert meter(-30.0).plain == "█" * 10 + "░" * 10
    assert meter(-1.0).spans[-1].style == "red"


# -- CLI: which front end ----------------------------------------------------------------------

class _Tty(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self._tty = tty

    def isatty(self) -> bool:
        return self._tty


@pytest.mark.parametrize("argv,tty,expected", [
    ([], True, True),                                  # a terminal: the UI
    ([], False, False),                                # a pipe or file: plain captions
    (["--plain"], True, False),
    (["--tui"], False, True),
    (["--format", "jsonl"], True, False),              # JSON asked for on stdout
    (["--format", "srt", "-o", "x.srt"], True, True),  # the file gets SRT, the screen the UI
])
def test_wants_tui(argv, tty, expected, monkeypatch):
    from streamer.config import build_config
    from tui.cli import wants_tui
    from tui.cli.parser import build_parser, flags_from

    monkeypatch.setenv("TERM", "xterm-256color")
    args = build_parser().parse_args(["--file", JFK, *argv])
    assert wants_tui(build_config(flags_from(args)).config, _Tty(tty)) is expected


def test_tui_and_plain_exclusive(capsys):
    from tui.cli.parser import build_parser

    with pytest.raises(SystemExit):
        build_parser().parse_args(["--tui", "--plain"])
    assert "not allowed with" in capsys.readouterr().err


@pytest.mark.model
def test_plain_output_imports_no_textual():
    """Piped output never imports Textual (the UI import is lazy)."""
    import subprocess
    import sys

    from conftest import ROOT

    code = ("import sys\nsys.modules['textual'] = None\n"
            "from tui.cli import main\n"
            "sys.exit(main(['--file', sys.argv[1], '--model', 'tiny.en', '--speed', 'max', "
            "'--no-transcript']))\n")
    r = subprocess.run([sys.executable, "-c", code, JFK], cwd=ROOT, capture_output=True,
                       text=True, timeout=SAFETY_S)
    assert r.returncode == 0, r.stderr
    assert "country" in r.stdout.lower() and "\x1b[" not in r.stdout


# -- the app on a real replay ------------------------------------------------------------------

def _real_app(speed: str, tmp_path, hold_s: float | None = None, **kwargs) -> LivescribeApp:
    """The app exactly as the CLI builds it, on jfk.flac with tiny.en.

    With ``hold_s`` the replay runs at full speed and its capture thread is held after
    ``hold_s`` seconds of audio until the test calls ``app.held.release()``: the test, not a
    clock, decides where the stream stands when it presses a key.
    """
    from streamer.config import build_config
    from streamer.pipeline import Pipeline
    from tui.cli.parser import build_parser, flags_from

    args = build_parser().parse_args(["--file", JFK, "--model", "tiny.en", "--speed", speed])
    config = build_config(flags_from(args)).config
    factory, holder = (None, None) if hold_s is None else held_file_source(JFK, hold_s)
    pipeline = Pipeline(config, factory)
    app = make_app(pipeline, model_name=config.model.name,
                   transcript_path=tmp_path / "transcript.txt", **kwargs)
    app.held = (lambda: holder[0]) if holder is not None else None
    return app


async def _until(pilot, predicate, what: str) -> None:
    """Let the app run until ``predicate()`` holds (event-driven; the limit is a safety net)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + SAFETY_S
    while not predicate():
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await pilot.pause(0.05)


@pytest.mark.model
def test_replay_fills_captions_device_and_latency_then_keys(tmp_path):
    from streamer.output.sinks import make_sink

    srt = io.StringIO()  # what --output FILE --format srt gets while the UI shows captions
    app = _real_app("max", tmp_path, sinks=[make_sink("srt", srt)])

    async def scenario():
        async with app.run_test(size=(120, 36)) as pilot:
            await _until(pilot, lambda: app.view.finished, "the end of the replay")
            await pilot.pause()
            pane = app.query_one(CaptionsPane)
            assert len(pane.shown) >= 2
            assert in_order(["fellow", "americans", "country", "country"], words(pane.text()))
            assert len(pane.log_widget.lines) >= len(pane.shown)  # rendered, not just stored
            device = dict(app.query_one(DevicePanel).rows())
            assert device["input"] == "file jfk.flac · 16 kHz mono"
            assert device["model"].startswith("tiny.en")
            assert device["device"].startswith("cpu · int8")
            assert device["memory"].endswith("MiB RSS")
            assert "model tiny.en" in device["plan"]  # the tuning plan's rows
            latency = dict(app.query_one(LatencyPanel).last_rows)
            for key in ("last", "p50", "p95", "RTF"):
                assert latency[key] != "—", key
            assert float(latency["p50"].split()[0]) <= float(latency["p95"].split()[0])
            assert latency["captions"] == str(len(app.view.captions))
            assert srt.getvalue().count(" --> ") == len(app.view.captions)
            assert app.query_one(StatusBar).state == "finished"

            await pilot.press("s", "enter")  # the prompt proposes transcript_path
            saved = (tmp_path / "transcript.txt").read_text()
            assert saved == app.view.transcript() and "country" in saved.lower()
            assert str(app.saved_path) in app.query_one(StatusBar).notice

            await pilot.press("c")
            assert pane.shown == [] and len(pane.log_widget.lines) == 0
            assert len(app.view.captions) >= 2  # the transcript keeps what the screen dropped

            await pilot.press("question_mark")
            assert type(app.screen).__name__ == "HelpScreen"
            await pilot.press("escape")
            await pilot.press("q")
        assert app.return_code == 0

    asyncio.run(scenario())


@pytest.mark.model
def test_pause_stops_new_captions_and_resume_continues(tmp_path):
    app = _real_app("max", tmp_path, hold_s=HOLD_S, rss_bytes=None)

    async def scenario():
        async with app.run_test(size=(100, 30)) as pilot:
            await _until(pilot, lambda: app.view.captions, "the first caption")
            await pilot.press("space")
            assert app.paused and app.query_one(StatusBar).state == "paused"
            app.held().release()  # the capture thread writes its held block, then sees the pause
            # quiescent: capture stopped and everything cut before the pause is decoded
            # (two successive stats snapshots with the same stream time, nothing queued)
            last: dict[int, float] = {}

            def settled() -> bool:
                st, k = app.view.stats, app.view.stats_seen
                if st is None or app.view.pending or st.queue_depth:
                    return False
                last[k] = st.stream_s
                return last.get(k - 1) == st.stream_s
            await _until(pilot, settled, "the pipeline to settle")
            n_captions, stream_s, seen = len(app.view.captions), app.view.stats.stream_s, \
                app.view.stats_seen
            await _until(pilot, lambda: app.view.stats_seen >= seen + 3, "three more stats")
            assert len(app.view.captions) == n_captions  # no new captions while paused
            assert app.view.stats.stream_s == stream_s  # and no audio captured
            assert stream_s <= HOLD_S + 0.1  # paused where the test held it, not at the end
            await pilot.press("space")
            assert not app.paused
            await _until(pilot, lambda: app.view.finished, "the end of the replay")
            assert len(app.view.captions) > n_captions
            assert "country" in words(app.query_one(CaptionsPane).text())[-3:]
            await pilot.press("q")
        assert app.return_code == 0

    asyncio.run(scenario())


@pytest.mark.model
def test_quit_mid_session_transcribes_queued_and_updates_the_saved_file(tmp_path):
    app = _real_app("max", tmp_path, hold_s=HOLD_S, rss_bytes=None)

    async def scenario():
        async with app.run_test(size=(100, 30)) as pilot:
            await _until(pilot, lambda: app.view.captions, "the first caption")
            await pilot.press("s", "enter")
            first_save = (tmp_path / "transcript.txt").read_text()
            await _until(pilot, lambda: app.view.pending or app.in_speech, "more speech")
            await pilot.press("q")
            app.held().release()  # the capture thread writes its held block, then sees the stop
            assert app.quitting  # "finishing" until the queue drains (may already be done)
            await _until(pilot, lambda: not app.is_running, "the app to exit")
        assert app.return_code == 0 and app.error is None
        assert app.view.finished and app.view.stats.final
        assert app.view.stats.stream_s <= HOLD_S + 0.1  # capture stopped where it was held...
        assert app.view.stats.windows_decoded == app.view.stats.windows  # ...queue drained
        saved = (tmp_path / "transcript.txt").read_text()
        assert saved == app.view.transcript() and saved.startswith(first_save)

    asyncio.run(scenario())


# -- snapshots (fixed events, no pipeline) ------------------------------------------------------

INFO = SessionInfo(input="file jfk.flac", model="tiny.en", device="cpu", compute_type="int8",
                   threads=2, beam_size=1, cpu_features=("avx", "avx2", "fma"),
                   plan={"device": "cpu", "compute type": "int8", "threads": "2",
                         "model": "tiny.en (~182 MiB)", "beam size": "1"})
EVENTS = [
    ModelReady(model="tiny.en", device="cpu", compute_type="int8", threads=2, beam_size=1,
               load_s=0.41, warmup_s=0.27, multilingual=False),
    WindowStarted(0, 0.0, 3.9, queue_depth=0),
    _caption(0, "And so my fellow Americans, ask not", 0.0, 0.62),
    WindowStarted(1, 3.9, 7.2, queue_depth=0),
    _caption(1, "what your country can do for you,", 3.9, 0.71),
    WindowStarted(2, 7.2, 11.0, queue_depth=0),
    _caption(2, "ask what you can do for your country.", 7.2, 0.94),
    WindowStarted(3, 11.0, 13.5, queue_depth=0),
    WindowDropped(3, 11.0, 13.5, "no_speech", "no_speech_prob 0.91 > 0.6", "you"),
    _stats(stream_s=14.0, windows=5, captions=3, windows_decoded=4, queue_depth=1,
           inference_s=1.12),
    WindowStarted(4, 13.5, 16.1, queue_depth=0),
    Partial(utterance=5, text="We choose to go to the moon in", stable="We choose to go",
            start_s=16.4, end_s=18.0, emitted_wall=0.0),
]


def _fixed_app() -> LivescribeApp:
    return make_app(None, INFO, rss_bytes=lambda: 212 * 2**20)


async def _feed(pilot) -> None:
    for ev in EVENTS:
        pilot.app.feed(ev)
    pilot.app.show_level(-23.4, in_speech=True)
    await pilot.pause()


def test_snapshot_session(snap_compare):
    assert snap_compare(_fixed_app(), terminal_size=(110, 30), run_before=_feed)


def test_snapshot_narrow_hides_panels(snap_compare):
    assert snap_compare(_fixed_app(), terminal_size=(60, 20), run_before=_feed)


def test_snapshot_paused_without_times(snap_compare):
    assert snap_compare(_fixed_app(), terminal_size=(110, 30), run_before=_feed,
                        press=["space", "t"])


def test_snapshot_help(snap_compare):
    assert snap_compare(_fixed_app(), terminal_size=(110, 30), run_before=_feed,
                        press=["question_mark"])


# -- the engine-to-UI hand-off, with a scripted engine -------------------------------------------

class ScriptedPipeline:
    """What the app needs of a pipeline, yielding scripted events: the UI's side of the contract
    tested without audio or a model. It has ``events``, ``stop`` and ``pause`` and nothing else,
    so an app that read an engine attribute would fail here."""

    __slots__ = ("_events", "hold", "pulled", "stopped")

    def __init__(self, events, hold=None):
        self._events = list(events)
        self.hold = hold  # an Event the generator waits on before it ends (None: no wait)
        self.pulled = 0
        self.stopped = threading.Event()

    def events(self):
        for ev in self._events:
            self.pulled += 1
            yield ev
        if self.hold is not None:
            self.hold.wait(SAFETY_S)
        yield _stats(final=True)

    def stop(self):
        self.stopped.set()
        if self.hold is not None:
            self.hold.set()

    def pause(self, paused):
        pass


def _scripted_app(pipeline) -> LivescribeApp:
    return make_app(pipeline, info=SessionInfo(input="scripted"), rss_bytes=None)


def test_engine_messages_in_flight_to_the_ui_are_bounded():
    """A stalled UI holds the engine thread back: at most MAX_IN_FLIGHT events wait unhandled."""
    from tui import app as app_module

    n = 2 * app_module.MAX_IN_FLIGHT
    pipeline = ScriptedPipeline([_caption(i, f"caption {i}", 3.0 * i, 0.5) for i in range(n)])
    app = _scripted_app(pipeline)
    seen = {"handled": 0, "worst": 0}
    real_feed = app.feed

    def stalled_feed(event):
        if seen["handled"] == 0:  # stall on the first event until the engine can go no further
            bound = app_module.MAX_IN_FLIGHT + 1  # posted ones, plus the one waiting for a slot
            deadline = time.monotonic() + SAFETY_S
            while pipeline.pulled < bound and pipeline.pulled < n:
                assert time.monotonic() < deadline, "the engine thread never got ahead"
                time.sleep(0.01)
        seen["worst"] = max(seen["worst"], pipeline.pulled - seen["handled"])
        seen["handled"] += 1
        real_feed(event)

    app.feed = stalled_feed

    async def scenario():
        async with app.run_test(size=(100, 30)) as pilot:
            await _until(pilot, lambda: app.view.finished, "the end of the scripted session")
        assert len(app.view.captions) == n  # nothing lost to the bound

    asyncio.run(scenario())
    assert seen["worst"] <= app_module.MAX_IN_FLIGHT + 1


@pytest.mark.parametrize("key,code", [("q", 0), ("ctrl+c", 130)])
def test_quit_key_exit_codes_match_the_plain_front_end(key, code):
    """q ends a session with 0; Ctrl-C with 130, as it does with --plain (ExitCode.SIGINT)."""
    pipeline = ScriptedPipeline([_caption(0, "hello there", 0.0, 0.5)], hold=threading.Event())
    app = _scripted_app(pipeline)

    async def scenario():
        async with app.run_test(size=(100, 30)) as pilot:
            await _until(pilot, lambda: app.view.captions, "the caption")
            await pilot.press(key)
            await _until(pilot, lambda: not app.is_running, "the app to exit")

    asyncio.run(scenario())
    assert pipeline.stopped.is_set() and app.return_code == code, (app.interrupted, app.error)


# -- scrollback, search, copy, room for captions (fixed events, no pipeline) ---------------------

def _many(n: int, start: int = 0) -> list[Caption]:
    """``n`` short captions, every seventh about the moon (search targets)."""
    return [_caption(i, f"caption {i} about the moon" if i % 7 == 0 else f"caption {i}",
                     3.0 * i, 0.5) for i in range(start, start + n)]


def _plain(renderable, width: int = 110) -> str:
    """What a Rich renderable (a Text, a table row) prints as, without styles."""
    from rich.console import Console

    console = Console(file=io.StringIO(), width=width, color_system=None)
    console.print(renderable)
    return console.file.getvalue().rstrip()


def _visible_lines(log) -> list[str]:
    """The log's lines inside its view (plain text)."""
    top = round(log.scroll_y)
    return [strip.text for strip in log.lines[top:top + log.scrollable_content_region.height]]


def test_scrolling_up_stops_following_and_end_or_f_follows_again():
    app = _fixed_app()

    async def scenario():
        async with app.run_test(size=(80, 16)) as pilot:
            for c in _many(30):
                app.feed(c)
            await pilot.pause()
            pane, bar = app.query_one(CaptionsPane), app.query_one(StatusBar)
            log = pane.log_widget
            assert pane.following and log.scroll_y == log.max_scroll_y > 0
            await pilot.press("pageup")
            await pilot.pause()
            assert not pane.following and log.scroll_y < log.max_scroll_y
            assert "reading back" in bar.content.plain or "↑ back" in bar.content.plain
            stays = log.scroll_y
            for c in _many(3, start=30):
                app.feed(c)
            await pilot.pause()
            assert log.scroll_y == stays  # the view stays put while captions come
            assert pane.unseen == 3 and "↓ 3 new" in bar.content.plain
            assert "caption 32" not in "".join(_visible_lines(log))
            await pilot.press("end")
            await pilot.pause()
            assert pane.following and log.scroll_y == log.max_scroll_y and pane.unseen == 0
            assert "caption 32" in _visible_lines(log)[-1] and "↓" not in bar.content.plain
            await pilot.press("up")
            await pilot.pause()
            assert not pane.following
            await pilot.press("f")
            await pilot.pause()
            assert pane.following and log.scroll_y == log.max_scroll_y
            await pilot.press("up", "down")  # scrolling back to the bottom follows again
            await pilot.pause()
            assert pane.following
            from textual import events
            log.post_message(events.MouseScrollUp(log, 1, 1, 0, -1, 0, False, False, False))
            await pilot.pause()  # the mouse wheel counts as scrolling up too
            assert not pane.following and log.scroll_y < log.max_scroll_y
            await pilot.press("end")
            await pilot.pause()
            app.feed(_many(1, start=33)[0])
            await pilot.pause()
            assert "caption 33" in _visible_lines(log)[-1]

    asyncio.run(scenario())


def test_search_highlights_matches_and_n_N_move_between_them():
    app = _fixed_app()

    async def scenario():
        async with app.run_test(size=(80, 16)) as pilot:
            for c in _many(30):
                app.feed(c)
            await pilot.pause()
            pane, bar = app.query_one(CaptionsPane), app.query_one(StatusBar)
            log = pane.log_widget
            await pilot.press("slash", *"MOON q", "backspace", "backspace")
            assert app.is_running and app.query_one("#search").value == "MOON"  # q typed, no quit
            await pilot.press("enter")
            await pilot.pause()
            assert not app.query_one("#search").display and app.focused is log
            assert pane.matches == [0, 7, 14, 21, 28]
            assert "“MOON” 5/5" in bar.notice  # the newest match first
            await pilot.press("n", "n")
            await pilot.pause()
            assert "“MOON” 3/5" in bar.notice and not pane.following
            assert any("caption 14 about" in line for line in _visible_lines(log))
            moon_styles = [str(seg.style) for line in log.lines for seg in line
                           if seg.text == "moon"]  # every match marked, the current one bold
            assert len(moon_styles) == 5 and all("reverse" in st for st in moon_styles)
            assert ["bold" in st for st in moon_styles] == [False, False, True, False, False]
            await pilot.press("N", "N", "N")  # newer, wrapping around to the oldest
            await pilot.pause()
            assert "“MOON” 1/5" in bar.notice
            assert any("caption 0 about" in line for line in _visible_lines(log))
            await pilot.press("escape")
            await pilot.pause()
            assert pane.query == "" and pane.matches == [] and bar.notice == ""
            await pilot.press("slash", *"mars", "enter")
            await pilot.pause()
            assert bar.notice == "no caption contains “mars”"
            await pilot.press("slash", "escape")  # escape in the prompt: no search
            assert pane.query == "mars" and not app.query_one("#search").display

    asyncio.run(scenario())


@pytest.mark.parametrize("journal", [True, False])
def test_copy_uses_the_clipboard_and_says_where_the_transcript_is(tmp_path, monkeypatch, journal):
    """Where the terminal may ignore OSC 52, ``y`` points at the journal (the transcript), or
    without one saves the transcript and says where."""
    for var in ("TMUX", "STY", "KITTY_WINDOW_ID", "TERM_PROGRAM", "WT_SESSION",
                "ALACRITTY_WINDOW_ID"):
        monkeypatch.delenv(var, raising=False)
    kept = tmp_path / "journal.txt" if journal else None
    app = make_app(None, INFO, rss_bytes=None, transcript_path=tmp_path / "copy.txt",
                   journal_path=kept)

    async def scenario():
        async with app.run_test(size=(110, 30)) as pilot:
            await _feed(pilot)
            bar = app.query_one(StatusBar)
            monkeypatch.setenv("TERM", "xterm-kitty")
            await pilot.press("y")
            assert app.clipboard == app.view.transcript(header=False)
            assert "moon" not in app.clipboard and app.clipboard.startswith("[00:00:")
            assert bar.notice == "copied 3 captions to the clipboard (kitty)"
            assert not (tmp_path / "copy.txt").exists()
            monkeypatch.setenv("TERM", "xterm-256color")  # not known to take OSC 52
            await pilot.press("y")
            assert app.clipboard == app.view.transcript(header=False)
            where = kept or tmp_path / "copy.txt"
            assert bar.notice.endswith(f"transcript → {where}")
            assert (tmp_path / "copy.txt").exists() == (not journal)

    asyncio.run(scenario())


def test_s_asks_where_to_export_the_journal_and_escape_cancels(tmp_path, monkeypatch):
    """``s`` opens a prompt holding a default name in the current directory; Enter exports
    the transcript there in the journal's format; Escape exports nothing; the journal's path
    shows in the status line at start."""
    monkeypatch.chdir(tmp_path)
    app = make_app(None, INFO, rss_bytes=None, journal_path=tmp_path / "journal.txt")

    async def scenario():
        async with app.run_test(size=(110, 30)) as pilot:
            bar = app.query_one(StatusBar)
            assert bar.notice == f"transcript → {tmp_path / 'journal.txt'}"
            await _feed(pilot)
            await pilot.press("s")
            prompt = app.query_one("#save")
            assert prompt.display and app.focused is prompt
            assert re.fullmatch(r"livescribe-\d{8}-\d{6}\.txt", prompt.value)
            await pilot.press("escape")
            assert not prompt.display and not list(tmp_path.glob("livescribe-*.txt"))
            await pilot.press("s")
            prompt.value = "sub/notes.txt"
            await pilot.press("enter")
            assert app.saved_path == (tmp_path / "sub" / "notes.txt").resolve()
            assert not prompt.display and app.focused is app.query_one("#captions-log")
            assert bar.notice.endswith(f"→ {app.saved_path}")
            await pilot.press("q")  # typed into the captions again, not the prompt: quits
        assert app.return_code == 0

    asyncio.run(scenario())
    text = (tmp_path / "sub" / "notes.txt").read_text()
    assert text == app.view.transcript() and text.startswith("# livescribe session ")
    assert text.splitlines()[1].startswith("[00:00:")


def test_osc52_terminals():
    from tui.clipboard import osc52_terminal

    assert osc52_terminal({"TERM": "xterm-kitty"}) == "kitty"
    assert osc52_terminal({"TERM_PROGRAM": "WezTerm", "TERM": "xterm-256color"}) == "WezTerm"
    assert osc52_terminal({"TERM": "xterm-256color", "VTE_VERSION": "7600"}) is None
    assert osc52_terminal({"TERM": "xterm-kitty", "TMUX": "/tmp/tmux-0/default,1,0"}) is None
    assert osc52_terminal({}) is None


def test_panels_key_gives_captions_the_width():
    app = _fixed_app()

    async def scenario():
        async with app.run_test(size=(110, 30)) as pilot:
            await _feed(pilot)
            pane, side = app.query_one(CaptionsPane), app.query_one("#side")
            assert side.display and pane.size.width < 100
            await pilot.press("p")
            await pilot.pause()
            assert not side.display and pane.region.width == 110
            await pilot.press("p")
            await pilot.pause()
            assert side.display and pane.size.width < 100

    asyncio.run(scenario())


def test_wall_clock_times_language_and_the_pending_line_after_t():
    from tui.session import format_wall_time

    app = make_app(None, INFO, rss_bytes=None, wall_clock=True)
    app.view.clock_offset_s = 1_700_000_000.0  # monotonic -> epoch, fixed for the test

    async def scenario():
        async with app.run_test(size=(110, 30)) as pilot:
            await _feed(pilot)
            pane = app.query_one(CaptionsPane)
            log, pending = pane.log_widget, pane.query_one("#captions-pending")
            first = EVENTS[2]
            wall = format_wall_time(1_700_000_000.0 + first.emitted_wall - first.latency_s
                                    - (first.end_s - first.start_s))
            assert log.lines[0].text.split()[0] == wall
            assert pane.border_title == "captions · en"
            assert _plain(pending.content).split()[0].count(":") == 2  # the partial: HH:MM:SS
            await pilot.press("w")  # stream times
            assert log.lines[0].text.split()[0] == "0:00"
            assert _plain(pending.content).split()[0] == "0:16"
            await pilot.press("t")  # no times: the pending line loses its time too
            assert log.lines[0].text.startswith("And so my")
            assert _plain(pending.content) == "We choose to go to the moon in"
            await pilot.press("w")  # wall clock again, which shows the column
            assert log.lines[0].text.split()[0] == wall
            fr = replace(_caption(9, "Bonjour à tous.", 20.0, 0.5), language="fr")
            app.feed(fr)
            assert pane.border_title == "captions · fr"

    asyncio.run(scenario())


def test_status_line_keeps_its_counts_at_60_columns():
    app = _fixed_app()

    async def scenario():
        async with app.run_test(size=(60, 20)) as pilot:
            await _feed(pilot)
            bar = app.query_one(StatusBar)
            line = bar.content.plain
            assert line.rstrip().endswith("2 queued") and len(line) <= 60, line
            bar.show(notice="saved 3 captions → /a/very/long/path/to/a/transcript/file.txt")
            line = bar.content.plain
            assert "2 queued" in line and line.endswith("…") and len(line) == 60, line
            await pilot.resize_terminal(110, 30)
            await pilot.pause()
            assert "2 windows to transcribe" in bar.content.plain

    asyncio.run(scenario())


def test_wall_clock_flag():
    from tui.cli.parser import build_parser, flags_from

    assert flags_from(build_parser().parse_args(["--wall-clock"])) == {"ui.wall_clock": True}
    assert "ui.wall_clock" not in flags_from(build_parser().parse_args([]))


async def _feed_many_and_search(pilot) -> None:
    for c in [EVENTS[0], *_many(30)]:
        pilot.app.feed(c)
    await pilot.pause()
    await pilot.press("slash", *"moon", "enter", "n")  # the second newest match, scrolled back
    for c in _many(2, start=30):
        pilot.app.feed(c)
    await pilot.pause()


def test_snapshot_search_in_scrollback_without_panels(snap_compare):
    assert snap_compare(_fixed_app(), terminal_size=(80, 16), run_before=_feed_many_and_search,
                        press=["p"])
