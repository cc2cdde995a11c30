"""``livescribe serve``: the transcription server (docs/server.md, docs/deploy.md).

Builds the :class:`~streamer.serving.ServingEngine` from the same configuration as every other
command (model, decoding, VAD and filters, plus the ``server.*`` settings), and runs the ASGI
application of :mod:`tui.server` with uvicorn. It listens on loopback by default; any other
address needs an API key (``--api-key`` or ``LIVESCRIBE_API_KEY``) or the command refuses to
start (exit 78). Logs go to stderr as JSON lines; stdout stays empty. Ctrl-C / SIGTERM stop
accepting connections and let open sessions finish (up to 10 s), then exit 130 / 143; a model
that cannot be loaded stops the server with the loader's exit code (69, 78).
"""

from __future__ import annotations

import ipaddress
import logging
import os
import socket
import threading

from streamer.config import BuiltConfig
from streamer.errors import ExitCode, LivescribeError
from tui.cli.memory import limit_malloc_arenas

logger = logging.getLogger("tui.server")

API_KEY_ENV = "LIVESCRIBE_API_KEY"  #: the API key's environment variable (never a setting)
GRACEFUL_SHUTDOWN_S = 10  #: how long open sessions may take to finish at shutdown


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name: assume it may be reachable from elsewhere
        return False


def listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (port 0: any free port).

    Raises:
        LivescribeError: the address cannot be used (exit 69), e.g. the port is taken.
    """
    try:
        family, kind, proto, _, addr = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(addr)
        sock.listen(128)
    except OSError as exc:
        raise LivescribeError(f"cannot listen on {host}:{port}: {exc.strerror or exc}",
                              ExitCode.UNAVAILABLE) from None
    return sock


def serve(args, built: BuiltConfig) -> int:
    """Run the server until Ctrl-C or SIGTERM; return the exit code.

    Raises:
        LivescribeError: a non-loopback host without an API key (78), an address that cannot
            be used (69), ``--strict`` and an impossible model override (78), a model that
            cannot be loaded (its code).
    """
    import uvicorn

    from streamer.serving import ServingEngine
    from tui.server.app import create_app
    from tui.server.logs import setup_server_logging

    config = built.config
    s = config.server
    api_key = getattr(args, "api_key", None) or os.environ.get(API_KEY_ENV) or None
    if not is_loopback(s.host) and not api_key:
        raise LivescribeError(f"refusing to listen on {s.host}: a server other machines can "
                              f"reach needs an API key (--api-key or {API_KEY_ENV})",
                              ExitCode.CONFIG)
    arenas = limit_malloc_arenas(config.pipeline.malloc_arena_max)
    setup_server_logging(config.ui.verbose, s.log_format)
    sock = listen(s.host, s.port)
    engine = ServingEngine(config)  # plans now (--strict may stop here); loads at startup
    app = create_app(engine, s, api_key)
    host, port = sock.getsockname()[:2]
    logger.info("listening on http://%s:%d (model %s planned on %s/%s; API key %s; malloc "
                "arenas %s)", host, port, engine.plan.model, engine.plan.device,
                engine.plan.compute_type, "required" if api_key else "not required",
                config.pipeline.malloc_arena_max if arenas
                else os.environ.get("MALLOC_ARENA_MAX", "default"),
                extra={"host": host, "port": port})
    server = uvicorn.Server(uvicorn.Config(
        app, log_config=None, ws="websockets-sansio", lifespan="on",
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S, server_header=False))

    def stop_if_the_model_fails() -> None:
        engine.wait_loaded()
        if engine.error is not None:
            server.should_exit = True

    threading.Thread(target=stop_if_the_model_fails, name="load-watch", daemon=True).start()
    server.run(sockets=[sock])
    if engine.error is not None:  # nothing to serve: exit with the loader's code
        raise engine.error
    return ExitCode.OK
