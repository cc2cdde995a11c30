"""API-key check for every request but ``/health``: ``Authorization: Bearer <key>``.

An ASGI middleware, so it guards HTTP and WebSocket alike. A request without the key is answered
401 with the JSON error body; a WebSocket handshake gets the same 401 response when the server
supports the ASGI denial-response extension (uvicorn does), else it is closed with code 1008
(policy violation). The comparison takes constant time (``hmac.compare_digest``).
"""

from __future__ import annotations

import hmac

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket

from tui.server.errors import HTTPError

OPEN_PATHS = frozenset({"/health"})  #: what a load balancer probes without a key


def bearer_token(headers: Headers) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or None."""
    scheme, _, token = headers.get("authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


class ApiKeyMiddleware:
    """Refuse requests without the API key (see the module doc).

    Args:
        app: the application.
        api_key: the key; None lets everything through (a loopback server without a key).
    """

    def __init__(self, app: ASGIApp, api_key: str | None) -> None:
        self.app = app
        self.key = api_key.encode() if api_key else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (self.key is None or scope["type"] not in ("http", "websocket")
                or scope["path"] in OPEN_PATHS):
            await self.app(scope, receive, send)
            return
        token = bearer_token(Headers(scope=scope))
        if token is not None and hmac.compare_digest(token.encode(), self.key):
            await self.app(scope, receive, send)
            return
        error = HTTPError(401, "missing or wrong API key: send 'Authorization: Bearer <key>'",
                          "invalid_api_key")
        if scope["type"] == "http":
            await error.response()(scope, receive, send)
            return
        ws = WebSocket(scope, receive, send)
        if "websocket.http.response" in scope.get("extensions", {}):
            await ws.send_denial_response(error.response())
        else:  # pragma: no cover - uvicorn has the extension
            await ws.close(code=1008, reason="missing or wrong API key")
