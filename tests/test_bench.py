"""``make bench`` keeps working: its smoke run writes every figure issue 6 names."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ROOT

NAMES = [
    "pickup_to_relay_ms",
    "http_pickup_ms_c1",
    "http_pickup_ms_c20",
    "ingest_msgs_per_s",
    "drain_events_per_s",
    "resync_10k_s",
    "startup_s",
    "idle_rss_mb",
    "idle_cpu_pct",
    "disk_bytes_per_1k_ops",
]


@pytest.mark.timeout(900)
def test_the_benchmark_smoke_run_writes_every_figure(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "tests.bench.run", "--quick", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=880,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    results = json.loads((tmp_path / "results.json").read_text())
    assert {"machine", "python", "cores", "date", "figures"} <= set(results)
    figures = {f["name"]: f for f in results["figures"]}
    for name in NAMES:
        for full in (name, f"{name}_1core"):
            fig = figures[full]
            assert fig["n"] >= 1
            assert "target" in fig and "met" in fig
            if name.endswith("_ms") or name.startswith("http_pickup"):
                assert 0 < fig["p50"] <= fig["p95"] <= fig["p99"]
            else:
                assert fig["value"] >= 0
    assert figures["ingest_msgs_per_s"]["value"] > 0
    for name in ("pickup_to_relay_ms_4probes", "pickup_to_relay_ms_4probes_1core"):
        assert (
            0 < figures[name]["p50"] <= figures[name]["p99"]
            and "4 chilled" in figures[name]["note"]
        )
    assert figures["idle_cpu_pct_4probes"]["value"] >= 0
    for name in ("pickup_to_relay_ms_speech", "pickup_to_relay_ms_speech_1core"):
        assert (
            0 < figures[name]["p50"] <= figures[name]["p99"]
            and "espeak-ng" in figures[name]["note"]
        )
    # a phrase is made once, then served from the cache
    assert figures["speech_first_phrase_ms"]["p50"] > 0 and figures["speech_cached_ms"]["n"] >= 1
    # the retention sweep (issue 19): every final reservation of the seed erased,
    # pickups timed beside it on the same database
    assert figures["retention_sweep_s"]["value"] > 0 and figures["retention_sweep_s"]["n"] == 2000
    assert figures["pickup_to_relay_ms_sweeping"]["n"] >= 1
    assert figures["pickup_to_relay_ms_retained"]["n"] == 12
    # the fleet (issue 20): every event through the broker, all lockers back
    assert figures["fleet_events_per_s"]["value"] > 0 and figures["fleet_events_per_s"]["n"] == 400
    assert figures["fleet_back_after_restart_s"]["value"] > 0
    assert "pickup_to_relay_ms" in run.stdout  # the table
    assert not (tmp_path / "work").exists()  # cleaned up
