"""Summary figures of a session's captions, the same for every front end.

Caption latency percentiles are reported by the server (``/performance``, ``/v1/sessions``),
the terminal UI's latency panel and the benchmark scripts; all of them compute them here, so
the same latencies give the same figures everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

#: caption latencies a session keeps for its percentiles (about 3 hours of conversation)
LATENCIES_KEPT = 4096


def percentiles(values: Iterable[float], qs: Sequence[float]) -> tuple[float | None, ...]:
    """The ``qs``-th percentiles of ``values`` (seconds), each rounded to ms; all None when
    ``values`` is empty. Linear interpolation between the closest ranks (numpy's default);
    ``values`` is copied once and sorted once, whatever the number of ``qs``.

    Raises:
        ValueError: a ``q`` outside 0..100.
    """
    if any(not 0 <= q <= 100 for q in qs):
        raise ValueError("percentiles are within 0..100")
    xs = list(values)  # one copy, in one call: a deque may grow on another thread meanwhile
    if not xs:
        return tuple(None for _ in qs)
    return tuple(round(float(p), 3) for p in np.percentile(np.asarray(xs, np.float64), list(qs)))


def percentile(values: Iterable[float], q: float) -> float | None:
    """The ``q``-th percentile of ``values`` (:func:`percentiles`); None when empty.

    Raises:
        ValueError: ``q`` outside 0..100.
    """
    return percentiles(values, (q,))[0]
