"""The bridge's own logic: request decoding (pure) and the worker's behaviour around an engine,
with a small in-memory engine double so transport failures can be forced. The queue itself is
exercised through the real engine in test_bridge_mqtt.py."""

from __future__ import annotations

import io
import json
import logging
import threading
import time
from typing import Any

import pytest

from contracts import mqtt as topics
from contracts.errors import ErrorCode
from contracts.messages import (
    CommandRequest,
    CounterState,
    CounterStatus,
    DisplayState,
    QueueState,
    SedeInfo,
    ServiceInfo,
)
from contracts.mqtt import MAX_PAYLOAD_BYTES
from hub.bridge import HubBridge, MqttSettings
from hub.logs import JsonFormatter, configure_logging, log_event
from hub.mqtt_client import DeviceClient, StateWatcher
from hub.mqtt_requests import Command, Rejection, RequestTopic, decode_request, parse_topic
from hub.ports import Actor, CommandOutcome

# --------------------------------------------------------------------------- decoding


def _topic(role: str = "kiosk", action: str = "issue_ticket") -> RequestTopic:
    return RequestTopic(sede="s1", role=role, device_id="k1", action=action)


def _payload(**fields: Any) -> bytes:
    return json.dumps(json.loads(CommandRequest.new(**fields).model_dump_json())).encode()


def test_valid_request_decodes_to_command():
    decoded = decode_request(_topic(), _payload(params={"service_code": "orientacion"}))
    assert isinstance(decoded, Command)
    assert decoded.role == "kiosk" and decoded.action == "issue_ticket"
    assert decoded.request.params == {"service_code": "orientacion"}


@pytest.mark.parametrize(
    ("payload", "code", "correlation"),
    [
        (b"{not json", ErrorCode.MALFORMED_JSON, "unknown"),
        (b"\xff\xfe", ErrorCode.MALFORMED_JSON, "unknown"),
        (b"[1, 2]", ErrorCode.INVALID_PAYLOAD, "unknown"),
        (b'{"v": 2, "correlation_id": "c-1"}', ErrorCode.UNSUPPORTED_VERSION, "c-1"),
        (b'{"v": "1", "correlation_id": "c-1"}', ErrorCode.UNSUPPORTED_VERSION, "c-1"),
        (b'{"correlation_id": "c-1"}', ErrorCode.UNSUPPORTED_VERSION, "c-1"),
        (b'{"v": 1, "correlation_id": "c-2", "extra": 1}', ErrorCode.INVALID_PAYLOAD, "c-2"),
        (b'{"v": 1, "correlation_id": "c-3", "params": []}', ErrorCode.INVALID_PAYLOAD, "c-3"),
        (b'{"v": 1, "correlation_id": 7}', ErrorCode.INVALID_PAYLOAD, "unknown"),
        (b"x" * (MAX_PAYLOAD_BYTES + 1), ErrorCode.PAYLOAD_TOO_LARGE, "unknown"),
    ],
)
def test_bad_payloads_get_stable_codes(payload, code, correlation):
    decoded = decode_request(_topic(), payload)
    assert isinstance(decoded, Rejection)
    assert decoded.code == code
    assert decoded.response.correlation_id == correlation
    assert decoded.response.status == "error"
    assert decoded.response.error is not None and decoded.response.error.message


def test_invalid_payload_names_the_field():
    body = json.loads(_payload())
    decoded = decode_request(_topic(), json.dumps({**body, "request_id": "short"}).encode())
    assert isinstance(decoded, Rejection)
    assert decoded.code == ErrorCode.INVALID_PAYLOAD
    assert decoded.response.error.field == "request_id"


@pytest.mark.parametrize(
    ("role", "action", "code"),
    [
        ("kiosk", "call_next", ErrorCode.FORBIDDEN),
        ("kiosk", "finish_attention", ErrorCode.FORBIDDEN),
        ("display", "issue_ticket", ErrorCode.FORBIDDEN),
        ("counter", "issue_ticket", ErrorCode.FORBIDDEN),
        ("intruder", "issue_ticket", ErrorCode.FORBIDDEN),
        ("counter", "launch_rocket", ErrorCode.UNKNOWN_ACTION),
    ],
)
def test_role_and_action_checks(role, action, code):
    decoded = decode_request(_topic(role, action), _payload(correlation_id="c-9"))
    assert isinstance(decoded, Rejection)
    assert decoded.code == code
    assert decoded.response.correlation_id == "c-9"


def test_parse_topic_only_accepts_own_sede():
    assert parse_topic("alegra/v1/s1/kiosk/k1/request/issue_ticket", "s1") == _topic()
    assert parse_topic("alegra/v1/s2/kiosk/k1/request/issue_ticket", "s1") is None
    assert parse_topic("alegra/v1/s1/kiosk/K1/request/issue_ticket", "s1") is None


# --------------------------------------------------------------------------- logs


def test_logs_are_json_and_drop_unknown_fields():
    stream = io.StringIO()
    logger = logging.getLogger("hub.test-logs")
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        kept = log_event(
            logger, logging.INFO, "x", request_id="r-1", code="ok", dni="12345678", name="Ana"
        )
    finally:
        logger.removeHandler(handler)
    line = json.loads(stream.getvalue())
    assert kept == {"request_id": "r-1", "code": "ok"}
    assert line["request_id"] == "r-1" and line["msg"] == "x" and line["level"] == "INFO"
    assert "12345678" not in stream.getvalue() and "Ana" not in stream.getvalue()


def test_configure_logging_is_idempotent():
    configure_logging("INFO")
    configure_logging("WARNING")
    root = logging.getLogger()
    assert sum(isinstance(h.formatter, JsonFormatter) for h in root.handlers) == 1


# --------------------------------------------------------------------------- worker + double


class DoubleEngine:
    """Minimal in-memory stand-in for QueueEngine: one service, issue_ticket only, and a switch
    that makes execute() blow up like a broken engine would."""

    def __init__(self, sede_id: str) -> None:
        self.sede_id = sede_id
        self.issued: list[str] = []
        self.explode = False
        self.explode_batch = False
        self.sign_in_s = 0.0
        self.housekeeping_calls = 0
        self.lock = threading.Lock()
        self.hold = threading.Event()  # cleared: execute blocks, as during a long commit
        self.hold.set()
        self.holding = threading.Event()
        self.batches: list[list[str]] = []  # request ids of each execute_many
        self.committed_at: list[float] = []

    def execute(self, *, actor: Actor, action: str, params: dict, request_id: str):
        if self.explode:
            raise RuntimeError("disk on fire")
        if not self.hold.is_set():
            self.holding.set()
            self.hold.wait(10)
        if action == "sign_in":
            time.sleep(self.sign_in_s)  # argon2 is slow on purpose
            return CommandOutcome(status="ok", result={"signed_in": True})
        with self.lock:
            self.issued.append(request_id)
            number = f"A{len(self.issued):03d}"
        return CommandOutcome(
            status="ok", result={"number": number}, changed_services={"orientacion"}
        )

    def execute_many(self, commands):
        if self.explode or self.explode_batch:
            raise RuntimeError("disk on fire")
        self.batches.append([request_id for _, _, _, request_id in commands])
        outcomes = [
            self.execute(actor=actor, action=action, params=params, request_id=request_id)
            for actor, action, params, request_id in commands
        ]
        self.committed_at.append(time.monotonic())  # "the commit": answers only after it
        return outcomes

    def housekeeping(self):
        self.housekeeping_calls += 1
        if self.explode:
            raise RuntimeError("clock broken")
        return CommandOutcome(status="ok")

    def sede_info(self):
        return SedeInfo(
            sede_id=self.sede_id,
            name="Sede doble",
            services=[ServiceInfo(code="orientacion", name="Orientación", letter="A")],
            counters=[],
            hours=[],
            is_open_now=True,
        )

    def queue_state(self, service_code):
        return QueueState(
            service_code=service_code,
            service_name="Orientación",
            waiting=len(self.issued),
            preferential_waiting=0,
            longest_wait_s=0,
            average_wait_s=None,
            average_service_s=None,
            served_today=0,
            open_counters=0,
            estimated_wait_s=None,
            tickets=[],
        )

    def counter_state(self, counter_id):
        return CounterState(
            counter_id=counter_id, name="V", number=1, status=CounterStatus.CLOSED, services=[]
        )

    def display_state(self):
        return DisplayState(current=[], recent=[], waiting={"orientacion": len(self.issued)})

    def status(self):
        return {}

    def close(self):
        pass


@pytest.fixture
def double_bridge(mqtt_broker, sede_id):
    engine = DoubleEngine(sede_id)
    bridge = HubBridge(
        engine,
        sede_id=sede_id,
        mqtt=MqttSettings(host=mqtt_broker.host, port=mqtt_broker.port),
        housekeeping_interval_s=0.2,
    )
    assert bridge.start(wait_s=10)
    yield engine, bridge
    bridge.stop()


@pytest.mark.mqtt
def test_engine_failure_answers_internal_and_worker_survives(double_bridge, mqtt_broker, sede_id):
    engine, bridge = double_bridge
    with DeviceClient(
        sede_id=sede_id, role="kiosk", device_id="k1", host=mqtt_broker.host, port=mqtt_broker.port
    ) as kiosk:
        engine.explode = True
        failed = kiosk.request("issue_ticket", {"service_code": "orientacion"})
        assert failed.status == "error" and failed.error.code == ErrorCode.INTERNAL
        engine.explode = False
        ok = kiosk.request("issue_ticket", {"service_code": "orientacion"})
        assert ok.status == "ok" and ok.result == {"number": "A001"}
    assert bridge.stats.internal_errors == 1


@pytest.mark.mqtt
def test_ready_waits_for_the_brokers_subscription_ack(mqtt_broker, sede_id):
    """start(wait_s) promises that a request published from now on reaches the worker: the
    retained states being out is not enough, the broker must have acknowledged the request
    subscription (here it never gets it, so the hub must not claim ready)."""
    bridge = HubBridge(
        DoubleEngine(sede_id),
        sede_id=sede_id,
        mqtt=MqttSettings(host=mqtt_broker.host, port=mqtt_broker.port),
    )
    bridge._client.subscribe = lambda *args, **kwargs: (0, 1)  # SUBSCRIBE lost on the way
    try:
        assert not bridge.start(wait_s=2)
        assert bridge.connected and bridge.stats.republishes >= 1
    finally:
        bridge.stop()


@pytest.mark.mqtt
def test_republish_housekeeping_and_offline_will(double_bridge, mqtt_broker, sede_id):
    engine, bridge = double_bridge
    with StateWatcher(sede_id=sede_id, host=mqtt_broker.host, port=mqtt_broker.port) as watcher:
        assert watcher.wait_for(lambda w: w.hub_availability() == "online")
        assert watcher.wait_for(lambda w: w.queue("orientacion") is not None)
        assert watcher.retained[topics.config_topic(sede_id)]["name"] == "Sede doble"
        assert watcher.wait_for(lambda w: engine.housekeeping_calls >= 2, timeout_s=5)
        bridge.stop()
        assert watcher.wait_for(lambda w: w.hub_availability() == "offline")


@pytest.mark.mqtt
def test_rejected_request_never_reaches_engine(double_bridge, mqtt_broker, sede_id):
    engine, bridge = double_bridge
    with DeviceClient(
        sede_id=sede_id, role="kiosk", device_id="k1", host=mqtt_broker.host, port=mqtt_broker.port
    ) as kiosk:
        bad = kiosk.send_raw("issue_ticket", b"{oops").result(10)
        assert bad.error.code == ErrorCode.MALFORMED_JSON and bad.correlation_id == "unknown"
        forbidden = kiosk.request("call_next")
        assert forbidden.error.code == ErrorCode.FORBIDDEN
    assert engine.issued == []
    assert bridge.stats.rejected == 2


@pytest.mark.mqtt
def test_a_retained_request_is_never_run_and_gets_cleared(mqtt_broker, sede_id):
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    topic = topics.request_topic(sede_id, "kiosk", "k1", "issue_ticket")
    publisher = mqtt.Client(CallbackAPIVersion.VERSION2)
    publisher.connect(mqtt_broker.host, mqtt_broker.port)
    publisher.loop_start()
    body = CommandRequest.new({"service_code": "orientacion"}).model_dump_json().encode()
    publisher.publish(topic, body, qos=1, retain=True).wait_for_publish(5)

    engine = DoubleEngine(sede_id)
    bridge = HubBridge(
        engine, sede_id=sede_id, mqtt=MqttSettings(host=mqtt_broker.host, port=mqtt_broker.port)
    )
    try:
        assert bridge.start(wait_s=10)
        deadline = time.monotonic() + 5
        while bridge.stats.ignored == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert bridge.stats.ignored == 1
        assert engine.issued == []
        # the broker no longer keeps it: a new subscriber receives nothing retained (the
        # clearing publish may still be in flight right after the count: probe until it lands)
        deadline = time.monotonic() + 5
        while True:
            retained: list[bytes] = []
            probe = mqtt.Client(CallbackAPIVersion.VERSION2)
            probe.on_message = lambda c, u, m, into=retained: (
                into.append(m.payload) if m.retain else None
            )
            probe.connect(mqtt_broker.host, mqtt_broker.port)
            probe.subscribe(topic, qos=1)
            probe.loop_start()
            time.sleep(0.3)
            probe.disconnect()
            probe.loop_stop()
            if not retained or time.monotonic() > deadline:
                break
        assert retained == []
    finally:
        bridge.stop()
        publisher.disconnect()
        publisher.loop_stop()


@pytest.mark.mqtt
def test_a_slow_sign_in_does_not_hold_up_tickets(double_bridge, mqtt_broker, sede_id):
    engine, bridge = double_bridge
    engine.sign_in_s = 1.5
    where = {"host": mqtt_broker.host, "port": mqtt_broker.port}
    with (
        DeviceClient(sede_id=sede_id, role="counter", device_id="v1", **where) as counter,
        DeviceClient(sede_id=sede_id, role="kiosk", device_id="k1", **where) as kiosk,
    ):
        signing_in = counter.send("sign_in", {"username": "ana", "password": "x"})
        time.sleep(0.1)
        began = time.monotonic()
        issued = kiosk.request("issue_ticket", {"service_code": "orientacion"})
        assert issued.status == "ok"
        assert time.monotonic() - began < 1.0
        assert not signing_in.done()
        assert signing_in.result(5).result == {"signed_in": True}


@pytest.mark.mqtt
def test_failing_housekeeping_does_not_stop_the_worker(double_bridge, mqtt_broker, sede_id):
    engine, bridge = double_bridge
    engine.explode = True
    calls = engine.housekeeping_calls
    deadline = time.monotonic() + 5
    while engine.housekeeping_calls < calls + 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert engine.housekeeping_calls >= calls + 3  # it kept trying, every interval
    assert bridge.stats.internal_errors >= 3
    engine.explode = False
    with DeviceClient(
        sede_id=sede_id, role="kiosk", device_id="k1", host=mqtt_broker.host, port=mqtt_broker.port
    ) as kiosk:
        assert kiosk.request("issue_ticket", {"service_code": "orientacion"}).status == "ok"


@pytest.mark.mqtt
def test_hub_tracks_device_availability(double_bridge, mqtt_broker, sede_id):
    engine, bridge = double_bridge
    kiosk = DeviceClient(
        sede_id=sede_id, role="kiosk", device_id="k7", host=mqtt_broker.host, port=mqtt_broker.port
    ).connect()
    deadline = time.monotonic() + 5
    while bridge.device_states().get("k7") != "online" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert bridge.device_states()["k7"] == "online"
    kiosk.close()
    deadline = time.monotonic() + 5
    while bridge.device_states().get("k7") != "offline" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert bridge.device_states()["k7"] == "offline"
    assert bridge.stats.received == 0  # availability is not a command


@pytest.mark.mqtt
def test_requests_queued_behind_a_commit_share_one_engine_transaction(
    double_bridge, mqtt_broker, sede_id
):
    engine, bridge = double_bridge
    where = {"host": mqtt_broker.host, "port": mqtt_broker.port}
    answered_at: dict[str, float] = {}

    def stamp(future) -> None:
        answered_at[future.result().request_id] = time.monotonic()

    with DeviceClient(sede_id=sede_id, role="kiosk", device_id="k1", **where) as kiosk:
        engine.hold.clear()  # the worker is stuck in a slow commit of the first ticket...
        first = kiosk.send(
            "issue_ticket", {"service_code": "orientacion"}, request_id="first-ticket"
        )
        assert engine.holding.wait(10)
        queued = []  # ...while ten more requests (and one malformed one) arrive
        for index in range(10):
            if index == 5:
                bad = kiosk.send_raw("issue_ticket", b"{oops")
            future = kiosk.send(
                "issue_ticket", {"service_code": "orientacion"}, request_id=f"queued-{index}"
            )
            future.add_done_callback(stamp)
            queued.append(future)
        deadline = time.monotonic() + 10
        while bridge._jobs.qsize() < 11 and time.monotonic() < deadline:
            time.sleep(0.01)
        engine.hold.set()
        assert first.result(10).result == {"number": "A001"}
        responses = [future.result(10) for future in queued]
        assert bad.result(10).error.code == ErrorCode.MALFORMED_JSON
    # one engine transaction for the ten, answered in arrival order, after that commit
    assert engine.batches == [[f"queued-{index}" for index in range(10)]]
    assert [r.result["number"] for r in responses] == [f"A{n:03d}" for n in range(2, 12)]
    assert min(answered_at.values()) >= engine.committed_at[0]


@pytest.mark.mqtt
def test_a_failing_batch_answers_internal_to_each_request(double_bridge, mqtt_broker, sede_id):
    engine, bridge = double_bridge
    where = {"host": mqtt_broker.host, "port": mqtt_broker.port}
    with DeviceClient(sede_id=sede_id, role="kiosk", device_id="k1", **where) as kiosk:
        engine.hold.clear()
        first = kiosk.send("issue_ticket", {"service_code": "orientacion"})
        assert engine.holding.wait(10)
        engine.explode_batch = True  # the batch queued behind the first one will fail
        queued = [kiosk.send("issue_ticket", {"service_code": "orientacion"}) for _ in range(3)]
        deadline = time.monotonic() + 10
        while bridge._jobs.qsize() < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        engine.hold.set()
        assert first.result(10).status == "ok"
        codes = [future.result(10).error.code for future in queued]
    assert codes == [ErrorCode.INTERNAL] * 3
    assert bridge.stats.internal_errors == 1


@pytest.mark.mqtt
def test_the_publisher_waits_for_the_command_in_flight(
    double_bridge, mqtt_broker, sede_id, monkeypatch
):
    import hub.bridge

    engine, bridge = double_bridge
    monkeypatch.setattr(hub.bridge, "PUBLISH_MAX_DEFER_S", 5.0)
    where = {"host": mqtt_broker.host, "port": mqtt_broker.port}
    with DeviceClient(sede_id=sede_id, role="kiosk", device_id="k1", **where) as kiosk:
        engine.hold.clear()  # a command in flight: the worker is inside the engine
        answer = kiosk.send("issue_ticket", {"service_code": "orientacion"})
        assert engine.holding.wait(10)
        version = bridge.republish_all()  # states to publish while the lane is busy...
        time.sleep(0.3)
        assert bridge.published_version < version  # ...wait for the command to finish
        engine.hold.set()
        assert answer.result(10).status == "ok"
        assert bridge.wait_published(3)  # then go out at once, well before the 5 s bound
    assert bridge.published_version >= version


@pytest.mark.mqtt
def test_the_publisher_does_not_wait_forever_for_a_gap(
    double_bridge, mqtt_broker, sede_id, monkeypatch
):
    import hub.bridge

    engine, bridge = double_bridge
    monkeypatch.setattr(hub.bridge, "PUBLISH_MAX_DEFER_S", 0.2)
    where = {"host": mqtt_broker.host, "port": mqtt_broker.port}
    with DeviceClient(sede_id=sede_id, role="kiosk", device_id="k1", **where) as kiosk:
        engine.hold.clear()  # the lane stays busy (a very slow commit)
        answer = kiosk.send("issue_ticket", {"service_code": "orientacion"})
        assert engine.holding.wait(10)
        bridge.republish_all()
        assert bridge.wait_published(3)  # published after the bound, lane still busy
        assert not answer.done()
        engine.hold.set()
        assert answer.result(10).status == "ok"
