"""MQTT bridge of the sede hub: drives a QueueEngine from the broker and publishes its state.

paho's network thread only enqueues; one worker thread (the command lane) takes every request
already queued (up to ``GROUP_MAX``), decodes them, runs them on the engine together
(``execute_many``: one transaction and one fsync, each command still atomic in its own
savepoint), and only after that commit answers each on its response topic and publishes the
call events and print jobs it produced, command by command in arrival order. Sign-in (argon2,
slow on purpose) runs its engine call on a second thread and hands the outcome back to the
worker. The worker also runs the engine's housekeeping every few seconds.

The retained states (config, queues, counters, display) are NOT rendered on the command lane:
the worker only marks what a committed command changed, and the publisher thread renders and
publishes it from its own read-only SQLite connection (``open_state_reader``; WAL lets it read
while the worker writes). The publisher coalesces: whatever was marked while it was busy is
rendered once, from one snapshot taken after those commits. It is the only thread that
publishes retained state, each round reads a snapshot no older than the previous round's, and
a mark is only made after its commit, so retained state is never published before its commit,
never goes back to an older state, and always ends at the latest committed one (``version``
counts marks; ``published_version`` says up to which mark everything is out). After each
(re)connect the publisher republishes every retained state, then announces ``online``.
"""

from __future__ import annotations

import logging
import queue
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from contracts import mqtt as topics
from contracts.errors import ErrorCode
from contracts.messages import Availability, CommandResponse
from contracts.mqtt import Action
from hub.logs import log_event
from hub.mqtt_client import set_nodelay
from hub.mqtt_requests import Command, Rejection, decode_request, error_body, parse_topic
from hub.ports import Actor, CommandOutcome, QueueEngine

log = logging.getLogger("hub.bridge")

QOS = 1
HUB_DEVICE_ID = "hub"
#: Commands that are slow by design (password hashing) and run on their own thread so that
#: tickets keep flowing meanwhile; their answer and publishing still go through the worker.
SLOW_ACTIONS = frozenset({Action.SIGN_IN})
#: Most requests the worker takes from its queue for one engine transaction (group commit).
GROUP_MAX = 64
#: The publisher renders retained states while the command lane is idle; under a steady stream
#: of commands it waits for a gap at most this long per round, then goes ahead anyway.
PUBLISH_MAX_DEFER_S = 0.05


@dataclass
class BridgeStats:
    """Counters for tests and logs; written by the worker (the slow lane only adds to
    ``internal_errors``)."""

    received: int = 0
    executed: int = 0
    rejected: int = 0
    ignored: int = 0
    internal_errors: int = 0
    republishes: int = 0
    housekeeping_runs: int = 0
    codes: dict[str, int] = field(default_factory=dict)


@dataclass
class _Marks:
    """Retained states waiting for the publisher (changed since its last round)."""

    everything: bool = False  # a full republish after a (re)connect, then "online"
    config: bool = False
    display: bool = False
    services: set[str] = field(default_factory=set)
    counters: set[str] = field(default_factory=set)
    removed_services: set[str] = field(default_factory=set)  # cleared (empty retained payload)
    removed_counters: set[str] = field(default_factory=set)

    def empty(self) -> bool:
        return not (
            self.everything
            or self.config
            or self.display
            or self.services
            or self.counters
            or self.removed_services
            or self.removed_counters
        )

    def merge(self, other: _Marks) -> None:
        self.everything |= other.everything
        self.config |= other.config
        self.display |= other.display
        self.services |= other.services
        self.counters |= other.counters
        self.removed_services |= other.removed_services
        self.removed_counters |= other.removed_counters


class _ModelStateReader:
    """State reader for an engine without ``open_state_reader`` (test doubles): renders each
    state through the QueueEngine model methods (each its own read)."""

    def __init__(self, engine: QueueEngine) -> None:
        self._engine = engine

    @contextmanager
    def snapshot(self) -> Iterator[_ModelStateReader]:
        yield self

    def sede_info_json(self) -> bytes:
        return self._engine.sede_info().model_dump_json().encode()

    def service_codes(self) -> list[str]:
        return [service.code for service in self._engine.sede_info().services]

    def counter_ids(self) -> list[str]:
        return [counter.counter_id for counter in self._engine.sede_info().counters]

    def queue_state_json(self, service_code: str) -> bytes | None:
        return self._engine.queue_state(service_code).model_dump_json().encode()

    def counter_state_json(self, counter_id: str) -> bytes | None:
        return self._engine.counter_state(counter_id).model_dump_json().encode()

    def display_state_json(self) -> bytes:
        return self._engine.display_state().model_dump_json().encode()

    def close(self) -> None:
        pass


@dataclass(frozen=True)
class MqttSettings:
    host: str = "127.0.0.1"
    port: int = 1883
    username: str | None = None
    password: str | None = None
    tls: bool = False
    ca_file: str | None = None
    keepalive_s: int = 30


class HubBridge:
    """Connects ``engine`` to the broker for ``sede_id``. ``start()``, then ``stop()``."""

    def __init__(
        self,
        engine: QueueEngine,
        *,
        sede_id: str,
        mqtt: MqttSettings | None = None,
        client_id: str | None = None,
        housekeeping_interval_s: float = 5.0,
    ) -> None:
        self.engine = engine
        self.sede_id = sede_id
        self.settings = mqtt or MqttSettings()
        self.client_id = client_id or f"alegra-hub-{sede_id}"
        self.housekeeping_interval_s = housekeeping_interval_s
        self.stats = BridgeStats()
        self._jobs: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._connected = threading.Event()
        self._republished = threading.Event()
        self._subscribed = threading.Event()  # the broker acknowledged the request filter
        self._stopping = threading.Event()
        self._worker: threading.Thread | None = None
        self._slow_jobs: queue.Queue[tuple[Command, float] | None] = queue.Queue()
        self._slow_lane: threading.Thread | None = None
        # retained state: marked by the worker after each commit, published by the publisher
        self._marks = _Marks()
        self._marks_cond = threading.Condition()
        self._version = 0  # marks made so far
        self._published_version = 0  # every mark up to this one is published
        self._publisher_stop = False
        self._publisher: threading.Thread | None = None
        # set while the worker waits for work: the publisher uses the gaps between commands,
        # so that its Python work (GIL) does not slow the command in flight
        self._lane_idle = threading.Event()
        self._lane_idle.set()
        self._client = self._make_client()
        self._last_open_now: bool | None = None
        self._devices: dict[str, str] = {}
        self._device_availability_filter = f"{topics.sede_base(sede_id)}/device/+/availability"
        #: called by the worker after each handled message (tests and the bench hook in here)
        self.on_handled: Callable[[str, str], None] | None = None

    # ------------------------------------------------------------------ lifecycle

    def _make_client(self) -> Any:
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            clean_session=True,  # requests sent while the hub was down are not replayed later
            protocol=mqtt.MQTTv311,
        )
        if self.settings.username:
            client.username_pw_set(self.settings.username, self.settings.password)
        if self.settings.tls:
            client.tls_set(ca_certs=self.settings.ca_file, tls_version=ssl.PROTOCOL_TLS_CLIENT)
        client.will_set(
            topics.hub_availability(self.sede_id),
            self._availability("offline"),
            qos=QOS,
            retain=True,
        )
        client.max_inflight_messages_set(200)
        client.reconnect_delay_set(min_delay=1, max_delay=10)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        return client

    def start(self, *, wait_s: float | None = None) -> bool:
        """Start the worker and the network loop. With ``wait_s``, wait until connected and
        every retained state is published; return whether that happened in time."""
        self._worker = threading.Thread(target=self._run_worker, name="hub-worker", daemon=True)
        self._worker.start()
        self._slow_lane = threading.Thread(
            target=self._run_slow_lane, name="hub-slow-lane", daemon=True
        )
        self._slow_lane.start()
        self._publisher = threading.Thread(
            target=self._run_publisher, name="hub-publisher", daemon=True
        )
        self._publisher.start()
        log_event(
            log,
            logging.INFO,
            "connecting to broker",
            event="mqtt_connecting",
            sede=self.sede_id,
            host=self.settings.host,
            port=self.settings.port,
        )
        self._client.connect_async(
            self.settings.host, self.settings.port, keepalive=self.settings.keepalive_s
        )
        self._client.loop_start()
        if wait_s is None:
            return True
        return self.wait_ready(wait_s)

    def wait_ready(self, timeout_s: float) -> bool:
        """Connected, subscribed (the broker's SUBACK is in: a request published from now on
        reaches the worker) and every retained state published."""
        deadline = time.monotonic() + timeout_s
        return self._subscribed.wait(timeout_s) and self._republished.wait(
            max(0.0, deadline - time.monotonic())
        )

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Drain queued requests, publish "offline" (retained) and disconnect. The engine is
        the caller's to close."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        if self._connected.is_set():
            self._client.unsubscribe(topics.request_filter(self.sede_id))
        self._jobs.put(("stop", None))
        if self._worker is not None:
            self._worker.join(timeout_s)
        with self._marks_cond:  # the publisher flushes what the last commands changed, then ends
            self._publisher_stop = True
            self._marks_cond.notify_all()
        if self._publisher is not None:
            self._publisher.join(timeout_s)
        if self._connected.is_set():
            info = self._client.publish(
                topics.hub_availability(self.sede_id),
                self._availability("offline"),
                qos=QOS,
                retain=True,
            )
            try:
                info.wait_for_publish(timeout_s)
            except (RuntimeError, ValueError):
                pass
        self._client.disconnect()
        self._client.loop_stop()
        log_event(log, logging.INFO, "bridge stopped", event="bridge_stopped", sede=self.sede_id)

    def __enter__(self) -> HubBridge:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ paho callbacks
    # These run in paho's network thread: never block here, only hand work to the worker.

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if reason.is_failure:
            log_event(
                log,
                logging.ERROR,
                "broker refused the connection",
                event="mqtt_refused",
                reason=str(reason),
            )
            return
        set_nodelay(client)
        self._connected.set()
        client.subscribe(
            [(topics.request_filter(self.sede_id), QOS), (self._device_availability_filter, QOS)]
        )
        log_event(
            log, logging.INFO, "connected to broker", event="mqtt_connected", sede=self.sede_id
        )
        self.republish_all()

    def _on_subscribe(self, client: Any, userdata: Any, mid: int, reasons: Any, props: Any) -> None:
        if any(reason.is_failure for reason in reasons):
            log_event(
                log,
                logging.ERROR,
                "broker refused a subscription",
                event="mqtt_subscribe_refused",
                reason=", ".join(str(reason) for reason in reasons),
            )
            return
        self._subscribed.set()

    def _on_disconnect(
        self, client: Any, userdata: Any, flags: Any, reason: Any, props: Any
    ) -> None:
        self._connected.clear()
        self._subscribed.clear()
        self._republished.clear()
        if not self._stopping.is_set():
            log_event(
                log,
                logging.WARNING,
                "disconnected from broker; reconnecting",
                event="mqtt_disconnected",
                reason=str(reason),
            )

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        if message.topic.endswith("/availability"):
            self._jobs.put(("availability", (message.topic, bytes(message.payload))))
            return
        if not message.payload:
            # An empty payload deletes a retained copy: the hub's own clearing of a stale
            # request (below) comes back to it on the request topic. Not a request: no answer.
            return
        if message.retain:
            # A request someone published with retain=True, handed to us because we just
            # subscribed: it is an old ask, not a new one. Never run it; clear it instead.
            self._jobs.put(("stale", message.topic))
            return
        self._lane_idle.clear()  # a command is coming: the publisher pauses at its next step
        self._jobs.put(("message", (message.topic, bytes(message.payload))))

    # ------------------------------------------------------------------ worker

    def _run_worker(self) -> None:
        next_housekeeping = time.monotonic() + self.housekeeping_interval_s
        held: tuple[str, Any] | None = None  # a job met while gathering a run of messages
        while True:
            timeout = max(0.0, next_housekeeping - time.monotonic())
            if held is not None:
                (kind, payload), held = held, None
            else:
                if self._jobs.empty():
                    self._lane_idle.set()
                try:
                    kind, payload = self._jobs.get(timeout=timeout)
                except queue.Empty:
                    kind, payload = "housekeeping", None
                self._lane_idle.clear()
            try:
                if kind == "stop":
                    self._drain()
                    self._lane_idle.set()  # nothing left to wait for
                    return
                if kind == "message":
                    messages, held = self._gather(payload)
                    self._handle_messages(messages)
                elif kind == "housekeeping":
                    self._housekeeping()
                elif kind == "stale":
                    self._clear_stale(payload)
                elif kind == "availability":
                    self._device_availability(*payload)
                elif kind == "outcome":
                    self._finish(*payload)
            except Exception as exc:  # the worker must survive anything a job throws
                self.stats.internal_errors += 1
                log.exception(
                    "worker job failed",
                    extra={"alegra_fields": {"event": "worker_error", "error": type(exc).__name__}},
                )
            if kind != "housekeeping" and time.monotonic() >= next_housekeeping:
                # a busy hub still does its housekeeping on time
                try:
                    self._housekeeping()
                except Exception as exc:
                    self.stats.internal_errors += 1
                    log.exception(
                        "housekeeping failed",
                        extra={
                            "alegra_fields": {"event": "worker_error", "error": type(exc).__name__}
                        },
                    )
            if kind == "housekeeping" or time.monotonic() >= next_housekeeping:
                next_housekeeping = time.monotonic() + self.housekeeping_interval_s

    def _gather(
        self, first: tuple[str, bytes]
    ) -> tuple[list[tuple[str, bytes]], tuple[str, Any] | None]:
        """``first`` plus the messages queued right behind it (up to GROUP_MAX), without
        waiting for more. Stops at the first other job and returns it, to run next in order."""
        messages = [first]
        while len(messages) < GROUP_MAX:
            try:
                kind, payload = self._jobs.get_nowait()
            except queue.Empty:
                return messages, None
            if kind != "message":
                return messages, (kind, payload)
            messages.append(payload)
        return messages, None

    def _drain(self) -> None:
        """Finish what was already received: queued messages, then the slow lane's work."""
        while True:
            try:
                kind, payload = self._jobs.get_nowait()
            except queue.Empty:
                break
            if kind == "message":
                self._handle_messages([payload])
            elif kind == "outcome":
                self._finish(*payload)
        self._slow_jobs.put(None)
        if self._slow_lane is not None:
            self._slow_lane.join(10)
        while True:
            try:
                kind, payload = self._jobs.get_nowait()
            except queue.Empty:
                return
            if kind == "outcome":
                self._finish(*payload)

    def _housekeeping(self) -> None:
        outcome = self.engine.housekeeping()
        self.stats.housekeeping_runs += 1
        # central's configuration applied (outcome.config_changed): the publisher sends the
        # config first in its round, so devices learn it before the states that follow it
        self._publish_outcome(outcome)
        info = self.engine.sede_info()
        if info.is_open_now != self._last_open_now:
            self._mark(_Marks(config=True))
            self._last_open_now = info.is_open_now

    def _device_availability(self, topic: str, payload: bytes) -> None:
        """Track (and log on change) which kiosks, displays and counters are online."""
        device_id = topic.split("/")[-2]
        try:
            state = Availability.model_validate_json(payload).state if payload else "offline"
        except ValueError:
            return
        if self._devices.get(device_id) != state:
            self._devices[device_id] = state
            log_event(
                log,
                logging.INFO if state == "online" else logging.WARNING,
                f"device {state}",
                event="device_availability",
                device=device_id,
                status=state,
            )

    def device_states(self) -> dict[str, str]:
        """Last known availability of each device ("online" / "offline")."""
        return dict(self._devices)

    def _clear_stale(self, topic: str) -> None:
        self.stats.ignored += 1
        if parse_topic(topic, self.sede_id) is not None:
            self._client.publish(topic, b"", qos=QOS, retain=True)  # deletes the retained copy
        log_event(
            log, logging.WARNING, "retained request ignored", event="stale_request", topic=topic
        )

    def _handle_messages(self, messages: list[tuple[str, bytes]]) -> None:
        """Decode each request (bad ones are answered at once, they touch nothing), run the
        valid fast ones in ONE engine transaction, then answer and publish each in order —
        only after that commit. Slow actions go to the slow lane as before."""
        fast: list[tuple[Command, float]] = []
        for topic, payload in messages:
            started = time.perf_counter()
            command = self._decode(topic, payload, started)
            if command is None:
                continue
            if command.action in SLOW_ACTIONS:
                # password hashing takes a few hundred ms on purpose: keep it off the main lane
                self._slow_jobs.put((command, started))
            else:
                fast.append((command, started))
        if not fast:
            return
        outcomes = self._run_engine_many([command for command, _ in fast])
        for (command, started), outcome in zip(fast, outcomes, strict=True):
            self._finish(command, outcome, started)

    def _decode(self, topic: str, payload: bytes, started: float) -> Command | None:
        self.stats.received += 1
        request_topic = parse_topic(topic, self.sede_id)
        if request_topic is None:
            self.stats.ignored += 1
            log_event(log, logging.WARNING, "ignored message", event="ignored", bytes=len(payload))
            return None
        decoded = decode_request(request_topic, payload)
        if isinstance(decoded, Rejection):
            self.stats.rejected += 1
            self._count(decoded.code)
            self._respond(request_topic.role, request_topic.device_id, request_topic.action,
                          decoded.response)  # fmt: skip
            log_event(
                log,
                logging.WARNING,
                "request rejected",
                event="command",
                role=request_topic.role,
                device=request_topic.device_id,
                action=request_topic.action,
                correlation_id=decoded.response.correlation_id,
                request_id=decoded.response.request_id,
                status="error",
                code=decoded.code,
                field=decoded.response.error.field if decoded.response.error else None,
                bytes=len(payload),
                duration_ms=round((time.perf_counter() - started) * 1000, 3),
            )
            self._notify(request_topic.action, decoded.code)
            return None
        return decoded

    def _run_slow_lane(self) -> None:
        while True:
            job = self._slow_jobs.get()
            if job is None:
                return
            command, started = job
            outcome = self._run_engine(command)
            # back to the worker: it alone answers and publishes, so states never go stale
            self._jobs.put(("outcome", (command, outcome, started)))

    def _run_engine_many(self, commands: list[Command]) -> list[CommandOutcome]:
        """One engine transaction for all of them (one fsync); a lone command uses ``execute``."""
        if len(commands) == 1:
            return [self._run_engine(commands[0])]
        batch = [
            (
                Actor(role=command.role, device_id=command.topic.device_id),
                command.action.value,
                command.request.params,
                command.request.request_id,
            )
            for command in commands
        ]
        try:
            return self.engine.execute_many(batch)
        except Exception as exc:
            self.stats.internal_errors += 1
            log.exception(
                "engine failed",
                extra={
                    "alegra_fields": {
                        "event": "engine_error",
                        "commands": len(commands),
                        "error": type(exc).__name__,
                    }
                },
            )
            return [
                CommandOutcome(status="error", error=error_body(ErrorCode.INTERNAL))
                for _ in commands
            ]

    def _run_engine(self, command: Command) -> CommandOutcome:
        request = command.request
        actor = Actor(role=command.role, device_id=command.topic.device_id)
        try:
            return self.engine.execute(
                actor=actor,
                action=command.action.value,
                params=request.params,
                request_id=request.request_id,
            )
        except Exception as exc:
            self.stats.internal_errors += 1
            log.exception(
                "engine failed",
                extra={
                    "alegra_fields": {
                        "event": "engine_error",
                        "action": command.action.value,
                        "request_id": request.request_id,
                        "error": type(exc).__name__,
                    }
                },
            )
            return CommandOutcome(status="error", error=error_body(ErrorCode.INTERNAL))

    def _finish(self, command: Command, outcome: CommandOutcome, started: float) -> None:
        request = command.request
        self.stats.executed += 1
        code = outcome.error.code if outcome.error else "ok"
        self._count(code)
        response = CommandResponse(
            correlation_id=request.correlation_id,
            request_id=request.request_id,
            status="ok" if outcome.ok else "error",
            result=outcome.result,
            error=outcome.error,
        )
        # The engine has committed by now: answer first, then everything the change touched.
        self._respond(command.role.value, command.topic.device_id, command.action.value, response)
        if not outcome.replayed:
            self._publish_outcome(outcome)
        log_event(
            log,
            logging.INFO,
            "command handled",
            event="command",
            role=command.role.value,
            device=command.topic.device_id,
            action=command.action.value,
            correlation_id=request.correlation_id,
            request_id=request.request_id,
            status=response.status,
            code=outcome.error.code if outcome.error else None,
            field=outcome.error.field if outcome.error else None,
            replayed=outcome.replayed or None,
            duration_ms=round((time.perf_counter() - started) * 1000, 3),
        )
        self._notify(command.action.value, code)

    def _count(self, code: str) -> None:
        self.stats.codes[code] = self.stats.codes.get(code, 0) + 1

    def _notify(self, action: str, code: str) -> None:
        if self.on_handled is not None:
            self.on_handled(action, code)

    # ------------------------------------------------------------------ publishing

    def _availability(self, state: str) -> bytes:
        return (
            Availability(state=state, device_id=HUB_DEVICE_ID, role="hub")
            .model_dump_json()
            .encode()
        )  # type: ignore[arg-type]

    def _publish_model(self, topic: str, model: BaseModel, *, retain: bool) -> None:
        self._client.publish(topic, model.model_dump_json().encode(), qos=QOS, retain=retain)

    def _respond(self, role: str, device_id: str, action: str, response: CommandResponse) -> None:
        self._publish_model(
            topics.response_topic(self.sede_id, role, device_id, action), response, retain=False
        )

    def _publish_outcome(self, outcome: CommandOutcome) -> int:
        """After a commit: publish at once what a person is waiting for — call events first,
        then print jobs — and mark the retained states the change touched for the publisher
        (``_run_publisher``), so that rendering them never delays the next command. Returns
        how many messages went out now."""
        sede = self.sede_id
        published = 0
        for call in outcome.calls:
            self._publish_model(topics.call_event(sede), call, retain=False)
            published += 1
        for device_id, job in outcome.prints:
            self._publish_model(topics.print_job(sede, device_id), job, retain=False)
            published += 1
        marks = _Marks(
            config=outcome.config_changed,
            display=outcome.display_changed,
            services=set(outcome.changed_services),
            counters=set(outcome.changed_counters),
            removed_services=set(outcome.removed_services),
            removed_counters=set(outcome.removed_counters),
        )
        if not marks.empty():
            self._mark(marks)
        return published

    # ------------------------------------------------------------------ retained state

    def _mark(self, marks: _Marks) -> int:
        """Queue retained states for the publisher; returns the version of this mark. Called
        only after the commit that changed them."""
        with self._marks_cond:
            self._marks.merge(marks)
            self._version += 1
            self._marks_cond.notify_all()
            return self._version

    @property
    def version(self) -> int:
        """How many times retained state was marked as changed."""
        return self._version

    @property
    def published_version(self) -> int:
        """Every retained state marked up to this version has been published."""
        return self._published_version

    def wait_published(self, timeout_s: float = 10.0) -> bool:
        """Wait until every retained state marked so far is published (tests, bench)."""
        deadline = time.monotonic() + timeout_s
        with self._marks_cond:
            target = self._version
            while self._published_version < target:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._marks_cond.wait(remaining)
            return True

    def republish_all(self) -> int:
        """Have the publisher publish every retained message the hub owns — config, each
        queue, each counter, the display — and then the hub's availability ("online"). Runs
        after every (re)connect. Returns the mark's version."""
        return self._mark(_Marks(everything=True))

    def _open_reader(self) -> Any:
        opener = getattr(self.engine, "open_state_reader", None)
        return opener() if opener is not None else _ModelStateReader(self.engine)

    def _run_publisher(self) -> None:
        reader = self._open_reader()
        try:
            while True:
                with self._marks_cond:
                    while self._marks.empty() and not self._publisher_stop:
                        self._marks_cond.wait()
                    if self._marks.empty():  # stopping, and everything is out
                        return
                    marks, self._marks = self._marks, _Marks()
                    version = self._version
                try:
                    self._publish_marked(reader, marks, time.monotonic() + PUBLISH_MAX_DEFER_S)
                except Exception as exc:  # keep the marks: the next round retries them
                    self.stats.internal_errors += 1
                    log.exception(
                        "publishing retained state failed",
                        extra={
                            "alegra_fields": {
                                "event": "publisher_error",
                                "error": type(exc).__name__,
                            }
                        },
                    )
                    with self._marks_cond:
                        if self._publisher_stop:
                            return
                        self._marks.merge(marks)
                        self._marks_cond.wait(0.5)
                    continue
                with self._marks_cond:
                    self._published_version = max(self._published_version, version)
                    self._marks_cond.notify_all()
        finally:
            reader.close()

    def _yield_to_commands(self, deadline: float) -> None:
        """Wait while the command lane is busy, but not past ``deadline``."""
        remaining = deadline - time.monotonic()
        if remaining > 0:
            self._lane_idle.wait(remaining)

    def _publish_marked(self, reader: Any, marks: _Marks, deadline: float) -> None:
        """One round: render every marked state from ONE read snapshot (all commits marked so
        far are in it), then publish them: config, cleared topics, display, counters, queues.
        Each step first lets a command in flight finish (``_yield_to_commands``)."""
        sede = self.sede_id
        out: list[tuple[str, bytes]] = []

        def render(topic: str, payload: bytes | None) -> None:
            if payload is not None:  # None: the sede has no such counter/service (any more)
                out.append((topic, payload))
            self._yield_to_commands(deadline)

        self._yield_to_commands(deadline)
        with reader.snapshot() as snap:
            if marks.everything or marks.config:
                render(topics.config_topic(sede), snap.sede_info_json())
            for counter_id in sorted(marks.removed_counters):
                out.append((topics.counter_state(sede, counter_id), b""))
            for service_code in sorted(marks.removed_services):
                out.append((topics.queue_state(sede, service_code), b""))
            counters, services = marks.counters, marks.services
            if marks.everything:
                counters, services = set(snap.counter_ids()), set(snap.service_codes())
            if marks.everything or marks.display:
                render(topics.display_state(sede), snap.display_state_json())
            for counter_id in sorted(counters - marks.removed_counters):
                render(topics.counter_state(sede, counter_id), snap.counter_state_json(counter_id))
            for service_code in sorted(services - marks.removed_services):
                render(topics.queue_state(sede, service_code), snap.queue_state_json(service_code))
        for topic, payload in out:
            self._yield_to_commands(deadline)
            self._client.publish(topic, payload, qos=QOS, retain=True)
        if marks.everything:
            self._client.publish(
                topics.hub_availability(sede), self._availability("online"), qos=QOS, retain=True
            )
            self.stats.republishes += 1
            self._republished.set()
            log_event(
                log,
                logging.INFO,
                "retained state republished",
                event="republish",
                published=len(out) + 1,
            )
