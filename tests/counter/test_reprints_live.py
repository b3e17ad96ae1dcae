"""Reprinting a ticket far back in a long line, end to end: a real hub (engine + bridge) over
Mosquitto, a kiosk whose print failed, and the counter app's view-model and window on its
HubClient. The hub's queue state lists only the head of the line (100); a flagged ticket
further back must still reach the counter's reprint list."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtGui import QImage

from contracts import mqtt as topics
from counter.style import stylesheet
from counter.viewmodel import CounterViewModel
from counter.views import CounterWindow
from hub.domain.queries import QUEUE_STATE_MAX_REPRINTS, QUEUE_STATE_MAX_TICKETS
from hub.mqtt_client import DeviceClient, StateWatcher
from qtcommon.screenshot import distinct_colours, save_png

pytestmark = pytest.mark.mqtt

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "counter"
TIMEOUT_MS = 20000


@pytest.fixture
def kiosk(hub, mqtt_broker, sede_id):
    client = DeviceClient(
        sede_id=sede_id,
        role="kiosk",
        device_id="kiosk-1",
        host=mqtt_broker.host,
        port=mqtt_broker.port,
    ).connect()
    yield client
    client.close()


@pytest.fixture
def print_jobs(hub, mqtt_broker, sede_id):
    """What reaches kiosk-1's print topic (the reprints a counter orders)."""
    topic = topics.print_job(sede_id, "kiosk-1")
    watch = StateWatcher(
        sede_id=sede_id, host=mqtt_broker.host, port=mqtt_broker.port, extra_filters=(topic,)
    ).connect()
    jobs: list[dict] = []
    watch.add_listener(lambda t, payload: jobs.append(payload) if t == topic else None)
    yield jobs
    watch.close()


def issue(kiosk: DeviceClient, count: int) -> list[dict]:
    tickets = []
    for _ in range(count):
        response = kiosk.request("issue_ticket", {"service_code": "orientacion"})
        assert response.status == "ok", response.error
        tickets.append(response.result["ticket"])
    return tickets


def report_print(kiosk: DeviceClient, ticket: dict, *, ok: bool) -> None:
    response = kiosk.request("report_print", {"ticket_id": ticket["ticket_id"], "ok": ok})
    assert response.status == "ok", response.error


def numbers(model: CounterViewModel) -> list[str]:
    return [t.number for t in model.reprint_candidates()]


def test_a_failed_print_far_back_in_the_line_is_reprinted_from_the_counter(
    hub, kiosk, print_jobs, open_counter, qtbot
):
    model = open_counter
    tickets = issue(kiosk, 130)
    far = tickets[119]
    report_print(kiosk, far, ok=False)
    qtbot.waitUntil(lambda: numbers(model) == ["A120"], timeout=TIMEOUT_MS)
    queue = model.queues["orientacion"]
    assert queue.waiting == 130 and len(queue.tickets) == QUEUE_STATE_MAX_TICKETS
    assert far["ticket_id"] not in {t.ticket_id for t in queue.tickets}  # not in the head
    [candidate] = model.reprint_candidates()
    assert (candidate.ticket_id, candidate.people_ahead) == (far["ticket_id"], 119)

    # the clerk sees it and presses its button: the hub sends the reprint to the kiosk
    window = CounterWindow(model)
    window.setStyleSheet(stylesheet())
    qtbot.addWidget(window)
    window.work_page.queue.refresh()
    shot = save_png(window, ARTIFACTS / "counter-reprint-far-back.png", (1366, 768))
    assert distinct_colours(QImage(str(shot))) > 4
    button = window.work_page.queue.reprint_buttons[far["ticket_id"]]
    assert button.text() == "Reimprimir A120" and button.isEnabled()
    button.click()
    qtbot.waitUntil(
        lambda: any(j["ticket"]["number"] == "A120" for j in print_jobs), timeout=TIMEOUT_MS
    )
    qtbot.waitUntil(lambda: model.busy_action is None, timeout=TIMEOUT_MS)
    assert model.error == ""
    assert [j["reprint"] for j in print_jobs] == [True]
    # flagged until the kiosk prints it; then it leaves the list (and the window's buttons)
    assert numbers(model) == ["A120"]
    report_print(kiosk, far, ok=True)
    qtbot.waitUntil(lambda: numbers(model) == [], timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: not window.work_page.queue.reprint_buttons, timeout=TIMEOUT_MS)
    assert model.queues["orientacion"].waiting == 130


def test_the_counters_reprint_list_is_bounded(hub, kiosk, open_counter, qtbot):
    """A kiosk out of paper for a while: more flagged tickets behind the head than the hub
    lists. The counter gets the first ones in line (the nearest to being called)."""
    model = open_counter
    extra = QUEUE_STATE_MAX_REPRINTS + 10
    tickets = issue(kiosk, QUEUE_STATE_MAX_TICKETS + extra)
    near = tickets[3]
    report_print(kiosk, near, ok=False)  # one in the head too
    for ticket in tickets[QUEUE_STATE_MAX_TICKETS:]:
        report_print(kiosk, ticket, ok=False)
    behind = [t["number"] for t in tickets[QUEUE_STATE_MAX_TICKETS:]]
    expected = [near["number"], *behind[:QUEUE_STATE_MAX_REPRINTS]]
    qtbot.waitUntil(lambda: numbers(model) == expected, timeout=TIMEOUT_MS)
    assert len(model.queues["orientacion"].reprints) == QUEUE_STATE_MAX_REPRINTS
    # one reprinted and printed: the next one in line takes its place in the list
    report_print(kiosk, tickets[QUEUE_STATE_MAX_TICKETS], ok=True)
    expected = [near["number"], *behind[1 : QUEUE_STATE_MAX_REPRINTS + 1]]
    qtbot.waitUntil(lambda: numbers(model) == expected, timeout=TIMEOUT_MS)
