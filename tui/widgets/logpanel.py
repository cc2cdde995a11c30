"""The log panel (``-v``): the engine's and the front end's log records while the UI owns the
terminal, newest at the bottom (warnings also show as toasts)."""

from __future__ import annotations

from textual.widgets import RichLog
from rich.text import Text

MAX_LINES = 500  #: records kept in the panel

_STYLES = {"error": "red", "warning": "yellow", "information": ""}


class LogPanel(RichLog):
    """A few lines of log at the bottom of the screen."""

    def __init__(self, **kwargs) -> None:
        super().__init__(wrap=True, markup=False, highlight=False, max_lines=MAX_LINES,
                         auto_scroll=True, **kwargs)
        self.border_title = "log"
        self.count = 0  #: records shown so far

    def add(self, text: str, severity: str = "information") -> None:
        """Append one record (``severity``: ``"information"``, ``"warning"`` or ``"error"``)."""
        self.count += 1
        self.write(Text(text, style=_STYLES.get(severity, "")))
