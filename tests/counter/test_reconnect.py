"""The counter through hub outages: a command in flight when the hub goes away is applied once
when it is back (same request id, idempotent hub); a command the user repeats after a timeout
reuses the lost one's request id."""

from __future__ import annotations

import pytest

from counter.hub_link import HubSender
from counter.viewmodel import Phase
from hub.mqtt_client import DeviceClient

pytestmark = pytest.mark.mqtt


def kiosk_issue(mqtt_broker, sede_id, count: int) -> list[str]:
    kiosk = DeviceClient(
        sede_id=sede_id,
        role="kiosk",
        device_id="kiosk-1",
        host=mqtt_broker.host,
        port=mqtt_broker.port,
    ).connect()
    try:
        numbers = []
        for _ in range(count):
            response = kiosk.request("issue_ticket", {"service_code": "orientacion"})
            assert response.status == "ok", response.error
            numbers.append(response.result["ticket"]["number"])
        return numbers
    finally:
        kiosk.close()


def test_command_in_flight_during_an_outage_is_applied_once(
    hub, open_counter, qtbot, mqtt_broker, sede_id
):
    model = open_counter
    first, second = kiosk_issue(mqtt_broker, sede_id, 2)
    qtbot.waitUntil(lambda: model.waiting_total() == 2, timeout=20000)
    hub.stop()
    model.call_next()  # sent before the counter learns the hub is gone: nobody hears it
    qtbot.waitUntil(lambda: not model.connected, timeout=20000)
    assert model.busy_action == "call_next"
    assert not any(model.enabled(a) for a in ("call_next", "recall", "start", "close"))
    hub.start()  # the client re-sends with the same request id once the hub is online
    qtbot.waitUntil(lambda: model.phase == Phase.CALLING, timeout=20000)
    assert model.error == ""
    called = model.current.number
    assert called in (first, second)
    qtbot.waitUntil(lambda: model.waiting_total() == 1, timeout=20000)
    # applied exactly once: one ticket called, the other still waiting
    assert [t.number for row in model.service_rows() for t in row.tickets] == [
        second if called == first else first
    ]
    calls = hub.engine._conn.execute(
        "SELECT COUNT(*) FROM ticket_events WHERE event_type = 'called'"
    ).fetchone()[0]
    assert calls == 1


def test_repeating_a_command_after_a_timeout_reuses_its_request_id(hub, make_client, qtbot):
    client = make_client("counter", "v2")
    qtbot.waitUntil(lambda: client.connected, timeout=20000)
    sender = HubSender(client, timeout_s=0.5)
    hub.stop()
    answers = []
    sender("sign_in", {"username": "luis", "password": "demo-ventanilla-2"}, answers.append)
    lost_id = sender.last_request_id
    qtbot.waitUntil(lambda: len(answers) == 1, timeout=5000)
    assert answers[0].error.code == "hub_unreachable"
    hub.start()
    qtbot.waitUntil(lambda: client.connected, timeout=20000)
    sender.timeout_s = 8
    sender("sign_in", {"username": "luis", "password": "demo-ventanilla-2"}, answers.append)
    assert sender.last_request_id == lost_id
    qtbot.waitUntil(lambda: len(answers) == 2, timeout=20000)
    assert answers[1].status == "ok"
    # a different command gets a fresh id
    sender("sign_out", {}, answers.append)
    assert sender.last_request_id != lost_id
