"""The search prompt (``/``): one line under the captions; Enter searches, Escape cancels."""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding
from textual.message import Message
from textual.widgets import Input


class SearchBar(Input):
    """A one-line prompt for a caption search, hidden until :meth:`open`.

    Enter posts :class:`~textual.widgets.Input.Submitted` (the app searches, then calls
    :meth:`close`); Escape closes it without searching. Either way :class:`SearchBar.Closed`
    follows, so the app can give the focus back. Keys typed here never reach the app's
    bindings (``q`` types a "q").
    """

    BINDINGS = [Binding("escape", "close", "cancel", show=False)]

    @dataclass
    class Closed(Message):
        """The prompt was hidden."""

        bar: SearchBar

    def __init__(self, **kwargs) -> None:
        super().__init__(placeholder="search captions · Enter: find · Escape: cancel", **kwargs)
        self.display = False

    def open(self, query: str = "") -> None:
        """Show the prompt holding ``query`` (selected, so typing replaces it) and focus it."""
        self.value = query
        self.display = True
        self.focus()
        self.select_all()

    def close(self) -> None:
        """Hide the prompt and post :class:`Closed`."""
        self.display = False
        self.post_message(self.Closed(self))

    def action_close(self) -> None:
        """Escape: hide the prompt without searching."""
        self.close()
