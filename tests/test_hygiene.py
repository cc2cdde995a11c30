"""Layering: the engine imports without Textual or PortAudio (stdout holding only captions is
tests/test_cli.py::test_stdout_holds_only_captions_and_stderr_the_rest)."""

import subprocess
import sys

from conftest import ROOT


def test_engine_imports_without_textual_or_sounddevice():
    code = (
        "import sys\n"
        "sys.modules['textual'] = None\n"  # any import of textual now fails
        "sys.modules['sounddevice'] = None\n"
        "import streamer.cli, streamer.pipeline, streamer.decoding.worker, streamer.capture.sources\n"
        "print('ok')\n"
    )
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "ok"
