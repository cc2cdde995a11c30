#!/usr/bin/env python3
"""Peak RSS of one live ``livescribe`` session (docs/benchmarks.md, "Memory of a live session").

Runs ``livescribe --file meeting_dev.flac --speed 1 --model M --plain --partials`` as a child
process for ``--seconds`` (real time, interim captions on: the heaviest default session) and
samples its RSS every 0.2 s (psutil). ``--arenas N`` puts ``MALLOC_ARENA_MAX=N`` in its
environment (glibc reads it at start; livescribe then leaves the arenas alone); without it,
``LIVESCRIBE_PIPELINE_MALLOC_ARENA_MAX`` is passed through (0: glibc's default).

Usage::

    python scripts/rss_live.py --model base --seconds 150
    LIVESCRIBE_PIPELINE_MALLOC_ARENA_MAX=0 python scripts/rss_live.py --model base
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from bench import RssSampler  # noqa: E402

MEETING = ROOT.parent / "shared" / "speech" / "meeting_dev.flac"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="base")
    p.add_argument("--seconds", type=float, default=150.0)
    p.add_argument("--arenas", type=int, default=None)
    args = p.parse_args(argv)
    env = dict(os.environ)
    if args.arenas is not None:
        env["MALLOC_ARENA_MAX"] = str(args.arenas)
    proc = subprocess.Popen([str(ROOT / ".venv/bin/livescribe"), "--file", str(MEETING),
                             "--speed", "1", "--model", args.model, "--plain", "--partials",
                             "--no-transcript"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=env)
    sampler = RssSampler(0.2, proc.pid)
    sampler.start()
    try:
        proc.wait(args.seconds)
    except subprocess.TimeoutExpired:
        pass
    peak = sampler.stop()
    proc.terminate()
    proc.wait()
    print(f"{args.model}, {args.seconds:g} s at real time with partials, arenas "
          f"{args.arenas if args.arenas is not None else 'as configured'}: peak RSS "
          f"{peak / 2**20:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
