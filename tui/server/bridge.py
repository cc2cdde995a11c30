"""From a session's thread into the event loop: events handed over without ever blocking.

The engine's session thread calls :meth:`EventBridge.put` for each event (the scheduler waits
on no one: ``call_soon_threadsafe`` onto an unbounded asyncio queue, whose size the session
limits bound); the connection's coroutine awaits :meth:`EventBridge.get`. ``None`` is the end.
"""

from __future__ import annotations

import asyncio

from streamer.events import Event


class EventBridge:
    """A session's events for one connection.

    Args:
        wanted: the event types the connection uses (others are not handed over).
    """

    def __init__(self, wanted: tuple[type, ...]) -> None:
        self.loop = asyncio.get_running_loop()
        self.queue: asyncio.Queue[Event | None] = asyncio.Queue()
        self.wanted = wanted

    def put(self, event: Event | None) -> None:
        """On the session's thread: hand ``event`` (None: the end) to the loop."""
        if event is None or isinstance(event, self.wanted):
            try:
                self.loop.call_soon_threadsafe(self.queue.put_nowait, event)
            except RuntimeError:  # the loop is closed: the server is gone
                pass

    async def get(self) -> Event | None:
        """The next event; None once the session has ended."""
        return await self.queue.get()
