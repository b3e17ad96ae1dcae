"""Fixtures shared by the hub's tests: the sede TOML, MQTT device clients."""

from __future__ import annotations

import pytest

from hub.config import DEMO_SEDE_FILE
from hub.mqtt_client import DeviceClient, StateWatcher


@pytest.fixture
def sede_file(tmp_path, sede_id):
    """The demo sede's TOML under the test's own sede id (v1, v2, v3; staff ana and luis)."""
    text = DEMO_SEDE_FILE.read_text(encoding="utf-8").replace(
        'id = "lima-cercado"', f'id = "{sede_id}"'
    )
    path = tmp_path / "sede.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def clients(sede_id, mqtt_broker):
    """Factories of a device client (kiosk, counter, display) and a state watcher on the
    tests' broker; all closed at the end."""
    opened: list = []

    def device(role: str, device_id: str) -> DeviceClient:
        client = DeviceClient(
            sede_id=sede_id,
            role=role,
            device_id=device_id,
            host=mqtt_broker.host,
            port=mqtt_broker.port,
        ).connect()
        opened.append(client)
        return client

    def watcher() -> StateWatcher:
        watch = StateWatcher(sede_id=sede_id, host=mqtt_broker.host, port=mqtt_broker.port)
        opened.append(watch.connect())
        return watch

    yield type("Clients", (), {"device": device, "watch": watcher})
    for client in opened:
        client.close()
