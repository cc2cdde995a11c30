"""Operations: ``GET /health``, ``GET /v1/sessions``, ``GET /performance``.

``/health`` answers 200 ``{"status": "ready", ...}`` once the model is loaded, warm and
calibrated, and 503 before (``"loading"``) or if loading failed (``"failed"``, with the reason):
what a Kubernetes readiness probe or a load balancer's health check reads (docs/deploy.md). It
needs no API key. ``/v1/sessions`` lists the open sessions (id, kind, client, started, audio
seconds, captions, final-caption latency p50/p95 for live ones, queued windows, overruns);
``/performance`` the model, the scheduler (batch size, queue depths, utilization), the real-time
factor, the process's RSS and each live session's latency.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse


async def health(request: Request) -> JSONResponse:
    """``GET /health``: 200 when ready, else 503 (see the module doc)."""
    engine = request.app.state.engine
    if engine.ready:
        body = {"status": "ready", "model": engine.model_name,
                "sessions": len(engine.sessions()),
                "max_sessions": engine.config.server.max_sessions}
        return JSONResponse(body)
    if engine.error is not None:
        return JSONResponse({"status": "failed", "error": str(engine.error)}, status_code=503)
    return JSONResponse({"status": "loading"}, status_code=503, headers={"Retry-After": "5"})


async def sessions(request: Request) -> JSONResponse:
    """``GET /v1/sessions``: ``{"object": "list", "data": [session, ...]}``."""
    engine = request.app.state.engine
    return JSONResponse({"object": "list", "data": [s.info() for s in engine.sessions()]})


async def performance(request: Request) -> JSONResponse:
    """``GET /performance``: :meth:`streamer.serving.ServingEngine.performance`."""
    return JSONResponse(request.app.state.engine.performance())
