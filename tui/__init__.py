"""The Textual front end of livescribe: renders the engine's events, owns no audio or model logic.

Entry point: :func:`tui.app.make_app`. Imported lazily by the CLI, only when the UI is used.
"""
