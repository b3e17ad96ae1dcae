"""Smoke test of bench/hub.py with tiny counts, so the benchmark does not rot. It checks the
JSON interface, not the figures (benchmarks are not timed assertions)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
KEYS = {
    "tickets_per_s",
    "raw_sqlite_inserts_per_s",
    "command_roundtrip_p99_ms",
    "raw_mqtt_roundtrip_p99_ms",
    "call_to_display_p99_ms",
    "command_roundtrip_p50_ms",
    "raw_mqtt_roundtrip_p50_ms",
    "call_to_display_p50_ms",
    "tickets_ratio",
    "command_roundtrip_p99_ratio",
    "call_to_display_p99_ratio",
}


@pytest.mark.mqtt
def test_bench_prints_one_json_object_with_the_interface_keys(tmp_path):
    result = subprocess.run(
        [sys.executable, str(REPO / "bench" / "hub.py"), "--tickets", "40", "--rounds", "4",
         "--cycles", "5", "--backlog", "3", "--raw-samples", "20", "--tmp-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=180, cwd=REPO,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert len(lines) == 1, result.stdout
    report = json.loads(lines[0])
    assert KEYS <= report.keys()
    for key in KEYS:
        assert isinstance(report[key], int | float) and report[key] > 0, key
    assert report["settings"]["sqlite_synchronous"] == "FULL"
    assert report["settings"]["sqlite_journal_mode"] == "wal"
    assert set(report["pass"]) >= {"tickets_per_s>=1000", "command_roundtrip_p99<20ms"}
    assert report["detail"]["hub_over_mqtt"]["hub_exit_code"] == 0
    assert report["detail"]["hub_over_mqtt"]["call_to_display"]["n"] == 5
    # the raw limit is measured between the hub's cycles, all the samples asked for
    assert report["detail"]["hub_over_mqtt"]["raw_mqtt_roundtrip"]["n"] == 20
    assert report["command_roundtrip_p99_ratio"] == pytest.approx(
        report["command_roundtrip_p99_ms"] / report["raw_mqtt_roundtrip_p99_ms"], rel=1e-2
    )
    assert set(report["pass"]) >= {"command_within_3x_raw_mqtt", "call_within_3x_raw_mqtt"}
