"""``POST /v1/audio/transcriptions``: the OpenAI transcription API, on the warm model.

The request is what the official ``openai`` client sends (multipart: ``file``, ``model``,
``language``, ``prompt``, ``response_format``, ``stream``, ``temperature``...); the audio is
decoded from memory and goes through the same segmenter -> scheduler -> filters path as the
microphone, as a non-live session replayed at full speed. ``model`` is accepted whatever it
names (the server has one model, ``GET /performance`` says which); ``temperature`` is always 0.

Answers, by ``response_format``: ``json`` (``{"text", "usage"}``), ``text``, ``srt``, ``vtt``
(the caption sinks of :mod:`streamer.output.sinks`) or ``verbose_json`` (one segment per
caption, with its times and confidence figures). With ``stream=true``: Server-Sent Events as the
API sends them for transcriptions — a ``transcript.text.delta`` per caption as it is decoded,
then ``transcript.text.done`` with the whole text (an error mid-way is an event
``{"type": "error", "error": {...}}``).
"""

from __future__ import annotations

import io
import json

from sse_starlette.sse import EventSourceResponse
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from streamer.errors import ExitCode, LimitError, LivescribeError
from streamer.events import Caption, PipelineStats, SessionFailed
from streamer.output.sinks import make_sink
from tui.server.bridge import EventBridge
from tui.server.errors import HTTPError, from_engine, one_line
from tui.server.upload import read_form

RESPONSE_FORMATS = ("json", "text", "srt", "vtt", "verbose_json")
_TRUE = ("true", "1", "yes", "on")


#: sample rates a live stream may name, Hz (soxr resamples them to 16 kHz)
MIN_RATE_HZ, MAX_RATE_HZ = 8000, 96000


def parse_rate(value, param: str = "sample_rate") -> int:
    """A client's sample rate: an integer (or its text) within :data:`MIN_RATE_HZ`..
    :data:`MAX_RATE_HZ`, Hz.

    Raises:
        HTTPError: 400 ``invalid_value`` about ``param`` for anything else (not a number, a
            fraction, out of range).
    """
    rate = None
    if isinstance(value, str) and value.strip().isdigit():
        rate = int(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        rate = value
    elif isinstance(value, float) and value.is_integer():
        rate = int(value)
    if rate is None or not MIN_RATE_HZ <= rate <= MAX_RATE_HZ:
        raise HTTPError(400, f"{param} must be {MIN_RATE_HZ}..{MAX_RATE_HZ} Hz, not {value!r}",
                        "invalid_value", param)
    return rate


def client_of(conn) -> str:
    """``host:port`` of a request's or a WebSocket's peer."""
    return f"{conn.client.host}:{conn.client.port}" if conn.client else "unknown"


async def _open(request: Request, audio: bytes, name: str, language: str | None,
                prompt: str | None) -> tuple:
    engine = request.app.state.engine
    bridge = EventBridge((Caption, PipelineStats, SessionFailed))
    try:  # opening the upload and decoding its first block: off the event loop
        session = await run_in_threadpool(
            engine.open, "upload", client_of(request), audio=audio, language=language,
            prompt=prompt, name=name, on_event=bridge.put)
    except LivescribeError as exc:
        raise from_engine(exc) from None
    return session, bridge


def _failure(session, event: SessionFailed) -> HTTPError:
    err = session.error
    if isinstance(err, LimitError):
        return from_engine(err)
    return HTTPError(400 if event.exit_code == ExitCode.DATA_ERROR else 500, one_line(event.message),
                     "transcription_failed")


def render(fmt: str, captions: list[Caption], audio_s: float) -> Response:
    """The response for ``response_format`` ``fmt``."""
    text = " ".join(c.text for c in captions)
    usage = {"type": "duration", "seconds": round(audio_s, 3)}
    if fmt == "json":
        return JSONResponse({"text": text, "usage": usage})
    if fmt == "text":
        return PlainTextResponse(text + "\n")
    if fmt in ("srt", "vtt"):
        out = io.StringIO()
        sink = make_sink(fmt, out)
        for c in captions:
            sink.write(c)
        return PlainTextResponse(out.getvalue(), media_type="text/vtt" if fmt == "vtt"
                                 else "application/x-subrip")
    languages = [c.language for c in captions]
    return JSONResponse({
        "task": "transcribe",
        "language": max(set(languages), key=languages.count) if languages else "en",
        "duration": round(audio_s, 3), "text": text, "usage": usage,
        "segments": [{"id": i, "seek": int(c.start_s * 100), "start": round(c.start_s, 3),
                      "end": round(c.end_s, 3), "text": c.text, "tokens": [],
                      "temperature": 0.0, "avg_logprob": round(c.avg_logprob, 4),
                      "compression_ratio": round(c.compression_ratio, 3),
                      "no_speech_prob": round(c.no_speech_prob, 4)}
                     for i, c in enumerate(captions)]})


async def transcriptions(request: Request) -> Response:
    """``POST /v1/audio/transcriptions`` (see the module doc).

    Raises:
        HTTPError: 400 (no file, a bad parameter, not audio), 408, 413, 429, 503.
    """
    opts = request.app.state.options
    form = await read_form(request, int(opts.max_upload_mb * 1e6), opts.idle_timeout_s)
    if "file" not in form.files:
        raise HTTPError(400, "no 'file' part: send the audio as the multipart field 'file'",
                        "missing_file", "file")
    name, audio = form.files["file"]
    f = form.fields
    fmt = f.get("response_format") or "json"
    if fmt not in RESPONSE_FORMATS:
        raise HTTPError(400, f"response_format must be one of {', '.join(RESPONSE_FORMATS)}",
                        "invalid_value", "response_format")
    language = (f.get("language") or "").strip().lower() or None
    prompt = (f.get("prompt") or "").strip() or None
    stream = (f.get("stream") or "").strip().lower() in _TRUE
    session, bridge = await _open(request, audio, name, language, prompt)
    if stream:
        return EventSourceResponse(_sse(session, bridge), ping=15)
    captions: list[Caption] = []
    failure: SessionFailed | None = None
    audio_s = 0.0
    while (ev := await bridge.get()) is not None:
        if isinstance(ev, Caption):
            captions.append(ev)
        elif isinstance(ev, SessionFailed):
            failure = ev
        elif isinstance(ev, PipelineStats) and ev.final:
            audio_s = ev.stream_s
    if failure is not None:
        raise _failure(session, failure)
    return render(fmt, captions, audio_s)


async def _sse(session, bridge: EventBridge):
    """The SSE events of a streamed transcription; the session stops if the client leaves."""
    texts: list[str] = []
    done = False
    try:
        while (ev := await bridge.get()) is not None:
            if isinstance(ev, Caption):
                delta = (" " if texts else "") + ev.text
                texts.append(ev.text)
                yield {"data": json.dumps({"type": "transcript.text.delta", "delta": delta},
                                          ensure_ascii=False)}
            elif isinstance(ev, SessionFailed):
                yield {"data": json.dumps({"type": "error",
                                           "error": _failure(session, ev).body()["error"]})}
                return
        done = True
        yield {"data": json.dumps({"type": "transcript.text.done", "text": " ".join(texts)},
                                  ensure_ascii=False)}
    finally:
        if not done:  # the client went away (or the session failed): stop reading the upload
            session.stop()
