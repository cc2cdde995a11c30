"""Server mode, the engine's side: one warm model shared by many sessions.

:class:`~streamer.serving.engine.ServingEngine` loads the model once on a shared
:class:`~streamer.decoding.scheduler.Scheduler` and opens a
:class:`~streamer.serving.session.ServerSession` per client (an upload or a live stream), each
the same capture -> ring buffer -> segmenter -> worker -> filters path as the microphone. The
HTTP/WebSocket front end is :mod:`tui.server`; nothing here imports a web framework.
"""

from streamer.serving.engine import KINDS, Busy, NotReady, ServingEngine
from streamer.serving.session import ServerSession

__all__ = ["KINDS", "Busy", "NotReady", "ServerSession", "ServingEngine"]
