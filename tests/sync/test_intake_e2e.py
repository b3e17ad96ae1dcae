# ruff: noqa: F811 - fixtures of tests.qt_live_hub are imported by name, then requested by name
"""The counter → hub → sync → central path for a new case (issue 6), with real parts: a counter
and a kiosk talking MQTT through Mosquitto to the hub bridge and engine (SQLite), the sync
agent pushing over HTTP to the central app (SQLite, and PostgreSQL when reachable), central's
ingestion opening the case file with the district's number, and the hub pulling the intake →
file number back. Central is unreachable when the intake is taken: it waits in the outbox."""

from __future__ import annotations

import json
import sqlite3
import time

import pytest

from contracts import mqtt as topics
from hub.domain import central_records, store
from hub.mqtt_client import DeviceClient
from sync.agent import RetryLater, SyncAgent
from tests.conftest import free_port
from tests.helpers import devtools
from tests.qt_live_hub import LiveHub, make_client  # noqa: F401 (fixture)
from tests.sync.conftest import SEDE, make_agent

DNI = "41852376"
INTAKE = {
    "doc_type": "dni",
    "doc_number": "4185-2376",
    "given_names": "Juana Rosa",
    "surnames": "Ccori Mamani",
    "service_code": "victimas",
    "matter": "violencia_familiar",
    "summary": "Agresiones del conviviente; solicita patrocinio y medidas de protección.",
}


@pytest.fixture
def sede_id() -> str:
    """The sede the Qt clients of tests.qt_live_hub join: the one central has enrolled."""
    return SEDE


@pytest.fixture
def live_hub(hub_engine, mqtt_broker):
    live = LiveHub(hub_engine, SEDE, mqtt_broker)
    live.start()
    yield live
    live.stop()


def device(mqtt_broker, role: str, device_id: str) -> DeviceClient:
    return DeviceClient(
        sede_id=SEDE, role=role, device_id=device_id, host=mqtt_broker.host, port=mqtt_broker.port
    )


def ok(response) -> dict:
    assert response.status == "ok", response.error
    return response.result


def attend_and_open_intake(mqtt_broker) -> tuple[dict, dict, list]:
    """A citizen takes a ticket at the kiosk, counter v1 serves them, then opens the intake.
    Returns (the intake answer, the ticket, every MQTT message seen on the sede)."""
    seen: list[tuple[str, bytes]] = []
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    spy = mqtt.Client(CallbackAPIVersion.VERSION2)
    spy.on_message = lambda _c, _u, message: seen.append((message.topic, message.payload))
    spy.connect(mqtt_broker.host, mqtt_broker.port)
    spy.subscribe(f"{topics.sede_base(SEDE)}/#", qos=1)
    spy.loop_start()
    try:
        with (
            device(mqtt_broker, "kiosk", "k1") as kiosk,
            device(mqtt_broker, "counter", "v1") as counter,
        ):
            ticket = ok(kiosk.request("issue_ticket", {"service_code": "victimas"}))["ticket"]
            ok(
                counter.request(
                    "sign_in",
                    {"username": devtools.LOCAL_STAFF, "password": devtools.LOCAL_PASSWORD},
                )
            )
            ok(counter.request("open_counter", {}))
            assert ok(counter.request("call_next", {}))["ticket"]["number"] == ticket["number"]
            ok(counter.request("start_attention", {}))
            ok(counter.request("finish_attention", {"outcome": "atendido"}))
            # a typo first: refused by the hub with a stable code, nothing written
            bad = counter.request(
                "open_case_intake",
                {**INTAKE, "ticket_id": ticket["ticket_id"], "doc_number": "4185237"},
            )
            assert bad.status == "error" and bad.error.code == "invalid_dni"
            assert bad.error.message == "El DNI debe tener 8 dígitos."
            params = {**INTAKE, "ticket_id": ticket["ticket_id"]}
            answer = ok(counter.request("open_case_intake", params, request_id="v1-intake-000001"))
            # the answer was lost on the way (say): the counter retries with the same id
            again = counter.request("open_case_intake", params, request_id="v1-intake-000001")
            assert again.status == "ok" and again.result == answer
        time.sleep(0.3)  # let the retained states published after the commit arrive
    finally:
        spy.loop_stop()
        spy.disconnect()
    return answer["intake"], ticket, seen


def unreachable_agent(db_path, token: str) -> SyncAgent:
    """The hub's agent while the WAN is down: nothing listens where central should be."""
    return SyncAgent(
        db_path, central_url=f"http://127.0.0.1:{free_port()}", token=token, timeout_s=2
    )


def test_counter_intake_taken_offline_reaches_central_as_a_case_file(
    central, hub_engine, live_hub, mqtt_broker, admin_headers
):
    intake, ticket, seen = attend_and_open_intake(mqtt_broker)
    assert intake["ticket_number"] == ticket["number"] and intake["status"] == "open"

    # privacy on the LAN: no name or DNI in any MQTT message but the counter's own request
    # (answers, retained states and events included)
    seen_topics = {topic for topic, _ in seen}
    assert f"{topics.sede_base(SEDE)}/counter/v1/response/open_case_intake" in seen_topics
    assert f"{topics.sede_base(SEDE)}/counter/v1/state" in seen_topics
    for topic, payload in seen:
        if "/request/open_case_intake" in topic:
            continue
        text = payload.decode("utf-8", "replace")
        # the whole number, as typed and as stored (4 digits alone also turn up in timestamps)
        assert "Ccori" not in text and "Juana" not in text, topic
        assert DNI not in text and INTAKE["doc_number"] not in text, topic

    # the WAN is down: the push fails, the intake waits in the hub's outbox
    offline = unreachable_agent(hub_engine.db_path, central.token)
    with pytest.raises(RetryLater):
        offline.push_once()
    offline.conn.close()
    conn = store.open_db(hub_engine.db_path)
    try:
        [row] = conn.execute(
            "SELECT payload, sent_at FROM outbox WHERE event_type = 'case_intake.saved'"
        ).fetchall()
        assert row["sent_at"] is None
        assert json.loads(row["payload"])["intake"]["citizen_doc_number"] == DNI
    finally:
        conn.close()
    assert (
        central.client.post("/api/v1/cases/ingest-intakes", headers=admin_headers).json()["created"]
        == 0
    )

    # the WAN is back: the agent pushes, central's ingestion opens the file
    agent = make_agent(central, hub_engine.db_path)
    try:
        agent.push_once()
        report = central.client.post("/api/v1/cases/ingest-intakes", headers=admin_headers)
        assert report.status_code == 200, report.text
        # 1, or 0 when central's own minute job got there first: either way one file (below)
        assert report.json()["created"] in (0, 1)
        found = central.client.get(
            "/api/v1/cases", params={"doc_number": DNI}, headers=admin_headers
        )
        assert found.status_code == 200, found.text
        [summary] = found.json()
        case = central.client.get(f"/api/v1/cases/{summary['id']}", headers=admin_headers).json()
        assert case["source"] == "counter" and case["sede_id"] == SEDE
        assert case["intake_id"] == intake["intake_id"]
        assert case["service"] == "defensa_victimas" and case["matter"] == "violencia_familiar"
        assert case["number"].startswith(f"{case['district_id'].upper()}-")
        person = central.client.get(
            f"/api/v1/citizens/{case['client_citizen_id']}", headers=admin_headers
        ).json()
        assert (person["doc_type"], person["doc_number"]) == ("dni", DNI)
        assert (person["given_names"], person["surnames"]) == ("Juana Rosa", "Ccori Mamani")
        # ingestion again (the job runs every minute): no second file
        again = central.client.post("/api/v1/cases/ingest-intakes", headers=admin_headers)
        assert again.json()["created"] == 0

        # the hub learns the file number by pull (and central's matter catalogue with it)
        deadline = time.monotonic() + 60
        mapping = None
        while mapping is None and time.monotonic() < deadline:
            agent.pull_once()
            mapping = central_records.case_file_for_intake(agent.conn, intake["intake_id"])
            if mapping is None:
                time.sleep(0.2)
        assert mapping is not None, "the file number never came back to the hub"
        assert mapping["case_number"] == case["number"] and mapping["sede_id"] == SEDE
        assert set(mapping) == {"intake_id", "case_id", "case_number", "sede_id", "opened_at"}
        matters = {m.code for m in hub_engine.sede_info().matters}
        assert "violencia_familiar" in matters
    finally:
        agent.conn.close()


def test_nothing_personal_in_the_hub_audit_or_command_log(hub_engine, live_hub, mqtt_broker):
    intake, _, _ = attend_and_open_intake(mqtt_broker)
    conn = sqlite3.connect(hub_engine.db_path)
    try:
        audit = conn.execute(
            "SELECT after FROM audit_log WHERE entity_id = ?", (intake["intake_id"],)
        ).fetchone()[0]
        answers = [r[0] for r in conn.execute("SELECT response FROM command_log")]
    finally:
        conn.close()
    for text in [audit, *answers]:
        assert DNI not in text and "Ccori" not in text and "Juana" not in text


def test_the_counter_app_opens_the_intake_and_central_files_it(
    qtbot, central, hub_engine, live_hub, mqtt_broker, make_client, admin_headers
):
    """The same path driven by the counter app's own view-model (HubClient over Mosquitto):
    sign in, open, call, serve, finish, then "Abrir expediente"."""
    from counter.hub_link import HubSender, connect_counter
    from counter.viewmodel import CounterViewModel, IntakeForm, Phase

    with device(mqtt_broker, "kiosk", "k1") as kiosk:
        number = ok(kiosk.request("issue_ticket", {"service_code": "orientacion"}))["ticket"][
            "number"
        ]
    client = make_client("counter", "v1")
    model = CounterViewModel("v1", HubSender(client, timeout_s=8), settle_ms=500)
    connect_counter(client, model)
    try:
        qtbot.waitUntil(lambda: model.connected and model.sede is not None, timeout=20000)
        assert "violencia_familiar" in dict(model.matters())  # the hub's catalogue

        def settle(phase: Phase) -> None:
            qtbot.waitUntil(
                lambda: model.phase == phase and model.busy_action is None, timeout=20000
            )
            assert model.error == ""

        model.sign_in(devtools.LOCAL_STAFF, devtools.LOCAL_PASSWORD)
        settle(Phase.CLOSED)
        model.open_counter(["orientacion"])
        qtbot.waitUntil(lambda: model.waiting_total() == 1, timeout=20000)
        settle(Phase.IDLE)
        model.call_next()
        settle(Phase.CALLING)
        model.start_attention()
        settle(Phase.SERVING)
        model.finish()
        settle(Phase.IDLE)
        assert model.last_attended is not None and model.last_attended.number == number
        model.begin_intake()
        model.submit_intake(
            IntakeForm(
                doc_type="ce",
                doc_number="ab-123456",
                given_names="José Luis",
                surnames="Pari Choque",
                service_code="orientacion",
                matter="alimentos",
                summary="Consulta sobre pensión de alimentos.",
            )
        )
        qtbot.waitUntil(lambda: not model.intake_open and model.busy_action is None, timeout=20000)
        assert model.error == "" and number in model.notice
        [pending] = model.intakes_today
        assert pending.ticket_number == number and pending.case_number is None
        # "Corregir": the hub's copy (matter, summary) fills the form; the correction is sent
        model.refresh_intakes()
        qtbot.waitUntil(lambda: model.busy_action is None, timeout=20000)
        [pending] = model.intakes_today
        assert (pending.matter, pending.summary) == (
            "alimentos",
            "Consulta sobre pensión de alimentos.",
        )
        model.begin_amend(pending.intake_id)
        corrected = "Consulta sobre pensión de alimentos y tenencia."
        model.submit_intake(IntakeForm(matter="alimentos", summary=corrected))
        qtbot.waitUntil(lambda: not model.intake_open and model.busy_action is None, timeout=20000)
        assert model.error == "" and model.intakes_today[0].summary == corrected
        check_at_central_then_pull_the_number(qtbot, central, hub_engine, admin_headers, model)
        # numbered by central: corrected there, no longer at the counter
        model.begin_amend(pending.intake_id)
        assert not model.intake_open
    finally:
        model.deleteLater()


def check_at_central_then_pull_the_number(qtbot, central, hub_engine, admin_headers, model):
    agent = make_agent(central, hub_engine.db_path)
    try:
        agent.push_once()
        ingest = central.client.post("/api/v1/cases/ingest-intakes", headers=admin_headers)
        assert ingest.status_code == 200, ingest.text  # (or the minute job did it already)
        [summary] = central.client.get(
            "/api/v1/cases", params={"doc_number": "AB123456"}, headers=admin_headers
        ).json()
        assert summary["source"] == "counter" and summary["sede_id"] == SEDE
        assert summary["matter"] == "alimentos"
        person = central.client.get(
            f"/api/v1/citizens/{summary['client_citizen_id']}", headers=admin_headers
        ).json()
        assert (person["doc_type"], person["given_names"], person["surnames"]) == (
            "ce",
            "José Luis",
            "Pari Choque",
        )
        # the file number comes back by pull; the counter asks for it ("Actualizar números")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            agent.pull_once()
            model.refresh_intakes()
            qtbot.waitUntil(lambda: model.busy_action is None, timeout=20000)
            if model.intakes_today and model.intakes_today[0].case_number:
                break
            time.sleep(0.2)
        [listed] = model.intakes_today
        assert listed.case_number == summary["number"]
    finally:
        agent.conn.close()
