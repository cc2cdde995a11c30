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
    """One line: state, input level meter, then the last notice (e.g. where the transcript went).

    The app sets :attr:`state` (one of :data:`STATES`), :attr:`level_dbfs` and :attr:`notice`
    through :meth:`show`; the bar re-renders only when something changed.
    """

    def __init__(self, **kwargs) -> None:
        super().__init__("", markup=False, **kwargs)
        self.state = "loading"
        self.level_dbfs: float | None = None
        self.detail = ""
        self.notice = ""
        self._last: tuple | None = None

    def show(self, state: str | None = None, level_dbfs: float | None | bool = False,
             detail: str | None = None, notice: str | None = None) -> None:
        """Update any of the fields (``level_dbfs=None`` hides the level; leave it out to keep it)."""
        if state is not None:
            if state not in STATES:
                raise ValueError(f"unknown state {state!r}")
            self.state = state
        if level_dbfs is not False:
            self.level_dbfs = level_dbfs
        if detail is not None:
            self.detail = detail
        if notice is not None:
            self.notice = notice
        key = (self.state, None if self.level_dbfs is None else round(self.level_dbfs),
               self.detail, self.notice)
        if key != self._last:
            self._last = key
            for s in STATES:
                self.set_class(s == self.state, f"-{s}")
            self.update(self._render_text())

    def _render_text(self) -> Text:
        t = Text()
        t.append(f" {self.state.upper():<13}", style="bold")
        t.append_text(meter(self.level_dbfs))
        t.append("    — dBFS" if self.level_dbfs is None else f" {self.level_dbfs:4.0f} dBFS")
        if self.detail:
            t.append(f"   {self.detail}")
        if self.notice:
            t.append(f"   {self.notice}", style="italic")
        return t
