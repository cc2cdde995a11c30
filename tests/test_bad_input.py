"""Bad and unusual input through the real command: each error is one line on stderr, stdout
stays empty, the exit code is the documented one (streamer/errors.py); unusual but valid audio
(8 kHz, 48 kHz stereo, a video's audio track, a clip too short to caption) transcribes or ends
cleanly.

Decision for a file that stops decoding part-way (a truncated FLAC): the captions of the part
that decodes are printed, then livescribe exits 65 with one line naming the stream time where
decoding stopped -- the captions are kept, and a script can still tell the input was damaged.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import sys

import av
import numpy as np
import pytest

from conftest import ASSETS, CLIPS, ROOT, in_order, load_pcm, run_cli, words

pytestmark = pytest.mark.model

FAST = ["--model", "tiny.en", "--speed", "max"]
JFK_WORDS = ["fellow", "your", "country", "do", "for", "you", "ask", "what", "your", "country"]


def write_audio(path, pcm: np.ndarray, rate: int, layout: str, codec: str) -> None:
    """Encode ``int16 [n]`` at 16 kHz mono to ``path`` at ``rate`` Hz and ``layout`` with PyAV."""
    with av.open(str(path), "w") as c:
        s = c.add_stream(codec, rate=rate)
        s.layout = layout
        frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = 16000
        rs = av.AudioResampler(format=s.format.name, layout=layout, rate=rate)
        for f in rs.resample(frame) + rs.resample(None):
            for p in s.encode(f):
                c.mux(p)
        for p in s.encode(None):
            c.mux(p)


def write_video(path, pcm: np.ndarray | None) -> None:
    """A small MPEG-4 video (64x48, 10 fps, frames of changing grey) with ``pcm`` (int16 [n],
    16 kHz mono) as an AAC track, or no audio track when ``pcm`` is None."""
    seconds = 3.0 if pcm is None else pcm.size / 16000
    with av.open(str(path), "w") as c:
        v = c.add_stream("mpeg4", rate=10)
        v.width, v.height, v.pix_fmt = 64, 48, "yuv420p"
        a = None
        if pcm is not None:
            a = c.add_stream("aac", rate=16000)
            a.layout = "mono"
        for i in range(int(seconds * 10)):
            img = np.full((48, 64, 3), (i * 5) % 255, dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts = i
            for p in v.encode(frame):
                c.mux(p)
        for p in v.encode(None):
            c.mux(p)
        if a is not None:
            frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
            frame.sample_rate = 16000
            rs = av.AudioResampler(format=a.format.name, layout="mono", rate=16000)
            for f in rs.resample(frame) + rs.resample(None):
                for p in a.encode(f):
                    c.mux(p)
            for p in a.encode(None):
                c.mux(p)


@pytest.fixture(scope="module")
def jfk_pcm() -> np.ndarray:
    return load_pcm(CLIPS["jfk"][0])


def run(path, tmp_path, *extra) -> subprocess.CompletedProcess:
    """The CLI on ``path`` with its default transcript directory under ``tmp_path``."""
    return run_cli("--file", str(path), *FAST, *extra,
                   env={"XDG_DATA_HOME": str(tmp_path / "data")})


def assert_error(r: subprocess.CompletedProcess, code: int, needle: str, tmp_path) -> None:
    assert r.returncode == code, (r.returncode, r.stderr)
    assert r.stdout == ""
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("livescribe: error: ") and needle in lines[0], lines[0]
    assert "Traceback" not in r.stderr
    # the input is checked before anything is created: no empty transcript left behind
    assert not (tmp_path / "data").exists() or not any((tmp_path / "data").rglob("*.txt"))


# --------------------------------------------------------------------------- errors
def test_empty_file(tmp_path):
    f = tmp_path / "empty.wav"
    f.write_bytes(b"")
    assert_error(run(f, tmp_path), 65, "empty", tmp_path)


def test_random_bytes_named_wav(tmp_path):
    f = tmp_path / "noise.wav"
    f.write_bytes(np.random.default_rng(8).integers(0, 256, 20_000, dtype=np.uint8).tobytes())
    assert_error(run(f, tmp_path), 65, "not a readable audio file", tmp_path)


def test_directory(tmp_path):
    assert_error(run(tmp_path, tmp_path), 66, "directory", tmp_path)


def test_video_without_audio_track(tmp_path):
    f = tmp_path / "silent.mp4"
    write_video(f, None)
    assert_error(run(f, tmp_path), 65, "no audio stream", tmp_path)


def _drop_file_permission_bypass() -> None:
    """preexec_fn: remove CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH from the bounding set, so
    the exec'd root process obeys file permissions like any user."""
    libc = ctypes.CDLL(None, use_errno=True)
    PR_CAPBSET_DROP, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH = 24, 1, 2
    for cap in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def test_file_without_read_permission(tmp_path):
    """chmod 000 in a world-traversable directory.

    As root, permissions do not apply, and running as ``nobody`` is impossible here: the
    interpreter lives under /root (mode 700). So root runs the CLI without the two
    capabilities that bypass file permissions, which is what makes root immune -- the same
    check an unprivileged user meets.
    """
    d = tmp_path / "shared"
    d.mkdir()
    d.chmod(0o755)
    f = d / "locked.flac"
    shutil.copy(CLIPS["jfk"][0], f)
    f.chmod(0)
    kw = {}
    if os.geteuid() == 0:
        probe = subprocess.run([sys.executable, "-c", f"open({str(f)!r}).close()"],
                               preexec_fn=_drop_file_permission_bypass, capture_output=True)
        if b"PermissionError" not in probe.stderr:
            pytest.skip("cannot drop CAP_DAC_OVERRIDE here (no CAP_SETPCAP?): root reads "
                        "any file, so 'permission denied' cannot happen")
        kw["preexec_fn"] = _drop_file_permission_bypass
    env = dict(os.environ, XDG_DATA_HOME=str(tmp_path / "data"))
    r = subprocess.run([sys.executable, "-m", "tui", "--file", str(f), *FAST], cwd=ROOT,
                       env=env, capture_output=True, text=True, timeout=120, **kw)
    assert_error(r, 66, "permission denied", tmp_path)


# --------------------------------------------------------------------------- valid but unusual
def test_a_tenth_of_a_second(tmp_path, jfk_pcm):
    """Valid audio too short to hold a caption: a clean exit 0, nothing on stdout or stderr."""
    f = tmp_path / "short.wav"
    write_audio(f, jfk_pcm[16000:17600], 16000, "mono", "pcm_s16le")  # 0.1 s of speech
    r = run(f, tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout == ""
    assert "error" not in r.stderr and "Traceback" not in r.stderr


def test_truncated_flac_keeps_what_decodes(tmp_path):
    src = ASSETS / "librispeech_2412-153948-0000.flac"
    data = src.read_bytes()
    f = tmp_path / "cut.flac"
    f.write_bytes(data[:len(data) // 2])
    r = run(f, tmp_path)
    assert r.returncode == 65, (r.returncode, r.stderr)
    # the first half was captioned ...
    assert in_order(["reader", "excuse", "say", "nothing"], words(r.stdout)), r.stdout
    assert "painful" not in r.stdout  # ... and nothing of the half that is gone
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "truncated or corrupt" in lines[0], r.stderr
    assert " after " in lines[0] and " s of audio" in lines[0]


@pytest.mark.parametrize("name,rate,layout,codec", [
    ("8k-mono.wav", 8000, "mono", "pcm_s16le"),
    ("48k-stereo.flac", 48000, "stereo", "flac"),
])
def test_other_rates_and_channels(tmp_path, jfk_pcm, name, rate, layout, codec):
    f = tmp_path / name
    write_audio(f, jfk_pcm, rate, layout, codec)
    with av.open(str(f)) as c:  # the file really is what the test says
        s = c.streams.audio[0]
        assert (s.rate, s.channels) == (rate, 1 if layout == "mono" else 2)
    r = run(f, tmp_path)
    assert r.returncode == 0, r.stderr
    assert in_order(JFK_WORDS, words(r.stdout)), r.stdout


def test_video_with_audio_track(tmp_path, jfk_pcm):
    f = tmp_path / "talk.mp4"
    write_video(f, jfk_pcm)
    with av.open(str(f)) as c:
        assert c.streams.video and c.streams.audio
        assert c.streams[0].type == "video"  # audio is not the first stream
    r = run(f, tmp_path)
    assert r.returncode == 0, r.stderr
    assert in_order(JFK_WORDS, words(r.stdout)), r.stdout
