"""The status bar: what the session is doing and the input level in dBFS."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

METER_MIN_DBFS = -60.0  #: the meter's left end; quieter input shows an empty bar
METER_CELLS = 20  #: meter width in cells
STATES = ("loading", "listening", "speech", "transcribing", "paused", "finishing", "finished",
          "failed")


def meter(level_dbfs: float | None, cells: int = METER_CELLS) -> Text:
    """A bar for ``level_dbfs`` over ``METER_MIN_DBFS``..0 dBFS: green, yellow from -12, red from -3."""
    if level_dbfs is None:
        return Text("░" * cells, style="dim")
    frac = min(1.0, max(0.0, (level_dbfs - METER_MIN_DBFS) / -METER_MIN_DBFS))
    filled = round(frac * cells)
    bar = Text()
    for i in range(cells):
        at_dbfs = METER_MIN_DBFS + (i + 1) / cells * -METER_MIN_DBFS
        if i >= filled:
            bar.append("░", style="dim")
        else:
            bar.append("█", style="red" if at_dbfs > -3 else "yellow" if at_dbfs > -12 else "green")
    return bar


class StatusBar(Static):
    """One line: state, input level meter, windows queued, captions waiting below the view, then
    the last notice (e.g. where the transcript went, or a search's result).

    The app sets :attr:`state` (one of :data:`STATES`), :attr:`level_dbfs`, :attr:`queued`,
    :attr:`below`, :attr:`detail` and :attr:`notice` through :meth:`show`; the bar re-renders
    only when something changed. When the line is wider than the bar, it gets shorter in steps
    (a half-length meter and short words, then no meter) before the notice is cut with "…", so
    at 60 columns the counts still read whole.
    """

    def __init__(self, **kwargs) -> None:
        super().__init__("", markup=False, **kwargs)
        self.state = "loading"
        self.level_dbfs: float | None = None
        self.queued = 0
        self.following = True
        self.below = 0
        self.detail = ""
        self.notice = ""
        self._last: tuple | None = None

    def show(self, state: str | None = None, level_dbfs: float | None | bool = False,
             detail: str | None = None, notice: str | None = None, queued: int | None = None,
             following: bool | None = None, below: int | None = None) -> None:
        """Update any of the fields (``level_dbfs=None`` hides the level; leave it out to keep it).

        Args:
            state: one of :data:`STATES`.
            level_dbfs: input level, dBFS.
            detail: a short hint after the counts (e.g. "press q to quit").
            notice: the last notice, shown last (cut first when the line is too long).
            queued: windows waiting for or in transcription.
            following: whether the captions follow the newest one (False: the user scrolled up).
            below: captions added below the view since the user scrolled up.
        """
        if state is not None:
            if state not in STATES:
                raise ValueError(f"unknown state {state!r}")
            self.state = state
        if level_dbfs is not False:
            self.level_dbfs = level_dbfs
        for name, value in (("detail", detail), ("notice", notice), ("queued", queued),
                            ("following", following), ("below", below)):
            if value is not None:
                setattr(self, name, value)
        self._refresh_text()

    def on_resize(self) -> None:
        """Fit the line to the new width."""
        self._refresh_text()

    def _refresh_text(self) -> None:
        key = (self.state, None if self.level_dbfs is None else round(self.level_dbfs),
               self.queued, self.following, self.below, self.detail, self.notice, self.size.width)
        if key != self._last:
            self._last = key
            for s in STATES:
                self.set_class(s == self.state, f"-{s}")
            self.update(self._render_text())

    def _render_text(self) -> Text:
        width = self.size.width or 1_000_000  # before layout: as long as it gets
        for cells, short in ((METER_CELLS, False), (METER_CELLS // 2, True), (0, True)):
            t = self._render_counts(cells, short)
            if t.cell_len <= width:
                break
        if self.notice:
            t.append(f"   {self.notice}", style="italic")
        t.truncate(width, overflow="ellipsis")
        return t

    def _render_counts(self, meter_cells: int, short: bool) -> Text:
        t = Text()
        t.append(f" {self.state.upper():<13}", style="bold")
        if meter_cells:
            t.append_text(meter(self.level_dbfs, meter_cells))
        t.append("    — dBFS" if self.level_dbfs is None else f" {self.level_dbfs:4.0f} dBFS")
        if self.queued:
            n = self.queued
            t.append(f"   {n} queued" if short else
                     f"   {n} window{'s' * (n != 1)} to transcribe")
        if not self.following:
            n = self.below
            if n:
                t.append(f"   ↓ {n} new" if short else
                         f"   ↓ {n} new caption{'s' * (n != 1)} below (End follows)",
                         style="bold")
            else:
                t.append("   ↑ back" if short else "   ↑ reading back (End follows)")
        if self.detail:
            t.append(f"   {self.detail}")
        return t
