"""The snapshot mailbox between the segmenter thread and the inference worker."""

from __future__ import annotations

import threading

from streamer.segmentation.window import SpeechWindow


class SnapshotSlot:
    """A one-slot mailbox for utterance snapshots: :meth:`offer` never blocks, the newest wins.

    Attributes:
        replaced: snapshots overwritten before anyone took them.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._item: SpeechWindow | None = None
        self.replaced = 0

    def offer(self, window: SpeechWindow) -> None:
        """Put ``window`` in the slot, replacing (and counting) any snapshot waiting there."""
        with self._lock:
            if self._item is not None:
                self.replaced += 1
            self._item = window

    def _holds(self, reason: str | None) -> bool:
        """(Lock held.) A snapshot waits, of ``reason`` if given."""
        return self._item is not None and reason in (None, self._item.reason)

    def waiting(self, reason: str) -> bool:
        """True when a snapshot of ``reason`` waits (it stays in the slot)."""
        with self._lock:
            return self._holds(reason)

    def take(self, reason: str | None = None) -> SpeechWindow | None:
        """Remove and return the waiting snapshot, or None; with ``reason``, only a snapshot
        of that reason (``"pause"``, ``"partial"``)."""
        with self._lock:
            if not self._holds(reason):
                return None
            item, self._item = self._item, None
            return item
