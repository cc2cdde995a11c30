"""Shared fixtures: real clips from assets/, the bundled tiny.en model, a CLI runner."""

from __future__ import annotations

import contextlib
import copy
import math
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
ASSETS = ROOT / "assets"

CLIPS = {
    "jfk": (ASSETS / "jfk.flac",
            "And so my fellow Americans ask not what your country can do for you, "
            "ask what you can do for your country."),
    "librispeech": (ASSETS / "librispeech_2412-153948-0000.flac",
                    "if the reader will excuse me i will say nothing of my antecedents nor of the "
                    "circumstances which led me to leave my native country the narrative would be "
                    "tedious to him and painful to myself"),
    "ljspeech": (ASSETS / "ljspeech_LJ001-0011.flac",
                 "it is of the first importance that the letter used should be fine in form;"),
}


def load_pcm(path: Path) -> np.ndarray:
    """The whole clip as int16 [n] at 16 kHz mono (via the project's decoder)."""
    from streamer.capture.audio import decode_blocks

    return np.concatenate(list(decode_blocks(path, 16000)))


def words(text: str) -> list[str]:
    """Lower-case words without punctuation."""
    import re

    return re.findall(r"[a-z0-9']+", text.lower())


def in_order(needles: list[str], haystack: list[str]) -> bool:
    """True if ``needles`` appear in ``haystack`` in this order (gaps allowed)."""
    it = iter(haystack)
    return all(any(w == h for h in it) for w in needles)


@pytest.fixture(scope="session", autouse=True)
def _user_dirs(tmp_path_factory):
    """Send default transcripts (platformdirs' user data dir) and the default config file (its
    user config dir) to temporary directories, not the home of whoever runs the tests, and
    drop any ``LIVESCRIBE_*`` setting from the environment; subprocesses inherit this."""
    from streamer.config import settings

    mp = pytest.MonkeyPatch()
    mp.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("xdg-data")))
    mp.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("xdg-config")))
    for name in [s.env for s in settings()] + ["LIVESCRIBE_CONFIG"]:
        mp.delenv(name, raising=False)
    yield
    mp.undo()


@pytest.fixture(scope="session")
def tiny_model():
    """The bundled tiny.en model on the CPU, int8, CTranslate2's default threads."""
    from streamer.decoding.models import ModelSpec

    return ModelSpec("tiny.en")


def tiny_config(**groups):
    """The default configuration with the tiny.en model; ``groups`` replace whole groups
    (``output=OutputOptions(record="x.flac")``)."""
    from streamer.config import Config, ModelRequest

    groups.setdefault("model", ModelRequest(name="tiny.en"))
    return Config(**groups)


CLI = [sys.executable, "-m", "tui"]  #: the livescribe command, run from the work tree


def run_cli(*args: str, timeout: float = 120, env: dict | None = None,
            input: bytes | None = None) -> subprocess.CompletedProcess:
    """Run ``livescribe ARGS`` (``python -m tui``) and capture stdout/stderr as text."""
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run([*CLI, *args], cwd=ROOT, env=e,
                          capture_output=True, text=True, timeout=timeout, input=input)


@pytest.fixture(autouse=True)
def _logging_as_it_was():
    """Tests that call ``tui.cli.main`` in-process set up logging as the command does (a
    stderr handler on the root logger, levels on ``streamer`` and ``tui``); undo it after."""
    import logging

    root = logging.getLogger()
    saved = (root.handlers[:], root.level,
             {n: logging.getLogger(n).level for n in ("streamer", "tui")})
    yield
    root.handlers[:], root.level = saved[0], saved[1]
    for name, level in saved[2].items():
        logging.getLogger(name).setLevel(level)


@pytest.fixture(autouse=True)
def _markers_mean_what_they_say(request, monkeypatch):
    """A test not marked ``model`` that builds a Whisper model fails, so that the fast tier
    (``-m "not model and not live"``) never loads one by accident."""
    if request.node.get_closest_marker("model") is not None:
        return
    import faster_whisper

    real_init = faster_whisper.WhisperModel.__init__

    def refuse(self, model_size_or_path, *args, **kwargs):
        weights = Path(str(model_size_or_path)) / "model.bin"
        if weights.is_file() and weights.stat().st_size < 1_000_000:  # a broken model on purpose
            return real_init(self, model_size_or_path, *args, **kwargs)
        raise AssertionError("this test loads a Whisper model: mark it @pytest.mark.model")

    monkeypatch.setattr(faster_whisper.WhisperModel, "__init__", refuse)


class HeldRing:
    """A ring buffer that holds the capture thread once ``hold_s`` of audio is written, until
    :meth:`release`: the test decides where the stream stands, not a clock.

    Wraps a :class:`streamer.capture.ringbuffer.RingBuffer`; a source writes through it unchanged.
    """

    def __init__(self, ring, hold_s: float) -> None:
        import threading

        self.ring = ring
        self.hold_samples = int(hold_s * 16000)
        self.held = threading.Event()  # set once the capture thread is waiting
        self._release = threading.Event()

    def release(self) -> None:
        """Let the capture thread go on."""
        self._release.set()

    def _gate(self, block) -> None:
        if not self._release.is_set() and self.ring.written_samples + len(block) > self.hold_samples:
            self.held.set()
            self._release.wait()

    def write(self, block, captured_wall=None):
        self._gate(block)
        return self.ring.write(block, captured_wall)

    def write_wait(self, block, captured_wall=None, stop=None):
        self._gate(block)
        return self.ring.write_wait(block, captured_wall, stop=stop)

    def __getattr__(self, name):
        return getattr(self.ring, name)


def held_file_source(path, hold_s: float, speed: float = math.inf):
    """A source factory for :class:`~streamer.pipeline.Pipeline`: ``path`` replayed at
    ``speed`` and held after ``hold_s`` seconds. Returns ``(factory, holder)``; ``holder[0]`` is
    the :class:`HeldRing` once the pipeline has built the source."""
    from streamer.capture.sources import FileSource

    holder: list[HeldRing] = []

    def factory(ring):
        held = HeldRing(ring, hold_s)
        holder.append(held)
        return FileSource(path, held, speed=speed)

    return factory, holder


#: times a signal test replays its clip: at --speed 1 there is always audio left when the
#: signal comes (the clip alone, 11.7 s, may end first on a loaded machine, and exit 0)
SIGNAL_REPEAT = 10


def repeated_env(repeat: int = SIGNAL_REPEAT) -> dict:
    """The environment of a ``livescribe`` subprocess that replays its file ``repeat`` times
    (``input.repeat``: no flag, the variable ``LIVESCRIBE_INPUT_REPEAT``)."""
    return {**os.environ, "LIVESCRIBE_INPUT_REPEAT": str(repeat)}


def wait_for_speech_after(proc: subprocess.Popen, after_s: float) -> bool:
    """Read a ``livescribe -vv`` process's stderr until the segmenter logs that an utterance
    opened after stream time ``after_s`` holds a second of speech (words, not a breath the
    segmenter would drop); False if stderr ends first."""
    import re

    for line in proc.stderr:
        m = re.search(r"utterance from ([0-9.]+) s holds", line)
        if m and float(m.group(1)) > after_s:
            return True
    return False


@contextlib.contextmanager
def running_server(app, timeout_s: float = 120):
    """Serve the ASGI ``app`` with uvicorn on a free loopback port, in a thread; yields its
    ``http://127.0.0.1:PORT`` address once it accepts connections, stops it after."""
    import socket
    import threading
    import time

    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, ws="websockets-sansio",
                                           lifespan="on", timeout_graceful_shutdown=5))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout_s
    while not server.started:  # bounds a hang only: the test waits for startup, not a clock
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout_s)


def wait_ready(base: str, timeout_s: float = 120) -> dict:
    """Poll ``GET /health`` until it answers 200 (the model is loaded); its body."""
    import time

    import httpx

    deadline = time.monotonic() + timeout_s
    while True:
        r = httpx.get(base + "/health", timeout=timeout_s)
        if r.status_code == 200:
            return r.json()
        assert r.status_code == 503 and r.json()["status"] == "loading", r.text
        assert time.monotonic() < deadline, "the model did not load"
        time.sleep(0.05)


class FakeDecoder:
    """A warm model's stand-in: a window's text is ``"<prompt> window <seconds> s"``."""

    multilingual = False
    load_s = warmup_s = 0.0

    def __init__(self, spec, options) -> None:
        self.spec, self.options, self.language = spec, options, "en"
        self.model = SimpleNamespace(model=SimpleNamespace(compute_type="int8"))

    def warm_up(self, seconds: float = 5.0) -> float:
        return 0.01

    def for_session(self, options=None):
        from streamer.errors import ModelError

        if options is not None and options.language not in (None, "en"):
            raise ModelError(f"model 'fake' is English-only; --language {options.language} "
                             "needs a multilingual model such as base")
        view = copy.copy(self)
        if options is not None:
            view.options = replace(self.options, initial_prompt=options.initial_prompt)
        return view

    def decode(self, audio, speech_s=None, previous_text=None, prefix=None, first=None,
               interim=False, language=None):
        from streamer.decoding.result import DecodeResult

        text = f"{self.options.initial_prompt or 'speech'} window {len(audio) / 16000:.2f} s"
        if prefix and not text.startswith(prefix):
            text = prefix
        return DecodeResult(text=text, language="en", avg_logprob=-0.2, no_speech_prob=0.01,
                            compression_ratio=1.1, feature_s=0.0, encode_s=0.0, decode_s=0.0)

    def vote_language(self, result, speech_s=None) -> None:
        pass


def queued(q) -> list:
    """Everything waiting in queue ``q`` now, in order (the queue is left empty)."""
    out = []
    while not q.empty():
        out.append(q.get())
    return out
