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
    for u in {x["utterance"] for x in finals}:
        own = [x for x in lines if x["utterance"] == u]
        assert own[-1]["type"] == "final"  # its last final ends it: no partial of it follows
        # an utterance may end in several finals (early finals, then the rest); a partial
        # holds the words after the finals before it
        whole = " ".join(x["text"] for x in own if x["type"] == "final")
        said, stables = [], []
        for x in own:
            if x["type"] == "final":
                said.append(x["text"])
                continue
            stable = " ".join(said + [x["stable"]]).strip()
            assert " ".join(said + [x["text"]]).strip().startswith(stable)
            assert whole.startswith(stable)  # the finals keep every stable word
            stables.append(stable)
        for a, b in zip(stables, stables[1:]):
            assert b.startswith(a)  # stable prefixes only grow
    words = " ".join(f["text"] for f in finals).lower().replace(",", "")
    # the words tiny.en finds without partials too ("ask not" comes out as "S not" either way)
    assert "what your country can do for you" in words
    assert "ask what you can do for your country" in words
