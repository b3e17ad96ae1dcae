"""``alegra demo --duration 5 --fast`` runs end to end and serves tickets."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SUMMARY = re.compile(r"emitidos \(issued\) (\d+), atendidos \(served\) (\d+)")


def _run_demo(tmp_path: Path, *extra: str, duration: str = "5", timeout: int = 120) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "alegra.cli", "demo", "--duration", duration, "--fast",
         "--data-dir", str(tmp_path / "demo"), *extra],
        capture_output=True, text=True, timeout=timeout, cwd=REPO,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


@pytest.mark.mqtt
def test_demo_serves_tickets_on_the_sede_broker(tmp_path, sede_id, mqtt_broker):
    out = _run_demo(
        tmp_path, "--sede-id", sede_id, "--mqtt-host", mqtt_broker.host,
        "--mqtt-port", str(mqtt_broker.port), "--no-apps", "--central-port", "0",
    )  # fmt: skip
    issued, served = map(int, SUMMARY.search(out).groups())
    assert issued >= 6 and served >= 1, out[-2000:]
    # the preferential ticket (A002, adulto mayor) was called before the earlier A001
    assert "A002" in re.search(r"Ventanilla 1 llama al siguiente.*", out).group(0)
    assert "cola / queue [" in out
    assert (tmp_path / "demo" / f"hub-{sede_id}.sqlite3").exists()


def test_demo_with_the_embedded_broker_says_it_is_demo_only(tmp_path, sede_id):
    from hub.broker import free_port

    out = _run_demo(
        tmp_path, "--embedded", "--mqtt-port", str(free_port()), "--sede-id", sede_id,
        "--no-apps", "--central-port", "0",
    )  # fmt: skip
    assert "SOLO PARA DEMOSTRACIÓN" in out
    _, served = map(int, SUMMARY.search(out).groups())
    assert served >= 1


@pytest.mark.slow
@pytest.mark.mqtt
def test_full_demo_runs_apps_and_central_prints_and_speaks(tmp_path, sede_id, mqtt_broker):
    """The README's demo: hub, kiosk, display, two counters and central together; printed
    tickets (ESC/POS) and spoken calls (WAV) land in the data dir."""
    import urllib.request

    from hub.broker import free_port

    port = free_port()
    out = _run_demo(
        tmp_path, "--sede-id", sede_id, "--mqtt-host", mqtt_broker.host,
        "--mqtt-port", str(mqtt_broker.port), "--central-port", str(port),
        duration="20", timeout=300,
    )  # fmt: skip
    data = tmp_path / "demo"
    for label in ("kiosco", "pantalla", "ventanilla 1", "ventanilla 2", "central"):
        assert f"{label} iniciado / started" in out
    tickets = list((data / "tickets").glob("*.bin"))
    issued, _ = map(int, SUMMARY.search(out).groups())
    assert len(tickets) == issued >= 6
    assert all(b"\x1dV" in t.read_bytes() for t in tickets)  # every ticket ends in a cut
    wavs = list((data / "announcements").glob("*.wav"))
    assert wavs, (data / "logs" / "pantalla.log").read_text()[-2000:]
    assert all(w.stat().st_size > 10_000 for w in wavs)
    assert f"Central en línea / central up: http://127.0.0.1:{port}/" in out
    assert "admin" in (data / "logs" / "central.log").read_text()  # demo users listed
    with pytest.raises(urllib.error.URLError):  # central was stopped with the demo
        urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)
