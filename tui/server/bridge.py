"""From a session's thread into the event loop: events handed over without ever blocking.

The engine's session thread calls :meth:`EventBridge.put` for each event; the connection's
coroutine awaits :meth:`EventBridge.get`. ``None`` is the end. The session thread never waits
(``call_soon_threadsafe``: the shared scheduler waits on no connection), so the hand-off is
bounded by dropping instead: only the events the connection uses cross (a session's periodic
:class:`PipelineStats` do not, only its final one), and once :data:`MAX_QUEUED` events wait
for a connection that does not keep up, its :class:`Partial` s are dropped and counted
(:attr:`EventBridge.partials_dropped`; a later partial or the final carries the text on). A
final caption, a drop, a failure, the final stats and the end are never dropped: they are a
few per utterance, bounded by the session's audio.
"""

from __future__ import annotations

import asyncio
import logging
import threading

from streamer.events import Event, Partial, PipelineStats

logger = logging.getLogger("tui.server")

#: events waiting for one connection beyond which its partials are dropped
MAX_QUEUED = 256


class EventBridge:
    """A session's events for one connection (see the module doc).

    Args:
        wanted: the event types the connection uses (others are not handed over; of
            :class:`PipelineStats`, only the final one).
        max_queued: events waiting beyond which partials are dropped (>= 1).

    Attributes:
        partials_dropped: partials dropped because the connection was behind.
    """

    def __init__(self, wanted: tuple[type, ...], max_queued: int = MAX_QUEUED) -> None:
        if max_queued < 1:
            raise ValueError("max_queued must be >= 1")
        self.loop = asyncio.get_running_loop()
        self.queue: asyncio.Queue[Event | None] = asyncio.Queue()
        self.wanted = wanted
        self.max_queued = max_queued
        self.partials_dropped = 0
        self._waiting = 0  # handed to the loop, not yet taken by get()
        self._lock = threading.Lock()

    def put(self, event: Event | None) -> None:
        """On the session's thread: hand ``event`` (None: the end) to the loop; never blocks."""
        if event is not None and (not isinstance(event, self.wanted) or (
                isinstance(event, PipelineStats) and not event.final)):
            return
        with self._lock:
            if isinstance(event, Partial) and self._waiting >= self.max_queued:
                self.partials_dropped += 1
                return
            self._waiting += 1
        if event is None and self.partials_dropped:
            logger.info("%d partials dropped: the connection did not keep up",
                        self.partials_dropped)
        try:
            self.loop.call_soon_threadsafe(self.queue.put_nowait, event)
        except RuntimeError:  # the loop is closed: the server is gone
            pass

    async def get(self) -> Event | None:
        """The next event; None once the session has ended."""
        event = await self.queue.get()
        with self._lock:
            self._waiting -= 1
        return event
