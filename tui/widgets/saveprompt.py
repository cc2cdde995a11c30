"""The export prompt (``s``): one line under the captions holding the file to export the
transcript to; Enter exports, Escape cancels."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from textual.binding import Binding
from textual.message import Message
from textual.widgets import Input


class SavePrompt(Input):
    """A one-line prompt for the export's file name, hidden until :meth:`open`.

    Enter posts :class:`~textual.widgets.Input.Submitted` (the app exports, then calls
    :meth:`close`); Escape closes it without exporting. Either way :class:`SavePrompt.Closed`
    follows, so the app can give the focus back. Keys typed here never reach the app's
    bindings.
    """

    BINDINGS = [Binding("escape", "close", "cancel", show=False)]

    @dataclass
    class Closed(Message):
        """The prompt was hidden."""

        prompt: SavePrompt

    def __init__(self, **kwargs) -> None:
        super().__init__(placeholder="export the transcript to · Enter: save · Escape: cancel",
                         **kwargs)
        self.display = False

    def open(self, default: Path) -> None:
        """Show the prompt holding ``default`` (relative to the current directory when it is
        inside it), the cursor at its end, and focus it."""
        try:
            shown = str(default.relative_to(Path.cwd()))
        except ValueError:
            shown = str(default)
        self.value = shown
        self.display = True
        self.focus()
        self.cursor_position = len(shown)

    def close(self) -> None:
        """Hide the prompt and post :class:`Closed`."""
        self.display = False
        self.post_message(self.Closed(self))

    def action_close(self) -> None:
        """Escape: hide the prompt without exporting."""
        self.close()
