"""Progress on long work (issue 15, item 9): tqdm bars on stderr, only on a terminal, for the
assembly of base, a hub download and a file replayed at max speed."""

from __future__ import annotations

import hashlib
import io

import pytest

from streamer.decoding import progress
from streamer.events import Caption, PipelineStats, SourceOpened, WindowStarted


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def caption(end_s: float) -> Caption:
    return Caption("words", end_s - 1, end_s, 0.1, "en", -0.2, 0.01, 1.0, 0, 0.0)


def test_a_replay_at_max_speed_shows_percent_rate_and_time_left_on_a_terminal():
    from tui.progress import ReplayProgress

    term = Terminal()
    p = ReplayProgress(SourceOpened("file talk.mp3", None, False, 200.0), stream=term)
    assert p.bar is not None
    p.update(WindowStarted(0, 0.0, 50.0, 0))
    p.update(caption(48.0))  # behind the window already counted: no step back
    assert p.done_s == 50.0 and p.bar.n == 50.0
    p.bar.refresh()
    shown = term.getvalue()
    assert "transcribing:  25%" in shown and "50/200 s" in shown and "s/s" in shown
    p.update(PipelineStats(200.0, 0, 0, 1, 0, 1, 1, {}, 0, 1.0, final=True))
    assert p.bar.n == 200.0
    p.close()
    assert p.bar is None


@pytest.mark.parametrize("opened,tty", [
    (SourceOpened("file talk.mp3", None, True, 200.0), True),   # real time: the clock is progress
    (SourceOpened("stdin", None, False, None), True),            # length unknown
    (SourceOpened("file talk.mp3", None, False, 200.0), False),  # stderr not a terminal
])
def test_no_bar_where_it_would_not_help(opened, tty):
    from tui.progress import ReplayProgress

    stream = Terminal() if tty else io.StringIO()
    p = ReplayProgress(opened, stream=stream)
    p.update(WindowStarted(0, 0.0, 50.0, 0))
    assert p.bar is None and stream.getvalue() == ""


class Counted(progress.DisabledBar):
    """A bar that remembers what it was told."""

    made: list = []

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.counted = 0
        Counted.made.append((kwargs, self))

    def update(self, n=1):
        self.counted += n
        return super().update(n)


def test_assembling_a_split_pack_counts_its_bytes_on_the_installed_bar(tmp_path):
    from streamer.decoding.packs import SplitPack, assemble

    parts = [tmp_path / "p1", tmp_path / "p2"]
    parts[0].write_bytes(b"a" * 3_000_000)
    parts[1].write_bytes(b"b" * 1_500_000)
    whole = b"a" * 3_000_000 + b"b" * 1_500_000
    (tmp_path / "extra").mkdir()
    pack = SplitPack("fake", (), ("x", "y"), (), len(whole), hashlib.sha256(whole).hexdigest(),
                     ("fake-pack",))
    Counted.made.clear()
    progress.set_bar_class(Counted)
    try:
        assemble(pack, parts, tmp_path / "extra", tmp_path / "out")
    finally:
        progress.set_bar_class(None)
    (kwargs, bar), = Counted.made
    assert kwargs["desc"] == "assembling fake" and kwargs["total"] == len(whole)
    assert bar.counted == len(whole)
    assert progress.bar_class() is progress.DisabledBar  # nothing shown outside a front end


def test_a_hub_download_gets_the_installed_bar_class(monkeypatch):
    import huggingface_hub

    from streamer.decoding.models import ResolvedModel, download

    seen = {}

    def snapshot_download(repo_id, **kwargs):
        seen.update(kwargs, repo_id=repo_id)
        return "/cache/models/small"

    monkeypatch.setattr(huggingface_hub, "snapshot_download", snapshot_download)
    progress.set_bar_class(Counted)
    try:
        assert download(ResolvedModel("small", "small", "hub")) == "/cache/models/small"
    finally:
        progress.set_bar_class(None)
    assert seen["repo_id"] == "Systran/faster-whisper-small" and seen["tqdm_class"] is Counted
    assert "model.bin" in seen["allow_patterns"]


def test_the_command_line_shows_model_work_only_while_it_runs():
    from tui.progress import StderrBar, model_progress

    with model_progress():
        assert progress.bar_class() is StderrBar
    assert progress.bar_class() is progress.DisabledBar


def test_the_ui_shows_a_replay_at_max_speed_under_the_status_line():
    import asyncio

    from textual.widgets import ProgressBar

    from tui.app import make_app
    from tui.widgets.replay import ReplayLine as Bar

    seen = {}

    async def scenario(opened):
        app = make_app(None, rss_bytes=None)
        async with app.run_test(size=(100, 30)) as pilot:
            app.feed(opened)
            app.feed(WindowStarted(0, 0.0, 50.0, 0))
            app.feed(caption(49.0))
            await pilot.pause()
            widget = app.query_one(Bar)
            seen[opened.live] = (widget.display, app.query_one(ProgressBar).percentage)

    asyncio.run(scenario(SourceOpened("file talk.mp3", None, False, 200.0)))
    asyncio.run(scenario(SourceOpened("microphone", 48000, True, None)))
    assert seen[False] == (True, 0.25)
    assert seen[True][0] is False


def test_no_replay_bar_where_the_captions_go_to_the_same_terminal():
    from tui.progress import ReplayProgress

    term = Terminal()
    p = ReplayProgress(SourceOpened("file talk.mp3", None, False, 200.0), stream=term,
                       captions_here=True)
    assert p.bar is None and term.getvalue() == ""
