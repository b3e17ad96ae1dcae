"""Test-wide set-up: headless Qt, real brokers and databases, isolation per test."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("ALEGRA_LOG_LEVEL", "WARNING")

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
REPO_ROOT = Path(__file__).resolve().parent.parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Long files first, each file's own order kept: with ``--dist loadfile`` xdist hands files
    out in collection order, so a long file collected last would start when the other workers
    are nearly done and stretch the run. First the files with a test that declares a timeout
    above the default (the full-scale fault tests), then files with slow tests, then the rest."""
    default = float(config.getini("timeout") or 0)
    rank: dict[Path, int] = {}
    for item in items:
        timeout = item.get_closest_marker("timeout")
        if timeout and timeout.args and float(timeout.args[0]) > default:
            rank[item.path] = 0
        elif item.get_closest_marker("slow"):
            rank.setdefault(item.path, 1)
    items.sort(key=lambda item: rank.get(item.path, 2))


def port_open(host: str, port: int, timeout: float = 0.3) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class Broker:
    host: str
    port: int


def start_mosquitto(config_text: str, workdir: Path) -> tuple[subprocess.Popen, int]:
    """Start a private Mosquitto with ``config_text`` (``{port}`` is filled in); return it and
    its port once it accepts connections."""
    exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    port = free_port()
    conf = workdir / f"mosquitto-{port}.conf"
    conf.write_text(config_text.format(port=port, workdir=workdir))
    proc = subprocess.Popen(
        [exe, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if port_open("127.0.0.1", port):
            return proc, port
        if proc.poll() is not None:
            raise RuntimeError(
                f"mosquitto exited: {proc.stderr.read().decode() if proc.stderr else ''}"
            )
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError("mosquitto did not start")


@pytest.fixture(scope="session")
def mqtt_broker(tmp_path_factory: pytest.TempPathFactory):
    """A real Mosquitto for the session, configured as installers/mosquitto/dev.conf (loopback,
    anonymous, ``set_tcp_nodelay``) on a free port; the machine's 127.0.0.1:1883 only when no
    mosquitto binary is installed."""
    exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not Path(exe).exists():
        if port_open("127.0.0.1", 1883):
            yield Broker("127.0.0.1", 1883)
            return
        if IN_CI:
            pytest.fail("Mosquitto is required in CI (scripts/setup.sh installs it)")
        pytest.skip("no MQTT broker available")
    proc, port = start_mosquitto(
        "listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
        "set_tcp_nodelay true\nmax_queued_messages 10000\n",
        tmp_path_factory.mktemp("mosquitto"),
    )
    yield Broker("127.0.0.1", port)
    proc.terminate()
    proc.wait(5)


@pytest.fixture
def sede_id() -> str:
    """A sede id unique to the test, so tests sharing a broker never see each other's topics."""
    return f"t-{uuid.uuid4().hex[:10]}"
