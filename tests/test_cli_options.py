"""The command-line items of issue 15: times in text output (``--timestamps``, ``tsv``), pipes
and stdin (``--file -``, raw PCM), the default replay speed (``--speed auto``) and Whisper's
own options (``--task translate``, ``--hotwords``, ``--word-timestamps`` with line limits)."""

from __future__ import annotations

import io
import json
import math
import os
import pty
import re

import numpy as np
import pytest

from conftest import ASSETS, CLI, CLIPS, ROOT, in_order, load_pcm, run_cli, words

JFK = str(CLIPS["jfk"][0])
SPANISH = str(ASSETS / "asterisk_es_agent-newlocation.flac")
TINY = ["--model", "tiny.en", "--no-transcript"]
NOISE = np.random.default_rng(0).integers(0, 256, 4000, dtype=np.uint8).tobytes()


def run_piped(*args: str, data: bytes, env: dict | None = None):
    """``livescribe ARGS`` with ``data`` on stdin; stdout and stderr decoded as text."""
    import subprocess

    r = subprocess.run([*CLI, *args], cwd=ROOT, input=data, capture_output=True, timeout=120,
                       env={**os.environ, **(env or {})})
    r.stdout, r.stderr = r.stdout.decode(), r.stderr.decode()
    return r


# -- --speed auto: decided by the front end (no model) --------------------------------------------

class Stream(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self._tty = tty

    def isatty(self) -> bool:
        return self._tty


@pytest.mark.parametrize("ui,tty,path,speed", [
    (True, True, None, 1.0),           # captions watched in the UI: real time
    (False, True, None, 1.0),          # plain captions on a terminal: real time
    (False, False, None, math.inf),    # captions into a pipe: as fast as possible
    (True, True, "talk.srt", math.inf),   # into a file, the UI showing progress: as fast
    (False, True, "talk.srt", math.inf),
])
def test_speed_auto_is_real_time_only_where_captions_are_watched(ui, tty, path, speed):
    from streamer.config import build_config
    from tui.cli import replay_speed

    flags = {"input.file": JFK, **({"output.path": path} if path else {})}
    config = build_config(flags, env={}).config
    assert config.input.speed == "auto"
    assert replay_speed(config, ui, Stream(tty)) == speed
    pinned = build_config({**flags, "input.speed": 2.0}, env={}).config
    assert replay_speed(pinned, ui, Stream(tty)) == 2.0


def test_the_new_settings_show_in_livescribe_config():
    r = run_cli("config", "--json", "--task", "translate", "--hotwords", "Okafor",
                "--word-timestamps", "--timestamps", "--format", "tsv", "--file", "-",
                "--input-format", "s16le", "--input-rate", "8000", "--input-channels", "2")
    assert r.returncode == 0, r.stderr
    s = json.loads(r.stdout)["settings"]
    assert {k: s[k]["value"] for k in ("input.speed", "decoding.task", "decoding.hotwords",
                                       "decoding.word_timestamps", "output.timestamps",
                                       "output.format", "input.file", "input.format",
                                       "input.rate_hz", "input.channels",
                                       "output.max_line_width")} == {
        "input.speed": "auto", "decoding.task": "translate", "decoding.hotwords": "Okafor",
        "decoding.word_timestamps": True, "output.timestamps": True, "output.format": "tsv",
        "input.file": "-", "input.format": "s16le", "input.rate_hz": 8000,
        "input.channels": 2, "output.max_line_width": None}
    assert s["decoding.task"]["source"] == "flag" and s["input.speed"]["source"] == "default"


# -- refusals: one line, sysexits (no model) ------------------------------------------------

@pytest.mark.parametrize("args,stdin,code,needle", [
    (["--file", "-"], b"", 65, "cannot read audio from stdin"),
    (["--file", "-"], NOISE, 65, "cannot read audio from stdin"),
    (["--file", "-", "--input-format", "s16le"], b"", 65, "no audio data on stdin"),
    (["--file", JFK, "--input-format", "nosuchformat"], b"", 2, "unknown input format"),
    (["--file", JFK, "--format", "srt", "--max-line-count", "2"], b"", 2, "--word-timestamps"),
    (["--file", JFK, "--task", "summarize"], b"", 2, "invalid choice"),
    (["--file", JFK, "--max-line-width", "0"], b"", 2, "max line width"),
], ids=["empty", "noise", "empty-raw", "format", "line-count", "task", "width"])
def test_bad_stdin_and_options_are_one_line(args, stdin, code, needle):
    r = run_piped(*args, *TINY, data=stdin)
    assert r.returncode == code, r.stderr
    assert r.stdout == "" and needle in r.stderr
    if "invalid choice" not in needle:  # argparse prints its usage first
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_stdin_on_a_terminal_is_a_usage_error():
    import subprocess

    master, slave = pty.openpty()
    try:
        r = subprocess.run([*CLI, "--file", "-", *TINY], stdin=slave, capture_output=True,
                           text=True, cwd=ROOT, timeout=60)
    finally:
        os.close(slave)
        os.close(master)
    assert r.returncode == 2 and "stdin is a terminal" in r.stderr and r.stdout == ""


# -- end to end with tiny.en / base ---------------------------------------------------------------

@pytest.mark.model
def test_timestamps_prefix_each_plain_caption_and_tsv_has_milliseconds():
    r = run_cli("--file", JFK, *TINY, "--timestamps")
    assert r.returncode == 0, r.stderr
    stamp = re.compile(r"^\[(\d\d:\d\d:\d\d\.\d{3}) --> (\d\d:\d\d:\d\d\.\d{3})\] \S")
    lines = r.stdout.splitlines()
    assert lines and all(stamp.match(line) for line in lines), r.stdout
    assert in_order(["fellow", "americans", "country"], words(r.stdout))
    t = run_cli("--file", JFK, *TINY, "--format", "tsv")
    rows = [line.split("\t") for line in t.stdout.splitlines()]
    assert rows[0] == ["start", "end", "text"] and len(rows) >= 3
    times = [(int(a), int(b)) for a, b, _ in rows[1:]]
    assert all(0 <= a < b <= 11_100 for a, b in times)
    assert [a for a, _ in times] == sorted(a for a, _ in times)


@pytest.mark.model
def test_stdin_takes_a_container_or_raw_pcm_and_gives_the_files_captions(tmp_path):
    """``cat jfk.flac | livescribe --file -`` captions as ``--file jfk.flac`` does; so does the
    same audio as raw s16le at 8 kHz stereo with its format, rate and channels given."""
    from_file = run_cli("--file", JFK, *TINY, "--format", "jsonl")
    with open(JFK, "rb") as f:
        piped = run_piped("--file", "-", *TINY, "--format", "jsonl", data=f.read())
    assert piped.returncode == 0, piped.stderr
    texts = [[json.loads(x)["text"] for x in r.stdout.splitlines()] for r in (from_file, piped)]
    assert texts[0] == texts[1] and texts[0]
    pcm = load_pcm(CLIPS["jfk"][0])[::2]  # 8 kHz (a crude decimation is fine for a test)
    stereo = np.stack([pcm, pcm], axis=1).astype("<i2").tobytes()
    raw = run_piped("--file", "-", *TINY, "--input-format", "s16le", "--input-rate", "8000",
                    "--input-channels", "2", "-v", data=stereo)
    assert raw.returncode == 0, raw.stderr
    assert in_order(["fellow", "americans", "country"], words(raw.stdout))
    assert "input: stdin (s16le)" in raw.stderr


@pytest.mark.model
def test_speed_auto_into_a_file_goes_as_fast_as_transcription(tmp_path):
    """``--format srt -o talk.srt`` with no --speed: the replay does not wait for a clock
    (what -v says of the decided speed; the pace itself is measured in docs/cli.md)."""
    out = tmp_path / "talk.srt"
    r = run_cli("--file", JFK, *TINY, "--format", "srt", "-o", str(out), "-v")
    assert r.returncode == 0, r.stderr
    assert "replay speed: as fast as transcription goes" in r.stderr
    assert "americans" in out.read_text().lower()


@pytest.mark.model
def test_translate_gives_english_captions_of_spanish_speech_with_base():
    spanish = run_cli("--file", SPANISH, "--model", "base", "--no-transcript")
    english = run_cli("--file", SPANISH, "--model", "base", "--no-transcript",
                      "--task", "translate")
    assert spanish.returncode == english.returncode == 0, english.stderr
    assert {"favor", "nueva"} <= set(words(spanish.stdout))
    said = set(words(english.stdout))
    assert {"please", "new", "extension"} <= said and not {"por", "favor", "nueva"} & said


@pytest.mark.model
def test_translate_is_refused_with_an_english_only_model():
    r = run_cli("--file", JFK, *TINY, "--task", "translate")
    assert r.returncode == 69 and r.stdout == ""
    assert r.stderr.strip().splitlines() == [
        "livescribe: error: model 'tiny.en' is English-only; --task translate needs a "
        "multilingual model such as base"]


@pytest.mark.model
def test_word_timestamps_in_jsonl_and_srt_cues_within_the_limits(tmp_path):
    r = run_cli("--file", JFK, *TINY, "--format", "jsonl", "--word-timestamps")
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert rows
    last = 0.0
    for row in rows:
        ws = row["words"]
        assert words(" ".join(w["word"] for w in ws)) == words(row["text"])
        for w in ws:
            assert 0.0 <= w["start"] <= w["end"] <= 11.1 and 0.0 <= w["probability"] <= 1.0
            assert w["start"] >= last - 0.05  # stream times, in order across captions
            last = w["start"]
    out = tmp_path / "c.srt"
    r = run_cli("--file", JFK, *TINY, "--format", "srt", "-o", str(out), "--word-timestamps",
                "--max-line-width", "16", "--max-line-count", "1")
    assert r.returncode == 0, r.stderr
    cues = out.read_text().strip().split("\n\n")
    assert len(cues) > len(rows)  # captions were split into cues
    for cue in cues:
        lines = cue.splitlines()
        assert len(lines) == 3  # number, times, one line of text
        assert len(lines[2]) <= 16 or " " not in lines[2]


@pytest.mark.model
def test_the_ui_reads_keys_from_the_terminal_while_the_audio_comes_on_stdin():
    """``cat jfk.flac | livescribe --file -`` on a terminal opens the UI: the audio is read
    from (a copy of) stdin, keys from the controlling terminal: ``q`` quits."""
    import fcntl
    import struct
    import subprocess
    import termios
    import time

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 110, 0, 0))

    def take_the_terminal():  # the child's controlling terminal is the pty (on its stdout)
        fcntl.ioctl(1, termios.TIOCSCTTY, 0)

    proc = subprocess.Popen([*CLI, "--file", "-", *TINY, "--speed", "max"], cwd=ROOT,
                            stdin=subprocess.PIPE, stdout=slave, stderr=slave,
                            env={**os.environ, "TERM": "xterm-256color"},
                            start_new_session=True, preexec_fn=take_the_terminal)
    os.close(slave)
    shown, deadline = b"", time.monotonic() + 120
    try:
        with open(JFK, "rb") as f:
            proc.stdin.write(f.read())
        proc.stdin.close()
        import select

        while b"FINISHED" not in shown:
            assert time.monotonic() < deadline, shown[-400:]
            if select.select([master], [], [], 0.5)[0]:
                shown += os.read(master, 65536)
        os.write(master, b"q")
        # read on to the end: FINISHED (the status bar, drawn first) can come in one read and
        # the caption lines of the same frame in the next
        while time.monotonic() < deadline:
            if select.select([master], [], [], 0.5)[0]:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not chunk:
                    break
                shown += chunk
            elif proc.poll() is not None:
                break
        assert proc.wait(60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    screen = re.sub(rb"\x1b\[[0-9;?<>=$]*[A-Za-z]", b"", shown)  # the text, without escapes
    assert b"country" in screen and b"stdin" in screen  # captions, and the input in the panel


@pytest.mark.model
def test_stdin_is_captioned_as_it_arrives():
    """A pipe held open after the first utterance: its caption comes out before the rest of
    the audio is even written (decoding is incremental; nothing waits for the end of stdin)."""
    import subprocess

    pcm = load_pcm(CLIPS["jfk"][0]).astype("<i2")
    first, rest = pcm[:int(3.2 * 16000)], pcm[int(3.2 * 16000):]  # "... fellow Americans" + pause
    proc = subprocess.Popen([*CLI, "--file", "-", *TINY, "--input-format", "s16le"], cwd=ROOT,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    import threading

    safety = threading.Timer(120, proc.kill)  # bounds a hang only (readline has no timeout)
    safety.start()
    try:
        proc.stdin.write(first.tobytes())
        proc.stdin.flush()
        line = proc.stdout.readline().decode()  # while stdin is still open
        assert in_order(["fellow", "americans"], words(line)), line
        proc.stdin.write(rest.tobytes())
        proc.stdin.close()
        out, err = proc.stdout.read(), proc.stderr.read()
        proc.wait(120)
    finally:
        safety.cancel()
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert in_order(["country", "country"], words(out.decode()))
