"""A one-line prompt under the captions (search, export): hidden until opened; Enter submits,
Escape cancels; either way :class:`LinePrompt.Closed` follows."""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding
from textual.message import Message
from textual.widgets import Input


class LinePrompt(Input):
    """A one-line prompt, hidden until a subclass's ``open``.

    Enter posts :class:`~textual.widgets.Input.Submitted` (the app acts, then calls
    :meth:`close`); Escape closes it without acting. Either way :class:`LinePrompt.Closed`
    follows, so the app can give the focus back. Keys typed here never reach the app's
    bindings (``q`` types a "q").

    Args:
        placeholder: the hint shown while the line is empty.
    """

    BINDINGS = [Binding("escape", "close", "cancel", show=False)]

    @dataclass
    class Closed(Message):
        """The prompt was hidden."""

        prompt: LinePrompt

    def __init__(self, placeholder: str, **kwargs) -> None:
        super().__init__(placeholder=placeholder, **kwargs)
        self.display = False

    def show(self, value: str) -> None:
        """Show the prompt holding ``value`` and focus it."""
        self.value = value
        self.display = True
        self.focus()

    def close(self) -> None:
        """Hide the prompt and post :class:`Closed`."""
        self.display = False
        self.post_message(self.Closed(self))

    def action_close(self) -> None:
        """Escape: hide the prompt without acting."""
        self.close()
