"""Progress of long model work (assembling ``base``, a hub download), shown by a front end.

The engine never draws: it counts its work on a tqdm-compatible bar whose class a front end
installs with :func:`set_bar_class` (the command line: tqdm on stderr, only on a terminal);
until then the bars are tqdm's, disabled, so library use and the terminal UI see nothing. The
same class goes to ``huggingface_hub.snapshot_download`` as its ``tqdm_class``.
"""

from __future__ import annotations

from tqdm import tqdm as _tqdm


class DisabledBar(_tqdm):
    """A tqdm that shows nothing (the default until a front end installs a class)."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs["disable"] = True
        super().__init__(*args, **kwargs)


_bar_class: type = DisabledBar


def set_bar_class(cls: type | None) -> None:
    """Install the tqdm (sub)class the engine's progress bars are made of; None: none shown.

    Args:
        cls: a ``tqdm.tqdm`` subclass (it must keep tqdm's class methods, which
            ``huggingface_hub`` calls: ``get_lock``, ``set_lock``).
    """
    global _bar_class
    _bar_class = DisabledBar if cls is None else cls


def bar_class() -> type:
    """The installed bar class (:class:`DisabledBar` when none was)."""
    return _bar_class


def bar(total: float | None, desc: str, unit: str = "B", **kwargs):
    """A new progress bar of the installed class (use it as a context manager; ``update(n)``).

    Args:
        total: the amount of work (e.g. bytes), None if unknown.
        desc: what is being done, e.g. ``"assembling base"``.
        unit: the unit counted; bytes are shown scaled (``MB``).
    """
    return _bar_class(total=total, desc=desc, unit=unit, unit_scale=unit == "B",
                      unit_divisor=1024 if unit == "B" else 1000, **kwargs)
