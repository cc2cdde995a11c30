"""The search prompt (``/``): one line under the captions; Enter searches, Escape cancels."""

from __future__ import annotations

from tui.widgets.prompt import LinePrompt


class SearchBar(LinePrompt):
    """A one-line prompt for a caption search (:class:`~tui.widgets.prompt.LinePrompt`)."""

    def __init__(self, **kwargs) -> None:
        super().__init__("search captions · Enter: find · Escape: cancel", **kwargs)

    def open(self, query: str = "") -> None:
        """Show the prompt holding ``query`` (selected, so typing replaces it) and focus it."""
        self.show(query)
        self.select_all()
