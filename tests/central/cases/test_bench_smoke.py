"""Smoke test of bench/cases.py with a tiny data set: it builds its database, measures, prints
one JSON object with the interface keys, and drops the database."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.central.conftest import IN_CI, _pg_reachable

KEYS = (
    "search_document_p95_ms",
    "search_name_p95_ms",
    "fulltext_p95_ms",
    "dashboard_ms",
    "search_document_bare_sql_p95_ms",
    "search_name_bare_sql_p95_ms",
    "fulltext_bare_sql_p95_ms",
    "dashboard_bare_sql_ms",
)


@pytest.mark.postgres
def test_bench_cases_smoke(tmp_path):
    if not _pg_reachable():
        if IN_CI:
            pytest.fail("PostgreSQL on 127.0.0.1:5432 is required in CI")
        pytest.skip("PostgreSQL not reachable")
    from tests.conftest import REPO_ROOT

    out = subprocess.run(
        [sys.executable, str(REPO_ROOT / "bench" / "cases.py"), "--files", "300", "--samples", "5"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO_ROOT,
    )
    lines = [line for line in out.stdout.splitlines() if line.strip()]
    assert len(lines) == 1, out.stdout + out.stderr
    result = json.loads(lines[0])
    for key in KEYS:
        assert isinstance(result[key], int | float) and result[key] > 0, key
    assert result["files"] == 300 and result["actions"] == 1500
    assert out.returncode == (0 if result["pass"] else 1)
