"""scripts/soak.py works and reports well-formed numbers (no timing is asserted: timings belong
to the script's report, not to tests); FileSource(repeat=n) loops a file seamlessly."""

from __future__ import annotations

import json
import math
import sys

import numpy as np
import pytest

from conftest import CLIPS, ROOT, load_pcm

sys.path.insert(0, str(ROOT / "scripts"))

import soak  # noqa: E402


def test_file_source_repeat_loops_the_file(tmp_path):
    from streamer.capture.ringbuffer import RingBuffer
    from streamer.capture.sources import FileSource

    clip = CLIPS["jfk"][0]
    ring = RingBuffer(capacity_s=60)
    src = FileSource(clip, ring, speed=math.inf, repeat=3)
    src.start()
    got = []
    while (item := ring.read(160)) is not None:
        got.append(item[0])
    src.join(5)
    one = load_pcm(clip)
    pcm = np.concatenate(got)
    assert src.error is None
    assert 3 * one.size - 160 < pcm.size <= 3 * one.size
    assert np.array_equal(pcm[:one.size], one) and np.array_equal(pcm[2 * one.size:], one[:pcm.size - 2 * one.size])
    with pytest.raises(ValueError):
        FileSource(clip, RingBuffer(1), repeat=0)


def test_rss_slope_and_drift_arithmetic():
    # 100 MB flat for 1 h of audio after a warm-up jump, then +3 MB over the next hour
    samples = [(t, t * 2, 50.0) for t in range(0, 60, 5)]  # warm-up (stream < 120 s)
    samples += [(t, t * 2, 100 + 3 * (t * 2 - 120) / 3600) for t in range(60, 1860, 5)]
    r = soak.rss_slope(samples, warmup_s=120)
    assert r["mb_per_audio_hour"] == pytest.approx(3.0, rel=1e-3)
    assert r["mb_per_wall_hour"] == pytest.approx(6.0, rel=1e-3)
    assert r["rss_after_warmup_mb"] == 100.0 and r["rss_max_mb"] == pytest.approx(103.0, abs=0.1)
    assert r["mb_per_audio_hour_second_half"] == pytest.approx(3.0, rel=1e-3)
    assert r["growth_mb"] == pytest.approx(3.0, abs=0.01)
    assert r["mb_per_audio_hour_lsq"] == pytest.approx(3.0, rel=1e-3)
    # settling (fast rise, then flat) is told apart from a leak by the second half
    settle = [(t, t, 100 + 20 * min(t, 600) / 600) for t in range(0, 3600, 5)]
    r = soak.rss_slope(settle, warmup_s=0)
    assert r["mb_per_audio_hour_lsq"] > 5 and r["mb_per_audio_hour_second_half"] == pytest.approx(0)
    # transient peaks tilt least squares, not Theil-Sen
    flat = [(t, t, 250.0 + (85.0 if t in (3000, 3100) else 0.0)) for t in range(0, 3600, 5)]
    r = soak.rss_slope(flat, warmup_s=0)
    assert r["mb_per_audio_hour"] == 0 and r["mb_per_audio_hour_lsq"] > 0.5
    assert soak.rss_slope(samples[:2], 0)["mb_per_audio_hour"] is None
    values = [(t, 1.0) for t in range(0, 600)] + [(t, 1.2) for t in range(600, 1200)]
    d = soak.drift(values, 1200, 300)
    assert d["first"]["p95"] == 1.0 and d["last"]["p95"] == 1.2
    assert d["p95_change"] == pytest.approx(0.2)
    assert soak.drift([], 100, 10)["p95_change"] is None


@pytest.mark.model
def test_soak_runs_and_reports(tmp_path):
    """Three passes of jfk (33 s) at max speed with tiny.en, through the script's main()."""
    seg = tmp_path / "jfk.json"
    seg.write_text(json.dumps({"segments": [{"start_s": 0.3, "end_s": 10.6}]}))
    rc = soak.main([str(CLIPS["jfk"][0]), "--segments", str(seg), "--model", "tiny.en",
                    "--minutes", "0.5", "--rss-interval", "0.2", "--out-dir", str(tmp_path),
                    "--name", "t", "--no-progress"])
    assert rc == 0
    r = json.loads((tmp_path / "t.json").read_text())
    md = (tmp_path / "t.md").read_text()
    assert r["speed"] == "max" and r["model"] == "tiny.en"
    assert r["audio_s"] >= 30 and r["passes"] >= 2.7
    # jfk is one utterance per pass: every pass was captioned, nothing was lost
    u = r["utterance_latency_s"]
    assert u["utterances"] >= 2 and u["without_caption"] == 0
    assert r["overruns"] == 0 and r["windows_not_decoded"] == 0
    assert r["windows_sent"] == r["final_stats"]["windows"] > 0
    assert r["captions"] >= 2 * 3
    assert 0 <= r["max_queue_depth"] <= r["queue_capacity"]
    # numbers are numbers (or None where a short run cannot tell)
    assert r["rss"]["n"] >= 1 and r["rss"]["rss_max_mb"] > 10
    assert all(len(s) == 3 for s in r["rss_samples"])
    for block in (u, r["decode_s_per_window"]):
        for side in ("first", "last"):
            assert block[side]["n"] >= 1 and block[side]["p95"] >= 0
    assert r["caption_latency_s"] is None  # wall latencies of a max-speed replay mean nothing
    assert r["targets"]["nothing_lost"] is True and r["targets"]["queue_bounded"] is None
    assert "| max queue depth |" in md and "RSS growth" in md
