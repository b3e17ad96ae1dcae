"""HubClient against the real hub (engine + MQTT bridge) on Mosquitto: retries never double."""

from __future__ import annotations

from datetime import time

import pytest

from contracts.mqtt import Action
from hub.bridge import HubBridge, MqttSettings
from hub.config import DEMO_SEDE_FILE, HoursConfig, load_sede_config
from qtcommon.hub_client import HubClient

pytestmark = pytest.mark.mqtt


@pytest.fixture
def engine(tmp_path, sede_id):
    from hub.domain.engine import HubEngine

    always = [HoursConfig(weekdays=list(range(7)), opens=time(0, 0), closes=time(23, 59, 59))]
    config = load_sede_config(DEMO_SEDE_FILE).model_copy(update={"id": sede_id, "hours": always})
    engine = HubEngine(config, tmp_path / "hub.sqlite3")
    yield engine
    engine.close()


def start_bridge(engine, sede_id, broker) -> HubBridge:
    bridge = HubBridge(
        engine, sede_id=sede_id, mqtt=MqttSettings(host=broker.host, port=broker.port)
    )
    assert bridge.start(wait_s=10)
    return bridge


@pytest.fixture
def client(qtbot, mqtt_broker, sede_id):
    client = HubClient(
        host=mqtt_broker.host,
        port=mqtt_broker.port,
        sede=sede_id,
        role="kiosk",
        device_id="kiosk-1",
        reconnect_min_s=0.2,
        reconnect_max_s=1.0,
    )
    yield client
    client.stop()


def test_retry_with_the_same_request_id_gets_the_same_ticket(
    qtbot, engine, client, sede_id, mqtt_broker
):
    bridge = start_bridge(engine, sede_id, mqtt_broker)
    try:
        with qtbot.waitSignal(client.connection_changed, timeout=10_000):
            client.start()
        params = {"service_code": "orientacion"}
        first = client.request(Action.ISSUE_TICKET, params, timeout_s=5)
        with qtbot.waitSignal(first.finished, timeout=6000) as one:
            pass
        again = client.request(
            Action.ISSUE_TICKET, params, timeout_s=5, request_id=first.request_id
        )
        with qtbot.waitSignal(again.finished, timeout=6000) as two:
            pass
        assert one.args[0].status == two.args[0].status == "ok"
        assert one.args[0].result["ticket"]["number"] == "A001"
        assert (
            two.args[0].result["ticket"]["ticket_id"] == one.args[0].result["ticket"]["ticket_id"]
        )
        assert [t.number for t in engine.queue_state("orientacion").tickets] == ["A001"]
    finally:
        bridge.stop()


def test_command_made_while_hub_down_is_delivered_once_when_it_returns(
    qtbot, engine, client, sede_id, mqtt_broker
):
    bridge = start_bridge(engine, sede_id, mqtt_broker)
    with qtbot.waitSignal(client.connection_changed, timeout=10_000):
        client.start()
    with qtbot.waitSignal(client.connection_changed, timeout=10_000):
        bridge.stop()  # clean stop: retained offline
    assert not client.connected

    pending = client.request(Action.ISSUE_TICKET, {"service_code": "victimas"}, timeout_s=15)
    qtbot.wait(300)
    assert not pending.done
    bridge = start_bridge(engine, sede_id, mqtt_broker)
    try:
        with qtbot.waitSignal(pending.finished, timeout=15_000) as blocker:
            pass
        assert blocker.args[0].status == "ok", blocker.args[0].error
        assert [t.number for t in engine.queue_state("victimas").tickets] == ["V001"]
        # the cached retained state follows the hub
        qtbot.waitUntil(lambda: client.queues.get("victimas") is not None, timeout=5000)
        qtbot.waitUntil(lambda: client.queues["victimas"].waiting == 1, timeout=5000)
    finally:
        bridge.stop()
