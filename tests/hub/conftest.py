"""Fixtures shared by the hub's MQTT tests."""

from __future__ import annotations

import pytest

from hub.mqtt_client import DeviceClient, StateWatcher


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
