"""The latency panel: last caption latency, p50/p95 over the session, RTF, queue, drops."""

from __future__ import annotations

from rich.table import Table
from textual.widgets import Static

from tui.session import SessionView


def _s(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f} s"


def latency_rows(view: SessionView) -> list[tuple[str, str]]:
    """The panel's (label, value) rows for the session so far; "—" where nothing is known yet."""
    st = view.stats
    rows = [
        ("last", _s(view.last_latency_s)),
        ("p50", _s(view.latency_p50_s)),
        ("p95", _s(view.latency_p95_s)),
        ("captions", str(len(view.captions))),
    ]
    if st is None:
        rows += [("RTF", "—"), ("queue", "—"), ("overruns", "—"), ("filtered", "—"),
                 ("audio", "—")]
        return rows
    filtered = sum(st.filtered.values())
    detail = ", ".join(f"{k} {v}" for k, v in sorted(st.filtered.items()))
    rows += [
        ("RTF", f"{st.rtf:.3f}"),
        ("queue", f"{st.queue_depth} + {len(view.pending)} decoding"),
        ("overruns", f"{st.overruns}" + (f" ({st.overrun_samples / 16000:.2f} s lost)"
                                         if st.overruns else "")),
        ("filtered", f"{filtered}" + (f" ({detail})" if detail else "")),
        ("audio", f"{st.stream_s:.1f} s, {st.windows} windows"),
    ]
    return rows


class LatencyPanel(Static):
    """Renders :func:`latency_rows` of a :class:`SessionView` on :meth:`update_from`."""

    def __init__(self, **kwargs) -> None:
        super().__init__("", markup=False, **kwargs)
        self.border_title = "latency"
        self.last_rows: list[tuple[str, str]] = []

    def update_from(self, view: SessionView) -> None:
        """Re-render from the session's current state (skipped when nothing changed)."""
        rows = latency_rows(view)
        if rows == self.last_rows:
            return
        self.last_rows = rows
        grid = Table.grid(padding=(0, 1))
        grid.add_column(style="dim", no_wrap=True)
        grid.add_column(overflow="fold")
        for label, value in rows:
            grid.add_row(label, value)
        self.update(grid)
