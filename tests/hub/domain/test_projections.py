"""The published states as the bridge's publisher reads them: QueueState rendered by SQLite
(QUEUE_TICKETS_JSON) must be exactly the line the Python rules give, and a StateReader reads
committed snapshots on its own connection without ever holding up the writer."""

from __future__ import annotations

import json
import threading

from contracts.messages import CounterState, DisplayState, QueueState
from hub.domain import ordering
from hub.domain.engine import QUEUE_STATE_MAX_TICKETS, _estimate

from .conftest import rows


def _reference_tickets(engine, db_path, service_code: str, clock) -> list[dict]:
    """The head of the line built the slow way: every waiting row, ordering.order_line, the
    engine's own _view and _estimate."""
    waiting = [
        dict(r)
        for r in rows(
            db_path,
            "SELECT * FROM tickets WHERE status = 'waiting' AND service_code = ?",
            service_code,
        )
    ]
    due = ordering.due_limit(clock(), engine.config.queue.appointment_window_min)
    line = ordering.order_line(waiting, due_limit=due)[:QUEUE_STATE_MAX_TICKETS]
    with engine._snapshot() as conn:
        per_person, open_counters, _ = engine._service_pace(conn, service_code)
    views = []
    for index, ticket in enumerate(line):
        estimated = _estimate(index, per_person, open_counters)
        view = engine._view(ticket, people_ahead=index, estimated=estimated)
        views.append(json.loads(view.model_dump_json()))
    return views


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
