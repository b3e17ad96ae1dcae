"""Issuing tickets: numbering, preference, DNI, appointments' check-in, bad input."""

from __future__ import annotations

from datetime import timedelta

from contracts.errors import ErrorCode
from contracts.mqtt import Role


def test_walk_in_ticket_is_numbered_per_service_from_config_letters(hub, db_rows):
    first = hub.issue("orientacion")
    second = hub.issue("orientacion")
    penal = hub.issue("penal")
    assert [first["number"], second["number"], penal["number"]] == ["A001", "A002", "P001"]
    assert first["status"] == "waiting"
    assert first["people_ahead"] == 0 and second["people_ahead"] == 1
    assert first["arrived_at"] == first["issued_at"]
    (seq,) = db_rows("SELECT last_number FROM ticket_sequences WHERE service_code = 'orientacion'")
    assert seq[0] == 2


def test_issue_answer_is_what_the_kiosk_prints_and_no_print_job_is_sent(hub):
    outcome = hub.kiosk("issue_ticket", device_id="kiosk-7", service_code="penal")
    assert outcome.ok and not outcome.replayed
    assert outcome.changed_services == {"penal"}
    assert outcome.display_changed
    # the kiosk prints from the answer; a PrintJob too would only be ignored (reprints only)
    assert outcome.prints == []
    assert outcome.result["ticket"]["number"] == "P001"
    assert outcome.result["service_name"] == "Defensa penal"
    assert outcome.result["sede_name"] == "Centro ALEGRA de Prueba"


def test_one_transaction_writes_ticket_event_audit_outbox_and_answer(hub, db_rows, engine):
    outcome = hub.kiosk("issue_ticket", service_code="orientacion", request_id="req-0001-abc")
    ticket_id = outcome.result["ticket"]["ticket_id"]
    [event] = db_rows("SELECT * FROM ticket_events WHERE ticket_id = ?", ticket_id)
    assert event["event_type"] == "issued" and event["request_id"] == "req-0001-abc"
    [audit] = db_rows("SELECT * FROM audit_log WHERE entity_id = ?", ticket_id)
    assert audit["actor_role"] == "kiosk" and audit["action"] == "issue_ticket"
    assert audit["request_id"] == "req-0001-abc"
    [outbox] = db_rows("SELECT * FROM outbox WHERE aggregate_id = ?", ticket_id)
    assert outbox["event_type"] == "ticket.issued" and outbox["sent_at"] is None
    assert outbox["sede_id"] == "sede-test" and outbox["hub_epoch"] == engine.hub_epoch
    assert outbox["event_id"][14] == "7"  # UUIDv7
    [answer] = db_rows("SELECT * FROM command_log WHERE request_id = 'req-0001-abc'")
    assert answer["action"] == "issue_ticket"


def test_retry_with_same_request_id_returns_first_answer_and_changes_nothing(hub, unchanged):
    first = hub.kiosk("issue_ticket", service_code="orientacion", request_id="retry-12345")
    with unchanged():
        again = hub.kiosk("issue_ticket", service_code="orientacion", request_id="retry-12345")
    assert again.replayed and again.ok
    assert again.result == first.result
    assert not again.prints and not again.changed_services and not again.calls
    assert hub.issue()["number"] == "A002"


def test_request_id_reused_by_another_device_names_that_cause(hub, unchanged):
    hub.kiosk("issue_ticket", service_code="orientacion", request_id="same-id-777")
    with unchanged():
        other = hub.kiosk(
            "issue_ticket",
            device_id="kiosk-2",
            service_code="orientacion",
            request_id="same-id-777",
        )
    assert other.error.code == ErrorCode.REQUEST_ID_REUSED
    assert other.error.field == "request_id"
    assert other.error.message == "El identificador de solicitud ya fue usado por otro dispositivo."


def test_request_id_reused_for_another_action_names_that_cause(hub, unchanged):
    hub.kiosk("issue_ticket", service_code="orientacion", request_id="same-id-778")
    with unchanged():
        other = hub.kiosk("checkin_appointment", dni="40718263", request_id="same-id-778")
    assert other.error.code == ErrorCode.REQUEST_ID_REUSED
    assert other.error.message == "El identificador de solicitud ya fue usado para otra acción."


def test_preferential_ticket_goes_ahead_of_regular_line(hub, engine):
    hub.issue()
    hub.issue()
    pref = hub.issue(preference_category="gestante")
    assert pref["preference_category"] == "gestante"
    assert pref["people_ahead"] == 0
    line = [t.number for t in engine.queue_state("orientacion").tickets]
    assert line == ["A003", "A001", "A002"]
    later = hub.issue(preference_category="adulto_mayor")
    assert later["people_ahead"] == 1  # behind the earlier preferential one only
    assert hub.issue()["people_ahead"] == 4


def test_dni_is_validated_and_never_leaves_the_tickets_table(hub, db_rows, unchanged, engine):
    with unchanged():
        bad = hub.kiosk("issue_ticket", service_code="orientacion", dni="1234567")
        letters = hub.kiosk("issue_ticket", service_code="orientacion", dni="1234567X")
    assert bad.error.code == ErrorCode.INVALID_DNI and bad.error.field == "dni"
    assert letters.error.code == ErrorCode.INVALID_DNI
    assert "1234567" not in bad.error.message
    outcome = hub.kiosk("issue_ticket", service_code="orientacion", dni="45678912")
    assert outcome.ok
    [stored] = db_rows("SELECT dni FROM tickets")
    assert stored[0] == "45678912"
    everywhere = [
        str(outcome.result),
        str([job.model_dump_json() for _, job in outcome.prints]),
        engine.queue_state("orientacion").model_dump_json(),
        engine.display_state().model_dump_json(),
        str([tuple(r) for r in db_rows("SELECT * FROM audit_log")]),
        str([tuple(r) for r in db_rows("SELECT * FROM outbox")]),
        str([tuple(r) for r in db_rows("SELECT * FROM ticket_events")]),
        str([tuple(r) for r in db_rows("SELECT * FROM command_log")]),
    ]
    assert not any("45678912" in text for text in everywhere)


def test_bad_kiosk_input_is_refused_and_changes_nothing(hub, unchanged):
    with unchanged():
        assert hub.kiosk("issue_ticket", service_code="no-existe").error.code == (
            ErrorCode.UNKNOWN_SERVICE
        )
        assert hub.kiosk("issue_ticket").error.code == ErrorCode.INVALID_PAYLOAD
        extra = hub.kiosk("issue_ticket", service_code="orientacion", name="Juana")
        assert extra.error.code == ErrorCode.INVALID_PAYLOAD and extra.error.field == "name"
        assert (
            hub.kiosk(
                "issue_ticket", service_code="orientacion", preference_category="vip"
            ).error.code
            == ErrorCode.INVALID_PAYLOAD
        )
        assert hub.kiosk("fly_away").error.code == ErrorCode.UNKNOWN_ACTION
        # a kiosk may not act as a counter; a display may do nothing
        assert hub.kiosk("call_next").error.code == ErrorCode.FORBIDDEN
        display = hub.send(
            Role.DISPLAY,
            "tv-1",
            "issue_ticket",
            service_code="orientacion",
        )
        assert display.error.code == ErrorCode.FORBIDDEN
        stranger = hub.send("intruder", "x-1", "issue_ticket", service_code="orientacion")
        assert stranger.error.code == ErrorCode.FORBIDDEN


def test_sede_closed_outside_hours_unless_policy_allows(
    make_config, engine_factory, make_driver, clock, unchanged
):
    engine = engine_factory(make_config(issue_outside_hours=False))
    hub = make_driver(engine)
    assert hub.issue()["number"] == "A001"  # Monday 10:00 Lima
    clock.advance(hours=9)  # 19:00 Lima
    with unchanged():
        closed = hub.kiosk("issue_ticket", service_code="orientacion")
    assert closed.error.code == ErrorCode.SEDE_CLOSED
    assert engine.sede_info().is_open_now is False
    assert engine.sede_info().accepts_tickets is False
    clock.advance(timedelta(hours=-9).total_seconds())
    assert engine.sede_info().is_open_now is True
    assert engine.sede_info().accepts_tickets is True


def test_demo_policy_accepts_tickets_outside_hours(hub, engine, clock):
    clock.advance(hours=12)  # 22:00 Lima
    info = engine.sede_info()
    assert info.is_open_now is False and info.accepts_tickets is True
    assert hub.issue()["number"] == "A001"


def test_report_print_failure_flags_reprint_and_ticket_stays_valid(hub, engine, unchanged):
    ticket = hub.issue()
    failed = hub.kiosk("report_print", ticket_id=ticket["ticket_id"], ok=False, error="sin papel")
    assert failed.ok and failed.result["ticket"]["needs_reprint"] is True
    [line_ticket] = engine.queue_state("orientacion").tickets
    assert line_ticket.needs_reprint and line_ticket.status == "waiting"
    ok = hub.kiosk("report_print", ticket_id=ticket["ticket_id"], ok=True)
    assert ok.result["ticket"]["needs_reprint"] is False
    with unchanged():
        other_kiosk = hub.kiosk(
            "report_print", device_id="kiosk-9", ticket_id=ticket["ticket_id"], ok=False
        )
        unknown = hub.kiosk("report_print", ticket_id="nope", ok=False)
    assert other_kiosk.error.code == ErrorCode.FORBIDDEN
    assert unknown.error.code == ErrorCode.UNKNOWN_TICKET
