"""Smoke test of bench/central.py with tiny durations, so the benchmark does not rot. It checks
the JSON interface and that the load really reached the servers, not the figures (benchmarks
are not timed assertions)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
KEYS = {"list_rps", "bare_rps", "list_p99_ms", "signin_p99_ms", "list_to_bare_ratio", "pass"}
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def test_bench_prints_one_json_object_with_the_interface_keys(tmp_path):
    if shutil.which("wrk") is None:
        if IN_CI:
            pytest.fail("wrk is required in CI (scripts/setup.sh installs it)")
        pytest.skip("wrk not installed")
    result = subprocess.run(
        [sys.executable, str(REPO / "bench" / "central.py"), "--duration", "1",
         "--connections", "4", "--signin-connections", "2", "--tmp-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=240, cwd=REPO,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert len(lines) == 1, result.stdout
    report = json.loads(lines[0])
    assert {"sqlite", "postgresql", "settings", "targets", "pass"} <= report.keys()
    measured = [report["sqlite"]]
    if "skipped" not in report["postgresql"]:
        measured.append(report["postgresql"])
    elif IN_CI:
        pytest.fail("PostgreSQL must be benchmarked in CI: " + report["postgresql"]["skipped"])
    for figures in measured:
        assert KEYS <= figures.keys()
        for key in ("list_rps", "bare_rps", "list_p99_ms", "signin_p99_ms"):
            assert isinstance(figures[key], int | float) and figures[key] > 0, key
        assert figures["users_listed"] == 11  # the seeded district, seen through the API
        assert figures["requests"]["signin"] > 0
        assert figures["errors"]["list_non_2xx"] == 0, figures["errors"]
        assert figures["errors"]["signin_non_2xx"] == 0, figures["errors"]
    argon2 = report["settings"]["argon2"]
    assert argon2["variant"] == "argon2id" and argon2["memory_kib"] >= 19456
    assert not list(tmp_path.iterdir())  # temp databases and logs cleaned up
