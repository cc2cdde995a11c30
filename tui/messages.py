"""Messages from the engine worker thread to the app (posted with ``App.post_message``).

Like toolong's ``messages.py``: small dataclasses, one per thing that can happen. Failures
travel as data (:class:`EngineFinished.error`), never as exceptions across threads.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message


@dataclass
class EngineEvent(Message):
    """One event from :meth:`streamer.pipeline.Pipeline.events` (a ``streamer.events`` object)."""

    event: object


@dataclass
class EngineFinished(Message):
    """The engine's event stream ended.

    Attributes:
        error: the session's failure (``Pipeline.error`` or an unexpected exception wrapped in a
            :class:`streamer.errors.LivescribeError`), None after a clean end.
    """

    error: Exception | None


@dataclass
class LogLine(Message):
    """A warning logged by the engine while the UI owns the terminal (shown as a toast)."""

    text: str
    severity: str = "warning"
