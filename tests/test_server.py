"""``livescribe serve`` without a model (fast tier): the HTTP and WebSocket front end over the
real engine (ring buffer, VAD segmenter, scheduler, filters) with a fake decoder.

The fake decodes instantly; a window's text names the session's prompt and the window's
length, so routing between sessions can be checked without a model. Readiness is awaited on
``/health``; a held load decides when the model is "ready". The real model:
tests/test_server_model.py.
"""

from __future__ import annotations

import base64
import json
import socket
import threading
from dataclasses import replace

import httpx
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from conftest import CLIPS, FakeDecoder, load_pcm, running_server, wait_ready
from streamer.config import Config, ModelRequest, ServerOptions
from streamer.serving import ServingEngine
from streamer.tuning.plan import plan_for
from tui.server.app import create_app

BOUND_S = 60  #: bounds a hang only
JFK = CLIPS["jfk"][0].read_bytes()


@pytest.fixture(scope="module")
def plan():
    return plan_for(ModelRequest(name="tiny.en"), None)[1]


def app_for(plan, api_key=None, hold: threading.Event | None = None, **server):
    """The application over a fake-model engine; ``hold`` holds the model load until set."""
    def loader(spec, decoding):
        if hold is not None:
            assert hold.wait(BOUND_S)
        return FakeDecoder(spec, decoding)

    options = ServerOptions(**server)
    config = Config(model=ModelRequest(name="tiny.en"), server=options)
    engine = ServingEngine(config, loader=loader, plan=plan)
    return create_app(engine, options, api_key), engine


@pytest.fixture(scope="module")
def server(plan):
    app, engine = app_for(plan, max_upload_mb=1.0, max_audio_s=60.0)
    with running_server(app) as base:
        wait_ready(base)
        yield base, engine


def post(base: str, data: bytes = JFK, name: str = "jfk.flac", headers=None, **fields):
    return httpx.post(base + "/v1/audio/transcriptions", files={"file": (name, data)},
                      data=fields, headers=headers, timeout=BOUND_S)


def error_of(r: httpx.Response) -> dict:
    body = r.json()
    assert set(body["error"]) == {"message", "type", "code", "param"}
    assert "\n" not in body["error"]["message"] and "Traceback" not in r.text
    return body["error"]


def ws_url(base: str, path: str) -> str:
    return base.replace("http://", "ws://") + path


def messages(ws) -> list[dict]:
    """Every JSON message until the server closes the socket (whatever the close code)."""
    out = []
    try:
        while True:
            out.append(json.loads(ws.recv(BOUND_S)))
    except ConnectionClosed:
        return out


# -- readiness and operations ---------------------------------------------------------------------

def test_health_is_503_while_the_model_loads_then_200(plan):
    hold = threading.Event()
    app, engine = app_for(plan, hold=hold)
    with running_server(app) as base:
        r = httpx.get(base + "/health", timeout=BOUND_S)
        assert r.status_code == 503 and r.json()["status"] == "loading"
        assert r.headers["retry-after"]
        r = post(base)  # no session before the model is ready
        assert r.status_code == 503 and error_of(r)["code"] == "model_not_ready"
        hold.set()
        assert wait_ready(base)["model"] == "tiny.en"


def test_sessions_and_performance_while_a_stream_is_open(server):
    base, engine = server
    with connect(ws_url(base, "/v1/stream?prompt=alpha")) as ws:
        hello = json.loads(ws.recv(BOUND_S))
        assert hello["type"] == "session" and hello["sample_rate"] == 16000
        ws.send(load_pcm(CLIPS["ljspeech"][0])[:16000].tobytes())
        listed = httpx.get(base + "/v1/sessions", timeout=BOUND_S).json()["data"]
        (mine,) = [s for s in listed if s["id"] == hello["id"]]
        assert mine["kind"] == "stream" and mine["live"] and mine["client"].startswith("127.0.0.1:")
        assert {"started", "audio_s", "captions", "latency_p50_s", "latency_p95_s"} <= set(mine)
        perf = httpx.get(base + "/performance", timeout=BOUND_S).json()
        assert perf["ready"] and perf["model"]["name"] == "tiny.en"
        model = perf["model"]
        assert model["device"] and model["compute_type"] and model["threads"] >= 0
        assert perf["scheduler"]["batch_size"] == 1 and hello["id"] in perf["queues"]
        assert perf["rss_mb"] > 0 and "rtf" in perf and hello["id"] in perf["session_latency"]
        ws.send(json.dumps({"type": "end"}))
        lines = messages(ws)
    assert lines[-1]["type"] == "stats"


def test_a_cuda_plan_that_falls_back_to_the_cpu_batches_as_a_cpu(plan):
    """The batch size follows the device that loaded, not the one planned."""
    from streamer.errors import LoadError

    def loader(spec, decoding):
        if spec.device == "cuda":
            raise LoadError("no CUDA driver")
        return FakeDecoder(spec, decoding)

    cuda = replace(plan, device="cuda", compute_type="float16",
                   fallback=(replace(plan.fallback[0], device="cuda", compute_type="float16"),
                             *plan.fallback))
    engine = ServingEngine(Config(model=ModelRequest(name="tiny.en")), loader=loader, plan=cuda)
    assert engine.batch_size == 8
    engine.start()
    assert engine.scheduler.ready.wait(BOUND_S) and engine.ready
    assert engine.plan.device == "cpu"
    assert engine.batch_size == engine.scheduler.batch_size == 1
    assert engine.performance()["scheduler"]["batch_size"] == 1
    engine.close()


def test_a_session_whose_source_fails_to_start_leaves_the_scheduler(plan):
    """A session failing after its worker attached (its source cannot start) is detached from
    the shared scheduler: nothing stays attached once its events have ended."""
    from streamer.capture.push import PushSource
    from streamer.errors import DeviceError
    from streamer.events import SessionFailed
    from streamer.pipeline import Pipeline
    from streamer.serving.session import ServerSession

    class Refusing(PushSource):
        def start(self) -> None:
            raise DeviceError("the source cannot start")

    config = Config(model=ModelRequest(name="tiny.en"))
    engine = ServingEngine(config, loader=FakeDecoder, plan=plan)
    engine.start()
    assert engine.scheduler.ready.wait(BOUND_S) and engine.ready
    seen: list = []
    pipeline = Pipeline(config, Refusing, plan=engine.plan, scheduler=engine.scheduler)
    session = ServerSession("sess_x", "stream", "test", pipeline, seen.append)
    session.start()
    assert session.join(BOUND_S)
    assert isinstance(session.error, DeviceError)
    assert any(isinstance(e, SessionFailed) for e in seen) and seen[-1] is None
    assert pipeline.worker.done.is_set() and engine.scheduler.sessions() == []
    engine.close()


def test_the_event_bridge_drops_partials_when_behind_never_a_final():
    """Past ``max_queued`` waiting events a connection's partials are dropped and counted;
    captions, the final stats and the end always cross; periodic stats never do."""
    import asyncio

    from streamer.events import Caption, Partial, PipelineStats
    from tui.server.bridge import EventBridge

    def stats(final):
        return PipelineStats(0.0, 0, 0, 0, 0, 0, 0, {}, 0, 0.0, final=final)

    partial = Partial(utterance=0, text="a", stable="", start_s=0.0, end_s=1.0, emitted_wall=0.0)
    caption = Caption(text="a b", start_s=0.0, end_s=1.0, latency_s=0.5, language="en",
                      avg_logprob=-0.3, no_speech_prob=0.01, compression_ratio=1.1,
                      window_index=0, emitted_wall=0.0)

    async def scenario():
        bridge = EventBridge((Caption, Partial, PipelineStats), max_queued=3)
        sent = [stats(False), *[partial] * 5, caption, stats(True), None]
        thread = threading.Thread(target=lambda: [bridge.put(e) for e in sent])
        thread.start()  # the session's thread: nothing taken while it puts
        await asyncio.to_thread(thread.join, BOUND_S)
        got = []
        while (ev := await bridge.get()) is not None:
            got.append(ev)
        return bridge, got

    bridge, got = asyncio.run(scenario())
    assert got == [partial] * 3 + [caption, stats(True)]
    assert bridge.partials_dropped == 2


# -- REST ---------------------------------------------------------------------------------------

def test_every_response_format(server):
    base, _ = server
    r = post(base, model="whisper-1")
    assert r.status_code == 200
    body = r.json()
    assert body["text"].startswith("speech window") and body["usage"]["seconds"] == 11.0
    text = post(base, response_format="text").text
    assert text == body["text"] + "\n"
    srt = post(base, response_format="srt").text
    assert srt.startswith("1\n00:00:0") and " --> " in srt
    assert post(base, response_format="vtt").text.startswith("WEBVTT\n\n")
    verbose = post(base, response_format="verbose_json").json()
    assert verbose["duration"] == 11.0 and verbose["text"] == body["text"]
    seg = verbose["segments"][0]
    assert {"id", "start", "end", "text", "avg_logprob", "no_speech_prob", "tokens"} <= set(seg)
    starts = [s["start"] for s in verbose["segments"]]
    assert starts == sorted(starts)


def test_streamed_upload_sends_deltas_then_done(server):
    base, _ = server
    with httpx.stream("POST", base + "/v1/audio/transcriptions", files={"file": ("a.flac", JFK)},
                      data={"stream": "true"}, timeout=BOUND_S) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        events = [json.loads(line[5:]) for line in r.iter_lines() if line.startswith("data:")]
    assert [e["type"] for e in events][-1] == "transcript.text.done"
    deltas = [e["delta"] for e in events if e["type"] == "transcript.text.delta"]
    assert deltas and "".join(deltas) == events[-1]["text"]


@pytest.mark.parametrize("data, reason", [
    (b"this is not audio at all, just text" * 10, "bad audio"),
    (b"", "empty"),
])
def test_bad_audio_is_400_with_one_line(server, data, reason):
    r = post(server[0], data=data)
    assert r.status_code == 400
    err = error_of(r)
    assert reason in err["message"] and err["param"] == "file"


def test_bad_requests_are_400(server):
    base, _ = server
    r = httpx.post(base + "/v1/audio/transcriptions", data={"model": "whisper-1"},
                   files={"other": ("x", b"x")}, timeout=BOUND_S)
    assert r.status_code == 400 and error_of(r)["code"] == "missing_file"
    r = post(base, response_format="mp3")
    assert r.status_code == 400 and error_of(r)["param"] == "response_format"
    r = post(base, language="fr")  # an English-only model
    assert r.status_code == 400 and error_of(r)["param"] == "language"
    r = httpx.post(base + "/v1/audio/transcriptions", json={"file": "x"}, timeout=BOUND_S)
    assert r.status_code == 400 and error_of(r)["code"] == "invalid_content_type"
    r = httpx.get(base + "/nowhere", timeout=BOUND_S)
    assert r.status_code == 404 and error_of(r)


def test_oversized_uploads_are_413_by_length_or_while_read(server):
    base, _ = server
    big = b"\0" * 1_050_000  # over the 1 MB limit of this server
    r = post(base, data=big)
    assert r.status_code == 413 and error_of(r)["code"] == "file_too_large"

    def chunks():  # no Content-Length: the limit holds while the body is read
        yield (b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\n"
               b"\r\n")
        for _ in range(17):  # 1.09 MB
            yield b"\0" * 64_000
    r = httpx.post(base + "/v1/audio/transcriptions", content=chunks(),
                   headers={"content-type": "multipart/form-data; boundary=b"},
                   timeout=BOUND_S)
    assert r.status_code == 413 and error_of(r)["code"] == "file_too_large"


def test_audio_over_the_duration_limit_is_413(plan):
    app, _ = app_for(plan, max_audio_s=5.0)
    with running_server(app) as base:
        wait_ready(base)
        r = post(base)  # jfk.flac declares 11 s
        assert r.status_code == 413 and "11 s" in error_of(r)["message"]


def test_a_stalled_upload_is_408(plan):
    app, _ = app_for(plan, idle_timeout_s=0.3)
    with running_server(app) as base:
        wait_ready(base)
        port = int(base.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=BOUND_S) as s:
            s.sendall(b"POST /v1/audio/transcriptions HTTP/1.1\r\nHost: x\r\n"
                      b"Content-Type: multipart/form-data; boundary=b\r\n"
                      b"Content-Length: 100000\r\n\r\n--b\r\n")  # ...and nothing more
            answer = b""
            while chunk := s.recv(65536):  # the server answers, then closes
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 408") and b'"request_timeout"' in answer


# -- limits on sessions, and the API key --------------------------------------------------------

def test_sessions_over_the_limit_are_429_with_retry_after(plan):
    app, _ = app_for(plan, max_sessions=1)
    with running_server(app) as base:
        wait_ready(base)
        with connect(ws_url(base, "/v1/stream")) as ws:
            json.loads(ws.recv(BOUND_S))  # the one session is open
            r = post(base)
            assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
            assert error_of(r)["code"] == "too_many_sessions"
            with pytest.raises(InvalidStatus) as refused:
                connect(ws_url(base, "/v1/stream"))
            assert refused.value.response.status_code == 429
            ws.send(json.dumps({"type": "end"}))
            messages(ws)
        assert wait_ready(base)["sessions"] == 0
        assert post(base).status_code == 200  # the slot is free again


def test_a_session_being_built_holds_its_slot_and_the_loop_stays_free(plan, monkeypatch):
    """The session is built outside the engine's lock and off the event loop: while one is
    being built (held here), the server still answers, and its slot counts (429)."""
    import streamer.serving.engine as engine_module

    entered, go = threading.Event(), threading.Event()
    real = engine_module.Pipeline

    def held_pipeline(*args, **kw):
        entered.set()
        assert go.wait(BOUND_S)
        return real(*args, **kw)

    monkeypatch.setattr(engine_module, "Pipeline", held_pipeline)
    app, engine = app_for(plan, max_sessions=1)
    with running_server(app) as base:
        wait_ready(base)
        opening = threading.Thread(target=lambda: messages_after_end(ws_url(base, "/v1/stream")))
        opening.start()
        assert entered.wait(BOUND_S)  # the stream's session is being built
        assert httpx.get(base + "/health", timeout=BOUND_S).status_code == 200  # loop is free
        r = post(base)
        assert r.status_code == 429 and error_of(r)["code"] == "too_many_sessions"
        go.set()
        opening.join(BOUND_S)
        assert wait_ready(base)["sessions"] == 0
        assert post(base).status_code == 200


def messages_after_end(url: str) -> list[dict]:
    """Open a stream, end it at once, and read it to its close."""
    with connect(url) as ws:
        ws.send(json.dumps({"type": "end"}))
        return messages(ws)


@pytest.mark.parametrize("rate", ["fast", 0, -16000, 4000, 200000, 16000.5, True])
def test_a_bad_sample_rate_is_invalid_value_on_both_protocols(server, rate):
    """``/v1/stream?sample_rate=`` and the Realtime ``session.update`` share one check: a rate
    that is not a whole number of Hz within 8000..96000 is ``invalid_value``, never a 500 or
    an exception inside the handler."""
    base, _ = server
    with pytest.raises(InvalidStatus) as refused:
        with connect(ws_url(base, f"/v1/stream?sample_rate={rate}")):
            pass
    assert refused.value.response.status_code == 400
    assert json.loads(refused.value.response.body)["error"]["code"] == "invalid_value"
    with connect(ws_url(base, "/v1/realtime?intent=transcription")) as ws:
        assert json.loads(ws.recv(BOUND_S))["type"] == "session.created"
        ws.send(json.dumps({"type": "session.update", "session": {"audio": {"input": {
            "format": {"type": "audio/pcm", "rate": rate}}}}}))
        error = json.loads(ws.recv(BOUND_S))
        assert error["type"] == "error" and error["error"]["code"] == "invalid_value", error
        ws.send(json.dumps({"type": "session.update", "session": {"audio": {"input": {
            "format": {"type": "audio/pcm", "rate": 16000}}}}}))
        updated = json.loads(ws.recv(BOUND_S))  # the connection is still usable
        assert updated["session"]["audio"]["input"]["format"]["rate"] == 16000
        ws.send(json.dumps({"type": "input_audio_buffer.append",
                            "audio": base64.b64encode(bytes(3200)).decode()}))
        ws.close()


def test_an_idle_stream_is_closed(plan):
    app, _ = app_for(plan, idle_timeout_s=0.3)
    with running_server(app) as base:
        wait_ready(base)
        with connect(ws_url(base, "/v1/stream")) as ws:
            json.loads(ws.recv(BOUND_S))
            msgs = messages(ws)  # sends nothing: closed by the server
        assert msgs[-1]["type"] == "error" and msgs[-1]["code"] == "idle_timeout"
        assert ws.close_code == 1008


def test_the_api_key_is_required_on_every_route_but_health(plan):
    app, _ = app_for(plan, api_key="s3cret")
    with running_server(app) as base:
        wait_ready(base)  # /health needs no key (a load balancer probes it)
        r = post(base)
        assert r.status_code == 401 and error_of(r)["type"] == "authentication_error"
        assert post(base, headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert httpx.get(base + "/v1/sessions", timeout=BOUND_S).status_code == 401
        assert post(base, headers={"Authorization": "Bearer s3cret"}).status_code == 200
        with pytest.raises(InvalidStatus) as refused:
            connect(ws_url(base, "/v1/stream"))
        assert refused.value.response.status_code == 401
        with connect(ws_url(base, "/v1/stream"),
                     additional_headers={"Authorization": "Bearer s3cret"}) as ws:
            assert json.loads(ws.recv(BOUND_S))["type"] == "session"


def test_serve_refuses_a_public_host_without_a_key(monkeypatch, capsys):
    from tui.cli import main

    monkeypatch.delenv("LIVESCRIBE_API_KEY", raising=False)
    assert main(["serve", "--host", "0.0.0.0", "--port", "0"]) == 78
    err = capsys.readouterr().err.strip()
    assert err.startswith("livescribe: error: refusing to listen on 0.0.0.0") and "\n" not in err


def test_serve_settings_are_in_livescribe_config(capsys):
    from tui.cli import main

    assert main(["config", "--json"]) == 0
    settings = json.loads(capsys.readouterr().out)["settings"]
    assert settings["server.host"]["value"] == "127.0.0.1"
    assert settings["server.max_sessions"]["env"] == "LIVESCRIBE_SERVER_MAX_SESSIONS"
    assert not any("api_key" in k for k in settings)  # a secret is never a setting


# -- sessions stay apart ----------------------------------------------------------------------

def test_concurrent_streams_get_only_their_own_captions(server):
    base, _ = server
    pcm = {"alpha": load_pcm(CLIPS["jfk"][0]), "bravo": load_pcm(CLIPS["ljspeech"][0])}
    out: dict[str, list[dict]] = {}

    def client(prompt: str) -> None:
        with connect(ws_url(base, f"/v1/stream?prompt={prompt}&partials=false")) as ws:
            json.loads(ws.recv(BOUND_S))
            audio = pcm[prompt]
            for i in range(0, len(audio), 4800):
                ws.send(audio[i:i + 4800].tobytes())
            ws.send(json.dumps({"type": "end"}))
            out[prompt] = messages(ws)

    threads = [threading.Thread(target=client, args=(p,)) for p in pcm]
    for t in threads:
        t.start()
    for t in threads:
        t.join(BOUND_S)
    for prompt, other in (("alpha", "bravo"), ("bravo", "alpha")):
        finals = [m["text"] for m in out[prompt] if m["type"] == "final"]
        assert finals and all(f.startswith(prompt) for f in finals), finals
        assert not any(other in f for f in finals)
        assert out[prompt][-1]["type"] == "stats" and out[prompt][-1]["overruns"] == 0
