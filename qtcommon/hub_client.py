"""The Qt apps' connection to their sede hub over MQTT (contracts.mqtt / contracts.messages).

paho runs its network loop in its own thread; every callback is handed to the Qt thread through
queued signals, so view-models only ever see typed payloads on the thread that owns them.
The client caches the hub's retained state, re-sends unanswered commands after a reconnect with
the same ``request_id`` (the hub answers a repeated id with its first answer, so nothing is
done twice) and turns a command that gets no answer in time into a local Spanish error.
"""

from __future__ import annotations

import logging
import socket
import time
import uuid
from collections.abc import Mapping
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from pydantic import BaseModel, ValidationError
from PySide6.QtCore import QObject, Qt, QTimer, Signal, Slot

from contracts import mqtt as topics
from contracts.errors import ErrorCode, message_es
from contracts.messages import (
    Availability,
    CallEvent,
    CommandRequest,
    CommandResponse,
    CounterState,
    DisplayState,
    ErrorBody,
    PrintJob,
    QueueState,
    SedeInfo,
)
from contracts.mqtt import Action, Role

log = logging.getLogger(__name__)

DEFAULT_PORT = 1883
DEFAULT_TIMEOUT_S = 8.0


def parse_hub_address(address: str) -> tuple[str, int]:
    """``"host"`` or ``"host:port"`` → (host, port). Raises ValueError with a clear message."""
    host, sep, port_text = address.strip().rpartition(":")
    if not sep:
        host, port_text = address.strip(), str(DEFAULT_PORT)
    if not host:
        raise ValueError(f"dirección del hub inválida: {address!r}")
    try:
        port = int(port_text)
    except ValueError:
        raise ValueError(f"puerto inválido en la dirección del hub: {address!r}") from None
    if not 0 < port < 65536:
        raise ValueError(f"puerto fuera de rango en la dirección del hub: {address!r}")
    return host, port


def unreachable_response(correlation_id: str, request_id: str | None) -> CommandResponse:
    """The answer a device gives itself when the hub did not answer in time."""
    return CommandResponse(
        correlation_id=correlation_id,
        request_id=request_id,
        status="error",
        error=ErrorBody(
            code=ErrorCode.HUB_UNREACHABLE, message=message_es(ErrorCode.HUB_UNREACHABLE)
        ),
    )


class PendingRequest(QObject):
    """One command in flight. ``finished`` fires exactly once, with the hub's answer or with a
    local ``hub_unreachable`` error when the timeout passes first."""

    finished = Signal(object)  # CommandResponse

    def __init__(
        self,
        action: str,
        topic: str,
        request: CommandRequest,
        timeout_s: float,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.action = action
        self.topic = topic
        self.request = request
        self.timeout_s = timeout_s
        self.sent_at = time.monotonic()
        self.attempts = 0
        self.response: CommandResponse | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(max(1, int(timeout_s * 1000)))

    @property
    def request_id(self) -> str:
        return self.request.request_id

    @property
    def correlation_id(self) -> str:
        return self.request.correlation_id

    @property
    def done(self) -> bool:
        return self.response is not None

    def resolve(self, response: CommandResponse) -> bool:
        """Deliver the answer (once; later answers are ignored). Returns whether it was the first."""
        if self.response is not None:
            return False
        self._timer.stop()
        self.response = response
        self.finished.emit(response)
        return True


class HubClient(QObject):
    """A device of one sede (role + device id) talking to that sede's hub."""

    config_changed = Signal(object)  # SedeInfo
    queue_changed = Signal(object)  # QueueState
    counter_changed = Signal(object)  # CounterState
    queue_removed = Signal(str)  # service code whose retained state the hub cleared
    counter_removed = Signal(str)  # counter id whose retained state the hub cleared
    display_changed = Signal(object)  # DisplayState
    call_received = Signal(object)  # CallEvent
    print_job = Signal(object)  # PrintJob
    connection_changed = Signal(bool)  # broker connected AND hub online
    broker_connection_changed = Signal(bool)

    # paho thread → Qt thread
    _paho_connected = Signal(bool)
    _paho_message = Signal(str, bytes)

    def __init__(
        self,
        *,
        host: str,
        port: int = DEFAULT_PORT,
        sede: str,
        role: Role | str,
        device_id: str,
        username: str | None = None,
        password: str | None = None,
        tls: bool = False,
        ca_file: str | None = None,
        keepalive_s: int = 15,
        reconnect_min_s: float = 0.5,
        reconnect_max_s: float = 10.0,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.host = host
        self.port = port
        self.sede = sede
        self.role = Role(role)
        self.device_id = device_id
        # validate the segments now, not on the first publish
        self._availability_topic = topics.device_availability(sede, device_id)
        self._response_prefix = topics.response_filter(sede, self.role, device_id)[:-1]
        self._keepalive_s = keepalive_s

        self.sede_info: SedeInfo | None = None
        self.queues: dict[str, QueueState] = {}
        self.counters: dict[str, CounterState] = {}
        self.display: DisplayState | None = None
        self.broker_connected = False
        self.hub_online = False
        self._connected = False
        self._pending: dict[str, PendingRequest] = {}
        self._started = False

        client_id = f"alegra-{sede}-{self.role}-{device_id}-{uuid.uuid4().hex[:6]}"
        self._mqtt = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
        if username:
            self._mqtt.username_pw_set(username, password)
        if tls:
            import ssl

            self._mqtt.tls_set(ca_certs=ca_file, tls_version=ssl.PROTOCOL_TLS_CLIENT)
        self._mqtt.reconnect_delay_set(
            min_delay=reconnect_min_s,  # type: ignore[arg-type]  # floats work; paho hints int
            max_delay=reconnect_max_s,  # type: ignore[arg-type]
        )
        self._mqtt.will_set(
            self._availability_topic, self._availability("offline"), qos=1, retain=True
        )
        self._mqtt.on_connect = self._on_connect
        self._mqtt.on_disconnect = self._on_disconnect
        self._mqtt.on_message = self._on_message

        queued = Qt.ConnectionType.QueuedConnection
        self._paho_connected.connect(self._handle_broker_state, queued)
        self._paho_message.connect(self._handle_message, queued)

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Connect in the background; reconnects by itself until ``stop``."""
        if self._started:
            return
        self._started = True
        self._mqtt.connect_async(self.host, self.port, keepalive=self._keepalive_s)
        self._mqtt.loop_start()

    def stop(self) -> None:
        """Say goodbye (retained offline) and stop the network thread."""
        if not self._started:
            return
        self._started = False
        if self.broker_connected:
            info = self._mqtt.publish(
                self._availability_topic, self._availability("offline"), qos=1, retain=True
            )
            try:
                info.wait_for_publish(timeout=2)
            except (RuntimeError, ValueError):
                pass
        self._mqtt.disconnect()
        self._mqtt.loop_stop()
        self._set_broker_connected(False)

    @property
    def connected(self) -> bool:
        return self._connected

    # ------------------------------------------------------------------ commands

    def request(
        self,
        action: Action | str,
        params: Mapping[str, Any] | BaseModel | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        *,
        request_id: str | None = None,
    ) -> PendingRequest:
        """Send a command to the hub. Pass a previous ``request_id`` to retry a command the
        user repeats after a timeout without risking it being applied twice."""
        if isinstance(params, BaseModel):
            params = params.model_dump(mode="json", exclude_none=True)
        request = CommandRequest.new(params, request_id=request_id)
        topic = topics.request_topic(self.sede, self.role, self.device_id, action)
        pending = PendingRequest(str(action), topic, request, timeout_s, parent=self)
        pending._timer.timeout.connect(lambda: self._expire(pending))
        self._pending[request.correlation_id] = pending
        pending._timer.start()
        if self._connected:
            self._send(pending)
        # else: sent as soon as the hub is back online (see _update_connected)
        return pending

    @property
    def pending_count(self) -> int:
        return len(self._pending)

    def _send(self, pending: PendingRequest) -> None:
        pending.attempts += 1
        payload = pending.request.model_dump_json()
        self._mqtt.publish(pending.topic, payload, qos=1)

    def _resend_pending(self) -> None:
        for pending in list(self._pending.values()):
            self._send(pending)

    def _expire(self, pending: PendingRequest) -> None:
        self._pending.pop(pending.correlation_id, None)
        log.warning("no answer from hub to %s after %.1fs", pending.action, pending.timeout_s)
        pending.resolve(unreachable_response(pending.correlation_id, pending.request_id))
        pending.deleteLater()

    # ------------------------------------------------------------------ paho thread

    def _availability(self, state: str) -> str:
        return Availability(
            state=state,  # type: ignore[arg-type]
            device_id=self.device_id,
            role=str(self.role),
        ).model_dump_json()

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:  # noqa: ANN001
        if reason_code.is_failure:
            log.warning("broker refused connection: %s", reason_code)
            return
        # MQTT packets are tiny: with Nagle on, a PUBACK followed by a PUBLISH waits for the
        # broker's delayed ACK (~40 ms a hop). The broker side is set in installers/mosquitto.
        sock = client.socket()
        if sock is not None:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass  # not a TCP socket
        sede = self.sede
        subscriptions = [
            topics.hub_availability(sede),
            topics.config_topic(sede),
            topics.queue_state_filter(sede),
            topics.counter_state_filter(sede),
            topics.display_state(sede),
            topics.call_event(sede),
            topics.response_filter(sede, self.role, self.device_id),
            topics.print_job(sede, self.device_id),
        ]
        client.subscribe([(topic, 1) for topic in subscriptions])
        client.publish(self._availability_topic, self._availability("online"), qos=1, retain=True)
        self._paho_connected.emit(True)

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:  # noqa: ANN001
        self._paho_connected.emit(False)

    def _on_message(self, client, userdata, message) -> None:  # noqa: ANN001
        self._paho_message.emit(message.topic, bytes(message.payload))

    # ------------------------------------------------------------------ Qt thread

    @Slot(bool)
    def _handle_broker_state(self, connected: bool) -> None:
        self._set_broker_connected(connected)

    def _set_broker_connected(self, connected: bool) -> None:
        if self.broker_connected != connected:
            self.broker_connected = connected
            self.broker_connection_changed.emit(connected)
        if not connected:
            # We will learn the hub's state again from its retained availability.
            self.hub_online = False
        self._update_connected()

    def _update_connected(self) -> None:
        connected = self.broker_connected and self.hub_online
        if connected != self._connected:
            self._connected = connected
            if connected:
                # Commands sent before or during the outage (the hub keeps no session across
                # its restarts): send them again now that our subscriptions are active and the
                # hub listens. Same request_id, so the hub never applies one twice.
                self._resend_pending()
            self.connection_changed.emit(connected)

    @Slot(str, bytes)
    def _handle_message(self, topic: str, payload: bytes) -> None:
        base = topics.sede_base(self.sede) + "/"
        if not topic.startswith(base):
            return
        rest = topic[len(base) :]
        if not payload:
            self._handle_cleared(rest)
            return
        try:
            self._dispatch(topic, rest, payload)
        except ValidationError as exc:
            log.warning("ignoring invalid payload on %s: %s", topic, exc.errors()[:1])
        except ValueError as exc:  # malformed JSON
            log.warning("ignoring malformed payload on %s: %s", topic, exc)

    def _dispatch(self, topic: str, rest: str, payload: bytes) -> None:
        parts = rest.split("/")
        if rest == "hub/availability":
            availability = Availability.model_validate_json(payload)
            self.hub_online = availability.state == "online"
            self._update_connected()
        elif rest == "config":
            self.sede_info = SedeInfo.model_validate_json(payload)
            self.config_changed.emit(self.sede_info)
        elif len(parts) == 3 and parts[0] == "queue" and parts[2] == "state":
            queue = QueueState.model_validate_json(payload)
            self.queues[queue.service_code] = queue
            self.queue_changed.emit(queue)
        elif len(parts) == 3 and parts[0] == "counter" and parts[2] == "state":
            counter = CounterState.model_validate_json(payload)
            self.counters[counter.counter_id] = counter
            self.counter_changed.emit(counter)
        elif rest == "display/state":
            self.display = DisplayState.model_validate_json(payload)
            self.display_changed.emit(self.display)
        elif rest == "event/call":
            self.call_received.emit(CallEvent.model_validate_json(payload))
        elif topic == topics.print_job(self.sede, self.device_id):
            self.print_job.emit(PrintJob.model_validate_json(payload))
        elif topic.startswith(self._response_prefix):
            response = CommandResponse.model_validate_json(payload)
            pending = self._pending.pop(response.correlation_id, None)
            if pending is None:
                return  # a duplicate answer to a retried command, or one that timed out
            pending.resolve(response)
            pending.deleteLater()

    def _handle_cleared(self, rest: str) -> None:
        """An empty retained payload removes the entity (a queue or counter taken out)."""
        parts = rest.split("/")
        if len(parts) == 3 and parts[0] == "queue" and parts[2] == "state":
            if self.queues.pop(parts[1], None) is not None:
                self.queue_removed.emit(parts[1])
        elif len(parts) == 3 and parts[0] == "counter" and parts[2] == "state":
            if self.counters.pop(parts[1], None) is not None:
                self.counter_removed.emit(parts[1])
