"""Partials with the real model: a real-time replay through the command line.

Real-time pacing is the condition under test (partials exist for live input; tiny.en decodes a
snapshot in a small fraction of the 0.5 s between snapshots on any machine that runs the suite),
so no assertion depends on how many partials came, only on their order and their promises.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import CLIPS

pytestmark = pytest.mark.model


def test_jsonl_partials_come_before_their_final_and_stable_words_never_change():
    proc = subprocess.run(
        [sys.executable, "-m", "tui", "--file", str(CLIPS["jfk"][0]), "--model", "tiny.en",
         "--format", "jsonl", "--partials", "--no-transcript", "--plain", "--speed", "1"],
        capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(x) for x in proc.stdout.splitlines()]
    assert all(x["type"] in ("partial", "final") and isinstance(x["utterance"], int)
               for x in lines)
    finals = [x for x in lines if x["type"] == "final"]
    assert finals and any(x["type"] == "partial" for x in lines)
    for final in finals:
        u = final["utterance"]
        before = lines[:lines.index(final)]
        ps = [x for x in before if x["type"] == "partial" and x["utterance"] == u]
        after = [x for x in lines[lines.index(final):] if x["utterance"] == u]
        assert after == [final]  # the final ends its utterance: no partial of it follows
        for a, b in zip(ps, ps[1:]):
            assert b["stable"].startswith(a["stable"])  # stable prefixes only grow
        for p in ps:
            assert p["text"].startswith(p["stable"])
            assert final["text"].startswith(p["stable"])  # the final keeps every stable word
    words = " ".join(f["text"] for f in finals).lower().replace(",", "")
    # the words tiny.en finds without partials too ("ask not" comes out as "S not" either way)
    assert "what your country can do for you" in words
    assert "ask what you can do for your country" in words
