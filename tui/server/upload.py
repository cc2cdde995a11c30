"""Reading a ``multipart/form-data`` upload into memory, within limits.

The body is parsed as it arrives with python-multipart's streaming parser (what Starlette's own
form parser uses), but nothing is spooled to a temporary file: the audio stays in memory, where
PyAV decodes it (:func:`streamer.capture.audio.decode_blocks`), and a client's file name is only
a label. Limits are enforced while reading, so an oversized body is refused (413) without being
read whole, and a body that stalls is refused (408).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from tui.server.errors import HTTPError

MAX_FIELD_BYTES = 64 * 1024  #: largest text field (a prompt is a few hundred bytes)
MAX_PARTS = 32  #: most parts in one form


@dataclass
class Form:
    """The parts of a form: text fields by name; files by name as ``(file name, bytes)``."""

    fields: dict[str, str] = field(default_factory=dict)
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)


def _mb(n: int) -> str:
    return f"{n / 1e6:g} MB"


async def read_form(request: Request, max_bytes: int, idle_timeout_s: float) -> Form:
    """Parse the request's multipart body.

    Args:
        request: the request.
        max_bytes: largest body accepted, bytes.
        idle_timeout_s: longest wait for the next chunk of the body, seconds.

    Raises:
        HTTPError: 413 (body over ``max_bytes``, by ``Content-Length`` or while reading), 408
            (the body stalled), 400 (not ``multipart/form-data``, a malformed body, too many
            parts or a text field over :data:`MAX_FIELD_BYTES`).
    """
    ctype, params = parse_options_header(request.headers.get("content-type", ""))
    if ctype != b"multipart/form-data" or b"boundary" not in params:
        raise HTTPError(400, "send the audio as multipart/form-data with a 'file' part",
                        "invalid_content_type")
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > max_bytes:
        raise HTTPError(413, f"the upload is {_mb(int(length))}, over the limit of "
                             f"{_mb(max_bytes)}", "file_too_large", "file")
    form = Form()
    part: dict = {}
    header = [b"", b""]
    total = 0

    def on_part_begin():
        part.clear()
        part.update(headers={}, data=bytearray())
        if len(form.fields) + len(form.files) >= MAX_PARTS:
            raise HTTPError(400, f"more than {MAX_PARTS} form parts", "too_many_parts")

    def on_header_field(data, start, end):
        header[0] += data[start:end]

    def on_header_value(data, start, end):
        header[1] += data[start:end]

    def on_header_end():
        part["headers"][header[0].lower()] = header[1]
        header[0], header[1] = b"", b""

    def on_part_data(data, start, end):
        part["data"] += data[start:end]
        _, disp = parse_options_header(part["headers"].get(b"content-disposition", b""))
        if b"filename" not in disp and len(part["data"]) > MAX_FIELD_BYTES:
            raise HTTPError(400, f"a form field is over {MAX_FIELD_BYTES} bytes", "field_too_large")

    def on_part_end():
        _, disp = parse_options_header(part["headers"].get(b"content-disposition", b""))
        name = disp.get(b"name", b"").decode("utf-8", "replace")
        if b"filename" in disp:
            form.files[name] = (disp[b"filename"].decode("utf-8", "replace"), bytes(part["data"]))
        else:
            form.fields[name] = part["data"].decode("utf-8", "replace")

    parser = MultipartParser(params[b"boundary"], {
        "on_part_begin": on_part_begin, "on_header_field": on_header_field,
        "on_header_value": on_header_value, "on_header_end": on_header_end,
        "on_part_data": on_part_data, "on_part_end": on_part_end})
    chunks = request.stream().__aiter__()
    while True:
        try:
            chunk = await asyncio.wait_for(chunks.__anext__(), idle_timeout_s)
        except StopAsyncIteration:
            break
        except asyncio.TimeoutError:
            raise HTTPError(408, f"the upload stalled for {idle_timeout_s:g} s",
                            "request_timeout") from None
        except ClientDisconnect:
            raise HTTPError(400, "the client went away during the upload",
                            "client_disconnected") from None
        total += len(chunk)
        if total > max_bytes:
            raise HTTPError(413, f"the upload is over the limit of {_mb(max_bytes)}",
                            "file_too_large", "file")
        try:
            parser.write(chunk)
        except HTTPError:
            raise
        except Exception as exc:  # python-multipart's MultipartParseError and kin
            raise HTTPError(400, f"malformed multipart body: {exc}", "invalid_form") from None
    try:
        parser.finalize()
    except Exception as exc:
        raise HTTPError(400, f"malformed multipart body: {exc}", "invalid_form") from None
    return form
