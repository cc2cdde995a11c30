"""The front ends behave the same: exit codes (sysexits), failures of the journal and the
recorder, -v and --benchmark in the UI, Ctrl-C / SIGTERM in the UI, --format on a terminal,
and a UI that learns everything from events.

Terminal tests run ``livescribe`` in a pseudo-terminal (:mod:`pty`) and wait for what it draws
(the status word ``FINISHED``), never for a duration; the limits are safety nets.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import pty
import select
import signal
import struct
import subprocess
import termios
import time

import pytest

from conftest import CLI, CLIPS, ROOT, run_cli
from streamer.errors import ExitCode

JFK = str(CLIPS["jfk"][0])
FAST = ["--model", "tiny.en", "--speed", "max"]
SAFETY_S = 120.0  #: bounds a hang only


# -- exit codes without a model -----------------------------------------------------------------

def test_unwritable_output_is_73_cantcreat(tmp_path):
    r = run_cli("--file", JFK, "-o", str(tmp_path / "no" / "such" / "dir" / "c.txt"))
    assert r.returncode == ExitCode.CANT_CREATE == 73 and r.stdout == ""
    assert r.stderr.count("\n") == 1 and "cannot write" in r.stderr


def test_unwritable_recording_is_73(tmp_path):
    r = run_cli("--file", JFK, "--record", str(tmp_path / "no" / "dir" / "a.flac"))
    assert r.returncode == 73 and r.stderr.count("\n") == 1 and "cannot write" in r.stderr


def test_ui_with_a_data_format_on_the_terminal_is_refused():
    r = run_cli("--tui", "--file", JFK, "--format", "jsonl")
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.count("\n") == 1 and "--output" in r.stderr and "--plain" in r.stderr


def test_an_unexpected_exception_is_one_line_and_70(monkeypatch, capsys):
    from tui import cli
    from tui.cli import commands

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(commands, "info", broken)
    assert cli.main(["info"]) == ExitCode.SOFTWARE == 70
    err = capsys.readouterr().err
    assert err.splitlines() == ["livescribe: error: internal error: RuntimeError: boom "
                                "(run with -v for the traceback)"]
    assert cli.main(["-v", "info"]) == 70
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and err.rstrip().endswith("boom")


@pytest.mark.parametrize("argv,command,verbose", [
    (["-v", "info"], "info", 1), (["info", "-v"], "info", 1), (["-vv", "devices", "--json"],
                                                                 "devices", 2),
    (["--model", "tiny.en", "config", "--json"], "config", None), ([], None, None),
])
def test_subcommands_parse_with_flags_on_either_side(argv, command, verbose):
    from tui.cli.parser import build_parser

    args = build_parser().parse_args(argv)
    assert args.command == command
    assert getattr(args, "ui.verbose", None) == verbose


def test_an_unknown_subcommand_is_a_usage_error():
    r = run_cli("transcribe")
    assert r.returncode == 2 and "invalid choice" in r.stderr


# -- failures of the journal and the recorder (tiny.en) -------------------------------------------

@pytest.mark.model
def test_a_journal_that_fails_mid_session_exits_74(tmp_path, monkeypatch, capsys):
    """Disk full after the first caption: every caption still reaches stdout, the session
    ends with one line and 74 (EX_IOERR), not 0."""
    from tui import cli

    real_fsync, calls = os.fsync, []

    def full(fd):
        calls.append(fd)
        if len(calls) > 2:  # the header and the first caption reach the disk
            raise OSError(28, "No space left on device")
        return real_fsync(fd)

    monkeypatch.setattr(os, "fsync", full)
    code = cli.main(["--file", JFK, *FAST, "--plain", "--transcript", str(tmp_path / "t.txt")])
    out, err = capsys.readouterr()
    assert code == ExitCode.IO_ERROR == 74
    assert "country" in out.lower()  # captions went on
    errors = [ln for ln in err.splitlines() if ln.startswith("livescribe: error:")]
    assert len(errors) == 1 and "No space left on device" in errors[0]
    journalled = (tmp_path / "t.txt").read_text().splitlines()[1:]
    assert 1 <= len(journalled) < len(out.splitlines())  # it stopped at the failure


@pytest.mark.model
def test_a_recording_that_fails_mid_session_exits_74(tmp_path, monkeypatch, capsys):
    from streamer.capture.recorder import Recorder
    from tui import cli

    def disk_full(self):
        self._fail(OSError(28, "No space left on device"))

    monkeypatch.setattr(Recorder, "_encode_pending", disk_full)
    code = cli.main(["--file", JFK, *FAST, "--plain", "--no-transcript",
                     "--record", str(tmp_path / "a.flac")])
    out, err = capsys.readouterr()
    assert code == 74 and "country" in out.lower()
    errors = [ln for ln in err.splitlines() if ln.startswith("livescribe: error:")]
    assert len(errors) == 1 and "recording to" in errors[0] and "No space" in errors[0]


# -- in a terminal ----------------------------------------------------------------------------------

def _spawn(args: list[str], rows: int = 30, cols: int = 110):
    """``livescribe ARGS`` on a pseudo-terminal: ``(process, master fd)``."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    env = dict(os.environ, TERM="xterm-256color")
    proc = subprocess.Popen([*CLI, *args], stdin=slave, stdout=slave, stderr=slave, cwd=ROOT,
                            env=env, start_new_session=True)
    os.close(slave)
    return proc, master


def _read(master: int, until: bytes | None = None) -> bytes:
    """What the terminal shows until ``until`` appears (None: until the process closes it)."""
    buf, deadline = b"", time.monotonic() + SAFETY_S
    while until is None or until not in buf:
        assert time.monotonic() < deadline, f"no {until!r} on the terminal: {buf[-500:]!r}"
        ready, _, _ = select.select([master], [], [], 0.5)
        if not ready:
            continue
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the process closed the terminal
            break
        if not chunk:
            break
        buf += chunk
    return buf


@pytest.mark.model
@pytest.mark.parametrize("signum,code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_the_ui_exits_130_on_ctrl_c_and_143_on_sigterm(signum, code):
    """In the UI, -v shows the log (the calibration line) and --benchmark prints its table on
    the restored terminal at exit; SIGINT exits 130, SIGTERM 143, as --plain does."""
    proc, master = _spawn(["--file", JFK, *FAST, "--no-transcript", "-v", "--benchmark"])
    try:
        shown = _read(master, b"FINISHED")  # the session ran in the UI and ended
        assert b"calibration: tiny.en" in shown  # the log panel (-v)
        proc.send_signal(signum)
        after = _read(master)
        assert proc.wait(SAFETY_S) == code
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    # jfk: 4 utterances, ended by its pauses of 1.0, 1.0 and 0.66 s of non-speech
    assert b"benchmark: 4 windows" in after and b"enc+dec" in after
    assert b"Traceback" not in shown + after


@pytest.mark.model
def test_a_data_format_on_a_terminal_is_written_there():
    """``--format jsonl`` with no ``-o`` on a terminal: no UI, JSON lines on the terminal."""
    import json

    proc, master = _spawn(["--file", JFK, *FAST, "--no-transcript", "--format", "jsonl"])
    try:
        out = _read(master)
        assert proc.wait(SAFETY_S) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    rows = [json.loads(line) for line in out.decode().splitlines() if line.strip()]
    assert rows and all(r["type"] == "final" for r in rows)
    assert "country" in " ".join(r["text"] for r in rows).lower()


# -- the UI learns everything from events ---------------------------------------------------------

class EventsOnly:
    """A pipeline that is nothing but an event stream and the two controls: no attribute of the
    engine exists to be read (``__slots__``)."""

    __slots__ = ("_events", "_hold", "stopped")

    def __init__(self, events, hold: bool = False):
        import threading

        self._events = events
        self._hold = threading.Event() if hold else None  # the stream waits for stop()
        self.stopped = False

    def events(self):
        yield from self._events
        if self._hold is not None:
            self._hold.wait(SAFETY_S)

    def stop(self):
        self.stopped = True
        if self._hold is not None:
            self._hold.set()

    def pause(self, paused):
        pass


def test_device_panel_and_meter_come_from_events():
    from streamer.events import InputLevel, ModelReady, PlanReady, SourceOpened
    from tui.app import make_app
    from tui.widgets.device import DevicePanel
    from tui.widgets.status import StatusBar

    rows = (("device", "cpu"), ("model", "tiny.en (~182 MiB)"), ("beam size", "1"))
    evs = [SourceOpened("microphone 3: USB mic (ALSA) at 48000 Hz, 2 ch", 48000, True),
           PlanReady(False, "tiny.en", "cpu", "int8", 1, 1, rows, ("avx2", "fma")),
           PlanReady(True, "tiny.en", "cpu", "int8", 1, 1,
                     rows + (("calibration", "0.20 s per 5 s window: keeps up"),), ("avx2",)),
           ModelReady("tiny.en", "cpu", "int8", 1, 1, 0.4, 0.2, False),
           InputLevel(-23.4, True, 1.0)]
    app = make_app(EventsOnly(evs, hold=True), model_name="auto", rss_bytes=None)
    seen: dict = {}

    async def scenario():
        async with app.run_test(size=(110, 30)) as pilot:
            deadline = asyncio.get_running_loop().time() + SAFETY_S
            while not isinstance(app.view.model, ModelReady) or app.in_speech is not True:
                assert asyncio.get_running_loop().time() < deadline
                await pilot.pause(0.05)
            await pilot.pause()
            seen["rows"] = app.query_one(DevicePanel).rows()
            bar = app.query_one(StatusBar)
            seen["status"] = (bar.state, bar.level_dbfs)

    asyncio.run(scenario())
    device = dict(seen["rows"])
    assert device["input"] == "microphone 3: USB mic (ALSA) at 48000 Hz, 2 ch · 48 → 16 kHz mono"
    assert device["cpu"] == "avx2" and device["model"] == "tiny.en (English)"
    assert "calibration 0.20 s per 5 s window: keeps up" in [v for _, v in seen["rows"]]
    assert seen["status"] == ("speech", -23.4)


def test_engine_failure_event_is_the_app_error_and_exit_code():
    from streamer.events import PipelineStats, SessionFailed
    from tui.app import make_app

    app = make_app(EventsOnly([SessionFailed("cannot load model 'x'", 69),
                               PipelineStats(0.0, 0, 0, 0, 0, 0, 0, {}, 0, 0.0, final=True)]),
                   rss_bytes=None)

    async def scenario():
        async with app.run_test(size=(100, 30)) as pilot:
            deadline = asyncio.get_running_loop().time() + SAFETY_S
            while app.is_running and app.error is None:
                assert asyncio.get_running_loop().time() < deadline
                await pilot.pause(0.05)

    asyncio.run(scenario())
    assert str(app.error) == "cannot load model 'x'" and app.error.exit_code == 69
    assert app.return_code == 69  # a failure before the model was ready ends the app


def test_log_panel_shows_every_record_at_verbose_and_toasts_warnings():
    from tui.app import make_app
    from tui.loghandler import TuiLogHandler
    from tui.widgets.logpanel import LogPanel

    app = make_app(None, rss_bytes=None, show_log=True)
    handler = TuiLogHandler(app, level=logging.INFO)
    handler.setFormatter(logging.Formatter("%(message)s"))
    log = logging.getLogger("streamer.test_frontends")
    log.propagate = False
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    counts: dict = {}

    async def scenario():
        async with app.run_test(size=(100, 30)) as pilot:
            log.info("plan: device cpu")
            log.warning("ring buffer overruns: 3 blocks")
            panel = app.query_one(LogPanel)
            deadline = asyncio.get_running_loop().time() + SAFETY_S
            while panel.count < 2:
                assert asyncio.get_running_loop().time() < deadline
                await pilot.pause(0.05)
            counts["panel"] = panel.count
            counts["toasts"] = [n.message for n in app._notifications]

    try:
        asyncio.run(scenario())
    finally:
        log.removeHandler(handler)
    assert counts["panel"] == 2
    assert counts["toasts"] == ["ring buffer overruns: 3 blocks"]  # info: panel only


def test_after_a_first_signal_the_plain_front_end_keeps_its_handler():
    """A second Ctrl-C exits at once (130) however late it comes: the plain front end leaves
    its handler in place once a first signal stopped the session, so a second one arriving
    while the process shuts down (threads joining) is not Python's KeyboardInterrupt, which
    ends the process killed by SIGINT (-2) instead. The first signal is delivered by calling
    the installed handler mid-session (a fake pipeline, no model, no timing)."""
    from streamer.config import build_config
    from streamer.events import SourceOpened
    from tui.cli.plain import run_plain

    class Pipeline:
        stopped = False

        def events(self):
            yield SourceOpened("fake", None, live=True)
            signal.getsignal(signal.SIGINT)(signal.SIGINT, None)  # Ctrl-C mid-session

        def stop(self):
            self.stopped = True

    config = build_config({"output.journal": False}).config
    original = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    try:
        p = Pipeline()
        assert run_plain(p, config) == ExitCode.SIGINT and p.stopped
        assert signal.getsignal(signal.SIGINT) not in (original[0], signal.default_int_handler)
        assert signal.getsignal(signal.SIGTERM) is not original[1]
    finally:
        signal.signal(signal.SIGINT, original[0])
        signal.signal(signal.SIGTERM, original[1])
