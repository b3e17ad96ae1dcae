"""Appointment check-in (DNI or code) and the day rollover under both reset policies."""

from __future__ import annotations

from datetime import timedelta

import pytest

from contracts.errors import ErrorCode
from hub.domain.errors import DomainError


@pytest.fixture
def booked(engine, clock):
    engine.add_appointment(
        code="abc-123",
        service_code="victimas",
        dni="40404040",
        scheduled_at=clock.now + timedelta(minutes=30),
    )
    engine.add_appointment(
        code="TOMORROW",
        service_code="victimas",
        dni="50505050",
        scheduled_at=clock.now + timedelta(days=1),
    )
    return engine


def test_check_in_by_code_issues_an_appointment_ticket(booked, hub, db_rows):
    outcome = hub.kiosk("checkin_appointment", appointment_code="ABC-123")
    ticket = hub.ok(outcome)["ticket"]
    assert ticket["origin"] == "appointment" and ticket["number"] == "V001"
    assert not outcome.prints and outcome.changed_services == {"victimas"}
    [appointment] = db_rows("SELECT * FROM appointments WHERE code = 'ABC-123'")
    assert appointment["status"] == "checked_in" and appointment["ticket_id"] == ticket["ticket_id"]
    [event] = db_rows("SELECT payload FROM outbox WHERE event_type = 'appointment.checked_in'")
    assert "40404040" not in event[0]


def test_check_in_by_dni(booked, hub):
    ticket = hub.ok(hub.kiosk("checkin_appointment", dni="40404040"))["ticket"]
    assert ticket["service_code"] == "victimas"


def test_check_in_refusals_change_nothing(booked, hub, unchanged):
    hub.ok(hub.kiosk("checkin_appointment", dni="40404040"))
    with unchanged():
        again = hub.kiosk("checkin_appointment", appointment_code="ABC-123")
        tomorrow = hub.kiosk("checkin_appointment", appointment_code="TOMORROW")
        stranger = hub.kiosk("checkin_appointment", dni="11111111")
        mismatch = hub.kiosk("checkin_appointment", dni="50505050", appointment_code="ABC-123")
        empty = hub.kiosk("checkin_appointment")
        bad_dni = hub.kiosk("checkin_appointment", dni="123")
    assert again.error.code == ErrorCode.INVALID_TRANSITION
    assert (
        tomorrow.error.code
        == stranger.error.code
        == mismatch.error.code
        == (ErrorCode.UNKNOWN_APPOINTMENT)
    )
    assert empty.error.code == ErrorCode.INVALID_PAYLOAD
    assert bad_dni.error.code == ErrorCode.INVALID_DNI


def test_add_appointment_validates_input(engine, clock):
    with pytest.raises(DomainError) as unknown:
        engine.add_appointment(code="X-0001", service_code="nope", scheduled_at=clock.now)
    assert unknown.value.code == ErrorCode.UNKNOWN_SERVICE
    with pytest.raises(DomainError) as bad_dni:
        engine.add_appointment(
            code="X-0002", service_code="penal", dni="12", scheduled_at=clock.now
        )
    assert bad_dni.value.code == ErrorCode.INVALID_DNI
    engine.add_appointment(code="X-0003", service_code="penal", scheduled_at=clock.now)
    with pytest.raises(DomainError) as duplicate:
        engine.add_appointment(code="x-0003", service_code="penal", scheduled_at=clock.now)
    assert duplicate.value.code == ErrorCode.CONFLICT


def _to_next_lima_day(clock):
    # START is 10:00 Lima; local midnight is 05:00 UTC, so +14h01 crosses it
    clock.advance(hours=14, minutes=1)


def test_daily_reset_expires_leftovers_and_restarts_numbering(hub, engine, clock, db_rows):
    hub.open("v1")
    hub.issue()
    hub.issue()
    hub.issue()
    hub.call_next("v1")
    clock.advance(hours=13, minutes=59)  # 23:59 Lima: still the same day
    assert not engine.housekeeping().changed_services
    assert hub.issue()["number"] == "A004"
    clock.advance(minutes=2)  # 00:01 Lima
    rolled = engine.housekeeping()
    assert rolled.changed_services == {"orientacion", "penal", "victimas"}
    assert "v1" in rolled.changed_counters and rolled.display_changed
    assert engine.queue_state("orientacion").waiting == 0
    assert engine.counter_state("v1").current is None
    expired = db_rows("SELECT COUNT(*) FROM ticket_events WHERE event_type = 'expired'")[0][0]
    assert expired == 4
    assert hub.issue()["number"] == "A001"
    [day] = db_rows("SELECT payload FROM outbox WHERE event_type = 'hub.day_rolled_over'")
    assert '"expired":4' in day[0]
    assert not engine.housekeeping().changed_services  # once per day


def test_keep_overnight_keeps_the_line_and_restarts_numbering(
    make_config, engine_factory, make_driver, clock
):
    engine = engine_factory(make_config(reset="keep_overnight"))
    hub = make_driver(engine)
    yesterday = [hub.issue()["ticket_id"] for _ in range(2)]
    _to_next_lima_day(clock)
    engine.housekeeping()
    today = hub.issue()
    assert today["number"] == "A001"
    assert today["people_ahead"] == 2
    line = [t.ticket_id for t in engine.queue_state("orientacion").tickets]
    assert line == [*yesterday, today["ticket_id"]]
    hub.open("v1")
    assert hub.call_next("v1")["ticket_id"] == yesterday[0]
    # the same number exists on two days; by number a counter gets the live, latest one
    called = hub.ok(hub.counter("v1", "cancel_ticket", number="A001"))
    assert called["ticket"]["ticket_id"] in (today["ticket_id"], yesterday[0])


def test_rollover_also_applies_when_the_hub_opens_on_a_new_day(
    engine_factory, make_driver, clock, db_rows
):
    engine = engine_factory()
    make_driver(engine).issue()
    engine.close()
    _to_next_lima_day(clock)
    reopened = engine_factory()
    assert reopened.queue_state("orientacion").waiting == 0
    assert make_driver(reopened).issue()["number"] == "A001"
    statuses = [r[0] for r in db_rows("SELECT status FROM tickets ORDER BY issued_at")]
    assert statuses == ["cancelled", "waiting"]
