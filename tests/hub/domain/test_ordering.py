"""Order of service: preferential, due appointments, then first come first served (oldest
first!), counter weights across services, aging so no service starves."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.messages import PreferenceCategory
from hub.domain import ordering
from hub.domain.queries import QUEUE_STATE_MAX_TICKETS, REPRINTS_COUNTED_MAX


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


# ------------------------------------------------------------------ every category, both orders
# The line order is written once in ordering.py and rendered for SQLite (class_sql, order_sql,
# key_sql). These hold it against one-line mutations: the Python order and the SQL order must
# agree on the same rows, every preferential category must count, and across a counter's
# services the OLDEST head of a class goes first.

PREFERENTIAL = [c.value for c in PreferenceCategory if c is not PreferenceCategory.NONE]
DUE_LIMIT = "2026-01-01T10:15:00.000000+00:00"
DUE_STATES = [
    None,
    "2026-01-01T10:00:00.000000+00:00",  # due
    DUE_LIMIT,  # due, on the limit
    "2026-01-01T10:15:00.000001+00:00",  # not yet
]


def _every_kind_of_ticket() -> list[dict]:
    """A ticket of every category x appointment state, at two arrivals, with arrival ties
    (broken by id) and ids out of arrival order."""
    tickets = []
    n = 0
    for category in ["none", *PREFERENTIAL]:
        for due in DUE_STATES:
            for arrived in ("2026-01-01T09:00:00.000000+00:00", "2026-01-01T08:00:00.000000+00:00"):
                n += 1
                tickets.append(
                    _ticket(f"t{(n * 37) % 101:03d}", arrived, preference=category, due=due)
                )
    return tickets


def _sqlite_with(tickets: list[dict]) -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    conn.execute(
        "CREATE TABLE tickets (id TEXT PRIMARY KEY, preference_category TEXT NOT NULL, "
        "appointment_due_at TEXT, arrived_at TEXT NOT NULL)"
    )
    conn.executemany(
        "INSERT INTO tickets VALUES (?, ?, ?, ?)",
        [
            (t["id"], t["preference_category"], t["appointment_due_at"], t["arrived_at"])
            for t in tickets
        ],
    )
    return conn


def _assert_sql_agrees_with_python(tickets: list[dict], due_limit: str) -> None:
    conn = _sqlite_with(tickets)
    by_id = {t["id"]: t for t in tickets}
    sql_line = [
        row[0]
        for row in conn.execute(
            f"SELECT id FROM tickets ORDER BY {ordering.order_sql()}",  # noqa: S608
            (due_limit,),
        )
    ]
    assert sql_line == [t["id"] for t in ordering.order_line(tickets, due_limit=due_limit)]
    for ticket_id, klass in conn.execute(
        f"SELECT id, {ordering.class_sql(due=':due')} FROM tickets",  # noqa: S608
        {"due": due_limit},
    ):
        assert klass == ordering.priority_class(by_id[ticket_id], due_limit=due_limit), ticket_id
    ahead = ordering.key_sql("a", due=":due") + " < " + ordering.key_sql("b", due=":due")
    for a, b, is_ahead in conn.execute(
        f"SELECT a.id, b.id, {ahead} FROM tickets a, tickets b",  # noqa: S608
        {"due": due_limit},
    ):
        expected = ordering.sort_key(by_id[a], due_limit=due_limit) < ordering.sort_key(
            by_id[b], due_limit=due_limit
        )
        assert bool(is_ahead) == expected, (a, b)


def test_sql_order_is_the_python_order_for_every_kind_of_ticket():
    _assert_sql_agrees_with_python(_every_kind_of_ticket(), DUE_LIMIT)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["none", *PREFERENTIAL]),
            st.sampled_from(DUE_STATES),
            st.integers(min_value=0, max_value=5),  # few arrivals: many ties
        ),
        max_size=25,
    )
)
def test_sql_order_is_the_python_order_on_any_line(drawn):
    tickets = [
        _ticket(
            f"id-{(index * 7919) % 1000:03d}-{index}",
            f"2026-01-01T09:0{minute}:00.000000+00:00",
            preference=category,
            due=due,
        )
        for index, (category, due, minute) in enumerate(drawn)
    ]
    _assert_sql_agrees_with_python(tickets, DUE_LIMIT)


@pytest.mark.parametrize("category", PREFERENTIAL)
def test_every_preferential_category_goes_first_in_python(category):
    regular = _ticket("r", "2026-01-01T08:00:00.000000+00:00")
    due = _ticket("d", "2026-01-01T08:30:00.000000+00:00", due="2026-01-01T10:00:00.000000+00:00")
    preferential = _ticket("p", "2026-01-01T09:00:00.000000+00:00", preference=category)
    line = ordering.order_line([regular, due, preferential], due_limit=DUE_LIMIT)
    assert [t["id"] for t in line] == ["p", "d", "r"]


@pytest.mark.parametrize("category", PREFERENTIAL)
def test_every_preferential_category_goes_first_in_the_published_line_and_the_call(
    category, hub, engine, clock
):
    """The engine's SQL: the queue's published order (QUEUE_TICKETS_JSON), the head a counter
    calls (LINE_ORDER) and the place the issued ticket is told."""
    hub.open("v1")
    regular = hub.issue()["ticket_id"]
    clock.advance(10)
    engine.add_appointment(
        code="CITA-ORD", service_code="orientacion", scheduled_at=clock.now + timedelta(minutes=5)
    )
    due = hub.ok(hub.kiosk("checkin_appointment", appointment_code="CITA-ORD"))["ticket"]
    clock.advance(10)
    preferential = hub.issue(preference_category=category)
    assert preferential["people_ahead"] == 0
    assert due["people_ahead"] == 0
    expected = [preferential["ticket_id"], due["ticket_id"], regular]
    state = engine.queue_state("orientacion")
    assert [t.ticket_id for t in state.tickets] == expected
    assert [t.people_ahead for t in state.tickets] == [0, 1, 2]
    assert state.preferential_waiting == 1
    assert hub.call_next("v1")["ticket_id"] == preferential["ticket_id"]


@pytest.mark.parametrize("category", PREFERENTIAL)
@pytest.mark.parametrize("flagged_regular", [1, REPRINTS_COUNTED_MAX + 1])
def test_every_preferential_category_keeps_its_place_behind_the_published_head(
    category, flagged_regular, hub, engine, clock
):
    """The reprint list behind the head, both ways to it (few flagged: key_sql comparisons;
    many: the line numbered with order_sql): a flagged regular ticket's place counts the
    preferential ones that arrived after it."""
    limit = QUEUE_STATE_MAX_TICKETS
    for _ in range(limit + 3):
        hub.issue()
    clock.advance(5)
    regular, preferential = [], []
    for index in range(flagged_regular + 2):
        kind = category if index in (0, flagged_regular + 1) else "none"
        ticket = hub.issue(preference_category=kind)
        hub.ok(hub.kiosk("report_print", ticket_id=ticket["ticket_id"], ok=False))
        (regular if kind == "none" else preferential).append(ticket["ticket_id"])
        clock.advance(1)
    state = engine.queue_state("orientacion")
    assert [t.ticket_id for t in state.tickets[:2]] == preferential
    assert [(t.ticket_id, t.people_ahead) for t in state.reprints] == [
        (ticket_id, limit + 5 + index) for index, ticket_id in enumerate(regular)
    ]


def _head(ticket_id, arrived_at, service, **kwargs):
    return _ticket(ticket_id, arrived_at, service=service, **kwargs)


@pytest.mark.parametrize("older_category", PREFERENTIAL)
@pytest.mark.parametrize("newer_category", PREFERENTIAL)
@pytest.mark.parametrize("older_service", ["a", "b"])
def test_the_oldest_preferential_head_across_services_goes_first(
    older_category, newer_category, older_service
):
    newer_service = "b" if older_service == "a" else "a"
    heads = {
        older_service: _head(
            "old", "2026-01-01T09:00:00.000000+00:00", older_service, preference=older_category
        ),
        newer_service: _head(
            "new", "2026-01-01T09:05:00.000000+00:00", newer_service, preference=newer_category
        ),
    }
    choice = ordering.choose_next(
        heads=heads,
        direct=[],
        weights={"a": 1, "b": 1},
        wrr_state={},
        due_limit=DUE_LIMIT,
        aging_limit="2026-01-01T00:00:00.000000+00:00",
    )
    assert (choice.ticket["id"], choice.reason) == ("old", "preferential")


@pytest.mark.parametrize("older_service", ["a", "b"])
@pytest.mark.parametrize(
    ("kind", "extra", "reason"),
    [
        ("appointment", {"due": "2026-01-01T10:00:00.000000+00:00"}, "appointment"),
        ("aged", {}, "aging"),
    ],
)
def test_the_oldest_head_of_a_class_across_services_goes_first(older_service, kind, extra, reason):
    newer_service = "b" if older_service == "a" else "a"
    heads = {
        older_service: _head("old", "2026-01-01T09:00:00.000000+00:00", older_service, **extra),
        newer_service: _head("new", "2026-01-01T09:05:00.000000+00:00", newer_service, **extra),
    }
    choice = ordering.choose_next(
        heads=heads,
        direct=[],
        weights={"a": 1, "b": 1},
        wrr_state={},
        due_limit=DUE_LIMIT,
        aging_limit="2026-01-01T09:30:00.000000+00:00",  # both heads have aged
    )
    assert (choice.ticket["id"], choice.reason) == ("old", reason)


@pytest.mark.parametrize("older_category", PREFERENTIAL)
@pytest.mark.parametrize("newer_category", PREFERENTIAL)
@pytest.mark.parametrize("older_service", ["orientacion", "penal"])
def test_a_counter_calls_the_oldest_preferential_head_of_its_services(
    older_category, newer_category, older_service, hub, clock
):
    """Through the engine: v2 attends orientacion (weight 3) and penal (weight 1); each line's
    head is preferential; whichever arrived first is called first, then the other, then the
    regular tickets (first come, first served inside each class)."""
    newer_service = "penal" if older_service == "orientacion" else "orientacion"
    hub.open("v2")
    regular = hub.issue(older_service)["ticket_id"]
    clock.advance(5)
    older = hub.issue(older_service, preference_category=older_category)["ticket_id"]
    clock.advance(5)
    newer = hub.issue(newer_service, preference_category=newer_category)["ticket_id"]
    clock.advance(5)
    later_preferential = hub.issue(older_service, preference_category=newer_category)["ticket_id"]
    served = []
    for _ in range(4):
        served.append(hub.call_next("v2")["ticket_id"])
        hub.ok(hub.counter("v2", "finish_attention", outcome="no_se_presento"))
    assert served == [older, newer, later_preferential, regular]
