"""Structured logs on stderr: one JSON object per line (``server.log_format = "json"``).

Every record carries ``ts`` (UTC, ISO 8601 with milliseconds), ``level``, ``logger`` and ``msg``,
plus the fields the code passed in ``extra`` (``session``, ``client``, ``audio_s``...); an
access-log line of uvicorn carries ``client``, ``method``, ``path`` and ``status``. A failure
logged with its exception has it in ``exc`` (the traceback stays in the log, never in a
response). stdout stays empty: a server writes no data there.
"""

from __future__ import annotations

import json
import logging
import sys
import time

#: attributes every LogRecord has; anything else on a record came from ``extra``
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message", "asctime", "color_message", "taskName"}


class JsonFormatter(logging.Formatter):
    """A record as one JSON line."""

    def format(self, record: logging.LogRecord) -> str:
        out = {"ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
               + f".{int(record.msecs):03d}Z",
               "level": record.levelname.lower(), "logger": record.name,
               "msg": record.getMessage()}
        if record.name == "uvicorn.access" and isinstance(record.args, tuple) \
                and len(record.args) == 5:
            client, method, path, _, status = record.args
            out.update(client=client, method=method, path=path, status=status)
        for key, value in record.__dict__.items():
            if key not in _STANDARD and key not in out:
                out[key] = value if isinstance(value, (str, int, float, bool, type(None))) \
                    else str(value)
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


def setup_server_logging(verbose: int, fmt: str = "json") -> None:
    """Log to stderr as JSON lines (or text): info by default (sessions opening and ending,
    requests), debug with ``-v``; uvicorn's loggers go through the same handler."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else
                         logging.Formatter("livescribe: %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    level = logging.DEBUG if verbose > 0 else logging.INFO
    for name in ("streamer", "tui", "uvicorn", "uvicorn.error", "uvicorn.access"):
        lg = logging.getLogger(name)
        lg.setLevel(level)
        lg.handlers[:] = []
        lg.propagate = True
