"""The hub over MQTT: the real engine behind the bridge, driven through Mosquitto by device
clients, with the retained state checked from a separate subscriber."""

from __future__ import annotations

import json
import time

import pytest

from contracts import mqtt as topics
from contracts.errors import ErrorCode
from contracts.messages import CommandRequest
from contracts.mqtt import MAX_PAYLOAD_BYTES
from hub.bridge import HubBridge, MqttSettings
from hub.config import DEMO_SEDE_FILE, load_sede_config
from hub.mqtt_client import DeviceClient, StateWatcher

pytestmark = pytest.mark.mqtt

ANA = {"username": "ana", "password": "demo-ventanilla-1"}
LUIS = {"username": "luis", "password": "demo-ventanilla-2"}


@pytest.fixture
def hub(tmp_path, sede_id, mqtt_broker, clients):
    from hub.domain.engine import HubEngine

    config = load_sede_config(DEMO_SEDE_FILE).model_copy(update={"id": sede_id})
    engine = HubEngine(config, tmp_path / "hub.sqlite3")
    bridge = HubBridge(
        engine,
        sede_id=sede_id,
        mqtt=MqttSettings(host=mqtt_broker.host, port=mqtt_broker.port),
        housekeeping_interval_s=0.5,
    )
    assert bridge.start(wait_s=10)
    yield type(
        "Hub",
        (),
        {
            "engine": engine,
            "bridge": bridge,
            "config": config,
            "device": clients.device,
            "watch": clients.watch,
        },
    )
    bridge.stop()
    engine.close()


def _ok(response):
    assert response.status == "ok", response.error
    return response.result


def _numbers(queue_state: dict | None) -> list[str]:
    return [t["number"] for t in (queue_state or {}).get("tickets", [])]


def _outbox_head(engine) -> int | None:
    return engine.status()["outbox"]["last_seq"]


def test_full_counter_flow_with_retained_state(hub):
    watch = hub.watch()
    kiosk = hub.device("kiosk", "k1")
    v1 = hub.device("counter", "v1")
    v2 = hub.device("counter", "v2")

    # tickets of several services, one preferential
    issued = {}
    for service, preference in [
        ("orientacion", "none"),
        ("orientacion", "none"),
        ("defensa-penal", "none"),
        ("orientacion", "adulto_mayor"),
    ]:
        result = _ok(
            kiosk.request(
                "issue_ticket", {"service_code": service, "preference_category": preference}
            )
        )
        issued.setdefault(service, []).append(result["ticket"]["number"])
    assert issued["orientacion"] == ["A001", "A002", "A003"]
    assert issued["defensa-penal"] == ["P001"]
    assert watch.wait_for(lambda w: len(_numbers(w.queue("orientacion"))) == 3)
    # the preferential ticket (Ley 28683) goes ahead of the regular ones
    assert _numbers(watch.queue("orientacion")) == ["A003", "A001", "A002"]
    assert watch.queue("orientacion")["preferential_waiting"] == 1

    # counter commands need a signed-in user
    refused = v1.request("open_counter")
    assert refused.error.code == ErrorCode.NOT_SIGNED_IN
    _ok(v1.request("sign_in", ANA))
    _ok(v2.request("sign_in", LUIS))
    _ok(v1.request("open_counter"))
    _ok(v2.request("open_counter"))
    assert watch.wait_for(lambda w: (w.counter("v1") or {}).get("status") == "open")
    assert watch.counter("v1")["user_display_name"] == "Ana Quispe"

    # call next → the preferential ticket; the display and the call event see it
    called = _ok(v1.request("call_next"))["ticket"]
    assert called["number"] == "A003"
    assert watch.wait_for(
        lambda w: ((w.counter("v1") or {}).get("current") or {}).get("number") == "A003"
    )
    assert watch.wait_for(lambda w: any(c["call"]["number"] == "A003" for c in w.calls()))
    assert watch.wait_for(
        lambda w: any(c["number"] == "A003" for c in (w.display() or {}).get("current", []))
    )
    assert watch.wait_for(lambda w: "A003" not in _numbers(w.queue("orientacion")))

    # start, finish: served count goes up, the counter's hands are free
    _ok(v1.request("start_attention"))
    assert watch.wait_for(lambda w: w.counter("v1")["current"]["status"] == "serving")
    _ok(v1.request("finish_attention", {"outcome": "atendido", "note": "orientado"}))
    assert watch.wait_for(lambda w: w.counter("v1")["current"] is None)
    assert watch.wait_for(lambda w: w.queue("orientacion")["served_today"] == 1)

    # transfer (derivación) to another service keeps the original arrival
    second = _ok(v1.request("call_next"))["ticket"]
    assert second["number"] == "A001"
    _ok(v1.request("start_attention"))
    _ok(v1.request("transfer_ticket", {"to_service_code": "victimas"}))
    assert watch.wait_for(lambda w: "A001" in _numbers(w.queue("victimas")))
    moved = next(t for t in watch.queue("victimas")["tickets"] if t["number"] == "A001")
    assert moved["arrived_at"] == second["arrived_at"]
    assert watch.wait_for(lambda w: "A001" not in _numbers(w.queue("orientacion")))

    # recall: after max_recalls (2) the next recall makes it a no-show
    third = _ok(v2.request("call_next"))["ticket"]

    def calls_of_third(w):
        return [c for c in w.calls() if c["call"]["number"] == third["number"]]

    assert watch.wait_for(lambda w: len(calls_of_third(w)) == 1)
    assert _ok(v2.request("recall"))["no_show"] is False
    assert _ok(v2.request("recall"))["no_show"] is False
    last = _ok(v2.request("recall"))
    assert last["no_show"] is True and last["ticket"]["status"] == "no_show"
    # two recalls were announced (recalls 1 and 2); the no-show is not
    assert watch.wait_for(lambda w: [c["call"]["recalls"] for c in calls_of_third(w)] == [0, 1, 2])
    assert watch.wait_for(lambda w: w.counter("v2")["current"] is None)

    # the retained state matches the engine
    for service in hub.config.services:
        engine_numbers = [t.number for t in hub.engine.queue_state(service.code).tickets]
        assert watch.wait_for(lambda w, s=service.code, n=engine_numbers: _numbers(w.queue(s)) == n)


def test_late_display_gets_the_full_current_state(hub, sede_id):
    kiosk = hub.device("kiosk", "k1")
    v1 = hub.device("counter", "v1")
    for _ in range(3):
        _ok(kiosk.request("issue_ticket", {"service_code": "orientacion"}))
    _ok(v1.request("sign_in", ANA))
    _ok(v1.request("open_counter"))
    called = _ok(v1.request("call_next"))["ticket"]["number"]

    late = hub.watch()  # connects after everything happened
    expected_counters = {c.id for c in hub.config.counters}
    expected_services = {s.code for s in hub.config.services}
    assert late.wait_for(
        lambda w: (
            all(w.queue(s) for s in expected_services)
            and all(w.counter(c) for c in expected_counters)
            and w.display() is not None
            and w.hub_availability() == "online"
            and topics.config_topic(sede_id) in w.retained
        )
    )
    # states are published right after the answer, so the newest may arrive a moment later
    assert late.wait_for(lambda w: _numbers(w.queue("orientacion")) == ["A002", "A003"])
    assert late.wait_for(lambda w: (w.counter("v1")["current"] or {}).get("number") == called)
    assert [c["number"] for c in late.display()["current"]] == [called]
    assert late.display()["waiting"]["orientacion"] == 2
    config = late.retained[topics.config_topic(sede_id)]
    assert [s["code"] for s in config["services"]] == [s.code for s in hub.config.services]


def _oversized() -> bytes:
    request = json.loads(CommandRequest.new({"service_code": "orientacion"}).model_dump_json())
    request["params"]["padding"] = "x" * MAX_PAYLOAD_BYTES
    return json.dumps(request).encode()


def _request(params: dict, **envelope) -> bytes:
    body = json.loads(CommandRequest.new(params).model_dump_json())
    body.update(envelope)
    return json.dumps(body).encode()


@pytest.mark.parametrize(
    ("role", "device", "action", "payload", "code"),
    [
        ("kiosk", "k1", "issue_ticket", b'{"v": 1, "params": {', ErrorCode.MALFORMED_JSON),
        ("kiosk", "k1", "issue_ticket", _oversized(), ErrorCode.PAYLOAD_TOO_LARGE),
        ("kiosk", "k1", "issue_ticket", _request({"service_code": "orientacion"}, v=2),
         ErrorCode.UNSUPPORTED_VERSION),
        ("kiosk", "k1", "issue_ticket", _request({"service_code": "notarias"}),
         ErrorCode.UNKNOWN_SERVICE),
        ("kiosk", "k1", "issue_ticket", _request({"service_code": "orientacion", "dni": "123"}),
         ErrorCode.INVALID_DNI),
        ("kiosk", "k1", "issue_ticket", _request({"service_code": "orientacion", "x": 1}),
         ErrorCode.INVALID_PAYLOAD),
        ("counter", "v9", "sign_in", _request(ANA), ErrorCode.UNKNOWN_COUNTER),
        ("counter", "v1", "finish_attention", _request({"outcome": "atendido"}),
         ErrorCode.NOT_SIGNED_IN),
        ("kiosk", "k1", "call_next", _request({}), ErrorCode.FORBIDDEN),
        ("kiosk", "k1", "finish_attention", _request({"outcome": "atendido"}),
         ErrorCode.FORBIDDEN),
        ("display", "d1", "issue_ticket", _request({"service_code": "orientacion"}),
         ErrorCode.FORBIDDEN),
        ("counter", "v1", "fly_away", _request({}), ErrorCode.UNKNOWN_ACTION),
        ("counter", "v1", "sign_in", _request({"username": "ana", "password": "nope"}),
         ErrorCode.BAD_CREDENTIALS),
    ],
)  # fmt: skip
def test_bad_input_gets_a_stable_code_and_changes_nothing(hub, role, device, action, payload, code):
    client = hub.device(role, device)
    head = _outbox_head(hub.engine)
    before = hub.engine.queue_state("orientacion").waiting
    try:
        # an oversized payload is refused unread, so its correlation id cannot be echoed
        correlation = (
            None
            if code == ErrorCode.PAYLOAD_TOO_LARGE
            else json.loads(payload).get("correlation_id")
        )
    except ValueError:
        correlation = None
    response = client.send_raw(action, payload, correlation_id=correlation).result(10)
    assert response.status == "error"
    assert response.error.code == code
    assert response.error.message  # Spanish text for people
    assert response.correlation_id == (correlation or "unknown")
    assert _outbox_head(hub.engine) == head
    assert hub.engine.queue_state("orientacion").waiting == before


def test_finishing_a_ticket_nobody_called_is_refused(hub):
    kiosk = hub.device("kiosk", "k1")
    v1 = hub.device("counter", "v1")
    _ok(kiosk.request("issue_ticket", {"service_code": "orientacion"}))
    _ok(v1.request("sign_in", ANA))
    _ok(v1.request("open_counter"))
    head = _outbox_head(hub.engine)
    finished = v1.request("finish_attention", {"outcome": "atendido"})
    assert finished.status == "error"
    assert finished.error.code == ErrorCode.INVALID_TRANSITION
    started = v1.request("start_attention")
    assert started.error.code == ErrorCode.INVALID_TRANSITION
    assert _outbox_head(hub.engine) == head
    assert _numbers(json.loads(hub.engine.queue_state("orientacion").model_dump_json())) == ["A001"]


def test_idempotent_retry_returns_the_first_answer_and_changes_nothing(hub):
    kiosk = hub.device("kiosk", "k1")
    first = _ok(
        kiosk.request("issue_ticket", {"service_code": "orientacion"}, request_id="k1-req-0001")
    )
    head = _outbox_head(hub.engine)
    retry = kiosk.request("issue_ticket", {"service_code": "orientacion"}, request_id="k1-req-0001")
    assert retry.status == "ok"
    assert retry.result == first
    assert retry.request_id == "k1-req-0001"
    assert hub.engine.queue_state("orientacion").waiting == 1
    assert _outbox_head(hub.engine) == head
    new = _ok(
        kiosk.request("issue_ticket", {"service_code": "orientacion"}, request_id="k1-req-0002")
    )
    assert new["ticket"]["number"] == "A002"


def test_hub_republishes_everything_after_the_broker_restarts(tmp_path, sede_id):
    """A broker restart without persistence loses every retained message; the hub reconnects
    by itself and republishes them, so a display connecting afterwards sees the queue."""
    from hub.broker import free_port, mosquitto_executable, start_mosquitto
    from hub.domain.engine import HubEngine

    if mosquitto_executable() is None:
        pytest.skip("mosquitto not installed")
    port = free_port()
    broker = start_mosquitto(tmp_path / "broker", port=port)
    config = load_sede_config(DEMO_SEDE_FILE).model_copy(update={"id": sede_id})
    engine = HubEngine(config, tmp_path / "hub.sqlite3")
    bridge = HubBridge(engine, sede_id=sede_id, mqtt=MqttSettings(port=port))
    try:
        assert bridge.start(wait_s=10)
        with DeviceClient(sede_id=sede_id, role="kiosk", device_id="k1", port=port) as kiosk:
            _ok(kiosk.request("issue_ticket", {"service_code": "victimas"}))
        broker.stop()
        broker = start_mosquitto(tmp_path / "broker", port=port)
        assert bridge.wait_ready(20), "hub did not reconnect and republish"
        with StateWatcher(sede_id=sede_id, port=port) as watch:
            assert watch.wait_for(
                lambda w: (
                    _numbers(w.queue("victimas")) == ["V001"]
                    and w.hub_availability() == "online"
                    and len([t for t in w.retained if t.endswith("/state")])
                    == len(config.services) + len(config.counters) + 1
                )
            )
        assert bridge.stats.republishes >= 2
    finally:
        bridge.stop()
        engine.close()
        broker.stop()


def test_logs_carry_ids_and_codes_but_never_the_dni(hub, caplog):
    import logging

    from hub.logs import JsonFormatter

    kiosk = hub.device("kiosk", "k1")
    with caplog.at_level(logging.INFO, logger="hub"):
        ok = kiosk.request(
            "issue_ticket",
            {"service_code": "orientacion", "dni": "40718263"},
            request_id="k1-dni-req-1",
        )
        bad = kiosk.request("issue_ticket", {"service_code": "nada", "dni": "40718263"})
        # the worker logs a command right after answering it: wait (at INFO) for both lines
        deadline = time.monotonic() + 5
        while True:
            lines = [JsonFormatter().format(r) for r in caplog.records if r.name == "hub.bridge"]
            commands = [json.loads(line) for line in lines if '"event": "command"' in line]
            if len(commands) >= 2 or time.monotonic() > deadline:
                break
            time.sleep(0.02)
    assert ok.status == "ok" and bad.error.code == ErrorCode.UNKNOWN_SERVICE
    assert "40718263" not in ok.model_dump_json()  # never echoed to devices either
    assert any(c["request_id"] == "k1-dni-req-1" and c["status"] == "ok" for c in commands)
    assert any(c.get("code") == "unknown_service" for c in commands)
    assert all("40718263" not in line for line in lines)
    assert "40718263" not in caplog.text


def test_print_jobs_are_only_reprints_and_go_to_the_issuing_kiosk_only(hub, sede_id, mqtt_broker):
    own = topics.print_job(sede_id, "k1")
    other = topics.print_job(sede_id, "k2")
    watch = StateWatcher(
        sede_id=sede_id, host=mqtt_broker.host, port=mqtt_broker.port, extra_filters=(own, other)
    ).connect()
    try:
        kiosk = hub.device("kiosk", "k1")
        issued = _ok(kiosk.request("issue_ticket", {"service_code": "victimas"}))["ticket"]
        # the kiosk prints the fresh ticket from its answer: no print job for it
        printed = kiosk.request("report_print", {"ticket_id": issued["ticket_id"], "ok": False})
        assert printed.status == "ok", printed.error
        assert hub.bridge.wait_published(10)
        assert own not in watch.retained
        v1 = hub.device("counter", "v1")
        _ok(v1.request("sign_in", ANA))
        _ok(v1.request("reprint_ticket", {"ticket_id": issued["ticket_id"]}))
        assert watch.wait_for(lambda w: own in w.retained)
        job = watch.retained[own]
        assert job["ticket"]["number"] == issued["number"] == "V001"
        assert job["reprint"] is True and job["service_name"] == "Defensa de víctimas"
        assert other not in watch.retained
    finally:
        watch.close()


def test_a_ticket_far_back_whose_print_failed_is_in_the_retained_reprints(
    hub, sede_id, mqtt_broker
):
    """130 waiting for one service; the kiosk could not print the 120th. The retained queue
    state lists only the head (100), and the 120th apart in `reprints` with its place, until
    the kiosk reports the reprint printed."""
    own = topics.print_job(sede_id, "k1")
    watch = StateWatcher(
        sede_id=sede_id, host=mqtt_broker.host, port=mqtt_broker.port, extra_filters=(own,)
    ).connect()

    def reprints(w) -> list[str]:
        return [t["number"] for t in (w.queue("victimas") or {}).get("reprints", [])]

    try:
        kiosk = hub.device("kiosk", "k1")
        issued = [
            _ok(kiosk.request("issue_ticket", {"service_code": "victimas"}))["ticket"]
            for _ in range(130)
        ]
        far = issued[119]
        failed = kiosk.request("report_print", {"ticket_id": far["ticket_id"], "ok": False})
        assert failed.status == "ok", failed.error
        assert watch.wait_for(lambda w: reprints(w) == ["V120"])
        state = watch.queue("victimas")
        assert state["waiting"] == 130 and len(state["tickets"]) == 100
        assert far["ticket_id"] not in {t["ticket_id"] for t in state["tickets"]}
        [behind] = state["reprints"]
        assert behind["ticket_id"] == far["ticket_id"] and behind["needs_reprint"] is True
        assert behind["people_ahead"] == 119 and behind["status"] == "waiting"

        v1 = hub.device("counter", "v1")
        _ok(v1.request("sign_in", ANA))
        _ok(v1.request("reprint_ticket", {"ticket_id": far["ticket_id"]}))
        assert watch.wait_for(lambda w: own in w.retained)
        assert watch.retained[own]["ticket"]["number"] == "V120"
        assert watch.retained[own]["reprint"] is True
        printed = kiosk.request("report_print", {"ticket_id": far["ticket_id"], "ok": True})
        assert printed.status == "ok", printed.error
        assert watch.wait_for(lambda w: reprints(w) == [])
        assert watch.queue("victimas")["waiting"] == 130
    finally:
        watch.close()
