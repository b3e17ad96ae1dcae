"""The published states as the bridge's publisher reads them: QueueState rendered by SQLite
(QUEUE_TICKETS_JSON) must be exactly the line the Python rules give, and a StateReader reads
committed snapshots on its own connection without ever holding up the writer."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

from contracts.messages import CounterState, DisplayState, QueueState, TicketView
from hub.domain import ordering, queries
from hub.domain.queries import (
    QUEUE_REPRINTS_FEW_JSON,
    QUEUE_REPRINTS_JSON,
    QUEUE_STATE_MAX_REPRINTS,
    QUEUE_STATE_MAX_TICKETS,
    REPRINTS_COUNTED_MAX,
    estimate,
)

from .conftest import rows


def _reference_line(engine, db_path, service_code: str, clock) -> list[dict]:
    """The whole line built the slow way: every waiting row, ordering.order_line, the
    queries.ticket_view and queries.estimate."""
    waiting = [
        dict(r)
        for r in rows(
            db_path,
            "SELECT * FROM tickets WHERE status = 'waiting' AND service_code = ?",
            service_code,
        )
    ]
    due = ordering.due_limit(clock(), engine.config.queue.appointment_window_min)
    line = ordering.order_line(waiting, due_limit=due)
    with engine._snapshot() as conn:
        per_person, open_counters, _ = queries.service_pace(conn, service_code, engine.catalogue)
    views = []
    for index, ticket in enumerate(line):
        estimated = estimate(index, per_person, open_counters)
        view = queries.ticket_view(ticket, people_ahead=index, estimated=estimated)
        views.append(json.loads(view.model_dump_json()))
    return views


def _reference_tickets(engine, db_path, service_code: str, clock) -> list[dict]:
    """The head of the line, the slow way."""
    return _reference_line(engine, db_path, service_code, clock)[:QUEUE_STATE_MAX_TICKETS]


def _reference_reprints(engine, db_path, service_code: str, clock) -> list[dict]:
    """The flagged tickets behind the head, the slow way."""
    behind = _reference_line(engine, db_path, service_code, clock)[QUEUE_STATE_MAX_TICKETS:]
    return [t for t in behind if t["needs_reprint"]][:QUEUE_STATE_MAX_REPRINTS]


def test_queue_state_json_is_the_line_in_order_with_places_and_estimates(
    hub, engine, db_path, clock
):
    hub.open("v1")
    hub.open("v2", "luis")  # two open counters attend orientacion: estimates are numbers
    for seconds in (7, 8):  # an average service of 7.5 s: estimates that need rounding
        hub.issue("orientacion")
        hub.call_next("v1")
        hub.ok(hub.counter("v1", "start_attention"))
        clock.advance(seconds)
        hub.ok(hub.counter("v1", "finish_attention", outcome="atendido"))
    for index in range(12):
        clock.advance(7)
        category = "gestante" if index % 5 == 3 else "none"
        hub.issue("orientacion", preference_category=category)
    ticket = hub.issue("orientacion")
    hub.ok(hub.kiosk("report_print", ticket_id=ticket["ticket_id"], ok=False))  # needs_reprint
    called = hub.call_next("v2")
    hub.ok(hub.counter("v2", "transfer_ticket", to_counter_id="v1"))  # waiting, for v1 only
    state = engine.queue_state("orientacion")
    assert state.open_counters == 2
    published = [t.model_dump(mode="json") for t in state.tickets]
    expected = _reference_tickets(engine, db_path, "orientacion", clock)
    assert published == expected
    assert [t["people_ahead"] for t in published] == list(range(len(published)))
    # ~3.75 s a place (7.5 s / 2 counters), rounded: the second in line waits ~4 s, not 3
    assert [t["estimated_wait_s"] for t in published[:2]] == [0, 4]
    assert published[0]["preference_category"] == "gestante"  # preferential first
    assert any(t["needs_reprint"] for t in published)
    assert state.reprints == []  # the whole line is in the head: nobody flagged behind it
    assert any(t["ticket_id"] == called["ticket_id"] and t["counter_id"] == "v1" for t in published)
    assert state.waiting == len(published)


def test_queue_state_lists_at_most_the_head_and_counts_everyone(hub, engine, db_path, clock):
    for _ in range(QUEUE_STATE_MAX_TICKETS + 5):
        hub.issue("victimas")
    state = engine.queue_state("victimas")
    assert state.waiting == QUEUE_STATE_MAX_TICKETS + 5
    assert len(state.tickets) == QUEUE_STATE_MAX_TICKETS
    assert [t.number for t in state.tickets][:2] == ["V001", "V002"]  # oldest first
    assert [t.model_dump(mode="json") for t in state.tickets] == _reference_tickets(
        engine, db_path, "victimas", clock
    )
    assert all(t.estimated_wait_s is None for t in state.tickets)  # no open counter
    assert state.reprints == []


def test_flagged_tickets_behind_the_head_are_listed_apart_with_their_place(
    hub, engine, db_path, clock
):
    """A Mega ALEGRA morning: 130 waiting for one service, the kiosk could not print the
    120th. The head (100) cannot show it; `reprints` does, with its true place."""
    hub.open("v1")
    issued = []
    for index in range(130):
        clock.advance(20)
        category = "adulto_mayor" if index % 40 == 25 else "none"  # a few go ahead
        issued.append(hub.issue("orientacion", preference_category=category))
    far, near = issued[119], issued[4]
    for ticket in (far, near):
        hub.ok(hub.kiosk("report_print", ticket_id=ticket["ticket_id"], ok=False))
    state = engine.queue_state("orientacion")
    assert state.waiting == 130 and len(state.tickets) == QUEUE_STATE_MAX_TICKETS
    assert far["ticket_id"] not in {t.ticket_id for t in state.tickets}
    assert [t.ticket_id for t in state.tickets if t.needs_reprint] == [near["ticket_id"]]
    assert [t.ticket_id for t in state.reprints] == [far["ticket_id"]]  # not the head's again
    [behind] = state.reprints
    # 119 issued before it, 3 of those preferential (ahead anyway): still 119 ahead of it
    assert (behind.number, behind.needs_reprint, behind.people_ahead) == ("A120", True, 119)
    assert behind.estimated_wait_s is not None and behind.estimated_wait_s > 0
    dumped = [t.model_dump(mode="json") for t in state.reprints]
    assert dumped == _reference_reprints(engine, db_path, "orientacion", clock)
    assert [t.model_dump(mode="json") for t in state.tickets] == _reference_tickets(
        engine, db_path, "orientacion", clock
    )
    # devices read tolerantly (docs/mqtt.md, Versioning), so the hub itself must publish
    # exactly its contract's fields: none undeclared, none left to a device's default
    with engine._snapshot() as conn:
        raw = json.loads(engine.queue_state_json(conn, "orientacion"))
    assert set(raw) == set(QueueState.model_fields)
    for ticket in raw["tickets"] + raw["reprints"]:
        assert set(ticket) == set(TicketView.model_fields), ticket["number"]

    # a preferential person arriving now goes ahead of it: its place follows the line
    hub.issue("orientacion", preference_category="gestante")
    assert engine.queue_state("orientacion").reprints[0].people_ahead == 120

    # the counter orders the reprint; it goes to the kiosk that issued the ticket
    outcome = hub.counter("v1", "reprint_ticket", ticket_id=far["ticket_id"])
    assert outcome.ok, outcome.error
    [(device, job)] = outcome.prints
    assert device == "kiosk-1" and job.reprint and job.ticket.number == "A120"
    # still flagged until the kiosk says it printed
    assert [t.number for t in engine.queue_state("orientacion").reprints] == ["A120"]
    hub.ok(hub.kiosk("report_print", ticket_id=far["ticket_id"], ok=True))
    state = engine.queue_state("orientacion")
    assert state.reprints == [] and state.waiting == 131


def test_a_flagged_ticket_leaves_the_reprint_list_when_it_leaves_the_line(hub, engine):
    hub.open("v1")
    issued = [hub.issue("orientacion") for _ in range(QUEUE_STATE_MAX_TICKETS + 10)]
    far = issued[-1]
    hub.ok(hub.kiosk("report_print", ticket_id=far["ticket_id"], ok=False))
    assert [t.number for t in engine.queue_state("orientacion").reprints] == [far["number"]]
    hub.ok(hub.counter("v1", "call_ticket", ticket_id=far["ticket_id"]))  # called out of turn
    assert engine.queue_state("orientacion").reprints == []


def test_the_reprint_list_is_bounded_to_the_first_flagged_in_line(hub, engine, db_path, clock):
    extra = QUEUE_STATE_MAX_REPRINTS + 10
    issued = []
    for _ in range(QUEUE_STATE_MAX_TICKETS + extra):
        clock.advance(3)
        issued.append(hub.issue("victimas"))
    for ticket in issued[QUEUE_STATE_MAX_TICKETS:]:  # a printer out of paper for an hour
        hub.ok(hub.kiosk("report_print", ticket_id=ticket["ticket_id"], ok=False))
    with engine._snapshot() as conn:
        payload = engine.queue_state_json(conn, "victimas")
    state = QueueState.model_validate_json(payload)
    assert len(state.reprints) == QUEUE_STATE_MAX_REPRINTS
    expected = [t["number"] for t in issued[QUEUE_STATE_MAX_TICKETS:]][:QUEUE_STATE_MAX_REPRINTS]
    assert [t.number for t in state.reprints] == expected  # the nearest to being called
    assert [t.people_ahead for t in state.reprints] == list(
        range(QUEUE_STATE_MAX_TICKETS, QUEUE_STATE_MAX_TICKETS + QUEUE_STATE_MAX_REPRINTS)
    )
    assert [t.model_dump(mode="json") for t in state.reprints] == _reference_reprints(
        engine, db_path, "victimas", clock
    )
    # the largest queue state stays well under the broker's packet limit (docs/mqtt.md)
    assert len(payload) < 64 * 1024


def test_state_reader_renders_what_the_engine_models_say(hub, engine):
    hub.open("v1")
    hub.issue("orientacion")
    hub.issue("penal")
    hub.call_next("v1")
    reader = engine.open_state_reader()
    try:
        with reader.snapshot() as snap:
            queue = QueueState.model_validate_json(snap.queue_state_json("orientacion"))
            counter = CounterState.model_validate_json(snap.counter_state_json("v1"))
            display = DisplayState.model_validate_json(snap.display_state_json())
            assert snap.queue_state_json("notarias") is None  # unknown: nothing to publish
            assert snap.counter_state_json("v9") is None
            assert snap.service_codes() == ["orientacion", "penal", "victimas"]
    finally:
        reader.close()
    skip = {"msg_id", "ts"}
    assert queue.model_dump(exclude=skip) == engine.queue_state("orientacion").model_dump(
        exclude=skip
    )
    assert counter.model_dump(exclude=skip) == engine.counter_state("v1").model_dump(exclude=skip)
    assert display.model_dump(exclude=skip) == engine.display_state().model_dump(exclude=skip)
    assert counter.current is not None and counter.current.number == "A001"


def test_a_snapshot_is_consistent_and_never_holds_up_the_writer(hub, engine):
    hub.issue("orientacion")
    reader = engine.open_state_reader()
    try:
        with reader.snapshot() as snap:
            before = json.loads(snap.queue_state_json("orientacion"))["waiting"]
            # the writer commits while the read transaction is open (WAL): not blocked
            done = threading.Event()

            def issue() -> None:
                hub.issue("orientacion")
                done.set()

            writer = threading.Thread(target=issue)
            writer.start()
            assert done.wait(5), "a command waited for a state reader"
            writer.join()
            # still the snapshot's view: queue and display agree with each other
            assert json.loads(snap.queue_state_json("orientacion"))["waiting"] == before
            assert json.loads(snap.display_state_json())["waiting"]["orientacion"] == before
        with reader.snapshot() as snap:  # a new snapshot sees the commit
            assert json.loads(snap.queue_state_json("orientacion"))["waiting"] == before + 1
    finally:
        reader.close()
    assert before == 1


def _reprints_both_ways(engine, service_code: str, clock) -> list[list[dict]]:
    """The reprint list by counting each flagged ticket's place and by numbering the line."""
    with engine._snapshot() as conn:
        per_person, open_counters, _ = queries.service_pace(conn, service_code, engine.catalogue)
        params = {
            "code": service_code,
            "due": ordering.due_limit(clock(), engine.config.queue.appointment_window_min),
            "per": per_person,
            "open": open_counters,
            "skip": QUEUE_STATE_MAX_TICKETS,
            "limit": QUEUE_STATE_MAX_REPRINTS,
        }
        few = conn.execute(QUEUE_REPRINTS_FEW_JSON, params).fetchall()
        many = conn.execute(QUEUE_REPRINTS_JSON, params).fetchall()
    return [
        [TicketView.model_validate_json(row[0]).model_dump(mode="json") for row in rows_]
        for rows_ in (few, many)
    ]


def test_both_ways_to_the_reprint_list_agree_on_a_mixed_line(hub, engine, db_path, clock):
    """Preferential people, an appointment that becomes due and a ticket sent to one counter:
    counted places and the numbered line give the same list, the Python rules' list."""
    hub.open("v1")
    hub.open("v2", "luis")
    engine.add_appointment(
        code="cita-7", service_code="orientacion", scheduled_at=clock.now + timedelta(hours=3)
    )
    issued = []
    for index in range(120):
        clock.advance(30)
        if index == 105:  # checked in early: in line by arrival until its time comes
            checkin = hub.kiosk("checkin_appointment", appointment_code="CITA-7")
            issued.append(hub.ok(checkin)["ticket"])
        else:
            category = "discapacidad" if index % 30 == 10 else "none"
            issued.append(hub.issue("orientacion", preference_category=category))
    hub.call_next("v2")
    hub.ok(hub.counter("v2", "transfer_ticket", to_counter_id="v1"))  # waiting, for v1 only

    def check(expected_numbers: list[str]) -> None:
        state = engine.queue_state("orientacion")
        reference = _reference_reprints(engine, db_path, "orientacion", clock)
        assert [t["number"] for t in reference] == expected_numbers
        assert [t.model_dump(mode="json") for t in state.reprints] == reference
        few, many = _reprints_both_ways(engine, "orientacion", clock)
        assert few == many == reference

    assert 2 <= REPRINTS_COUNTED_MAX < 6  # the first two counted, then six: numbered
    for ticket in (issued[105], issued[117]):  # few: the hub counts their places
        hub.ok(hub.kiosk("report_print", ticket_id=ticket["ticket_id"], ok=False))
    check(["A106", "A118"])
    for ticket in (issued[102], issued[110], issued[111], issued[119]):  # more: line numbered
        hub.ok(hub.kiosk("report_print", ticket_id=ticket["ticket_id"], ok=False))
    check(["A103", "A106", "A111", "A112", "A118", "A120"])
    # the appointment's time comes: it goes ahead of the walk-ins, into the head
    clock.advance(hours=2, minutes=30)
    check(["A103", "A111", "A112", "A118", "A120"])
    head = engine.queue_state("orientacion").tickets
    assert any(t.ticket_id == issued[105]["ticket_id"] and t.needs_reprint for t in head)
