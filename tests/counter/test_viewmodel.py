"""CounterViewModel without widgets: which actions are allowed in each state, elapsed time,
errors in Spanish, one command at a time, and the commands' parameters."""

from __future__ import annotations

from datetime import timedelta

import pytest

from contracts.messages import CounterStatus, Outcome, TicketStatus
from counter.screens import FIXED_NOW, counter_state, sample_queues, sample_sede, ticket
from counter.viewmodel import CounterViewModel, Phase, format_duration

ALL = [
    "sign_in",
    "open",
    "call_next",
    "recall",
    "start",
    "finish",
    "transfer",
    "park",
    "no_show",
    "pause",
    "close",
    "resume",
    "reprint",
    "sign_out",
]


def enabled(model) -> set[str]:
    return {action for action in ALL if model.enabled(action)}


@pytest.mark.parametrize(
    ("phase", "expected"),
    [
        ("closed", {"open", "sign_out", "reprint"}),
        ("idle", {"call_next", "pause", "close", "sign_out", "resume", "reprint"}),
        ("calling", {"recall", "start", "no_show", "transfer", "park", "reprint"}),
        ("serving", {"finish", "transfer", "park", "reprint"}),
        ("paused", {"open", "close", "sign_out", "reprint"}),
    ],
)
def test_buttons_follow_the_counter_and_ticket_state(model, phase, expected):
    model.apply_counter_state(counter_state(phase))
    assert model.phase == Phase(phase)
    assert enabled(model) == expected


def test_signed_out_allows_only_sign_in(model):
    assert model.phase == Phase.SIGNED_OUT
    assert enabled(model) == {"sign_in"}


def test_everything_is_disabled_while_the_hub_is_unreachable(model):
    model.apply_counter_state(counter_state("idle"))
    model.set_connected(False)
    assert enabled(model) == set()


def test_call_next_needs_someone_waiting(model):
    model.apply_counter_state(counter_state("idle"))
    for queue in sample_queues():
        model.apply_queue_state(queue.model_copy(update={"waiting": 0, "tickets": []}))
    assert not model.enabled("call_next")


def test_one_command_at_a_time_and_buttons_back_after_the_answer(model, sender):
    model.apply_counter_state(counter_state("idle"))
    model.call_next()
    model.call_next()  # double press while the first is in flight
    assert sender.actions == ["call_next"]
    assert enabled(model) == set()
    sender.reply_ok({"ticket": {"number": "A031"}})
    assert model.notice == "Turno A031 llamado."
    # answered, but the hub's new CounterState is not here yet: a held F1 cannot call again
    assert model.busy_action == "call_next"
    assert enabled(model) == set()
    model.apply_counter_state(counter_state("calling"))
    assert model.busy_action is None
    assert "recall" in enabled(model) and "call_next" not in enabled(model)


def test_busy_clears_after_a_grace_time_when_no_state_comes(qtbot, sender):
    model = CounterViewModel("v1", sender, now=lambda: FIXED_NOW, settle_ms=50)
    model.apply_sede_info(sample_sede())
    model.set_connected(True)
    model.apply_counter_state(counter_state("idle"))
    model.pause("Reunión")
    sender.reply_ok()  # e.g. a replayed answer: the hub publishes nothing new
    assert model.busy_action == "pause_counter"
    qtbot.waitUntil(lambda: model.busy_action is None, timeout=2000)
    model.deleteLater()


def test_an_answer_carrying_the_counter_applies_it_at_once(model, sender):
    model.apply_counter_state(counter_state("closed"))
    model.open_counter(["orientacion"])
    sender.reply_ok({"counter": counter_state("idle").model_dump(mode="json")})
    assert model.busy_action is None
    assert model.phase == Phase.IDLE


def test_hub_errors_are_shown_in_spanish(model, sender):
    model.apply_counter_state(counter_state("idle"))
    model.call_next()
    sender.reply_error("queue_empty", "No hay personas en espera.")
    assert model.error == "No hay personas en espera."
    model.call_next()
    assert model.error == ""  # a new command clears the old error


def test_no_answer_is_shown_as_hub_unreachable(model, sender):
    model.apply_counter_state(counter_state("idle"))
    model.call_next()
    sender.sent[-1].on_reply(None)
    assert model.error == "No hay conexión con el servidor de la sede."


def test_a_command_while_disconnected_is_not_sent(model, sender):
    model.apply_counter_state(counter_state("idle"))
    model.set_connected(False)
    model.call_next()
    assert sender.sent == []
    assert "conexión" in model.error


def test_elapsed_time_counts_from_the_call_then_from_the_start(model, clock, qtbot):
    model.apply_counter_state(counter_state("calling"))
    assert model.elapsed_text() == "00:35"
    clock["now"] = FIXED_NOW + timedelta(seconds=30)
    with qtbot.waitSignal(model.elapsed_changed) as blocker:
        model.tick()
    assert blocker.args == ["01:05"]
    model.apply_counter_state(counter_state("serving"))
    assert model.elapsed_text() == "01:42"


def test_format_duration():
    assert format_duration(0) == "00:00"
    assert format_duration(3725) == "1:02:05"
    assert format_duration(-5) == "00:00"


def test_sign_in_sends_credentials_and_keeps_the_staff_name(model, sender):
    model.sign_in("  ana ", "demo-ventanilla-1")
    assert sender.sent[-1].params == {"username": "ana", "password": "demo-ventanilla-1"}
    sender.reply_ok({"counter": counter_state("closed").model_dump(mode="json")})
    assert model.signed_in and model.user_display_name == "Ana Quispe"
    assert model.phase == Phase.CLOSED


def test_bad_credentials_keep_the_counter_signed_out(model, sender):
    model.sign_in("ana", "mal")
    sender.reply_error("bad_credentials", "Usuario o contraseña incorrectos.")
    assert model.phase == Phase.SIGNED_OUT
    assert model.error == "Usuario o contraseña incorrectos."


def test_empty_credentials_are_refused_locally(model, sender):
    model.sign_in(" ", "")
    assert sender.sent == []
    assert model.error == "Ingrese su usuario y contraseña."


def test_command_parameters(model, sender):
    model.apply_counter_state(counter_state("serving"))
    model.finish(Outcome.ATENDIDO, "  orientado sobre alimentos ")
    assert sender.sent[-1].params == {"outcome": "atendido", "note": "orientado sobre alimentos"}
    sender.reply_ok()
    model.apply_counter_state(counter_state("serving"))
    model.transfer(to_service_code="conciliacion", note="")
    assert sender.sent[-1].params == {"to_service_code": "conciliacion"}
    sender.reply_ok()
    model.apply_counter_state(counter_state("calling"))
    model.no_show()
    assert (sender.sent[-1].action, sender.sent[-1].params) == (
        "finish_attention",
        {"outcome": "no_se_presento"},
    )
    sender.reply_ok()
    model.apply_counter_state(counter_state("idle"))
    model.pause("  Refrigerio ")
    assert sender.sent[-1].params == {"reason": "Refrigerio"}
    sender.reply_ok()
    model.apply_counter_state(counter_state("idle"))
    model.resume("t-V004")
    assert (sender.sent[-1].action, sender.sent[-1].params) == (
        "resume_ticket",
        {"ticket_id": "t-V004"},
    )
    sender.reply_ok()
    model.apply_counter_state(counter_state("idle"))
    model.reprint("t-A037")
    assert (sender.sent[-1].action, sender.sent[-1].params) == (
        "reprint_ticket",
        {"ticket_id": "t-A037"},
    )


def test_open_needs_at_least_one_service(model, sender):
    model.apply_counter_state(counter_state("closed"))
    model.open_counter([])
    assert sender.sent == []
    assert model.error == "Elija al menos un servicio."
    model.open_counter(None)  # the counter's configured services
    assert (sender.actions, sender.sent[-1].params) == (["open_counter"], {})


def test_waits_in_the_lists_are_refreshed_while_idle(model, qtbot):
    model.apply_counter_state(counter_state("idle"))
    changes = []
    model.changed.connect(lambda: changes.append(1))
    for _ in range(30):
        model.tick()
    assert len(changes) == 2


def test_transfer_and_pause_need_a_target_and_a_reason(model, sender):
    model.apply_counter_state(counter_state("serving"))
    model.transfer()
    assert model.error == "Elija el servicio o la ventanilla de destino."
    model.pause("   ")
    assert model.error == "Indique el motivo de la pausa."
    assert sender.sent == []


def test_waiting_rows_and_reprint_candidates(model):
    model.apply_counter_state(counter_state("idle"))
    rows = model.service_rows()
    assert [(row.code, row.waiting) for row in rows] == [("orientacion", 32), ("victimas", 8)]
    assert model.waiting_total() == 40
    assert [t.number for t in model.reprint_candidates()] == ["A037"]
    assert model.wait_of(rows[0].tickets[0]) == "41:00"


def test_counter_state_of_another_counter_is_ignored(model):
    other = counter_state("serving").model_copy(update={"counter_id": "v2"})
    model.apply_counter_state(other)
    assert model.counter is None


def test_paused_counter_with_reason(model):
    state = counter_state("paused")
    assert state.status == CounterStatus.PAUSED
    model.apply_counter_state(state)
    assert model.phase == Phase.PAUSED
    assert model.counter.pause_reason == "Refrigerio"
    assert model.current is None or model.current.status != TicketStatus.SERVING


def test_counter_removed_by_the_hub_signs_out_with_a_spanish_reason(model):
    model.apply_counter_state(counter_state("serving"))
    assert model.phase == Phase.SERVING
    model.remove_counter("v2")  # another counter: nothing changes here
    assert model.phase == Phase.SERVING
    model.remove_counter("v1")
    assert model.phase == Phase.SIGNED_OUT and model.counter is None
    assert "ya no figura en la configuración" in model.error
    code = sample_queues()[0].service_code
    model.remove_queue(code)
    assert code not in model.queues


def test_reprint_candidates_include_the_flagged_tickets_behind_the_head(model, sender):
    """A long line: the hub lists flagged tickets further back than the head apart
    (QueueState.reprints); they are offered once each, oldest issued first."""
    model.apply_counter_state(counter_state("idle"))
    queue = sample_queues()[0]
    head_flagged = next(t for t in queue.tickets if t.needs_reprint)
    far = ticket("A150", "orientacion", 2, needs_reprint=True).model_copy(
        update={"people_ahead": 149}
    )
    farther = ticket("A160", "orientacion", 1, needs_reprint=True).model_copy(
        update={"people_ahead": 159}
    )
    # a hub may list a ticket in both (it moved into the head between two states): once
    model.apply_queue_state(
        queue.model_copy(update={"waiting": 180, "reprints": [farther, far, head_flagged]})
    )
    candidates = model.reprint_candidates()
    assert [t.number for t in candidates] == ["A037", "A150", "A160"]
    assert [t.people_ahead for t in candidates[1:]] == [149, 159]
    assert model.enabled("reprint")
    model.reprint("t-A160")
    assert (sender.sent[-1].action, sender.sent[-1].params) == (
        "reprint_ticket",
        {"ticket_id": "t-A160"},
    )
    sender.reply_ok()
    # reprinted: the hub's next state no longer lists it
    model.apply_queue_state(queue.model_copy(update={"waiting": 180, "reprints": [far]}))
    assert [t.number for t in model.reprint_candidates()] == ["A037", "A150"]
