"""The export prompt (``s``): one line under the captions holding the file to export the
transcript to; Enter exports, Escape cancels."""

from __future__ import annotations

from pathlib import Path

from tui.widgets.prompt import LinePrompt


class SavePrompt(LinePrompt):
    """A one-line prompt for the export's file name (:class:`~tui.widgets.prompt.LinePrompt`)."""

    def __init__(self, **kwargs) -> None:
        super().__init__("export the transcript to · Enter: save · Escape: cancel", **kwargs)

    def open(self, default: Path) -> None:
        """Show the prompt holding ``default`` (relative to the current directory when it is
        inside it), the cursor at its end, and focus it."""
        try:
            shown = str(default.relative_to(Path.cwd()))
        except ValueError:
            shown = str(default)
        self.show(shown)
        self.cursor_position = len(shown)
