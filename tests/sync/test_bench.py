"""Smoke test of bench/sync.py with a small backlog: it runs end to end and prints one JSON
object with the interface keys (the figures themselves are quoted from a full run)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import devtools

pytestmark = [pytest.mark.slow, pytest.mark.postgres]
REPO = Path(__file__).resolve().parents[2]


def test_bench_prints_one_json_object_with_the_interface_keys():
    if not devtools.pg_available():
        pytest.skip("PostgreSQL not reachable")
    done = subprocess.run(  # noqa: S603
        [
            sys.executable,
            str(REPO / "bench" / "sync.py"),
            "--events",
            "400",
            "--tickets",
            "5",
            "--rate",
            "10",
            "--batch",
            "100",
            "--rounds",
            "2",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    for key in ("drain_events_per_s", "raw_insert_events_per_s", "issue_to_central_p99_s"):
        assert isinstance(result[key], int | float) and result[key] > 0
    assert result["events"] == 400
    assert len(result["rounds"]) == 2
    assert all(r["drain"] > 0 and r["raw"] > 0 for r in result["rounds"])
    assert result["issue_to_central_p99_s"] < 30
