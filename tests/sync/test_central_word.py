"""What central decides takes effect at the running hub: its sede configuration (which wins over
the TOML once pulled), revocations of users signed in at a counter, display messages within
their validity window, and only today's and the coming days' appointments. Central is the real
app in-process (SQLite and PostgreSQL), the hub a real engine on SQLite, the agent pulls through
HTTP; the transport test runs the MQTT bridge on the tests' Mosquitto."""

from __future__ import annotations

import json
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from central.sync import models as m
from contracts import mqtt as topics
from contracts.mqtt import Role
from hub.ports import Actor
from tests.helpers import devtools, fingerprints
from tests.sync.conftest import SEDE, make_agent
from tests.sync.test_flows import CENTRAL, assert_same, converge, run

KIOSK = Actor(role=Role.KIOSK, device_id="k1")
V1 = Actor(role=Role.COUNTER, device_id="v1")
V2 = Actor(role=Role.COUNTER, device_id="v2")
V3 = Actor(role=Role.COUNTER, device_id="v3")


@pytest.fixture(autouse=True)
def _current_central(central):
    CENTRAL.set(central)


def ok(outcome):
    assert outcome.status == "ok", outcome.error
    return outcome.result


def api(central, headers, method, path, **body):
    response = central.client.request(method, path, json=body or None, headers=headers)
    assert response.status_code < 300, response.text
    return response.json() if response.content else None


def outbox(engine, event_type):
    rows = engine._conn.execute(  # noqa: SLF001 - reading the hub file as it stands
        "SELECT payload FROM outbox WHERE event_type = ? ORDER BY seq", (event_type,)
    ).fetchall()
    return [json.loads(r[0]) for r in rows]


class MovableClock:
    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


@pytest.fixture
def clocked(tmp_path):
    """A hub engine whose clock the test moves, and an agent on its file."""
    from hub.domain.engine import HubEngine

    clock = MovableClock()
    engine = HubEngine(devtools.hub_sede_config(SEDE), tmp_path / "clocked.sqlite3", clock=clock)
    yield engine, clock
    engine.close()


# ---------------------------------------------------------------------------- configuration


def test_central_configuration_takes_effect_at_the_running_hub(
    central, hub_engine, agent, admin_headers
):
    # the TOML has counters v1 and v2; central knows v1 only
    ok(
        run(
            hub_engine,
            V2,
            "sign_in",
            username=devtools.LOCAL_STAFF,
            password=devtools.LOCAL_PASSWORD,
        )
    )
    ok(run(hub_engine, V2, "open_counter"))
    issued = ok(run(hub_engine, KIOSK, "issue_ticket", service_code="orientacion"))["ticket"]
    assert ok(run(hub_engine, V2, "call_next"))["ticket"]["number"] == issued["number"]

    api(central, admin_headers, "POST", f"/api/v1/sedes/{SEDE}/services",
        code="familia", name="Familia", letter="F")  # fmt: skip
    api(central, admin_headers, "POST", f"/api/v1/sedes/{SEDE}/counters",
        code="v3", name="Ventanilla 3", number=3, services={"familia": 1, "orientacion": 1})  # fmt: skip
    converge(agent)
    assert "familia" not in [s.code for s in hub_engine.sede_info().services]  # not yet applied

    applied = hub_engine.housekeeping()  # what the bridge runs every few seconds
    assert applied.config_changed
    assert applied.removed_counters == {"v2"} and "v2" not in applied.changed_counters
    assert {"v1", "v3"} <= applied.changed_counters and "familia" in applied.changed_services
    info = hub_engine.sede_info()
    assert [s.code for s in info.services] == ["orientacion", "victimas", "familia"]
    assert [c.counter_id for c in info.counters] == ["v1", "v3"]

    # the removed counter can no longer be used; its user was signed out, its ticket kept
    refused = run(hub_engine, V2, "open_counter")
    assert refused.status == "error" and refused.error.code == "unknown_counter"
    again = run(hub_engine, V2, "sign_in", username=devtools.LOCAL_STAFF,
                password=devtools.LOCAL_PASSWORD)  # fmt: skip
    assert again.error.code == "unknown_counter"
    ended = [p for p in outbox(hub_engine, "counter_session.ended") if p["counter_id"] == "v2"]
    assert ended and ended[-1]["end_reason"] == "counter_removed"
    ticket = hub_engine._conn.execute(  # noqa: SLF001
        "SELECT status, counter_id, arrived_at FROM tickets WHERE id = ?",
        (issued["ticket_id"],),
    ).fetchone()
    assert (ticket[0], ticket[1]) == ("waiting", None)
    assert (
        ticket[2]
        == hub_engine._conn.execute(  # noqa: SLF001 - arrival kept
            "SELECT issued_at FROM tickets WHERE id = ?", (issued["ticket_id"],)
        ).fetchone()[0]
    )

    # the new counter and service work; the ticket issued before works at another counter
    ok(run(hub_engine, V3, "sign_in", username="ana", password=central.passwords["ana"]))
    ok(run(hub_engine, V3, "open_counter"))
    assert set(hub_engine.counter_state("v3").services) == {"familia", "orientacion"}
    family = ok(run(hub_engine, KIOSK, "issue_ticket", service_code="familia"))["ticket"]
    assert family["number"] == "F001"
    ok(run(hub_engine, V1, "sign_in", username="beto", password=central.passwords["beto"]))
    ok(run(hub_engine, V1, "open_counter"))
    called = ok(run(hub_engine, V1, "call_ticket", number=issued["number"]))
    assert called["ticket"]["ticket_id"] == issued["ticket_id"]

    applied_rows = hub_engine._conn.execute(  # noqa: SLF001
        "SELECT after FROM audit_log WHERE action = 'apply_central_config'"
    ).fetchall()
    assert any(json.loads(r[0] or "{}").get("source") == "central" for r in applied_rows)
    assert outbox(hub_engine, "hub.config_applied")[-1]["counters"] == ["v1", "v3"]
    converge(agent)
    assert_same(agent, central)

    from sync.agent import status as agent_status
    from sync.cli import describe

    report = agent_status(hub_engine.db_path)
    assert report["sede_config_revision"] >= 1
    assert f"de la central, revisión {report['sede_config_revision']}" in "\n".join(
        describe(report)
    )
    # precedence: a restarted hub runs on central's configuration, not on its TOML
    from hub.domain.engine import HubEngine

    recorded = len(outbox(hub_engine, "hub.config_applied"))
    restarted = HubEngine(devtools.hub_sede_config(SEDE), hub_engine.db_path)
    try:
        assert [c.counter_id for c in restarted.sede_info().counters] == ["v1", "v3"]
        assert "familia" in [s.code for s in restarted.sede_info().services]
        assert restarted.counter_state("v3").user_display_name == "Usuario ana"
    finally:
        restarted.close()
    assert len(outbox(hub_engine, "hub.config_applied")) == recorded  # taken up, not re-recorded


def test_a_withdrawn_service_keeps_its_tickets_working(central, hub_engine, agent, admin_headers):
    converge(agent)
    hub_engine.housekeeping()
    waiting = ok(run(hub_engine, KIOSK, "issue_ticket", service_code="victimas"))["ticket"]
    api(central, admin_headers, "PATCH", f"/api/v1/sedes/{SEDE}/counters/v1",
        services={"orientacion": 1})  # fmt: skip
    api(central, admin_headers, "DELETE", f"/api/v1/sedes/{SEDE}/services/victimas")
    converge(agent)
    applied = hub_engine.housekeeping()
    assert applied.config_changed and not applied.removed_services  # it still has a ticket
    assert [s.code for s in hub_engine.sede_info().services] == ["orientacion"]
    refused = run(hub_engine, KIOSK, "issue_ticket", service_code="victimas")
    assert refused.error.code == "unknown_service"
    assert hub_engine.queue_state("victimas").waiting == 1
    ok(run(hub_engine, V1, "sign_in", username="ana", password=central.passwords["ana"]))
    ok(run(hub_engine, V1, "open_counter"))
    ok(run(hub_engine, V1, "call_ticket", number=waiting["number"]))
    ok(run(hub_engine, V1, "start_attention"))
    assert ok(run(hub_engine, V1, "reprint_ticket"))["ticket"]["number"] == waiting["number"]
    ok(run(hub_engine, V1, "finish_attention", outcome="atendido"))
    assert hub_engine.queue_state("victimas").waiting == 0


# ---------------------------------------------------------------------------- revocation


def _disable(central, username: str) -> None:
    from central.core.db import new_session
    from central.domain.actor import Actor as CentralActor
    from central.users import service as users
    from central.users.models import User
    from central.users.schemas import UserUpdate

    session = new_session(central.app.state.engine)
    user_id = session.execute(select(User.id).where(User.username == username)).scalar_one()
    users.update_user(
        session=session,
        actor=CentralActor.system("tests"),
        user_id=user_id,
        data=UserUpdate(active=False),
        check_assignable=False,
    )
    session.commit()
    session.close()


def test_user_disabled_while_signed_in_is_signed_out_when_the_pull_applies(
    central, hub_engine, agent
):
    converge(agent)
    hub_engine.housekeeping()
    ok(run(hub_engine, V1, "sign_in", username="ana", password=central.passwords["ana"]))
    ok(run(hub_engine, V1, "open_counter"))
    issued = ok(run(hub_engine, KIOSK, "issue_ticket", service_code="orientacion"))["ticket"]
    ok(run(hub_engine, V1, "call_next"))
    assert hub_engine.counter_state("v1").user_display_name == "Usuario ana"

    _disable(central, "ana")
    assert not hub_engine.housekeeping().changed_counters  # nothing pulled yet: she stays
    converge(agent)
    applied = hub_engine.housekeeping()
    assert "v1" in applied.changed_counters and "orientacion" in applied.changed_services
    state = hub_engine.counter_state("v1")
    assert (str(state.status), state.user_display_name, state.current) == ("closed", None, None)
    assert hub_engine.queue_state("orientacion").tickets[0].ticket_id == issued["ticket_id"]
    audit = hub_engine._conn.execute(  # noqa: SLF001
        "SELECT entity_type, after FROM audit_log WHERE action = 'revoke_user' ORDER BY id"
    ).fetchall()
    assert ("counter", None) in [(r[0], json.loads(r[1]).get("username", "?")) for r in audit]
    session = outbox(hub_engine, "counter_session.ended")[-1]
    assert (session["username"], session["end_reason"]) == ("ana", "revoked")
    assert outbox(hub_engine, "counter.signed_out")[-1]["counter_id"] == "v1"
    refused = run(hub_engine, V1, "sign_in", username="ana", password=central.passwords["ana"])
    assert refused.error.code == "bad_credentials"
    assert not hub_engine.housekeeping().changed_counters  # released once

    converge(agent)
    with central.connect() as conn:
        signed_out = conn.execute(
            select(m.sync_counter_session.c.signed_out_at).where(
                m.sync_counter_session.c.id == session["id"]
            )
        ).scalar_one()
    assert signed_out is not None
    assert_same(agent, central)


# ---------------------------------------------------------------------------- display messages


def test_display_messages_follow_their_validity_window(central, clocked, admin_headers):
    engine, clock = clocked
    agent = make_agent(central, engine.db_path)
    now = datetime.now(UTC)
    for text, starts, ends in (
        ("Atención gratuita: no pague a tramitadores", None, None),
        ("Campaña de conciliación este sábado", now + timedelta(hours=1), None),
        ("Mensaje vencido", now - timedelta(days=2), now - timedelta(hours=1)),
    ):
        api(central, admin_headers, "PUT", "/api/v1/sync/display-messages", sede_id=SEDE,
            text=text, starts_at=starts and starts.isoformat(),
            ends_at=ends and ends.isoformat())  # fmt: skip
    converge(agent)
    assert engine.housekeeping().display_changed
    assert engine.display_state().messages == ["Atención gratuita: no pague a tramitadores"]
    assert not engine.housekeeping().display_changed  # nothing new: nothing republished

    clock.offset = timedelta(hours=2)  # the campaign's window opens
    assert engine.housekeeping().display_changed
    assert engine.display_state().messages == [
        "Atención gratuita: no pague a tramitadores",
        "Campaña de conciliación este sábado",
    ]
    agent.conn.close()


# ---------------------------------------------------------------------------- appointments


def test_only_the_coming_days_appointments_travel_and_past_ones_are_pruned(
    central, hub_engine, agent, admin_headers
):
    now = datetime.now(UTC)

    def put(code, when, appointment_id=None):
        body = {"sede_id": SEDE, "code": code, "service_code": "orientacion",
                "scheduled_at": when.isoformat(), "dni": "12345678"}  # fmt: skip
        if appointment_id:
            body["id"] = appointment_id
        return api(central, admin_headers, "PUT", "/api/v1/sync/appointments", **body)["id"]

    soon = put("CITA-SOON", now + timedelta(hours=2))
    put("CITA-LATER", now + timedelta(days=20))
    put("CITA-PAST", now - timedelta(days=2))

    def at_hub() -> set[str]:
        return {r[0] for r in agent.conn.execute("SELECT code FROM appointments")}

    converge(agent)
    assert at_hub() == {"CITA-SOON"}
    pulled = agent.conn.execute(
        "SELECT COUNT(*) FROM synced_records WHERE record_type = 'appointment'"
    ).fetchone()[0]
    assert pulled == 1

    central.app.state.sync_settings.appointment_days = 30  # a wider window: it enters
    converge(agent)
    assert at_hub() == {"CITA-SOON", "CITA-LATER"}

    put("CITA-SOON", now - timedelta(days=3), appointment_id=soon)  # moved into the past
    converge(agent)
    assert at_hub() == {"CITA-LATER"}
    body = agent.conn.execute(
        "SELECT deleted, body FROM synced_records WHERE record_id = ?", (soon,)
    ).fetchone()
    assert tuple(body) == (1, None)  # no DNI kept for a past appointment
    assert_same(agent, central)


def test_the_hub_prunes_appointments_once_their_day_is_over(clocked):
    engine, clock = clocked
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    engine.add_appointment(code="CITA-0001", service_code="orientacion", scheduled_at=tomorrow)
    engine.add_appointment(code="CITA-0002", service_code="orientacion",
                           scheduled_at=tomorrow + timedelta(days=2))  # fmt: skip
    engine.housekeeping()
    clock.offset = timedelta(days=2)
    engine.housekeeping()
    codes = [r[0] for r in engine._conn.execute("SELECT code FROM appointments")]  # noqa: SLF001
    assert codes == ["CITA-0002"]


# ---------------------------------------------------------------------------- over MQTT


@pytest.mark.mqtt
def test_running_hub_republishes_central_changes_over_mqtt(
    central, hub_engine, agent, admin_headers, mqtt_broker
):
    if not central.url.startswith("sqlite"):
        pytest.skip("the transport does not depend on central's database")
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    from hub.bridge import HubBridge, MqttSettings
    from hub.mqtt_client import DeviceClient

    latest: dict[str, bytes] = {}
    seen = threading.Condition()

    def on_message(client, userdata, message):  # noqa: ANN001
        with seen:
            latest[message.topic] = bytes(message.payload)
            seen.notify_all()

    def wait(predicate, what: str, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        with seen:
            while not predicate():
                left = deadline - time.monotonic()
                assert left > 0, f"timed out waiting for {what}"
                seen.wait(left)

    def payload(topic: str) -> dict:
        raw = latest.get(topic)
        return json.loads(raw) if raw else {}

    watcher = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"w-{uuid.uuid4().hex[:8]}")
    watcher.on_message = on_message
    watcher.connect(mqtt_broker.host, mqtt_broker.port)
    watcher.subscribe(topics.sede_base(SEDE) + "/#", qos=1)
    watcher.loop_start()
    bridge = HubBridge(
        hub_engine,
        sede_id=SEDE,
        mqtt=MqttSettings(host=mqtt_broker.host, port=mqtt_broker.port),
        housekeeping_interval_s=0.2,
    )
    config, v2 = topics.config_topic(SEDE), topics.counter_state(SEDE, "v2")
    v1 = topics.counter_state(SEDE, "v1")
    display = topics.display_state(SEDE)
    try:
        assert bridge.start(wait_s=10)
        # the TOML's configuration first (a previous run may have left other retained state)
        wait(lambda: [c["counter_id"] for c in payload(config).get("counters", [])] == ["v1", "v2"]
             and payload(v2).get("counter_id") == "v2", "the TOML configuration")  # fmt: skip
        # a counter signs in over MQTT; its state shows the user
        converge(agent)
        with DeviceClient(sede_id=SEDE, role="counter", device_id="v1", host=mqtt_broker.host,
                          port=mqtt_broker.port).connect() as counter:  # fmt: skip
            answer = counter.request(
                "sign_in", {"username": "ana", "password": central.passwords["ana"]}, timeout_s=30
            )
            assert answer.status == "ok", answer.error
            assert counter.request("open_counter").status == "ok"
        wait(lambda: payload(v1).get("user_display_name") == "Usuario ana", "ana at v1")
        _disable(central, "ana")
        api(central, admin_headers, "POST", f"/api/v1/sedes/{SEDE}/counters",
            code="v3", name="Ventanilla 3", number=3, services={"orientacion": 1})  # fmt: skip
        api(central, admin_headers, "PUT", "/api/v1/sync/display-messages", sede_id=SEDE,
            text="Hoy atendemos hasta las 17:00")  # fmt: skip
        converge(agent)
        wait(lambda: [c["counter_id"] for c in payload(config).get("counters", [])] == ["v1", "v3"],
             "central's configuration on the config topic")  # fmt: skip
        wait(lambda: latest.get(v2) == b"", "the removed counter's state to be cleared")
        wait(lambda: payload(topics.counter_state(SEDE, "v3")).get("status") == "closed",
             "the new counter's state")  # fmt: skip
        wait(lambda: payload(display).get("messages") == ["Hoy atendemos hasta las 17:00"],
             "the message on the display state")  # fmt: skip
        wait(lambda: (payload(v1).get("status"), payload(v1).get("user_display_name"))
             == ("closed", None), "the revoked user signed out of v1")  # fmt: skip
        assert fingerprints.hub(agent.conn)["central_records"]
    finally:
        bridge.stop()
        watcher.loop_stop()
        watcher.disconnect()
