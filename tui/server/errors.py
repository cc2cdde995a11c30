"""Errors as clients of the OpenAI API expect them: a status and a JSON body
``{"error": {"message", "type", "code", "param"}}``, the message one line, never a traceback.

:func:`from_engine` maps the engine's errors to HTTP statuses, so every front end module answers
the same failure the same way.
"""

from __future__ import annotations

from starlette.responses import JSONResponse

from streamer.errors import InputError, LimitError, LivescribeError
from streamer.serving import Busy, NotReady

#: the ``type`` of the error body for a status (OpenAI's names where it has one)
ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error",
               404: "not_found_error", 405: "invalid_request_error", 408: "timeout_error",
               413: "invalid_request_error", 429: "rate_limit_error", 500: "server_error",
               503: "server_error"}


class HTTPError(Exception):
    """An error the front end answers with ``status`` and a JSON body.

    Args:
        status: the HTTP status.
        message: one line for the client.
        code: a stable machine-readable code, e.g. ``"file_too_large"``.
        param: the request parameter at fault, if any.
        retry_after_s: sent as ``Retry-After`` (429, 503).
    """

    def __init__(self, status: int, message: str, code: str | None = None,
                 param: str | None = None, retry_after_s: int | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.code = status, message, code
        self.param, self.retry_after_s = param, retry_after_s

    def body(self) -> dict:
        """The JSON body."""
        return {"error": {"message": self.message, "type": ERROR_TYPES.get(self.status, "error"),
                          "code": self.code, "param": self.param}}

    def response(self) -> JSONResponse:
        """The HTTP response."""
        headers = {"Retry-After": str(self.retry_after_s)} if self.retry_after_s else None
        return JSONResponse(self.body(), status_code=self.status, headers=headers)


def one_line(text: str) -> str:
    """``text`` on one line (a client never sees a traceback)."""
    return " ".join(str(text).split()) or "error"


def from_engine(exc: LivescribeError) -> HTTPError:
    """The HTTP error for an engine error: :class:`Busy` 429 (with ``Retry-After``),
    :class:`NotReady` 503, :class:`LimitError` 413 and :class:`InputError` (not audio) 400, both
    about the ``file``; any other (a language the model lacks) 400 about the ``language``."""
    msg = one_line(str(exc))
    if isinstance(exc, Busy):
        return HTTPError(429, msg, "too_many_sessions", retry_after_s=exc.retry_after_s)
    if isinstance(exc, NotReady):
        return HTTPError(503, msg, "model_not_ready", retry_after_s=5)
    if isinstance(exc, LimitError):
        return HTTPError(413, msg, "audio_too_long", "file")
    if isinstance(exc, InputError):
        return HTTPError(400, f"bad audio: {msg}", "invalid_audio", "file")
    return HTTPError(400, msg, "invalid_value", "language")
