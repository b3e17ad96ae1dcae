"""A real hub for the Qt app tests (display, counter): HubEngine on a temp SQLite behind the MQTT bridge, which
a test may stop and start again (hub restarts, outages), and HubClients for the devices."""

from __future__ import annotations

import pytest

from hub.bridge import HubBridge, MqttSettings
from hub.config import DEMO_SEDE_FILE, load_sede_config
from qtcommon.hub_client import HubClient


class LiveHub:
    def __init__(self, engine, sede_id: str, broker) -> None:  # noqa: ANN001
        self.engine = engine
        self.sede_id = sede_id
        self.broker = broker
        self.bridge: HubBridge | None = None

    def start(self) -> None:
        self.bridge = HubBridge(
            self.engine,
            sede_id=self.sede_id,
            mqtt=MqttSettings(host=self.broker.host, port=self.broker.port),
            housekeeping_interval_s=0.5,
        )
        assert self.bridge.start(wait_s=10)

    def stop(self) -> None:
        if self.bridge is not None:
            self.bridge.stop()
            self.bridge = None


@pytest.fixture
def hub(tmp_path, sede_id, mqtt_broker):
    from hub.domain.engine import HubEngine

    # no opening hours: open whenever the test runs
    config = load_sede_config(DEMO_SEDE_FILE).model_copy(update={"id": sede_id, "hours": []})
    engine = HubEngine(config, tmp_path / "hub.sqlite3")
    live = LiveHub(engine, sede_id, mqtt_broker)
    live.start()
    yield live
    live.stop()
    engine.close()


@pytest.fixture
def make_client(mqtt_broker, sede_id):
    clients: list[HubClient] = []

    def make(role: str, device_id: str, **kwargs) -> HubClient:
        client = HubClient(
            host=mqtt_broker.host,
            port=mqtt_broker.port,
            sede=sede_id,
            role=role,
            device_id=device_id,
            reconnect_min_s=0.2,
            reconnect_max_s=1.0,
            **kwargs,
        )
        clients.append(client)
        client.start()
        return client

    yield make
    for client in clients:
        client.stop()
