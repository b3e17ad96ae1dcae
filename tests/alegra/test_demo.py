"""``alegra demo --duration 5 --fast`` runs end to end and serves tickets."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SUMMARY = re.compile(r"emitidos \(issued\) (\d+), atendidos \(served\) (\d+)")


def _run_demo(tmp_path: Path, *extra: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "alegra.cli", "demo", "--duration", "5", "--fast",
         "--data-dir", str(tmp_path / "demo"), *extra],
        capture_output=True, text=True, timeout=120, cwd=REPO,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


@pytest.mark.mqtt
def test_demo_serves_tickets_on_the_sede_broker(tmp_path, sede_id, mqtt_broker):
    out = _run_demo(
        tmp_path, "--sede-id", sede_id, "--mqtt-host", mqtt_broker.host,
        "--mqtt-port", str(mqtt_broker.port),
    )  # fmt: skip
    issued, served = map(int, SUMMARY.search(out).groups())
    assert issued >= 6 and served >= 1, out[-2000:]
    # the preferential ticket (A002, adulto mayor) was called before the earlier A001
    assert "A002" in re.search(r"Ventanilla 1 llama al siguiente.*", out).group(0)
    assert "cola / queue [" in out
    assert (tmp_path / "demo" / f"hub-{sede_id}.sqlite3").exists()


def test_demo_with_the_embedded_broker_says_it_is_demo_only(tmp_path, sede_id):
    from hub.broker import free_port

    out = _run_demo(tmp_path, "--embedded", "--mqtt-port", str(free_port()), "--sede-id", sede_id)
    assert "SOLO PARA DEMOSTRACIÓN" in out
    _, served = map(int, SUMMARY.search(out).groups())
    assert served >= 1
