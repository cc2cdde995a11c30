"""The device panel: input, model, device, compute type, threads, beam, CPU features, memory."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from rich.table import Table
from textual.widgets import Static

from streamer.events import ModelReady
from tui.session import SAMPLE_RATE_HZ, SessionInfo


#: plan rows the panel already shows from the loaded model (as "model", "device", "beam")
_SHOWN = {"device", "compute type", "threads", "beam size", "best of"}


def _rows(info: SessionInfo, ready: ModelReady | None, rss_bytes: int | None) -> list[tuple[str, str]]:
    rate = f"{SAMPLE_RATE_HZ // 1000} kHz mono"
    if info.input_rate_hz and info.input_rate_hz != SAMPLE_RATE_HZ:
        rate = f"{info.input_rate_hz / 1000:g} → {rate}"
    if ready is None:
        model, device, compute = info.model, info.device, info.compute_type
        threads, beam, load = info.threads, info.beam_size, "loading…"
    else:
        model, device, compute = ready.model, ready.device, ready.compute_type
        threads, beam = ready.threads, ready.beam_size
        load = f"{ready.load_s:.2f} s, warm-up {ready.warmup_s:.2f} s"
        model += " (multilingual)" if ready.multilingual else " (English)"
    rows = [
        ("input", f"{info.input} · {rate}"),
        ("model", model),
        ("device", f"{device} · {compute} · {threads or 'auto'} thread{'s' * (threads != 1)}"),
        ("beam", str(beam)),
        ("load", load),
        ("cpu", " ".join(info.cpu_features) if info.cpu_features else "—"),
        ("memory", "—" if rss_bytes is None else f"{rss_bytes / 2**20:.0f} MiB RSS"),
    ]
    if info.plan:
        plan = {k: str(v) for k, v in info.plan.items() if k not in _SHOWN}
        first = True
        for k, v in plan.items():
            rows.append(("plan" if first else "", f"{k} {v}"))
            first = False
    else:
        rows.append(("plan", "none (options as given)"))
    return rows


class DevicePanel(Static):
    """Shows :class:`SessionInfo`, then the :class:`ModelReady` facts and resident memory.

    Args:
        info: the session's set-up.
    """

    def __init__(self, info: SessionInfo, **kwargs) -> None:
        super().__init__("", markup=False, **kwargs)
        self.info = info
        self.ready: ModelReady | None = None
        self.rss_bytes: int | None = None
        self.border_title = "device"

    def on_mount(self) -> None:
        """Render the rows known before the model loads."""
        self._refresh_rows()

    def update_info(self, **changes) -> None:
        """Replace fields of the shown :class:`SessionInfo` (as events tell them: the input,
        the plan) and re-render."""
        self.info = replace(self.info, **changes)
        self._refresh_rows()

    def set_ready(self, ready: ModelReady, plan: Mapping[str, str] | None = None) -> None:
        """The model is loaded: show what the worker uses and, if given, the calibrated plan."""
        self.ready = ready
        if plan is not None:
            self.info = replace(self.info, plan=dict(plan))
        self._refresh_rows()

    def set_memory(self, rss_bytes: int | None) -> None:
        """Resident memory of the process, bytes."""
        if rss_bytes != self.rss_bytes:
            self.rss_bytes = rss_bytes
            self._refresh_rows()

    def rows(self) -> list[tuple[str, str]]:
        """The (label, value) rows on display."""
        return _rows(self.info, self.ready, self.rss_bytes)

    def _refresh_rows(self) -> None:
        grid = Table.grid(padding=(0, 1))
        grid.add_column(style="dim", no_wrap=True)
        grid.add_column(overflow="fold")
        for label, value in self.rows():
            grid.add_row(label, value)
        self.update(grid)
