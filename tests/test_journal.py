"""The session transcript: every caption on disk before it is shown, stamped with stream time;
defaults, --transcript/--no-transcript, and a SIGTERM mid-sentence that loses nothing."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import CLIPS, ROOT, SIGNAL_REPEAT, repeated_env, run_cli, wait_for_speech_after
from streamer.errors import ExitCode, LivescribeError
from streamer.events import Caption
from streamer.output.journal import JournalSink, default_transcript_path, open_journal

LINE = re.compile(r"^\[(\d\d):(\d\d):(\d\d)\.(\d{3}) --> (\d\d):(\d\d):(\d\d)\.(\d{3})\] (.*)$")


def caption(text: str, start_s: float, end_s: float) -> Caption:
    return Caption(text=text, start_s=start_s, end_s=end_s, latency_s=0.5, language="en",
                   avg_logprob=-0.2, no_speech_prob=0.01, compression_ratio=1.1,
                   window_index=0, emitted_wall=0.0)


def parse(path: Path) -> list[tuple[float, float, str]]:
    """The journal's caption lines as ``(start_s, end_s, text)``; ``#`` lines skipped."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            continue
        m = LINE.match(line)
        assert m, line
        g = [int(x) for x in m.groups()[:8]]
        start = g[0] * 3600 + g[1] * 60 + g[2] + g[3] / 1000
        end = g[4] * 3600 + g[5] * 60 + g[6] + g[7] / 1000
        out.append((start, end, m.group(9)))
    return out


def test_each_caption_is_on_disk_before_write_returns(tmp_path, monkeypatch):
    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd)))
    path = tmp_path / "t.txt"
    j = open_journal(path, "file talk.wav")
    assert isinstance(j, JournalSink) and j.path == path.resolve()
    j.write(caption("Hello there.", 1.0, 3.25))
    # another reader sees it at once, without close(): flushed and fsync'd
    assert parse(path) == [(1.0, 3.25, "Hello there.")]
    n = len(synced)
    j.write(caption("Ünïcode — fine", 3661.5, 3665.0))
    assert len(synced) == n + 1
    assert parse(path)[-1] == (3661.5, 3665.0, "Ünïcode — fine")
    j.close()
    j.close()
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# livescribe session ") and first.endswith(", file talk.wav")


def test_a_reused_path_gets_one_header_per_session(tmp_path):
    path = tmp_path / "t.txt"
    for text in ("one", "two"):
        j = open_journal(path)
        j.write(caption(text, 0.0, 1.0))
        j.close()
    lines = path.read_text().splitlines()
    assert [line.startswith("#") for line in lines] == [True, False, True, False]
    assert [t for _, _, t in parse(path)] == ["one", "two"]


def test_default_path_is_in_the_user_data_dir_and_never_collides(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    expected_dir = tmp_path / "livescribe" / "transcripts"
    assert default_transcript_path().parent == expected_dir
    a, b = open_journal(None), open_journal(None)  # same second: two files
    try:
        assert a.path.parent == b.path.parent == expected_dir.resolve()
        assert a.path != b.path
        assert re.fullmatch(r"\d{8}-\d{6}(-\d+)?\.txt", a.path.name)
    finally:
        a.close()
        b.close()


def test_unwritable_path_is_a_one_line_error(tmp_path):
    with pytest.raises(LivescribeError) as e:
        open_journal(tmp_path / "missing-dir" / "t.txt")
    assert e.value.exit_code == ExitCode.CANT_CREATE and "cannot write transcript" in str(e.value)


class _FailingStream(io.StringIO):
    def write(self, s):
        raise OSError(28, "No space left on device")

    def fileno(self):
        raise OSError(9, "Bad file descriptor")


def test_a_write_failure_warns_once_and_never_raises(caplog):
    j = JournalSink(_FailingStream(), Path("/full/t.txt"))
    with caplog.at_level(logging.WARNING, logger="streamer.output.journal"):
        j.write(caption("a", 0, 1))
        j.write(caption("b", 1, 2))
    assert isinstance(j.error, OSError)
    assert len([r for r in caplog.records if "No space left" in r.getMessage()]) == 1


# --------------------------------------------------------------------------- command line
JFK = str(CLIPS["jfk"][0])
FAST = ["--model", "tiny.en", "--speed", "max"]


@pytest.mark.model
def test_cli_journal_holds_exactly_the_captions_shown(tmp_path):
    path = tmp_path / "t.txt"
    r = run_cli("--file", JFK, *FAST, "--transcript", str(path))
    assert r.returncode == 0, r.stderr
    assert "transcript" not in r.stderr  # the path is logged only at -v when piped
    shown = r.stdout.splitlines()
    assert shown and [t for _, _, t in parse(path)] == shown
    times = parse(path)
    assert all(0 <= s < e <= 11.1 for s, e, _ in times)
    assert all(a[1] <= b[0] + 1e-9 for a, b in zip(times, times[1:]))  # in stream order


@pytest.mark.model
def test_cli_default_transcript_and_no_transcript(tmp_path):
    data = tmp_path / "data"
    r = run_cli("--file", JFK, *FAST, "-v", env={"XDG_DATA_HOME": str(data)})
    assert r.returncode == 0, r.stderr
    files = list((data / "livescribe" / "transcripts").glob("*.txt"))
    assert len(files) == 1
    assert f"livescribe: transcript: {files[0].resolve()}" in r.stderr.splitlines()
    assert [t for _, _, t in parse(files[0])] == r.stdout.splitlines()
    r = run_cli("--file", JFK, *FAST, "--no-transcript", env={"XDG_DATA_HOME": str(data)})
    assert r.returncode == 0 and r.stdout
    assert len(list((data / "livescribe" / "transcripts").glob("*.txt"))) == 1


@pytest.mark.model
def test_cli_unwritable_transcript_exits_73(tmp_path):
    r = run_cli("--file", JFK, *FAST, "--transcript", str(tmp_path / "nope" / "t.txt"))
    assert r.returncode == 73 and r.stdout == ""
    assert len(r.stderr.strip().splitlines()) == 1 and "cannot write transcript" in r.stderr


@pytest.mark.model
def test_sigterm_mid_sentence_loses_nothing(tmp_path):
    """Real-time replay killed with SIGTERM in the middle of an utterance: every caption
    printed is in the journal (in order, same text), and the utterance open at the signal is
    cut, transcribed and journalled before exit 143."""
    path = tmp_path / "t.txt"
    # --end-silence-ms 300: the clip in three utterances (one at the default 600 ms)
    # replayed SIGNAL_REPEAT times: the signal always comes with audio left
    proc = subprocess.Popen([sys.executable, "-m", "tui", "--file",
                             str(CLIPS["librispeech"][0]), "--model", "tiny.en", "--format",
                             "jsonl", "--speed", "1", "--end-silence-ms", "300", "--transcript",
                             str(path), "-vv"], cwd=ROOT, env=repeated_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = json.loads(proc.stdout.readline())  # one caption out: we are mid-clip
    journal_then = parse(path)
    assert wait_for_speech_after(proc, first["end"])  # the next utterance is open, with words in it
    proc.send_signal(signal.SIGTERM)
    rest, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    shown = [first] + [json.loads(line) for line in rest.splitlines()]
    journal = parse(path)
    # what was on screen was already on disk when it was shown
    assert journal_then and journal_then[0][2] == first["text"]
    assert [t for _, _, t in journal] == [c["text"] for c in shown]
    assert [(round(s, 3), round(e, 3)) for s, e, _ in journal] == \
        [(c["start"], c["end"]) for c in shown]
    # the window open at the signal was flushed and transcribed
    assert len(shown) >= 2 and shown[-1]["end"] > first["end"]
    # and nothing after it: the replay stopped a whole clip or more before its end
    clip_s = 11.66  # librispeech_2412-153948-0000.flac
    assert shown[-1]["end"] < (SIGNAL_REPEAT - 1) * clip_s, "the replay was not stopped"
    assert "stopping" in err


def test_the_first_line_on_a_terminal_says_where_the_transcript_is(tmp_path):
    """stderr on a terminal: ``livescribe: transcript: PATH`` comes first, before anything
    else the session says (here the model that does not exist; no model is loaded)."""
    import pty

    master, slave = pty.openpty()
    data = tmp_path / "data"
    try:
        proc = subprocess.run([sys.executable, "-m", "tui", "--file", JFK, "--model", "tinyy",
                               "--plain"], cwd=ROOT, stdout=subprocess.PIPE, stderr=slave,
                              env={**os.environ, "XDG_DATA_HOME": str(data)}, timeout=60)
        os.close(slave)
        shown = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(master)
    lines = shown.decode().splitlines()
    (path,) = (data / "livescribe" / "transcripts").glob("*.txt")
    assert lines[0] == f"livescribe: transcript: {path.resolve()}"
    assert proc.returncode == 69 and "unknown model" in lines[-1]
