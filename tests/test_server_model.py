"""``livescribe serve`` with the real tiny.en model: the official ``openai`` client against the
command as users run it, live WebSocket streams (livescribe's protocol and the OpenAI Realtime
one), two concurrent sessions that must not mix, and the batched decode path on the CPU.

Streams are sent at twice real time (pacing matters for partials, not for words); assertions are
on words in order, never on timings.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import threading
import time

import numpy as np
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from conftest import (CLIPS, CLI, ROOT, in_order, load_pcm, running_server, tiny_config,
                      wait_ready, words)

pytestmark = pytest.mark.model

BOUND_S = 120  #: bounds a hang only
KEY_WORDS = {
    "jfk": ["fellow", "americans", "country", "country"],
    "ljspeech": ["first", "importance", "letter", "fine", "form"],
    "librispeech": ["reader", "excuse", "native", "country", "narrative", "tedious"],
}


@pytest.fixture(scope="module")
def cli_server():
    """``livescribe serve --model tiny.en --port 0`` with an API key, as a child process; its
    address from the JSON log line that says where it listens."""
    env = dict(os.environ, LIVESCRIBE_API_KEY="k3y")
    proc = subprocess.Popen([*CLI, "serve", "--model", "tiny.en", "--port", "0"], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    logs: list[dict] = []
    base = None
    for line in proc.stderr:
        logs.append(json.loads(line))  # every log line is one JSON object
        if "port" in logs[-1]:
            base = f"http://127.0.0.1:{logs[-1]['port']}"
            break
    assert base, logs
    threading.Thread(target=lambda: logs.extend(json.loads(x) for x in proc.stderr),
                     daemon=True).start()
    wait_ready(base)
    yield base, proc, logs
    proc.terminate()
    out, _ = proc.communicate(timeout=BOUND_S)
    assert out == ""  # stdout carries no data for a server


def openai_client(base: str, key: str = "k3y"):
    from openai import OpenAI

    return OpenAI(base_url=base + "/v1", api_key=key, max_retries=0, timeout=BOUND_S)


def test_the_openai_client_transcribes_unchanged(cli_server):
    base, _, logs = cli_server
    client = openai_client(base)
    with open(CLIPS["jfk"][0], "rb") as f:
        tr = client.audio.transcriptions.create(model="whisper-1", file=f)
    assert in_order(KEY_WORDS["jfk"], words(tr.text)), tr.text
    with open(CLIPS["ljspeech"][0], "rb") as f:
        text = client.audio.transcriptions.create(model="whisper-1", file=f,
                                                  response_format="text", language="en")
    assert in_order(KEY_WORDS["ljspeech"], words(text)), text
    with open(CLIPS["librispeech"][0], "rb") as f:
        verbose = client.audio.transcriptions.create(model="whisper-1", file=f,
                                                     response_format="verbose_json")
    assert verbose.segments and verbose.duration == pytest.approx(11.66, abs=0.05)
    assert in_order(KEY_WORDS["librispeech"], words(" ".join(s.text for s in verbose.segments)))
    deadline = time.monotonic() + BOUND_S  # the log reader is a thread: bounds a hang only
    while not any(r.get("msg", "").startswith("session") for r in logs):
        assert time.monotonic() < deadline, logs[-5:]
        time.sleep(0.05)


def test_the_openai_client_streams_unchanged(cli_server):
    base, _, _ = cli_server
    with open(CLIPS["jfk"][0], "rb") as f:
        stream = openai_client(base).audio.transcriptions.create(
            model="whisper-1", file=f, stream=True)
        events = list(stream)
    assert [e.type for e in events][-1] == "transcript.text.done"
    deltas = [e.delta for e in events if e.type == "transcript.text.delta"]
    assert len(deltas) >= 2 and "".join(deltas) == events[-1].text
    assert in_order(KEY_WORDS["jfk"], words(events[-1].text))


def test_the_openai_client_without_the_key_is_refused(cli_server):
    from openai import AuthenticationError

    with open(CLIPS["jfk"][0], "rb") as f, pytest.raises(AuthenticationError):
        openai_client(cli_server[0], key="wrong").audio.transcriptions.create(
            model="whisper-1", file=f)


# -- live streams -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def server():
    from streamer.serving import ServingEngine
    from tui.server.app import create_app

    config = tiny_config()
    engine = ServingEngine(config)
    with running_server(create_app(engine, config.server)) as base:
        wait_ready(base)
        yield base.replace("http://", "ws://"), engine


def stream_clip(url: str, clip: str, speed: float = 2.0) -> list[dict]:
    """Send ``clip`` as s16le at ``speed`` times real time, then ``end``; every message."""
    pcm = load_pcm(CLIPS[clip][0])
    out: list[dict] = []
    with connect(url) as ws:
        out.append(json.loads(ws.recv(BOUND_S)))
        step = 1600  # 100 ms
        t0 = time.monotonic()
        for i in range(0, len(pcm), step):
            ws.send(pcm[i:i + step].tobytes())
            time.sleep(max(0.0, t0 + (i + step) / 16000 / speed - time.monotonic()))
        ws.send(json.dumps({"type": "end"}))
        try:
            while True:
                out.append(json.loads(ws.recv(BOUND_S)))
        except ConnectionClosed:
            pass
    return out


def test_a_stream_gets_partials_then_finals(server):
    url = server[0] + "/v1/stream"
    msgs = stream_clip(url, "jfk", speed=1.0)  # real time: the utterance lasts for partials
    assert msgs[0]["type"] == "session" and msgs[-1]["type"] == "stats"
    finals = [m for m in msgs if m["type"] == "final"]
    assert in_order(KEY_WORDS["jfk"], words(" ".join(m["text"] for m in finals)))
    first_final = {}
    for i, m in enumerate(msgs):
        if m["type"] == "final":
            first_final.setdefault(m["utterance"], i)
    partial_first = [m for i, m in enumerate(msgs) if m["type"] == "partial"
                     and i < first_final.get(m["utterance"], len(msgs))]
    assert partial_first, "no partial came before its final"
    for m in finals:  # the same fields as --format jsonl
        assert {"utterance", "text", "start", "end", "latency", "avg_logprob"} <= set(m)
    assert msgs[-1]["overruns"] == 0 and msgs[-1]["captions"] == len(finals)


def test_two_concurrent_streams_do_not_mix(server):
    url = server[0] + "/v1/stream?partials=false"
    got: dict[str, list[dict]] = {}
    threads = [threading.Thread(target=lambda c=c: got.__setitem__(c, stream_clip(url, c)))
               for c in ("jfk", "ljspeech")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(BOUND_S)
    for clip, other in (("jfk", "ljspeech"), ("ljspeech", "jfk")):
        text = words(" ".join(m["text"] for m in got[clip] if m["type"] == "final"))
        assert in_order(KEY_WORDS[clip], text), text
        assert not set(KEY_WORDS[other]) - set(KEY_WORDS[clip]) & set(text), text


def test_the_realtime_transcription_protocol(server):
    import soxr

    pcm = load_pcm(CLIPS["librispeech"][0]).astype(np.float32) / 32768
    pcm24 = np.clip(soxr.resample(pcm, 16000, 24000) * 32768, -32768, 32767).astype(np.int16)
    events: list[dict] = []
    with connect(server[0] + "/v1/realtime?intent=transcription") as ws:
        assert json.loads(ws.recv(BOUND_S))["type"] == "session.created"
        ws.send(json.dumps({"type": "transcription_session.update", "session": {
            "input_audio_format": "pcm16",
            "input_audio_transcription": {"model": "whisper-1", "language": "en"}}}))
        assert json.loads(ws.recv(BOUND_S))["type"] == "transcription_session.updated"
        step, t0 = 4800, time.monotonic()  # 200 ms, at twice real time
        for i in range(0, len(pcm24), step):
            ws.send(json.dumps({"type": "input_audio_buffer.append",
                                "audio": base64.b64encode(pcm24[i:i + step].tobytes()).decode()}))
            time.sleep(max(0.0, t0 + (i + step) / 24000 / 2 - time.monotonic()))
        ws.send(json.dumps({"type": "input_audio_buffer.commit"}))  # the last words end now
        completed: list[dict] = []
        while not in_order(KEY_WORDS["librispeech"],  # (the clip may be one item or more)
                           words(" ".join(e["transcript"] for e in completed))):
            events.append(json.loads(ws.recv(BOUND_S)))
            if events[-1]["type"] == "conversation.item.input_audio_transcription.completed":
                completed.append(events[-1])
    kinds = [e["type"] for e in events]
    assert "error" not in kinds and kinds[0] == "input_audio_buffer.speech_started"
    for done in completed:  # each item: started, stopped, committed, deltas adding up, completed
        item = [e for e in events if e.get("item_id") == done["item_id"]]
        assert [e["type"] for e in item if "input_audio_buffer" in e["type"]] == [
            "input_audio_buffer.speech_started", "input_audio_buffer.speech_stopped",
            "input_audio_buffer.committed"]
        assert "".join(e["delta"] for e in item if e["type"].endswith(".delta")) == \
            done["transcript"]


# -- the batched decode path --------------------------------------------------------------------

def test_a_batch_of_two_windows_decodes_as_each_alone(tiny_model):
    """Two windows in one CTranslate2 call give the words each gives alone: exactly when they
    share a context length (both under 8 s); when one is longer, the shorter one's encoder sees
    more trailing silence, and at most a word in ten may change (seen: "form" -> "formed")."""
    from difflib import SequenceMatcher

    from streamer.capture.audio import int16_to_float32
    from streamer.decoding.batch import Job, decode_batch
    from streamer.decoding.decoder import DecodingOptions, WindowDecoder

    d = WindowDecoder(tiny_model, DecodingOptions(language="en"))
    clips = {c: int16_to_float32(load_pcm(CLIPS[c][0])) for c in CLIPS}
    clips["jfk5"] = clips["jfk"][:5 * 16000]  # "And so my fellow Americans, ask not"

    def batch(*names):
        views = [d.for_session() for _ in names]
        return decode_batch([Job(v, clips[n], v.language, v.language is None)
                             for v, n in zip(views, names)])

    alone = {n: d.for_session().decode(clips[n]).text for n in clips}
    same = batch("ljspeech", "jfk5")
    assert [words(r.text) for r in same] == [words(alone["ljspeech"]), words(alone["jfk5"])]
    mixed = batch("ljspeech", "librispeech")
    for name, r in zip(("ljspeech", "librispeech"), mixed):
        assert SequenceMatcher(None, words(alone[name]), words(r.text)).ratio() >= 0.9, r.text
    assert all(r.attempts[0] == "plain" for r in same + mixed)
    # word times of a batched window: aligned on its own encoding, as when decoded alone
    wd = WindowDecoder(tiny_model, DecodingOptions(language="en", word_timestamps=True))
    pair = decode_batch([Job(v, clips[n], "en", False) for v, n in
                         zip([wd.for_session(), wd.for_session()], ("ljspeech", "jfk5"))])
    for name, r in zip(("ljspeech", "jfk5"), pair):
        solo = wd.for_session().decode(clips[name]).aligned().words
        assert r.words == () and r.aligned().words == solo and solo
