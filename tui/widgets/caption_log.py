"""The scrolling log of final captions: it follows the newest caption until the user scrolls up.

A plain ``RichLog(auto_scroll=True)`` jumps to the bottom on every write, so nobody can re-read
what was said while captions keep coming. :class:`CaptionLog` keeps a :attr:`following` flag
instead: every scroll the user makes (keys, mouse wheel, scrollbar; Textual routes them all
through :meth:`~textual.widget.Widget.release_anchor`) sets it from where the view ends up, so
scrolling up stops following and scrolling back to the bottom, ``End`` or :meth:`follow` resume
it. Writes scroll to the end only while following.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message
from textual.reactive import var
from textual.widgets import RichLog


class CaptionLog(RichLog):
    """A :class:`~textual.widgets.RichLog` that stays put while the user reads scrollback.

    Attributes:
        following: True while the view sticks to the newest line.
    """

    following: var[bool] = var(True)

    @dataclass
    class FollowChanged(Message):
        """:attr:`CaptionLog.following` changed (posted to the log's ancestors)."""

        log: CaptionLog
        following: bool

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("auto_scroll", False)
        super().__init__(**kwargs)
        self._user_scrolled = False
        self._stick_pending = False

    def write_line(self, content) -> None:
        """Append ``content`` at the bottom, full width; scroll to it if, after the next
        refresh, the log is still following (a search may have moved the view meanwhile)."""
        self.write(content, expand=True, scroll_end=False)
        if self.following and not self._stick_pending:  # once per refresh, however many lines
            self._stick_pending = True
            self.call_after_refresh(self._stick_to_end)

    def _stick_to_end(self) -> None:
        self._stick_pending = False
        if self.following:
            self.scroll_end(animate=False, immediate=True)

    def follow(self) -> None:
        """Follow the newest line again and scroll to it."""
        self.following = True
        self.scroll_end(animate=False)

    def action_scroll_end(self) -> None:
        """``End``: scroll to the bottom and follow new lines from there."""
        self.follow()

    def release_anchor(self) -> None:
        """Called by Textual before every user scroll: let the scroll position decide
        :attr:`following` (see :meth:`watch_scroll_y`)."""
        super().release_anchor()
        self._user_scrolled = True

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        """After a user scroll, follow exactly when the view reached the bottom."""
        super().watch_scroll_y(old_value, new_value)
        if self._user_scrolled:
            self.following = round(new_value) >= self.max_scroll_y

    def watch_following(self, following: bool) -> None:
        """Tell the pane (and the app) that following started or stopped."""
        self.post_message(self.FollowChanged(self, following))
