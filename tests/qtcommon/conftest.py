"""A scripted stand-in for the hub on a real broker: retained state, availability with a last
will, and answers to requests chosen by each test."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from contracts import mqtt as topics
from contracts.messages import (
    Availability,
    CommandRequest,
    CommandResponse,
    CounterInfo,
    CounterState,
    CounterStatus,
    DisplayState,
    OpeningHours,
    QueueState,
    SedeInfo,
    ServiceInfo,
)

Handler = Callable[[str, str, str, CommandRequest], CommandResponse | None]


def sample_sede(sede_id: str, *, is_open_now: bool = True) -> SedeInfo:
    return SedeInfo(
        sede_id=sede_id,
        name="Centro ALEGRA Prueba",
        services=[
            ServiceInfo(code="orientacion", name="Orientación legal", letter="A"),
            ServiceInfo(code="defensa-penal", name="Defensa penal", letter="P"),
        ],
        counters=[
            CounterInfo(counter_id="v1", name="Ventanilla 1", number=1, services={"orientacion": 1})
        ],
        hours=[OpeningHours(weekday=0, opens="08:00", closes="17:00")],
        is_open_now=is_open_now,
    )


def sample_queue(service_code: str = "orientacion", waiting: int = 3) -> QueueState:
    return QueueState(
        service_code=service_code,
        service_name="Orientación legal",
        waiting=waiting,
        preferential_waiting=0,
        longest_wait_s=300,
        average_wait_s=200,
        average_service_s=600,
        served_today=5,
        open_counters=1,
        estimated_wait_s=900,
        tickets=[],
    )


class FakeHubResponder:
    """Plays the hub over MQTT for qtcommon tests (the real hub has its own tests)."""

    def __init__(self, host: str, port: int, sede: str, handler: Handler | None = None) -> None:
        self.sede = sede
        self.handler = handler or (lambda role, device, action, req: ok(req, {"echo": action}))
        self.requests: list[tuple[str, str, str, CommandRequest]] = []
        self.availability: dict[str, str] = {}
        self.connected = threading.Event()
        self.retained: dict[str, str] = {
            topics.config_topic(sede): sample_sede(sede).model_dump_json(),
            topics.queue_state(sede, "orientacion"): sample_queue().model_dump_json(),
            topics.counter_state(sede, "v1"): CounterState(
                counter_id="v1",
                name="Ventanilla 1",
                number=1,
                status=CounterStatus.OPEN,
                services=["orientacion"],
            ).model_dump_json(),
            topics.display_state(sede): DisplayState(
                current=[], recent=[], waiting={"orientacion": 3}
            ).model_dump_json(),
        }
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"fake-hub-{uuid.uuid4().hex[:8]}"
        )
        self._client.reconnect_delay_set(min_delay=0.2, max_delay=1)  # type: ignore[arg-type]
        self._client.will_set(
            topics.hub_availability(sede), _availability("offline"), qos=1, retain=True
        )
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = lambda *a: self.connected.clear()
        self._client.on_message = self._on_message
        self._host, self._port = host, port
        self._crashed = False

    def start(self) -> FakeHubResponder:
        self._client.connect_async(self._host, self._port, keepalive=5)
        self._client.loop_start()
        assert self.connected.wait(10), "fake hub could not connect"
        return self

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        client.subscribe(
            [
                (topics.request_filter(self.sede), 1),
                (f"{topics.sede_base(self.sede)}/device/+/availability", 1),
            ]
        )
        # Like the real hub: republish retained state on every (re)connect.
        for topic, payload in self.retained.items():
            client.publish(topic, payload, qos=1, retain=True)
        client.publish(
            topics.hub_availability(self.sede), _availability("online"), qos=1, retain=True
        )
        self.connected.set()

    def _on_message(self, client, userdata, message) -> None:
        if message.topic.endswith("/availability"):
            if message.payload:
                state = Availability.model_validate_json(message.payload)
                self.availability[state.device_id] = state.state
            return
        parsed = topics.parse_request_topic(message.topic)
        if parsed is None:
            return
        _, role, device_id, action = parsed
        request = CommandRequest.model_validate_json(message.payload)
        self.requests.append((role, device_id, action, request))
        response = self.handler(role, device_id, action, request)
        if response is not None:
            client.publish(
                topics.response_topic(self.sede, role, device_id, action),
                response.model_dump_json(),
                qos=1,
            )

    def publish(self, topic: str, payload: str, *, retain: bool = False) -> None:
        if retain:
            self.retained[topic] = payload
        self._client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(5)

    def go_offline(self) -> None:
        """A clean hub shutdown: retained offline."""
        self.publish(topics.hub_availability(self.sede), _availability("offline"), retain=False)

    def crash(self) -> None:
        """Drop the TCP connection without DISCONNECT, so the broker sends the last will."""
        self._crashed = True
        self._client.loop_stop()
        sock = self._client.socket()
        if sock is not None:
            sock.close()

    def stop(self) -> None:
        """Clear what we retained (the shared broker outlives the test) and leave."""
        retained = [*self.retained, topics.hub_availability(self.sede)]
        if self._crashed:
            clear_retained(self._host, self._port, retained)
            return
        if self._client.is_connected():
            for topic in retained:
                self._client.publish(topic, b"", qos=1, retain=True).wait_for_publish(2)
        self._client.disconnect()
        self._client.loop_stop()


def clear_retained(host: str, port: int, retained: list[str]) -> None:
    client = mqtt.Client(CallbackAPIVersion.VERSION2)
    try:
        client.connect(host, port)
    except OSError:
        return
    infos = [client.publish(topic, b"", qos=1, retain=True) for topic in retained]
    deadline = time.monotonic() + 2
    while not all(info.is_published() for info in infos) and time.monotonic() < deadline:
        client.loop(0.05)
    client.disconnect()


def _availability(state: str) -> str:
    return Availability(state=state, device_id="hub", role="hub").model_dump_json()


def ok(request: CommandRequest, result: dict | None = None) -> CommandResponse:
    return CommandResponse(
        correlation_id=request.correlation_id,
        request_id=request.request_id,
        status="ok",
        result=result or {},
        ts=datetime.now(UTC),
    )


@pytest.fixture
def fake_hub(mqtt_broker, sede_id):
    hubs: list[FakeHubResponder] = []

    def make(handler: Handler | None = None, *, host=None, port=None) -> FakeHubResponder:
        hub = FakeHubResponder(
            host or mqtt_broker.host, port or mqtt_broker.port, sede_id, handler
        ).start()
        hubs.append(hub)
        return hub

    yield make
    for hub in hubs:
        hub.stop()


class PrivateBroker:
    """A Mosquitto of our own that a test may stop and start again on the same port."""

    def __init__(self, workdir) -> None:
        from tests.conftest import start_mosquitto

        self._start_mosquitto = start_mosquitto
        self.workdir = workdir
        self.proc, self.port = start_mosquitto(
            "listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n", workdir
        )
        self.conf = workdir / f"mosquitto-{self.port}.conf"

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(5)

    def restart(self) -> None:
        import shutil
        import subprocess
        import time

        from tests.conftest import port_open

        exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        self.proc = subprocess.Popen(
            [exe, "-c", str(self.conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not port_open("127.0.0.1", self.port):
            time.sleep(0.05)


@pytest.fixture
def private_broker(tmp_path):
    import shutil

    if not shutil.which("mosquitto") and not __import__("os").path.exists("/usr/sbin/mosquitto"):
        pytest.skip("mosquitto binary not available")
    broker = PrivateBroker(tmp_path)
    yield broker
    if broker.proc.poll() is None:
        broker.proc.terminate()
        broker.proc.wait(5)


@pytest.fixture
def free_tcp_port():
    from tests.conftest import free_port

    return free_port()
