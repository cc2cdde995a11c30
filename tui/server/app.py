"""The ASGI application of ``livescribe serve`` (Starlette), built around one serving engine.

Routes: ``POST /v1/audio/transcriptions`` (:mod:`tui.server.rest`), WebSockets ``/v1/stream``
(:mod:`tui.server.stream`) and ``/v1/realtime`` (:mod:`tui.server.realtime`), ``GET /health``,
``/v1/sessions``, ``/performance`` (:mod:`tui.server.ops`). The engine starts loading the model
when the application starts (``/health`` answers 503 until it is ready) and is closed when it
stops. Every error is a JSON body with a one-line message (:mod:`tui.server.errors`): an
unexpected exception is logged with its traceback on stderr and answered 500, never shown.
"""

from __future__ import annotations

import contextlib
import logging

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.routing import Route, WebSocketRoute

from streamer.config import ServerOptions
from streamer.serving import ServingEngine
from tui.server import ops
from tui.server.auth import ApiKeyMiddleware
from tui.server.errors import HTTPError, one_line
from tui.server.realtime import realtime
from tui.server.rest import transcriptions
from tui.server.stream import stream

logger = logging.getLogger("tui.server")


async def _http_error(request: Request, exc: HTTPError):
    logger.info("%s %s: %d %s", request.method, request.url.path, exc.status, exc.message,
                extra={"status": exc.status, "path": request.url.path})
    return exc.response()


async def _starlette_error(request: Request, exc: HTTPException):
    return HTTPError(exc.status_code, one_line(exc.detail), None).response()


async def _unexpected(request: Request, exc: Exception):
    logger.error("%s %s failed: %s: %s", request.method, request.url.path,
                 type(exc).__name__, exc, exc_info=exc)
    return HTTPError(500, f"internal error: {type(exc).__name__}", "internal_error").response()


def create_app(engine: ServingEngine, options: ServerOptions,
               api_key: str | None = None) -> Starlette:
    """The application.

    Args:
        engine: the serving engine, not started (the application's startup starts it).
        options: the ``server`` settings (limits).
        api_key: required as ``Authorization: Bearer <key>`` on every route but ``/health``;
            None requires none (a loopback server).
    """

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        engine.start()
        logger.info("loading the model; /health answers 503 until it is ready")
        yield
        logger.info("shutting down: finishing %d session(s)", len(engine.sessions()))
        engine.close()

    app = Starlette(
        routes=[Route("/health", ops.health), Route("/v1/sessions", ops.sessions),
                Route("/performance", ops.performance),
                Route("/v1/audio/transcriptions", transcriptions, methods=["POST"]),
                WebSocketRoute("/v1/stream", stream), WebSocketRoute("/v1/realtime", realtime)],
        middleware=[Middleware(ApiKeyMiddleware, api_key=api_key)],
        exception_handlers={HTTPError: _http_error, HTTPException: _starlette_error,
                            Exception: _unexpected},
        lifespan=lifespan)
    app.state.engine = engine
    app.state.options = options
    return app
