"""``/v1/stream``: livescribe's own live protocol over a WebSocket.

In: binary messages of little-endian signed 16-bit mono PCM at 16 kHz (any length; the query
parameter ``sample_rate`` names another rate, resampled with soxr), sent as the audio is
captured; text messages are JSON commands: ``{"type": "flush"}`` ends the utterance being
spoken now, ``{"type": "end"}`` ends the audio. Query parameters: ``language``, ``prompt``,
``partials`` (``true`` by default).

Out: one JSON object per text message — first ``{"type": "session", "id", "model",
"sample_rate"}``, then the same objects as ``livescribe --format jsonl --partials`` writes
(``"type": "partial"`` and ``"type": "final"`` lines, :meth:`streamer.events.Caption.to_dict`),
and at the end ``{"type": "stats", ...}`` (the session's counters: captions,
overruns, filtered). The server then closes with code 1000. An error is ``{"type": "error",
"code", "message"}`` before a close with code 1008 (limits, idle), 1013 (busy, not ready) or
1003 (a bad message). After ``end``, or when the client closes, everything already received is
still transcribed (and sent, if the client is still there).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict

from starlette.concurrency import run_in_threadpool
from starlette.websockets import WebSocket, WebSocketDisconnect

from streamer.errors import LimitError, LivescribeError
from streamer.events import Caption, Partial, PipelineStats, SessionFailed
from tui.server.bridge import EventBridge
from tui.server.errors import HTTPError, from_engine, one_line
from tui.server.rest import client_of, parse_rate


async def refuse(ws: WebSocket, error: HTTPError) -> None:
    """Refuse a WebSocket before accepting it: the HTTP error as the handshake's answer where
    the server can send one, else an error message and a close (1013 busy/unready, 1008)."""
    if "websocket.http.response" in ws.scope.get("extensions", {}):
        await ws.send_denial_response(error.response())
        return
    await ws.accept()  # pragma: no cover - uvicorn has the denial extension
    await ws.send_json({"type": "error", "code": error.code, "message": error.message})
    await ws.close(1013 if error.status in (429, 503) else 1008)


async def send_events(ws: WebSocket, bridge: EventBridge) -> None:
    """Send the session's events as JSON lines until its end (see the module doc)."""
    while (ev := await bridge.get()) is not None:
        if isinstance(ev, (Caption, Partial)):
            msg = ev.to_dict()
        elif isinstance(ev, SessionFailed):
            msg = {"type": "error", "code": "session_failed", "message": one_line(ev.message)}
        elif isinstance(ev, PipelineStats) and ev.final:
            msg = {"type": "stats", **{k: v for k, v in asdict(ev).items() if k != "final"}}
        else:
            continue
        await ws.send_text(json.dumps(msg, ensure_ascii=False))


async def stream(ws: WebSocket) -> None:
    """``/v1/stream`` (see the module doc)."""
    engine, opts = ws.app.state.engine, ws.app.state.options
    q = ws.query_params
    try:
        rate = parse_rate(q.get("sample_rate", "16000"))
    except HTTPError as exc:
        await refuse(ws, exc)
        return
    bridge = EventBridge((Caption, Partial, PipelineStats, SessionFailed))
    try:
        session = await run_in_threadpool(  # the session is built off the event loop
            engine.open, "stream", client_of(ws), rate_hz=rate,
            language=q.get("language") or None, prompt=q.get("prompt"),
            partials=q.get("partials", "true").lower() != "false", on_event=bridge.put)
    except LivescribeError as exc:
        await refuse(ws, from_engine(exc))
        return
    await ws.accept()
    await ws.send_json({"type": "session", "id": session.id,
                        "model": engine.model_name, "sample_rate": rate})
    sender = asyncio.create_task(send_events(ws, bridge))
    try:
        close = await _receive(ws, session, opts.idle_timeout_s)
    finally:
        session.source.end()  # what was received is still transcribed
    if close is None:  # the client is gone: the session finishes on its own
        sender.cancel()
        return
    try:
        await sender
        if close[0] != 1000:
            await ws.send_json({"type": "error", "code": close[1].split(":")[0],
                                "message": close[1]})
        await ws.close(close[0])
    except (WebSocketDisconnect, RuntimeError):  # the client left while we were finishing
        pass


async def _receive(ws: WebSocket, session, idle_timeout_s: float) -> tuple[int, str] | None:
    """Push the client's audio until it ends the stream; the close to send, or None if the
    client went away."""
    source = session.source
    while True:
        try:
            msg = await asyncio.wait_for(ws.receive(), idle_timeout_s)
        except asyncio.TimeoutError:
            return 1008, f"idle_timeout: nothing received for {idle_timeout_s:g} s"
        if msg["type"] == "websocket.disconnect":
            return None
        if msg.get("bytes") is not None:
            try:
                source.push(msg["bytes"])
            except LimitError as exc:
                return 1008, f"audio_too_long: {exc}"
            continue
        try:
            command = json.loads(msg.get("text") or "").get("type")
        except (ValueError, AttributeError):
            command = None
        if command == "end":
            return 1000, ""
        if command == "flush":
            try:
                source.flush()
            except LimitError as exc:
                return 1008, f"audio_too_long: {exc}"
        else:
            return 1003, "bad_message: send binary PCM, or {\"type\": \"flush\"|\"end\"}"
