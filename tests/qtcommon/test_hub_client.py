"""HubClient against a real Mosquitto with a scripted hub."""

from __future__ import annotations

import time

import pytest

from contracts import mqtt as topics
from contracts.errors import ErrorCode
from contracts.messages import (
    CallEvent,
    CallView,
    CounterState,
    DisplayState,
    PrintJob,
    QueueState,
    SedeInfo,
    TicketStatus,
    TicketView,
)
from contracts.mqtt import Action, Role
from qtcommon.hub_client import HubClient, parse_hub_address

from .conftest import FakeHubResponder, ok, sample_queue

pytestmark = pytest.mark.mqtt


@pytest.fixture
def make_client(qtbot, mqtt_broker, sede_id):
    clients: list[HubClient] = []

    def make(role=Role.KIOSK, device_id="kiosk-1", *, port=None, connect=False) -> HubClient:
        """A HubClient for the test's sede; with ``connect``, started and connected."""
        client = HubClient(
            host=mqtt_broker.host,
            port=port or mqtt_broker.port,
            sede=sede_id,
            role=role,
            device_id=device_id,
            reconnect_min_s=0.2,
            reconnect_max_s=1.0,
        )
        clients.append(client)
        if connect:
            with qtbot.waitSignal(client.connection_changed, timeout=10_000):
                client.start()
        return client

    yield make
    for client in clients:
        client.stop()


def test_parse_hub_address():
    assert parse_hub_address("hub.local") == ("hub.local", 1883)
    assert parse_hub_address("10.0.0.5:1884") == ("10.0.0.5", 1884)
    with pytest.raises(ValueError, match="puerto"):
        parse_hub_address("hub:abc")
    with pytest.raises(ValueError, match="rango"):
        parse_hub_address("hub:70000")


def test_retained_state_is_cached_and_emitted(qtbot, fake_hub, make_client, sede_id):
    fake_hub()
    client = make_client()
    with qtbot.waitSignals(
        [
            client.config_changed,
            client.queue_changed,
            client.counter_changed,
            client.display_changed,
            client.connection_changed,
        ],
        timeout=10_000,
    ):
        client.start()
    assert client.connected
    assert isinstance(client.sede_info, SedeInfo) and client.sede_info.sede_id == sede_id
    assert isinstance(client.queues["orientacion"], QueueState)
    assert isinstance(client.counters["v1"], CounterState)
    assert isinstance(client.display, DisplayState)


def test_queue_update_replaces_cache_and_events_are_typed(qtbot, fake_hub, make_client, sede_id):
    hub = fake_hub()
    client = make_client(Role.DISPLAY, "display-1", connect=True)
    with qtbot.waitSignal(
        client.queue_changed, timeout=5000, check_params_cb=lambda q: q.waiting == 9
    ):
        hub.publish(
            topics.queue_state(sede_id, "orientacion"),
            sample_queue(waiting=9).model_dump_json(),
            retain=True,
        )
    assert client.queues["orientacion"].waiting == 9

    call = sample_call("A007")
    with qtbot.waitSignal(client.call_received, timeout=5000) as blocker:
        hub.publish(topics.call_event(sede_id), call.model_dump_json())
    assert blocker.args[0].call.number == "A007"


def test_cleared_retained_state_removes_the_entity_and_says_so(
    qtbot, fake_hub, make_client, sede_id
):
    """A service or counter taken out of the sede's configuration: the hub clears its
    retained state (empty payload); the client drops it and tells the app."""
    hub = fake_hub()
    client = make_client(Role.COUNTER, "v1", connect=True)
    qtbot.waitUntil(lambda: "v1" in client.counters and "orientacion" in client.queues)
    with qtbot.waitSignal(client.counter_removed, timeout=5000) as removed:
        hub.publish(topics.counter_state(sede_id, "v1"), b"", retain=True)
    assert removed.args == ["v1"] and "v1" not in client.counters
    with qtbot.waitSignal(client.queue_removed, timeout=5000) as removed:
        hub.publish(topics.queue_state(sede_id, "orientacion"), b"", retain=True)
    assert removed.args == ["orientacion"] and "orientacion" not in client.queues


def test_garbage_payloads_are_ignored(qtbot, fake_hub, make_client, sede_id):
    hub = fake_hub()
    client = make_client(connect=True)
    hub.publish(topics.config_topic(sede_id), "{not json", retain=False)
    hub.publish(topics.queue_state(sede_id, "x"), '{"v": 1}', retain=False)
    with qtbot.waitSignal(client.queue_changed, timeout=5000):
        hub.publish(
            topics.queue_state(sede_id, "orientacion"), sample_queue(waiting=4).model_dump_json()
        )
    assert client.sede_info is not None and client.sede_info.name == "Centro ALEGRA Prueba"
    assert "x" not in client.queues


def test_a_newer_hubs_added_fields_do_not_stop_an_older_device(
    qtbot, fake_hub, make_client, sede_id
):
    """A counter PC that missed the sede's upgrade: the hub now publishes fields (top level and
    nested) this build does not know. It must still follow the queue, the counters, the calls
    and the answers (docs/mqtt.md, Versioning); what it cannot read at all is still ignored."""
    import json

    def newer(model) -> str:
        document = json.loads(model.model_dump_json())
        document["added_in_a_later_release"] = {"any": ["shape"]}
        for ticket in document.get("tickets", []):
            ticket["also_new"] = 1
        return json.dumps(document)

    hub = fake_hub()
    client = make_client(Role.COUNTER, "v1", connect=True)
    with qtbot.waitSignal(
        client.queue_changed, timeout=5000, check_params_cb=lambda q: q.waiting == 12
    ):
        queue = sample_queue(waiting=12).model_copy(update={"tickets": [sample_ticket("A012")]})
        hub.publish(topics.queue_state(sede_id, "orientacion"), newer(queue), retain=True)
    assert client.queues["orientacion"].tickets[0].number == "A012"  # nested ones read too
    call = sample_call("A012")
    with qtbot.waitSignal(client.call_received, timeout=5000) as blocker:
        hub.publish(topics.call_event(sede_id), newer(call))
    assert blocker.args[0].call.number == "A012"
    with qtbot.waitSignal(
        client.config_changed, timeout=5000, check_params_cb=lambda i: i.name == "Sede nueva"
    ):
        info = client.sede_info.model_copy(update={"name": "Sede nueva"})
        hub.publish(topics.config_topic(sede_id), newer(info), retain=True)


def test_print_job_only_for_this_device(qtbot, fake_hub, make_client, sede_id):
    hub = fake_hub()
    client = make_client(Role.KIOSK, "kiosk-2", connect=True)
    job = PrintJob(
        ticket=sample_ticket("A001"),
        sede_name="Centro",
        service_name="Orientación legal",
        reprint=True,
    )
    received: list[PrintJob] = []
    client.print_job.connect(received.append)
    hub.publish(topics.print_job(sede_id, "kiosk-9"), job.model_dump_json())
    with qtbot.waitSignal(client.print_job, timeout=5000):
        hub.publish(topics.print_job(sede_id, "kiosk-2"), job.model_dump_json())
    assert [j.ticket.number for j in received] == ["A001"]


def test_request_gets_its_answer(qtbot, fake_hub, make_client):
    hub = fake_hub(lambda role, device, action, req: ok(req, {"role": role, "device": device}))
    client = make_client(Role.COUNTER, "v1", connect=True)
    pending = client.request(Action.CALL_NEXT, {}, timeout_s=5)
    with qtbot.waitSignal(pending.finished, timeout=6000) as blocker:
        pass
    response = blocker.args[0]
    assert response.status == "ok"
    assert response.correlation_id == pending.correlation_id
    assert response.result == {"role": "counter", "device": "v1"}
    assert [r[2] for r in hub.requests] == ["call_next"]
    assert client.pending_count == 0


def test_timeout_gives_local_spanish_error(qtbot, fake_hub, make_client):
    fake_hub(lambda *args: None)  # the hub never answers
    client = make_client(connect=True)
    started = time.monotonic()
    pending = client.request(Action.ISSUE_TICKET, {"service_code": "orientacion"}, timeout_s=0.5)
    with qtbot.waitSignal(pending.finished, timeout=3000) as blocker:
        pass
    assert time.monotonic() - started >= 0.45
    response = blocker.args[0]
    assert response.status == "error"
    assert response.error.code == ErrorCode.HUB_UNREACHABLE
    assert response.error.message == "No hay conexión con el servidor de la sede."
    assert response.request_id == pending.request_id


def test_request_while_broker_unreachable_times_out(qtbot, sede_id, free_tcp_port):
    client = HubClient(
        host="127.0.0.1", port=free_tcp_port, sede=sede_id, role="kiosk", device_id="k1"
    )
    client.start()
    try:
        pending = client.request(Action.ISSUE_TICKET, {"service_code": "a"}, timeout_s=0.3)
        with qtbot.waitSignal(pending.finished, timeout=3000) as blocker:
            pass
        assert blocker.args[0].error.code == ErrorCode.HUB_UNREACHABLE
        assert not client.connected
    finally:
        client.stop()


def test_device_availability_online_then_offline(qtbot, fake_hub, make_client):
    hub = fake_hub()
    client = make_client(Role.KIOSK, "kiosk-3", connect=True)
    qtbot.waitUntil(lambda: hub.availability.get("kiosk-3") == "online", timeout=5000)
    client.stop()
    qtbot.waitUntil(lambda: hub.availability.get("kiosk-3") == "offline", timeout=5000)


def test_hub_last_will_marks_disconnected(qtbot, fake_hub, make_client):
    hub = fake_hub()
    client = make_client(connect=True)
    assert client.connected
    with qtbot.waitSignal(
        client.connection_changed, timeout=10_000, check_params_cb=lambda c: c is False
    ):
        hub.crash()
    assert client.broker_connected  # the broker is fine; the hub is gone
    assert not client.hub_online


def test_connected_only_when_hub_online(qtbot, mqtt_broker, make_client, sede_id):
    client = make_client()
    with qtbot.waitSignal(client.broker_connection_changed, timeout=10_000):
        client.start()
    qtbot.wait(300)
    assert client.broker_connected and not client.connected
    hub = FakeHubResponder(mqtt_broker.host, mqtt_broker.port, sede_id)
    try:
        with qtbot.waitSignal(client.connection_changed, timeout=10_000):
            hub.start()
        assert client.connected
    finally:
        hub.stop()


def test_request_survives_broker_restart_with_same_request_id(qtbot, private_broker, sede_id):
    answered = {"count": 0}

    def handler(role, device, action, request):
        # The first copy "gets lost" (the hub went down before answering); the retry is answered.
        answered["count"] += 1
        if answered["count"] == 1:
            return None
        return ok(request, {"number": "A001"})

    hub = FakeHubResponder("127.0.0.1", private_broker.port, sede_id, handler).start()
    client = HubClient(
        host="127.0.0.1",
        port=private_broker.port,
        sede=sede_id,
        role=Role.KIOSK,
        device_id="kiosk-1",
        reconnect_min_s=0.2,
        reconnect_max_s=0.5,
    )
    try:
        with qtbot.waitSignal(client.connection_changed, timeout=10_000):
            client.start()
        pending = client.request(Action.ISSUE_TICKET, {"service_code": "orientacion"}, timeout_s=20)
        qtbot.waitUntil(lambda: len(hub.requests) == 1, timeout=5000)

        with qtbot.waitSignal(
            client.connection_changed, timeout=10_000, check_params_cb=lambda c: c is False
        ):
            private_broker.stop()
        assert not pending.done
        private_broker.restart()

        with qtbot.waitSignal(pending.finished, timeout=15_000) as blocker:
            pass
        assert blocker.args[0].status == "ok"
        assert blocker.args[0].result == {"number": "A001"}
        request_ids = {request.request_id for *_, request in hub.requests}
        correlation_ids = {request.correlation_id for *_, request in hub.requests}
        assert len(hub.requests) >= 2
        assert request_ids == {pending.request_id}
        assert correlation_ids == {pending.correlation_id}
        assert client.connected
    finally:
        client.stop()
        hub.stop()


def time_now():
    from datetime import UTC, datetime

    return datetime.now(UTC)


def sample_ticket(number: str) -> TicketView:
    return TicketView(
        ticket_id=f"t-{number}",
        number=number,
        service_code="orientacion",
        status=TicketStatus.WAITING,
        issued_at=time_now(),
        arrived_at=time_now(),
    )


def sample_call(number: str) -> CallEvent:
    return CallEvent(
        call=CallView(
            number=number,
            service_code="orientacion",
            counter_id="v1",
            counter_name="Ventanilla 1",
            counter_number=1,
            called_at=time_now(),
        )
    )


def test_request_made_while_hub_offline_is_sent_when_it_comes_back(
    qtbot, mqtt_broker, make_client, sede_id
):
    client = make_client()
    with qtbot.waitSignal(client.broker_connection_changed, timeout=10_000):
        client.start()
    pending = client.request(Action.ISSUE_TICKET, {"service_code": "orientacion"}, timeout_s=10)
    assert pending.attempts == 0  # nobody listening yet: nothing published
    hub = FakeHubResponder(mqtt_broker.host, mqtt_broker.port, sede_id)
    try:
        hub.start()
        with qtbot.waitSignal(pending.finished, timeout=8000) as blocker:
            pass
        assert blocker.args[0].status == "ok"
        assert pending.attempts == 1
        assert [r.request_id for *_, r in hub.requests] == [pending.request_id]
    finally:
        hub.stop()
