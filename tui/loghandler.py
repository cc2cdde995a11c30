"""Log records while the terminal UI owns the terminal: forwarded to the app as messages.

The app shows them (:meth:`tui.app.LivescribeApp.on_log_line`): warnings and errors as toasts,
and with ``-v`` every record in its log panel. :mod:`tui.run` puts :class:`TuiLogHandler` on
the root logger for the session and restores the handlers after.
"""

from __future__ import annotations

import logging

from textual.app import App

from tui.messages import LogLine


class TuiLogHandler(logging.Handler):
    """Forwards log records to the app as :class:`LogLine` messages while it owns the terminal
    (warnings become toasts; with a log panel, every record is shown there).

    Thread-safe: ``post_message`` may be called from any thread.
    """

    def __init__(self, app: App, level: int = logging.WARNING) -> None:
        super().__init__(level)
        self.app = app

    def emit(self, record: logging.LogRecord) -> None:
        """Post the formatted record to the app."""
        severity = "error" if record.levelno >= logging.ERROR else (
            "warning" if record.levelno >= logging.WARNING else "information")
        try:
            self.app.post_message(LogLine(self.format(record), severity))
        except Exception:  # pragma: no cover - never let logging break the session
            self.handleError(record)
