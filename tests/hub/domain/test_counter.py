"""Counter actions: sessions, open/pause/close, calling, recall to no-show, attention,
transfer, park/resume, cancel, reprint; impossible transitions change nothing."""

from __future__ import annotations

import pytest

from contracts.errors import ErrorCode


def test_sign_in_checks_argon2_password_and_counter_permission(hub, engine, unchanged, db_rows):
    with unchanged():
        wrong = hub.counter("v1", "sign_in", username="ana", password="otra")
        nobody = hub.counter("v1", "sign_in", username="nadie", password="x")
        not_here = hub.counter("v1", "sign_in", username="rosa", password="clave-rosa")
        unknown_counter = hub.counter("v9", "sign_in", username="ana", password="clave-ana")
    assert wrong.error.code == nobody.error.code == ErrorCode.BAD_CREDENTIALS
    assert not_here.error.code == ErrorCode.FORBIDDEN
    assert unknown_counter.error.code == ErrorCode.UNKNOWN_COUNTER
    outcome = hub.counter("v1", "sign_in", username="ana", password="clave-ana")
    assert outcome.ok and outcome.changed_counters == {"v1"}
    state = engine.counter_state("v1")
    assert state.user_display_name == "Ana Quispe" and state.status == "closed"
    [session] = db_rows("SELECT * FROM counter_sessions")
    assert session["username"] == "ana" and session["signed_out_at"] is None
    assert "clave-ana" not in str([tuple(r) for r in db_rows("SELECT * FROM audit_log")])


def test_counter_actions_other_than_sign_in_require_a_signed_in_user(hub, unchanged):
    hub.issue()
    with unchanged():
        for action in ("open_counter", "call_next", "close_counter", "sign_out"):
            assert hub.counter("v1", action).error.code == ErrorCode.NOT_SIGNED_IN


def test_open_pause_resume_close_track_status_and_pauses(hub, engine, db_rows, unchanged):
    hub.open("v2")
    state = engine.counter_state("v2")
    assert state.status == "open" and state.services == ["orientacion", "penal"]
    assert engine.queue_state("penal").open_counters == 1
    paused = hub.counter("v2", "pause_counter", reason="Refrigerio")
    assert paused.ok and {"orientacion", "penal"} <= paused.changed_services
    state = engine.counter_state("v2")
    assert state.status == "paused" and state.pause_reason == "Refrigerio"
    assert engine.queue_state("penal").open_counters == 0
    with unchanged():
        assert hub.counter("v2", "call_next").error.code == ErrorCode.COUNTER_NOT_OPEN
        assert hub.counter("v2", "pause_counter", reason="otra").error.code == (
            ErrorCode.COUNTER_NOT_OPEN
        )
    hub.ok(hub.counter("v2", "open_counter", services=["penal"]))
    assert engine.counter_state("v2").services == ["penal"]
    [pause] = db_rows("SELECT * FROM counter_pauses")
    assert pause["reason"] == "Refrigerio" and pause["ended_at"] is not None
    hub.ok(hub.counter("v2", "close_counter"))
    assert engine.counter_state("v2").status == "closed"
    with unchanged():
        assert hub.counter("v2", "close_counter").error.code == ErrorCode.COUNTER_NOT_OPEN
        bad = hub.counter("v2", "open_counter", services=["victimas"])
        assert bad.error.code == ErrorCode.UNKNOWN_SERVICE


def test_full_attention_flow_and_statistics(hub, engine, clock):
    hub.open("v1")
    first = hub.issue()
    hub.issue()
    clock.advance(60)
    called = hub.call_next("v1")
    assert called["number"] == first["number"] and called["status"] == "called"
    clock.advance(30)
    hub.ok(hub.counter("v1", "start_attention"))
    assert engine.counter_state("v1").current.status == "serving"
    clock.advance(300)
    done = hub.ok(hub.counter("v1", "finish_attention", outcome="atendido", note="orientado"))
    assert done["ticket"]["status"] == "done"
    queue = engine.queue_state("orientacion")
    assert queue.served_today == 1
    assert queue.average_service_s == 300
    assert queue.average_wait_s == 60
    assert queue.waiting == 1 and queue.open_counters == 1
    # one person ahead of a new ticket, at 300 s each over one counter
    assert queue.estimated_wait_s == 300
    assert queue.tickets[0].estimated_wait_s == 0
    assert engine.counter_state("v1").current is None


def test_finishing_a_ticket_nobody_called_is_refused_and_changes_nothing(hub, unchanged):
    hub.open("v1")
    hub.issue()
    with unchanged():
        outcome = hub.counter("v1", "finish_attention", outcome="atendido")
        start = hub.counter("v1", "start_attention")
        recall = hub.counter("v1", "recall")
        park = hub.counter("v1", "park_ticket")
        transfer = hub.counter("v1", "transfer_ticket", to_service_code="penal")
    for refused in (outcome, start, recall, park, transfer):
        assert refused.error.code == ErrorCode.INVALID_TRANSITION
        assert refused.error.message  # Spanish text for people


def test_atendido_requires_started_attention_but_no_show_does_not(hub, unchanged):
    hub.open("v1")
    hub.issue()
    hub.call_next("v1")
    with unchanged():
        early = hub.counter("v1", "finish_attention", outcome="atendido")
    assert early.error.code == ErrorCode.INVALID_TRANSITION
    gone = hub.ok(hub.counter("v1", "finish_attention", outcome="no_se_presento"))
    assert gone["ticket"]["status"] == "no_show"


def test_call_next_on_empty_queue_and_busy_counter(hub, unchanged):
    hub.open("v1")
    with unchanged():
        assert hub.counter("v1", "call_next").error.code == ErrorCode.QUEUE_EMPTY
    hub.issue()
    hub.issue()
    hub.call_next("v1")
    with unchanged():
        assert hub.counter("v1", "call_next").error.code == ErrorCode.COUNTER_BUSY
        assert hub.counter("v1", "close_counter").error.code == ErrorCode.COUNTER_BUSY
        assert hub.counter("v1", "sign_out").error.code == ErrorCode.COUNTER_BUSY
        assert hub.counter("v1", "pause_counter", reason="x").error.code == (ErrorCode.COUNTER_BUSY)


def test_call_event_and_display_state(hub, engine):
    hub.open("v2")
    hub.issue("penal")
    outcome = hub.counter("v2", "call_next")
    [event] = outcome.calls
    assert event.call.number == "P001" and event.call.counter_name == "Ventanilla 2"
    assert event.call.counter_number == 2 and event.call.recalls == 0
    assert outcome.display_changed and outcome.changed_counters == {"v2"}
    display = engine.display_state()
    assert [c.number for c in display.current] == ["P001"]
    assert [c.number for c in display.recent] == ["P001"]
    assert display.waiting == {"orientacion": 0, "penal": 0, "victimas": 0}


def test_recall_counts_then_no_show_after_max_recalls(make_config, engine_factory, make_driver):
    engine = engine_factory(make_config(max_recalls=2))
    hub = make_driver(engine)
    hub.open("v1")
    hub.issue()
    hub.call_next("v1")
    first = hub.counter("v1", "recall")
    assert first.result["no_show"] is False and first.calls[0].call.recalls == 1
    second = hub.counter("v1", "recall")
    assert second.calls[0].call.recalls == 2
    # one entry per ticket, at its newest call (it used to be listed once per recall)
    assert [(c.number, c.recalls) for c in engine.display_state().recent] == [("A001", 2)]
    third = hub.ok(hub.counter("v1", "recall"))
    assert third["no_show"] is True and third["ticket"]["status"] == "no_show"
    assert engine.counter_state("v1").current is None


def test_a_recall_moves_its_ticket_to_the_top_of_recent_calls_without_repeating_it(hub, engine):
    hub.open("v1")
    hub.open("v2", "luis")
    for _ in range(10):
        hub.issue()
    assert hub.call_next("v1")["number"] == "A001"
    served = [hub.serve("v2")["number"] for _ in range(9)]  # A002..A010
    hub.ok(hub.counter("v1", "recall"))
    hub.ok(hub.counter("v1", "recall"))
    recent = engine.display_state().recent
    assert [c.number for c in recent] == ["A001", *reversed(served)]
    assert recent[0].recalls == 2 and recent[0].counter_id == "v1"


def test_call_specific_ticket_by_number_or_id(hub, unchanged):
    hub.open("v2")
    hub.issue()
    second = hub.issue()
    penal = hub.issue("penal")
    victim = hub.issue("victimas")
    called = hub.ok(hub.counter("v2", "call_ticket", number=second["number"]))
    assert called["ticket"]["ticket_id"] == second["ticket_id"]
    hub.ok(hub.counter("v2", "finish_attention", outcome="no_se_presento"))
    assert hub.ok(hub.counter("v2", "call_ticket", ticket_id=penal["ticket_id"]))
    hub.ok(hub.counter("v2", "finish_attention", outcome="no_se_presento"))
    with unchanged():
        other_service = hub.counter("v2", "call_ticket", ticket_id=victim["ticket_id"])
        missing = hub.counter("v2", "call_ticket", number="A999")
        not_waiting = hub.counter("v2", "call_ticket", number=second["number"])
        no_ref = hub.counter("v2", "call_ticket")
        bad_number = hub.counter("v2", "call_ticket", number="a1")
    assert other_service.error.code == ErrorCode.INVALID_TRANSITION
    assert missing.error.code == ErrorCode.UNKNOWN_TICKET
    assert not_waiting.error.code == ErrorCode.INVALID_TRANSITION
    assert no_ref.error.code == ErrorCode.INVALID_PAYLOAD
    assert bad_number.error.code == ErrorCode.INVALID_PAYLOAD


def test_transfer_to_service_keeps_original_arrival_for_fairness(hub, engine, clock):
    hub.open("v1")
    hub.open("v3", user="rosa")
    early = hub.issue("orientacion")
    clock.advance(120)
    later_victim = hub.issue("victimas")
    clock.advance(60)
    hub.call_next("v1")
    hub.ok(hub.counter("v1", "start_attention"))
    moved = hub.ok(
        hub.counter("v1", "transfer_ticket", to_service_code="victimas", note="caso de violencia")
    )["ticket"]
    assert moved["service_code"] == "victimas" and moved["status"] == "waiting"
    assert moved["arrived_at"] == early["arrived_at"] and moved["number"] == early["number"]
    # it arrived before the victim ticket, so it goes first in the new line
    line = [t.number for t in engine.queue_state("victimas").tickets]
    assert line == [early["number"], later_victim["number"]]
    assert hub.call_next("v3")["ticket_id"] == early["ticket_id"]


def test_transfer_to_counter_is_called_first_there_and_only_there(hub, engine, unchanged):
    hub.open("v1")
    hub.open("v2", user="luis")
    hub.issue()
    waiting_before = hub.issue()
    hub.call_next("v1")
    moved = hub.ok(hub.counter("v1", "transfer_ticket", to_counter_id="v2"))["ticket"]
    assert moved["counter_id"] == "v2" and moved["status"] == "waiting"
    # v1 cannot take it, v2 takes it before the older line
    assert hub.call_next("v1")["ticket_id"] == waiting_before["ticket_id"]
    assert hub.call_next("v2")["ticket_id"] == moved["ticket_id"]
    with unchanged():
        assert hub.counter("v2", "transfer_ticket", to_counter_id="v2").error.code == (
            ErrorCode.INVALID_TRANSITION
        )
        assert hub.counter("v2", "transfer_ticket", to_counter_id="v9").error.code == (
            ErrorCode.UNKNOWN_COUNTER
        )
        assert hub.counter("v2", "transfer_ticket", to_service_code="x").error.code == (
            ErrorCode.UNKNOWN_SERVICE
        )
        assert hub.counter("v2", "transfer_ticket").error.code == ErrorCode.INVALID_PAYLOAD


def test_park_and_resume(hub, engine, unchanged):
    hub.open("v1")
    first = hub.issue()
    second = hub.issue()
    hub.call_next("v1")
    hub.ok(hub.counter("v1", "start_attention"))
    hub.ok(hub.counter("v1", "park_ticket"))
    state = engine.counter_state("v1")
    assert state.current is None and [t.number for t in state.parked] == [first["number"]]
    hub.call_next("v1")  # second
    with unchanged():
        busy = hub.counter("v1", "resume_ticket", ticket_id=first["ticket_id"])
    assert busy.error.code == ErrorCode.COUNTER_BUSY
    hub.ok(hub.counter("v1", "finish_attention", outcome="no_se_presento"))
    resumed = hub.ok(hub.counter("v1", "resume_ticket"))
    assert resumed["ticket"]["ticket_id"] == first["ticket_id"]
    assert resumed["ticket"]["status"] == "serving"
    assert second["ticket_id"] != first["ticket_id"]


def test_closing_returns_parked_tickets_to_their_line_with_original_arrival(hub, engine):
    hub.open("v1")
    first = hub.issue()
    hub.issue()
    hub.call_next("v1")
    hub.ok(hub.counter("v1", "park_ticket"))
    hub.ok(hub.counter("v1", "close_counter"))
    line = engine.queue_state("orientacion").tickets
    assert [t.ticket_id for t in line][0] == first["ticket_id"]
    assert line[0].status == "waiting" and line[0].counter_id is None


def test_sign_out_closes_counter_and_ends_session(hub, engine, db_rows):
    hub.open("v1")
    hub.ok(hub.counter("v1", "pause_counter", reason="Reunión"))
    hub.ok(hub.counter("v1", "sign_out"))
    state = engine.counter_state("v1")
    assert state.status == "closed" and state.user_display_name is None
    [session] = db_rows("SELECT * FROM counter_sessions")
    assert session["end_reason"] == "signed_out"
    [pause] = db_rows("SELECT * FROM counter_pauses")
    assert pause["ended_at"] is not None


def test_cancel_waiting_or_in_hand_ticket(hub, engine, unchanged):
    hub.open("v1")
    hub.open("v2", user="luis")
    waiting = hub.issue()
    hub.issue()
    cancelled = hub.ok(hub.counter("v1", "cancel_ticket", ticket_id=waiting["ticket_id"]))
    assert cancelled["ticket"]["status"] == "cancelled"
    held = hub.call_next("v2")
    with unchanged():
        elsewhere = hub.counter("v1", "cancel_ticket", ticket_id=held["ticket_id"])
        again = hub.counter("v1", "cancel_ticket", ticket_id=waiting["ticket_id"])
    assert elsewhere.error.code == again.error.code == ErrorCode.INVALID_TRANSITION
    hub.ok(hub.counter("v2", "cancel_ticket"))
    assert engine.queue_state("orientacion").waiting == 0


def test_reprint_goes_to_the_issuing_kiosk(hub, db_rows):
    hub.open("v1")
    ticket = hub.ok(hub.kiosk("issue_ticket", device_id="kiosk-3", service_code="orientacion"))[
        "ticket"
    ]
    outcome = hub.counter("v1", "reprint_ticket", ticket_id=ticket["ticket_id"])
    [(device, job)] = outcome.prints
    assert device == "kiosk-3" and job.reprint and job.ticket.number == ticket["number"]
    [event] = db_rows("SELECT * FROM ticket_events WHERE event_type = 'reprint_requested'")
    assert event["ticket_id"] == ticket["ticket_id"]


@pytest.mark.parametrize(
    ("action", "params"),
    [
        ("call_ticket", {"ticket_id": "nope"}),
        ("recall", {"ticket_id": "nope"}),
        ("start_attention", {"ticket_id": "nope"}),
        ("park_ticket", {"ticket_id": "nope"}),
        ("resume_ticket", {"ticket_id": "nope"}),
        ("cancel_ticket", {"ticket_id": "nope"}),
        ("reprint_ticket", {"ticket_id": "nope"}),
    ],
)
def test_unknown_ticket_is_refused_and_changes_nothing(hub, unchanged, action, params):
    hub.open("v1")
    with unchanged():
        assert hub.counter("v1", action, **params).error.code == ErrorCode.UNKNOWN_TICKET


def test_counter_acts_only_as_itself_from_the_topic(hub, unchanged):
    hub.open("v1")
    with unchanged():
        outcome = hub.counter("v1", "call_next", counter_id="v2")
    assert outcome.error.code == ErrorCode.INVALID_PAYLOAD  # no counter id in the payload


def test_estimate_divides_by_open_counters_of_the_service(hub, engine, clock):
    for _ in range(5):
        hub.issue()
    # no counter open for the service: no honest estimate
    assert engine.queue_state("orientacion").estimated_wait_s is None
    hub.open("v1")
    one = engine.queue_state("orientacion")
    assert one.open_counters == 1
    assert one.estimated_wait_s == 5 * 600  # default_service_s before any attention
    assert [t.estimated_wait_s for t in one.tickets] == [0, 600, 1200, 1800, 2400]
    hub.open("v2", user="luis")
    two = engine.queue_state("orientacion")
    assert two.open_counters == 2 and two.estimated_wait_s == 5 * 600 // 2
    # measured attentions replace the default
    hub.call_next("v1")
    hub.ok(hub.counter("v1", "start_attention"))
    clock.advance(120)
    hub.ok(hub.counter("v1", "finish_attention", outcome="atendido"))
    assert engine.queue_state("orientacion").estimated_wait_s == 4 * 120 // 2


def test_queue_state_lists_the_head_of_a_long_line_and_counts_all(hub, engine):
    for _ in range(130):
        hub.issue()
    state = engine.queue_state("orientacion")
    assert state.waiting == 130 and len(state.tickets) == 100
    assert state.tickets[0].number == "A001" and state.tickets[-1].number == "A100"
    assert engine.display_state().waiting["orientacion"] == 130


def test_another_user_signing_in_ends_the_previous_session(hub, engine, db_rows):
    hub.open("v1")
    hub.ok(hub.counter("v1", "sign_in", username="luis", password="clave-luis"))
    assert engine.counter_state("v1").user_display_name == "Luis Mamani"
    sessions = {r["username"]: r for r in db_rows("SELECT * FROM counter_sessions")}
    assert sessions["ana"]["end_reason"] == "replaced"
    assert sessions["luis"]["signed_out_at"] is None
    again = hub.counter("v1", "sign_in", username="luis", password="clave-luis")
    assert again.ok and len(db_rows("SELECT * FROM counter_sessions")) == 2


def test_housekeeping_without_changes_reports_nothing(engine):
    quiet = engine.housekeeping()
    assert quiet.ok and not quiet.changed_services and not quiet.changed_counters
    assert not quiet.display_changed


def test_notes_are_kept_on_the_ticket_but_not_in_audit_or_state(hub, engine, db_rows, unchanged):
    hub.open("v1")
    hub.issue()
    hub.call_next("v1")
    hub.ok(hub.counter("v1", "start_attention"))
    with unchanged():
        long_note = hub.counter("v1", "finish_attention", outcome="atendido", note="x" * 1001)
        wrong_outcome = hub.counter("v1", "finish_attention", outcome="resuelto")
        not_a_dict = engine.execute(
            actor=hub_actor("v1"), action="call_next", params=[], request_id="not-a-dict-1"
        )
    assert long_note.error.code == wrong_outcome.error.code == ErrorCode.INVALID_PAYLOAD
    assert not_a_dict.error.code == ErrorCode.INVALID_PAYLOAD
    hub.ok(hub.counter("v1", "finish_attention", outcome="atendido", note="pidió patrocinio"))
    [stored] = db_rows("SELECT note FROM tickets")
    assert stored[0] == "pidió patrocinio"
    audit = str([tuple(r) for r in db_rows("SELECT * FROM audit_log")])
    assert "patrocinio" not in audit
    assert "patrocinio" not in engine.counter_state("v1").model_dump_json()
    assert "patrocinio" not in engine.display_state().model_dump_json()


def hub_actor(counter_id):
    from contracts.mqtt import Role
    from hub.ports import Actor

    return Actor(role=Role.COUNTER, device_id=counter_id)


def test_signing_in_at_another_counter_signs_the_user_out_of_the_first(hub, engine, db_rows):
    hub.open("v1")
    first = hub.issue()
    hub.issue()
    assert hub.call_next("v1")["ticket_id"] == first["ticket_id"]
    hub.ok(hub.counter("v1", "park_ticket"))  # parked at v1, hands free
    hub.ok(hub.counter("v1", "pause_counter", reason="Cambio de ventanilla"))
    moved = hub.counter("v2", "sign_in", username="ana", password="clave-ana")
    assert moved.ok, moved.error
    assert {"v1", "v2"} <= moved.changed_counters and moved.display_changed
    assert "orientacion" in moved.changed_services  # v1 no longer counts as open there
    left = engine.counter_state("v1")
    assert left.status == "closed" and left.user_display_name is None and left.parked == []
    assert engine.counter_state("v2").user_display_name == "Ana Quispe"
    # the parked person went back to the line with the original arrival: first again
    assert engine.queue_state("orientacion").tickets[0].ticket_id == first["ticket_id"]
    sessions = {r["counter_id"]: r for r in db_rows("SELECT * FROM counter_sessions")}
    assert sessions["v1"]["end_reason"] == "moved" and sessions["v1"]["signed_out_at"]
    assert sessions["v2"]["username"] == "ana" and sessions["v2"]["signed_out_at"] is None
    [pause] = db_rows("SELECT * FROM counter_pauses")
    assert pause["ended_at"] is not None
    signed_in = db_rows("SELECT counter_id FROM counters WHERE username = 'ana'")
    assert [r["counter_id"] for r in signed_in] == ["v2"]


def test_signing_in_elsewhere_is_refused_while_a_ticket_is_in_hand(hub, engine, unchanged):
    hub.open("v1")
    hub.issue()
    hub.call_next("v1")
    with unchanged():
        refused = hub.counter("v2", "sign_in", username="ana", password="clave-ana")
    assert refused.error.code == ErrorCode.SIGNED_IN_ELSEWHERE
    assert "Ventanilla 1" in refused.error.message and "turno en atención" in refused.error.message
    assert engine.counter_state("v1").user_display_name == "Ana Quispe"
    assert engine.counter_state("v2").user_display_name is None
    hub.ok(hub.counter("v1", "finish_attention", outcome="no_se_presento"))
    assert hub.counter("v2", "sign_in", username="ana", password="clave-ana").ok
    assert engine.counter_state("v1").user_display_name is None
