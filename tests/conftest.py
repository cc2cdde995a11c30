"""Shared fixtures: real clips from assets/, the bundled tiny.en model, a CLI runner."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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
    from streamer.audio import decode_blocks

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
def _user_data_dir(tmp_path_factory):
    """Send default transcripts (platformdirs' user data dir) to a temporary directory, not
    the home of whoever runs the tests; subprocesses inherit it."""
    mp = pytest.MonkeyPatch()
    mp.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("xdg-data")))
    yield
    mp.undo()


@pytest.fixture(scope="session")
def tiny_model():
    """The bundled tiny.en model, resolved."""
    from streamer.models import resolve_model

    return resolve_model("tiny.en")


def run_cli(*args: str, timeout: float = 120, env: dict | None = None,
            input: bytes | None = None) -> subprocess.CompletedProcess:
    """Run ``python -m streamer ARGS`` and capture stdout/stderr as text."""
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run([sys.executable, "-m", "streamer", *args], cwd=ROOT, env=e,
                          capture_output=True, text=True, timeout=timeout, input=input)
