"""Order of service: preferential, due appointments, then first come first served (oldest
first!), counter weights across services, aging so no service starves."""

from __future__ import annotations

from datetime import timedelta

from hub.domain import ordering


def _ticket(ticket_id, arrived_at, *, service="a", preference="none", due=None, target=None):
    return {
        "id": ticket_id,
        "service_code": service,
        "arrived_at": arrived_at,
        "preference_category": preference,
        "appointment_due_at": due,
        "target_counter_id": target,
    }


def test_fifo_within_a_class_is_oldest_first_not_newest_first(hub, engine, clock):
    hub.open("v1")
    issued = []
    for _ in range(5):
        issued.append(hub.issue()["ticket_id"])
        clock.advance(45)
    line = [t.ticket_id for t in engine.queue_state("orientacion").tickets]
    assert line == issued  # oldest arrival at the head
    served = []
    for _ in range(5):
        served.append(hub.call_next("v1")["ticket_id"])
        hub.ok(hub.counter("v1", "finish_attention", outcome="no_se_presento"))
    assert served == issued
    assert served != list(reversed(issued))


def test_preferential_before_due_appointments_before_regular(hub, engine, clock):
    hub.open("v1")
    regular = hub.issue()["ticket_id"]
    clock.advance(10)
    engine.add_appointment(
        code="CITA-001", service_code="orientacion", scheduled_at=clock.now + timedelta(minutes=5)
    )
    appointment = hub.ok(hub.kiosk("checkin_appointment", appointment_code="CITA-001"))["ticket"][
        "ticket_id"
    ]
    clock.advance(10)
    preferential = hub.issue(preference_category="discapacidad")["ticket_id"]
    clock.advance(10)
    late_regular = hub.issue()["ticket_id"]
    expected = [preferential, appointment, regular, late_regular]
    assert [t.ticket_id for t in engine.queue_state("orientacion").tickets] == expected
    served = []
    for _ in expected:
        served.append(hub.call_next("v1")["ticket_id"])
        hub.ok(hub.counter("v1", "finish_attention", outcome="no_se_presento"))
    assert served == expected


def test_preferential_tickets_are_served_oldest_first_among_themselves(hub, clock):
    hub.open("v1")
    first = hub.issue(preference_category="adulto_mayor")["ticket_id"]
    clock.advance(5)
    second = hub.issue(preference_category="gestante")["ticket_id"]
    assert hub.call_next("v1")["ticket_id"] == first
    hub.ok(hub.counter("v1", "finish_attention", outcome="no_se_presento"))
    assert hub.call_next("v1")["ticket_id"] == second


def test_counter_weights_share_calls_across_its_services(hub, clock):
    # v2 attends orientacion (weight 3) and penal (weight 1)
    hub.open("v2")
    for _ in range(8):
        hub.issue("orientacion")
        hub.issue("penal")
    calls = []
    for _ in range(8):
        calls.append(hub.call_next("v2")["service_code"])
        hub.ok(hub.counter("v2", "finish_attention", outcome="no_se_presento"))
    assert calls.count("orientacion") == 6 and calls.count("penal") == 2
    # smooth: never more than 3 in a row of the heavier line, penal once per round of 4
    assert calls[:4].count("penal") == 1 and calls[4:].count("penal") == 1


def test_weighted_round_robin_state_survives_restart(hub, engine_factory, make_driver, clock):
    hub.open("v2")
    for _ in range(4):
        hub.issue("orientacion")
        hub.issue("penal")
    first = hub.call_next("v2")["service_code"]
    hub.ok(hub.counter("v2", "finish_attention", outcome="no_se_presento"))
    hub.engine.close()
    reopened = make_driver(engine_factory())
    rest = []
    for _ in range(3):
        rest.append(reopened.call_next("v2")["service_code"])
        reopened.ok(reopened.counter("v2", "finish_attention", outcome="no_se_presento"))
    assert sorted([first, *rest]) == ["orientacion", "orientacion", "orientacion", "penal"]


def test_aging_lets_a_starved_line_go_first(make_config, engine_factory, make_driver, clock):
    engine = engine_factory(make_config(aging_after_s=600))
    hub = make_driver(engine)
    hub.open("v2")
    old_penal = hub.issue("penal")["ticket_id"]
    hub.issue("penal")
    clock.advance(30)
    for _ in range(3):
        hub.issue("orientacion")
    # weights alone pick orientacion first; before aging that is what happens
    assert hub.call_next("v2")["service_code"] == "orientacion"
    hub.ok(hub.counter("v2", "finish_attention", outcome="no_se_presento"))
    clock.advance(600)
    # now the penal line's head has waited > aging_after_s and is older than every head
    assert hub.call_next("v2")["ticket_id"] == old_penal


def test_preferential_head_of_another_service_goes_before_regular(hub, clock):
    hub.open("v2")
    hub.issue("orientacion")
    clock.advance(5)
    pref = hub.issue("penal", preference_category="nino_acompanante")["ticket_id"]
    assert hub.call_next("v2")["ticket_id"] == pref


def test_appointment_outside_its_window_waits_by_arrival(hub, engine, clock):
    hub.open("v1")
    regular = hub.issue()["ticket_id"]
    engine.add_appointment(
        code="CITA-LATER", service_code="orientacion", scheduled_at=clock.now + timedelta(hours=2)
    )
    early = hub.ok(hub.kiosk("checkin_appointment", appointment_code="CITA-LATER"))["ticket"][
        "ticket_id"
    ]
    assert [t.ticket_id for t in engine.queue_state("orientacion").tickets] == [regular, early]
    clock.advance(minutes=110)  # within the 15-minute window of 12:00
    changed = engine.housekeeping()
    assert "orientacion" in changed.changed_services
    assert [t.ticket_id for t in engine.queue_state("orientacion").tickets] == [early, regular]


def test_order_line_pure_rules():
    limit = "2026-01-01T10:15:00.000000+00:00"
    tickets = [
        _ticket("t1", "2026-01-01T09:00:00.000000+00:00"),
        _ticket("t2", "2026-01-01T09:30:00.000000+00:00", preference="gestante"),
        _ticket("t3", "2026-01-01T09:10:00.000000+00:00", due="2026-01-01T10:10:00.000000+00:00"),
        _ticket("t4", "2026-01-01T08:00:00.000000+00:00", due="2026-01-01T11:00:00.000000+00:00"),
        _ticket("t5", "2026-01-01T09:20:00.000000+00:00", preference="adulto_mayor"),
    ]
    assert [t["id"] for t in ordering.order_line(tickets, due_limit=limit)] == [
        "t5",
        "t2",
        "t3",
        "t4",
        "t1",
    ]


def test_choose_next_direct_beats_everything_and_empty_is_none():
    heads = {"a": _ticket("h", "2026-01-01T08:00:00.000000+00:00", preference="gestante")}
    direct = [_ticket("d", "2026-01-01T09:00:00.000000+00:00", target="v1")]
    choice = ordering.choose_next(
        heads=heads, direct=direct, weights={"a": 1}, wrr_state={}, due_limit="", aging_limit=""
    )
    assert choice.ticket["id"] == "d" and choice.reason == "direct"
    assert (
        ordering.choose_next(
            heads={}, direct=[], weights={"a": 1}, wrr_state={}, due_limit="", aging_limit=""
        )
        is None
    )
