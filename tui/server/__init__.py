"""``livescribe serve``: the HTTP and WebSocket front end of the serving engine.

A front end of the same kind as the command line and the terminal UI: it opens sessions on
:class:`streamer.serving.ServingEngine` and turns their events into what clients already speak —
the OpenAI transcription REST API (:mod:`tui.server.rest`), the OpenAI Realtime transcription
protocol (:mod:`tui.server.realtime`) and livescribe's own JSON lines over a WebSocket
(:mod:`tui.server.stream`) — plus ``/health``, ``/v1/sessions`` and ``/performance``
(:mod:`tui.server.ops`). The app is built by :func:`tui.server.app.create_app`; the command
that runs it with uvicorn is :mod:`tui.cli.serve`. Users' guide: docs/server.md.
"""
