"""A small synchronous MQTT client for the hub's contract: send a command and wait for its
answer, or watch the retained state and events of a sede.

Used by ``alegra demo``, the benchmark and the tests; the Qt apps have their own client code
(they may not import ``hub``) but speak exactly this protocol (docs/mqtt.md).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from contracts import mqtt as topics
from contracts.messages import Availability, CommandRequest, CommandResponse

QOS = 1


def _client(client_id: str, username: str | None, password: str | None) -> Any:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True, protocol=mqtt.MQTTv311
    )
    if username:
        client.username_pw_set(username, password)
    client.max_inflight_messages_set(200)
    return client


def set_nodelay(client: Any) -> None:
    """Disable Nagle's algorithm on the client's socket. MQTT packets are tiny; with Nagle on,
    a PUBACK followed by a PUBLISH waits for the peer's delayed ACK (~40 ms a hop). The broker
    needs the same (``set_tcp_nodelay true`` in installers/mosquitto/*.conf)."""
    import socket

    sock = client.socket()
    if sock is not None:
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass  # not a TCP socket (e.g. a unix socket): nothing to tune


class ClientError(RuntimeError):
    """The broker refused or dropped us, or no answer came in time."""


class DeviceClient:
    """One device (kiosk, counter, ...) talking to the hub with request/response."""

    def __init__(
        self,
        *,
        sede_id: str,
        role: str,
        device_id: str,
        host: str = "127.0.0.1",
        port: int = 1883,
        username: str | None = None,
        password: str | None = None,
        client_id: str | None = None,
        announce: bool = True,
    ) -> None:
        self.sede_id = sede_id
        self.role = role
        self.device_id = device_id
        self.host, self.port = host, port
        self.announce = announce
        self._pending: dict[str, Future[CommandResponse]] = {}
        self._unknown: list[Future[CommandResponse]] = []
        self._lock = threading.Lock()
        self._connected = threading.Event()
        self._refused: str | None = None
        self._client = _client(
            client_id or f"{role}-{device_id}-{sede_id}-{time.monotonic_ns() % 10**9}",
            username,
            password,
        )
        if announce:
            self._client.will_set(
                topics.device_availability(sede_id, device_id),
                self._availability("offline"),
                qos=QOS,
                retain=True,
            )
        self._subscribed = threading.Event()
        self._client.on_connect = self._on_connect
        self._client.on_message = self._on_message
        self._client.on_subscribe = lambda *args: self._subscribed.set()

    def _availability(self, state: str) -> bytes:
        return (
            Availability(state=state, device_id=self.device_id, role=self.role)
            .model_dump_json()
            .encode()
        )  # type: ignore[arg-type]

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if reason.is_failure:
            self._refused = str(reason)
            self._connected.set()
            return
        set_nodelay(client)
        subscribe_to = topics.response_filter(self.sede_id, self.role, self.device_id)
        client.subscribe(subscribe_to, qos=QOS)
        if self.announce:
            client.publish(
                topics.device_availability(self.sede_id, self.device_id),
                self._availability("online"),
                qos=QOS,
                retain=True,
            )
        self._connected.set()

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        try:
            response = CommandResponse.model_validate_json(message.payload)
        except ValueError:
            return
        with self._lock:
            future = self._pending.pop(response.correlation_id, None)
            if future is None and response.correlation_id == "unknown" and self._unknown:
                future = self._unknown.pop(0)
        if future is not None and not future.done():
            future.set_result(response)

    def connect(self, timeout_s: float = 10.0) -> DeviceClient:
        self._client.connect(self.host, self.port, keepalive=30)
        self._client.loop_start()
        try:
            if not self._connected.wait(timeout_s):
                raise ClientError("no connection to the broker")
            if self._refused:
                raise ClientError(f"broker refused the connection: {self._refused}")
            if not self._subscribed.wait(timeout_s):
                raise ClientError("the broker did not confirm the subscription")
        except ClientError:
            self._client.disconnect()
            self._client.loop_stop()
            raise
        return self

    def close(self) -> None:
        if self.announce and self._client.is_connected():
            info = self._client.publish(
                topics.device_availability(self.sede_id, self.device_id),
                self._availability("offline"),
                qos=QOS,
                retain=True,
            )
            try:
                info.wait_for_publish(2)
            except (RuntimeError, ValueError):
                pass
        self._client.disconnect()
        self._client.loop_stop()

    def __enter__(self) -> DeviceClient:
        return self.connect()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send(
        self,
        action: str,
        params: dict[str, Any] | None = None,
        *,
        request_id: str | None = None,
        correlation_id: str | None = None,
        topic: str | None = None,
    ) -> Future[CommandResponse]:
        """Publish a command; the future resolves with its response."""
        request = CommandRequest.new(params, request_id=request_id, correlation_id=correlation_id)
        return self.send_raw(
            action,
            request.model_dump_json().encode(),
            correlation_id=request.correlation_id,
            topic=topic,
        )

    def send_raw(
        self,
        action: str,
        payload: bytes,
        *,
        correlation_id: str | None = None,
        topic: str | None = None,
    ) -> Future[CommandResponse]:
        """Publish any bytes as a command (bad input and ACL tests; ``topic`` overrides the
        device's own request topic). Without a correlation id, the future takes the next
        answer carrying correlation id "unknown"."""
        future: Future[CommandResponse] = Future()
        with self._lock:
            if correlation_id is None:
                self._unknown.append(future)
            else:
                self._pending[correlation_id] = future
        topic = topic or topics.request_topic(self.sede_id, self.role, self.device_id, action)
        self._client.publish(topic, payload, qos=QOS)
        return future

    def request(
        self,
        action: str,
        params: dict[str, Any] | None = None,
        *,
        timeout_s: float = 10.0,
        **kw: Any,
    ) -> CommandResponse:
        future = self.send(action, params, **kw)
        try:
            return future.result(timeout_s)
        except FutureTimeout as exc:
            raise ClientError(f"no answer to {action} within {timeout_s}s") from exc


class StateWatcher:
    """Subscribes to everything a display or monitor sees of a sede and keeps the latest
    payload per topic in ``retained`` (topic -> JSON; the retained states, plus whatever
    ``extra_filters`` bring) and the call events, in arrival order, in ``events``."""

    def __init__(
        self,
        *,
        sede_id: str,
        host: str = "127.0.0.1",
        port: int = 1883,
        username: str | None = None,
        password: str | None = None,
        extra_filters: tuple[str, ...] = (),
    ) -> None:
        self.sede_id = sede_id
        self.host, self.port = host, port
        self.retained: dict[str, dict[str, Any]] = {}
        self.events: list[tuple[str, dict[str, Any], float]] = []  # topic, payload, arrival
        self._listeners: list[Callable[[str, dict[str, Any]], None]] = []
        self._cond = threading.Condition()
        self._ready = threading.Event()
        self._filters = (
            topics.config_topic(sede_id),
            topics.hub_availability(sede_id),
            topics.queue_state_filter(sede_id),
            topics.counter_state_filter(sede_id),
            topics.display_state(sede_id),
            topics.call_event(sede_id),
            *extra_filters,
        )
        self._client = _client(f"watch-{sede_id}-{time.monotonic_ns() % 10**9}", username, password)
        self._client.on_connect = self._on_connect
        self._client.on_message = self._on_message
        self._client.on_subscribe = self._on_subscribe

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        set_nodelay(client)
        client.subscribe([(f, QOS) for f in self._filters])

    def _on_subscribe(self, client: Any, userdata: Any, mid: Any, reasons: Any, props: Any) -> None:
        self._ready.set()

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        arrived = time.perf_counter()
        try:
            payload = json.loads(message.payload)
        except ValueError:
            return
        with self._cond:
            if message.topic == topics.call_event(self.sede_id):
                self.events.append((message.topic, payload, arrived))
            else:
                self.retained[message.topic] = payload
            self._cond.notify_all()
        for listener in list(self._listeners):
            listener(message.topic, payload)

    def add_listener(self, listener: Callable[[str, dict[str, Any]], None]) -> None:
        self._listeners.append(listener)

    def connect(self, timeout_s: float = 10.0) -> StateWatcher:
        self._client.connect(self.host, self.port, keepalive=30)
        self._client.loop_start()
        if not self._ready.wait(timeout_s):
            raise ClientError("could not subscribe")
        return self

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def __enter__(self) -> StateWatcher:
        return self.connect()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def wait_for(self, predicate: Callable[[StateWatcher], bool], timeout_s: float = 10.0) -> bool:
        """Wait until ``predicate(self)`` holds (checked on every message)."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while not predicate(self):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
            return True

    # convenient views of the retained state
    def queue(self, service_code: str) -> dict[str, Any] | None:
        return self.retained.get(topics.queue_state(self.sede_id, service_code))

    def counter(self, counter_id: str) -> dict[str, Any] | None:
        return self.retained.get(topics.counter_state(self.sede_id, counter_id))

    def display(self) -> dict[str, Any] | None:
        return self.retained.get(topics.display_state(self.sede_id))

    def hub_availability(self) -> str | None:
        payload = self.retained.get(topics.hub_availability(self.sede_id))
        return payload.get("state") if payload else None

    def calls(self) -> list[dict[str, Any]]:
        return [payload for _, payload, _ in self.events]
