"""Per-device credentials and the role ACL, enforced by a real Mosquitto started with the
production configuration (installers/mosquitto/sede.conf) and the generated passwd/acl."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from contracts import mqtt as topics
from hub.bridge import HubBridge, MqttSettings
from hub.config import DEMO_SEDE_FILE, load_sede_config
from hub.mqtt_client import ClientError, DeviceClient, StateWatcher
from hub.mqtt_provision import plan_devices, provision, render_acl

pytestmark = [
    pytest.mark.mqtt,
    pytest.mark.skipif(
        shutil.which("mosquitto_passwd") is None, reason="mosquitto_passwd not installed"
    ),
]

REPO = Path(__file__).resolve().parents[2]
SEDE_CONF = REPO / "installers" / "mosquitto" / "sede.conf"
DENIED_WAIT_S = 1.0


def _conf_for_test(workdir: Path) -> str:
    """sede.conf as shipped, with only the listener, file paths and logging made local."""
    text = SEDE_CONF.read_text()
    replacements = {
        "listener 1883\n": "listener {port} 127.0.0.1\n",
        "/etc/mosquitto/alegra/passwd": str(workdir / "passwd"),
        "/etc/mosquitto/alegra/acl": str(workdir / "acl"),
        "persistence true": "persistence false",
        "persistence_location /var/lib/mosquitto/": f"persistence_location {workdir}/",
        "log_dest syslog": "log_dest stderr",
    }
    for old, new in replacements.items():
        assert old in text, f"sede.conf lost {old!r}"
        text = text.replace(old, new)
    if os.geteuid() == 0:
        # as root Mosquitto drops to the "mosquitto" user, who cannot read pytest's tmp dir
        text += "\nuser root\n"
    return text


@pytest.fixture
def secured(tmp_path, sede_id):
    """A Mosquitto with the production config + ACL, and the real hub connected to it."""
    from hub.domain.engine import HubEngine
    from tests.conftest import start_mosquitto

    config = load_sede_config(DEMO_SEDE_FILE).model_copy(update={"id": sede_id})
    creds = {
        c.username: c.password for c in provision(config, tmp_path, kiosks=["k1"], displays=["d1"])
    }
    proc, port = start_mosquitto(_conf_for_test(tmp_path), tmp_path)
    engine = HubEngine(config, tmp_path / "hub.sqlite3")
    bridge = HubBridge(
        engine,
        sede_id=sede_id,
        mqtt=MqttSettings(port=port, username="hub", password=creds["hub"]),
    )
    assert bridge.start(wait_s=10), "hub could not connect with its own credential"
    clients: list[DeviceClient] = []

    def device(role: str, device_id: str, password: str | None = None) -> DeviceClient:
        client = DeviceClient(
            sede_id=sede_id,
            role=role,
            device_id=device_id,
            port=port,
            username=device_id,
            password=password or creds[device_id],
        ).connect()
        clients.append(client)
        return client

    yield {"engine": engine, "bridge": bridge, "device": device, "port": port, "creds": creds}
    for client in clients:
        client.close()
    bridge.stop()
    engine.close()
    proc.terminate()
    proc.wait(5)


def _snapshot(engine, services, counters) -> tuple:
    """What a command could change: tickets in line, each counter's hands, the outbox head."""
    queues = tuple(
        tuple((t.number, t.status, t.counter_id) for t in engine.queue_state(code).tickets)
        for code in services
    )
    hands = tuple(
        (c.status, c.user_display_name, c.current.number if c.current else None,
         c.current.status if c.current else None, tuple(p.number for p in c.parked))
        for c in (engine.counter_state(counter_id) for counter_id in counters)
    )  # fmt: skip
    return queues, hands, engine.status()["outbox"]["last_seq"]


def test_kiosk_credential_can_issue_but_not_call_finish_or_transfer(secured, sede_id):
    engine, bridge = secured["engine"], secured["bridge"]
    kiosk = secured["device"]("kiosk", "k1")
    counter = secured["device"]("counter", "v1")

    issued = kiosk.request("issue_ticket", {"service_code": "orientacion"})
    assert issued.status == "ok", issued
    assert (
        counter.request("sign_in", {"username": "ana", "password": "demo-ventanilla-1"}).status
        == "ok"
    )
    assert counter.request("open_counter").status == "ok"
    second = kiosk.request("issue_ticket", {"service_code": "orientacion"})
    assert second.status == "ok"
    assert counter.request("call_next").status == "ok"

    services = ["orientacion", "victimas", "defensa-penal"]
    before = _snapshot(engine, services, ["v1", "v2"])
    received_before = bridge.stats.received
    attempts = [
        # on the kiosk's own topics, actions it may not send
        ("call_next", {}, None),
        ("finish_attention", {"outcome": "atendido"}, None),
        ("transfer_ticket", {"to_service_code": "victimas"}, None),
        # impersonating the counter
        ("call_next", {}, topics.request_topic(sede_id, "counter", "v1", "call_next")),
        (
            "finish_attention",
            {"outcome": "atendido"},
            topics.request_topic(sede_id, "counter", "v1", "finish_attention"),
        ),
        (
            "transfer_ticket",
            {"to_service_code": "victimas"},
            topics.request_topic(sede_id, "counter", "v1", "transfer_ticket"),
        ),
        # impersonating another kiosk
        ("issue_ticket", {"service_code": "orientacion"},
         topics.request_topic(sede_id, "kiosk", "k2", "issue_ticket")),
    ]  # fmt: skip
    futures = [kiosk.send(action, params, topic=topic) for action, params, topic in attempts]
    time.sleep(DENIED_WAIT_S)
    assert not any(f.done() for f in futures), "a denied publish was answered"
    assert bridge.stats.received == received_before, "a denied publish reached the hub"
    assert _snapshot(engine, services, ["v1", "v2"]) == before

    # the kiosk still works for what it may do
    third = kiosk.request("issue_ticket", {"service_code": "victimas"})
    assert third.status == "ok"


def test_counter_cannot_act_as_another_counter(secured, sede_id):
    engine, bridge = secured["engine"], secured["bridge"]
    v1 = secured["device"]("counter", "v1")
    v2 = secured["device"]("counter", "v2")
    assert (
        v1.request("sign_in", {"username": "ana", "password": "demo-ventanilla-1"}).status == "ok"
    )
    before = _snapshot(engine, [], ["v1"])
    received_before = bridge.stats.received
    hijack = [
        v2.send(action, params, topic=topics.request_topic(sede_id, "counter", "v1", action))
        for action, params in [("open_counter", {}), ("sign_out", {}), ("close_counter", {})]
    ]
    time.sleep(DENIED_WAIT_S)
    assert not any(f.done() for f in hijack)
    assert bridge.stats.received == received_before
    assert _snapshot(engine, [], ["v1"]) == before
    # v2 acting as itself is fine
    assert (
        v2.request("sign_in", {"username": "luis", "password": "demo-ventanilla-2"}).status == "ok"
    )


def test_display_only_reads_and_unknown_credentials_are_refused(secured, sede_id):
    bridge = secured["bridge"]
    display = secured["device"]("display", "d1")
    received_before = bridge.stats.received
    attempt = display.send(
        "issue_ticket",
        {"service_code": "orientacion"},
        topic=topics.request_topic(sede_id, "kiosk", "k1", "issue_ticket"),
    )
    with StateWatcher(
        sede_id=sede_id, port=secured["port"], username="d1", password=secured["creds"]["d1"]
    ) as watcher:
        # reading the hub's retained state is allowed
        assert watcher.wait_for(lambda w: w.queue("orientacion") is not None, 5)
        assert watcher.hub_availability() == "online"
    assert not attempt.done()
    assert bridge.stats.received == received_before
    with pytest.raises(ClientError):
        secured["device"]("kiosk", "k1", password="wrong-password")
    with pytest.raises(ClientError):
        DeviceClient(sede_id=sede_id, role="kiosk", device_id="k9", port=secured["port"]).connect(5)


def test_acl_template_in_installers_matches_the_generator():
    demo = load_sede_config(DEMO_SEDE_FILE)
    devices = plan_devices(demo, kiosks=["k1", "k2"], displays=["d1"])
    shipped = (REPO / "installers" / "mosquitto" / "acl").read_text()
    assert shipped == render_acl(demo.id, devices)


def test_usernames_must_be_unique_across_roles():
    demo = load_sede_config(DEMO_SEDE_FILE)
    with pytest.raises(ValueError, match="repetido"):
        plan_devices(demo, kiosks=["v1"], displays=[])
    with pytest.raises(ValueError):
        plan_devices(demo, kiosks=["Kiosco 1"], displays=[])
