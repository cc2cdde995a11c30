"""``/v1/realtime?intent=transcription``: the OpenAI Realtime API's transcription mode.

Client events understood: ``session.update`` (GA shape: ``session.audio.input.format``
``{"type": "audio/pcm", "rate"}`` and ``session.audio.input.transcription`` ``{"language",
"prompt", "model"}``) and ``transcription_session.update`` (beta shape: ``input_audio_format``
``"pcm16"``, ``input_audio_transcription``), both before the first audio;
``input_audio_buffer.append`` (``audio``: base64 PCM16, 24 kHz unless the session says
otherwise; resampled to 16 kHz with soxr); ``input_audio_buffer.commit`` (ends the utterance
being spoken now); ``input_audio_buffer.clear`` (acknowledged; audio already sent is kept).

Server events: ``session.created`` at once, ``session.updated`` / ``transcription_session.updated``
in answer; per utterance (an *item*): ``input_audio_buffer.speech_started`` (with the first
interim text, about 0.3 s of speech in), ``conversation.item.input_audio_transcription.delta``
as words become stable (deltas only ever append: the stable prefix of livescribe's partials),
then ``input_audio_buffer.speech_stopped``, ``input_audio_buffer.committed``, a last ``delta``
and ``conversation.item.input_audio_transcription.completed`` with the final text. An utterance
the filters drop after it was announced completes with an empty transcript. Turn detection is
always livescribe's own VAD (``server_vad`` in the API's terms; ``turn_detection`` settings are
acknowledged, not applied). Errors are ``{"type": "error", "error": {...}}``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import secrets

from starlette.concurrency import run_in_threadpool
from starlette.websockets import WebSocket

from streamer.errors import LimitError, LivescribeError
from streamer.events import Caption, Partial, SessionFailed, WindowDropped
from tui.server.bridge import EventBridge
from tui.server.errors import HTTPError, from_engine, one_line
from tui.server.rest import client_of, parse_rate

DEFAULT_RATE_HZ = 24_000  #: the Realtime API's PCM16 rate


def _id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(8)}"


class RealtimeConnection:
    """One Realtime WebSocket: the client's events in, the session's events out."""

    def __init__(self, ws: WebSocket) -> None:
        self.ws = ws
        self.engine = ws.app.state.engine
        self.idle_timeout_s = ws.app.state.options.idle_timeout_s
        self.rate_hz = DEFAULT_RATE_HZ
        self.language: str | None = None
        self.prompt: str | None = None
        self.session = None
        self.bridge: EventBridge | None = None
        self.sender: asyncio.Task | None = None
        self.items: dict[int, dict] = {}  # utterance -> {"id", "sent"}
        self.previous: str | None = None  # the last committed item

    async def send(self, type_: str, **fields) -> None:
        await self.ws.send_text(json.dumps({"type": type_, "event_id": _id("event"), **fields},
                                           ensure_ascii=False))

    async def error(self, message: str, code: str, type_: str = "invalid_request_error") -> None:
        await self.send("error", error={"type": type_, "code": code,
                                        "message": one_line(message), "param": None})

    def describe(self) -> dict:
        """The session as ``session.created``/``updated`` show it (GA shape)."""
        return {"type": "transcription", "object": "realtime.transcription_session",
                "audio": {"input": {
                    "format": {"type": "audio/pcm", "rate": self.rate_hz},
                    "transcription": {"model": self.engine.model_name,
                                      "language": self.language, "prompt": self.prompt},
                    "turn_detection": {"type": "server_vad"}}}}

    # -- client events ---------------------------------------------------------------------
    async def update(self, event: dict, beta: bool) -> None:
        if self.session is not None:
            await self.error("the session has started: language, prompt and format apply "
                             "from the first audio on", "session_already_started")
            return
        s = event.get("session") or {}
        if beta:
            fmt = s.get("input_audio_format", "pcm16")
            tr = s.get("input_audio_transcription") or {}
            ok = fmt == "pcm16"
        else:
            audio = (s.get("audio") or {}).get("input") or {}
            fmt = audio.get("format") or {}
            tr = audio.get("transcription") or {}
            ok = fmt.get("type", "audio/pcm") == "audio/pcm"
        if not ok:
            await self.error(f"unsupported audio format {fmt!r}: send PCM16", "invalid_value")
            return
        if not beta and fmt.get("rate") is not None:
            try:
                self.rate_hz = parse_rate(fmt["rate"], "session.audio.input.format.rate")
            except HTTPError as exc:
                await self.error(exc.message, "invalid_value")
                return
        self.language = tr.get("language") or self.language
        self.prompt = tr.get("prompt") or self.prompt
        if beta:
            await self.send("transcription_session.updated", session={
                "input_audio_format": "pcm16", "turn_detection": {"type": "server_vad"},
                "input_audio_transcription": {"model": self.engine.model_name,
                                              "language": self.language, "prompt": self.prompt}})
        else:
            await self.send("session.updated", session=self.describe())

    async def append(self, event: dict) -> int | None:
        """Push the event's audio; the close code when the connection must close."""
        if self.session is None:
            self.bridge = EventBridge((Caption, Partial, WindowDropped, SessionFailed))
            try:
                self.session = await run_in_threadpool(  # built off the event loop
                    self.engine.open, "realtime", client_of(self.ws), rate_hz=self.rate_hz,
                    language=self.language, prompt=self.prompt, partials=True,
                    on_event=self.bridge.put)
            except LivescribeError as exc:
                e = from_engine(exc)
                busy = e.status in (429, 503)
                await self.error(e.message, e.code or "error",
                                 "server_error" if busy else "invalid_request_error")
                return 1013 if busy else 1008
            self.sender = asyncio.create_task(self.relay())
        try:
            self.session.source.push(base64.b64decode(event.get("audio") or "", validate=True))
        except (binascii.Error, ValueError):
            await self.error("audio must be base64-encoded PCM16", "invalid_value")
        except LimitError as exc:
            await self.error(str(exc), "audio_too_long")
            return 1008
        return None

    # -- session events --------------------------------------------------------------------
    async def _start(self, utterance: int, start_s: float) -> dict:
        item = self.items.get(utterance)
        if item is None:
            item = self.items[utterance] = {"id": _id("item"), "sent": ""}
            await self.send("input_audio_buffer.speech_started",
                            audio_start_ms=int(start_s * 1000), item_id=item["id"])
        return item

    async def _finish(self, item: dict, end_s: float, transcript: str, seconds: float) -> None:
        await self.send("input_audio_buffer.speech_stopped", audio_end_ms=int(end_s * 1000),
                        item_id=item["id"])
        await self.send("input_audio_buffer.committed", item_id=item["id"],
                        previous_item_id=self.previous)
        self.previous = item["id"]
        rest = transcript[len(item["sent"]):] if transcript.startswith(item["sent"]) else ""
        if rest:
            await self.send("conversation.item.input_audio_transcription.delta",
                            item_id=item["id"], content_index=0, delta=rest)
        await self.send("conversation.item.input_audio_transcription.completed",
                        item_id=item["id"], content_index=0, transcript=transcript,
                        usage={"type": "duration", "seconds": round(seconds, 3)})

    async def relay(self) -> None:
        """The session's events as Realtime server events, until its end."""
        while (ev := await self.bridge.get()) is not None:
            if isinstance(ev, Partial):
                item = await self._start(ev.utterance, ev.start_s)
                if ev.stable.startswith(item["sent"]) and len(ev.stable) > len(item["sent"]):
                    await self.send("conversation.item.input_audio_transcription.delta",
                                    item_id=item["id"], content_index=0,
                                    delta=ev.stable[len(item["sent"]):])
                    item["sent"] = ev.stable
            elif isinstance(ev, Caption):
                item = await self._start(ev.utterance_id, ev.start_s)
                await self._finish(item, ev.end_s, ev.text, ev.end_s - ev.start_s)
                self.items.pop(ev.utterance_id, None)
            elif isinstance(ev, WindowDropped) and ev.window_index in self.items:
                await self._finish(self.items.pop(ev.window_index), ev.end_s, "",
                                   ev.end_s - ev.start_s)
            elif isinstance(ev, SessionFailed):
                await self.error(ev.message, "session_failed", "server_error")


async def realtime(ws: WebSocket) -> None:
    """``/v1/realtime`` (see the module doc)."""
    conn = RealtimeConnection(ws)
    engine = conn.engine
    if not engine.ready:
        await ws.accept()
        await conn.error("the model is still loading", "model_not_ready", "server_error")
        await ws.close(1013)
        return
    await ws.accept()
    await conn.send("session.created", session=conn.describe())
    code = 1000
    try:
        while True:
            try:
                msg = await asyncio.wait_for(ws.receive(), conn.idle_timeout_s)
            except asyncio.TimeoutError:
                await conn.error(f"nothing received for {conn.idle_timeout_s:g} s",
                                 "idle_timeout")
                code = 1008
                break
            if msg["type"] == "websocket.disconnect":
                code = None
                break
            try:
                event = json.loads(msg.get("text") or "")
                kind = event.get("type")
            except (ValueError, AttributeError):
                await conn.error("send JSON events", "invalid_json")
                continue
            if kind == "input_audio_buffer.append":
                closing = await conn.append(event)
                if closing is not None:
                    code = closing
                    break
            elif kind in ("session.update", "transcription_session.update"):
                await conn.update(event, beta=kind.startswith("transcription_session"))
            elif kind == "input_audio_buffer.commit":
                if conn.session is not None:
                    try:
                        conn.session.source.flush()
                    except LimitError as exc:
                        await conn.error(str(exc), "audio_too_long")
                        code = 1008
                        break
            elif kind == "input_audio_buffer.clear":
                await conn.send("input_audio_buffer.cleared")
            else:
                await conn.error(f"unsupported event type {kind!r} (transcription only)",
                                 "unsupported_event")
    finally:
        if conn.session is not None:
            conn.session.source.end()  # what was received is still transcribed
    if code is None:
        if conn.sender is not None:
            conn.sender.cancel()
        return
    try:
        if conn.sender is not None:
            await conn.sender
        await ws.close(code)
    except Exception:  # the client left while we were finishing
        pass
