"""bench/edge.py runs end to end with tiny counts and prints one JSON object with the keys
issue 3 names."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.mqtt, pytest.mark.slow]  # ~20-45 s: starts every app


def test_edge_bench_prints_one_json_object_with_the_interface_keys(mqtt_broker):
    proc = subprocess.run(
        [
            sys.executable,
            str(REPO / "bench" / "edge.py"),
            "--tickets",
            "6",
            "--calls",
            "3",
            "--raw-samples",
            "5",
            "--starts",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    assert len(lines) == 1
    result = json.loads(lines[0])
    assert result["press_to_ticket_bytes_p99_ms"] > 0
    assert result["call_to_display_p99_ms"] > 0
    for key in ("cold_start_s", "rss_mb"):
        assert set(result[key]) == {"kiosk", "display", "counter"}
    for app in ("kiosk", "display", "counter"):
        assert 0 < result["cold_start_s"][app] < 30
        assert 20 < result["rss_mb"][app] < 2000
    assert result["raw"]["mqtt_roundtrip_ms"]["p99"] > 0
    assert set(result["pass"]) >= {"press_to_ticket_bytes_p99_ms", "call_to_display_p99_ms"}
