"""The process's memory set-up, before any thread starts: glibc's malloc arenas."""

from __future__ import annotations

import ctypes
import os
import sys

M_ARENA_MAX = -8  #: glibc's mallopt parameter number (malloc.h)


def limit_malloc_arenas(n: int) -> bool:
    """``mallopt(M_ARENA_MAX, n)`` on glibc, before any session thread starts: each thread
    would otherwise get an arena of its own and memory grows by fragmentation
    (``pipeline.malloc_arena_max``, :class:`streamer.config.schema.PipelineOptions`). Does
    nothing when ``n`` is 0, when ``MALLOC_ARENA_MAX`` is set (glibc read it at start) or off
    glibc. Returns True when it was applied."""
    if n <= 0 or os.environ.get("MALLOC_ARENA_MAX") or not sys.platform.startswith("linux"):
        return False
    try:
        return ctypes.CDLL("libc.so.6").mallopt(M_ARENA_MAX, n) == 1
    except (OSError, AttributeError):  # musl, or no libc.so.6
        return False
