"""Ticket commands (Module 03): issue at a kiosk, its print report; call (next by the order of
service, or one by number), recall, start and finish an attention, transfer, park and resume,
cancel, reprint; and the day's roll-over. Keyword-only handlers run by the engine's dispatch
inside the command's transaction."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from contracts.errors import ErrorCode
from contracts.messages import (
    CallEvent,
    CallView,
    Empty,
    FinishAttentionParams,
    IssuedTicket,
    IssueTicketParams,
    Outcome,
    PreferenceCategory,
    PrintJob,
    ReportPrintParams,
    TicketOrigin,
    TicketRef,
    TransferTicketParams,
)
from contracts.mqtt import Role
from hub.config import ResetPolicy, ServiceConfig
from hub.domain import ordering, store
from hub.domain.changes import (
    adjust_lines,
    back_to_line,
    held_ticket,
    require_callable,
    ticket_by_id,
    ticket_by_ref,
    ticket_history,
    update_ticket,
)
from hub.domain.queries import COUNT_AHEAD_SQL, LINE_ORDER, estimate, service_pace, ticket_view
from hub.domain.store import iso
from hub.domain.tx import Tx, dumps, error, new_id

IN_HAND = ("called", "serving")
FINAL = ("done", "no_show", "cancelled")


def issue_ticket(*, tx: Tx, params: IssueTicketParams) -> None:
    service = tx.service(params.service_code, "service_code")
    check_open_hours(tx)
    ticket = create_ticket(
        tx,
        service=service,
        preference=params.preference_category,
        origin=TicketOrigin.WALK_IN,
        dni=params.dni,
    )
    answer_issued(tx, ticket, service)


def report_print(*, tx: Tx, params: ReportPrintParams) -> None:
    ticket = ticket_by_id(tx, params.ticket_id)
    if tx.actor.role != Role.ADMIN and ticket["issued_by_device"] != tx.actor.device_id:
        raise error(
            ErrorCode.FORBIDDEN,
            "Solo el equipo que emitió el turno puede informar su impresión.",
        )
    after = update_ticket(
        tx,
        ticket,
        "print_reported",
        {"needs_reprint": 0 if params.ok else 1},
        details={"ok": params.ok, "error": params.error},
    )
    tx.outcome.result = {"ticket": ticket_view(after).model_dump(mode="json")}


def check_open_hours(tx: Tx) -> None:
    if not tx.policy.issue_outside_hours and not tx.catalogue.config.is_open(tx.now):
        raise error(ErrorCode.SEDE_CLOSED)


def create_ticket(
    tx: Tx,
    *,
    service: ServiceConfig,
    preference: PreferenceCategory,
    origin: TicketOrigin,
    dni: str | None,
    appointment: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    business_date = tx.business_date()
    # the sequence row is bumped inside this transaction: never max(n)+1, never reused
    seq = tx.conn.execute(
        "INSERT INTO ticket_sequences (service_code, business_date, last_number) "
        "VALUES (?, ?, 1) ON CONFLICT (service_code, business_date) "
        "DO UPDATE SET last_number = last_number + 1 RETURNING last_number",
        (service.code, business_date),
    ).fetchone()[0]
    ticket = {
        "id": new_id(),
        "sede_id": tx.sede_id,
        "business_date": business_date,
        "service_code": service.code,
        "number": f"{service.letter}{seq:03d}",
        "number_seq": seq,
        "status": "waiting",
        "preference_category": str(preference),
        "origin": str(origin),
        "appointment_id": appointment["id"] if appointment else None,
        "appointment_due_at": appointment["scheduled_at"] if appointment else None,
        "dni": dni,
        "issued_at": tx.now_iso,
        "arrived_at": tx.now_iso,
        "first_called_at": None,
        "called_at": None,
        "started_at": None,
        "finished_at": None,
        "counter_id": None,
        "target_counter_id": None,
        "issued_by_role": str(tx.actor.role),
        "issued_by_device": tx.actor.device_id,
        "served_by": None,
        "recalls": 0,
        "outcome": None,
        "note": None,
        "needs_reprint": 0,
        "revision": 1,
        "updated_at": tx.now_iso,
    }
    columns = ", ".join(ticket)
    marks = ", ".join("?" for _ in ticket)
    tx.conn.execute(f"INSERT INTO tickets ({columns}) VALUES ({marks})", tuple(ticket.values()))  # noqa: S608
    adjust_lines(tx, None, ticket)
    ticket_history(tx, None, ticket, "issued", {})
    tx.outcome.changed_services.add(service.code)
    tx.outcome.display_changed = True
    return ticket


def answer_issued(tx: Tx, ticket: Mapping[str, Any], service: ServiceConfig) -> None:
    due = tx.due_limit()
    klass = ordering.priority_class(ticket, due_limit=due)
    # a ticket issued now arrives last: everyone waiting in a class <= its class is ahead
    per_person, open_counters, (_, in_line, preferential) = service_pace(
        tx.conn, service.code, tx.catalogue
    )
    if klass == ordering.REGULAR:
        ahead = in_line - 1
    elif klass == ordering.PREFERENTIAL:
        ahead = preferential - 1
    else:
        ahead = _count_ahead(tx, service.code, ticket["id"], due, klass)
    view = ticket_view(
        ticket, people_ahead=ahead, estimated=estimate(ahead, per_person, open_counters)
    )
    issued = IssuedTicket(
        ticket=view, sede_name=tx.catalogue.config.name, service_name=service.name
    )
    # The kiosk prints from this answer (it carries everything a PrintJob would): no
    # PrintJob for a fresh ticket. PrintJobs are for reprints ordered from a counter.
    tx.outcome.result = issued.model_dump(mode="json")


def _count_ahead(tx: Tx, service_code: str, ticket_id: str, due: str, klass: int) -> int:
    return tx.conn.execute(COUNT_AHEAD_SQL, (service_code, ticket_id, due, klass)).fetchone()[0]


def call_next(*, tx: Tx, counter: sqlite3.Row, params: Empty) -> None:
    require_callable(tx, counter)
    counter_id = counter["counter_id"]
    active = json.loads(counter["active_services"])
    due = tx.due_limit()
    heads: dict[str, sqlite3.Row] = {}
    for code in active:
        row = tx.conn.execute(
            "SELECT * FROM tickets WHERE status = 'waiting' AND service_code = ? "  # noqa: S608
            f"AND target_counter_id IS NULL ORDER BY {LINE_ORDER} LIMIT 1",
            (code, due),
        ).fetchone()
        if row is not None:
            heads[code] = row
    direct = tx.conn.execute(
        "SELECT * FROM tickets WHERE target_counter_id = ? AND status = 'waiting'",
        (counter_id,),
    ).fetchall()
    weights = {code: tx.catalogue.counters[counter_id].services[code] for code in active}
    choice = ordering.choose_next(
        heads=heads,
        direct=direct,
        weights=weights,
        wrr_state=json.loads(counter["wrr_state"]),
        due_limit=due,
        aging_limit=iso(tx.now - timedelta(seconds=tx.policy.aging_after_s)),
    )
    if choice is None:
        raise error(ErrorCode.QUEUE_EMPTY)
    if choice.reason == "weighted":
        # scheduling state only; not a business event
        tx.conn.execute(
            "UPDATE counters SET wrr_state = ? WHERE counter_id = ?",
            (dumps(choice.wrr_state), counter_id),
        )
    _call(tx, counter, choice.ticket, reason=choice.reason)


def call_ticket(*, tx: Tx, counter: sqlite3.Row, params: TicketRef) -> None:
    if params.ticket_id is None and params.number is None:
        raise error(ErrorCode.INVALID_PAYLOAD, "Indique el turno a llamar.", "ticket_id")
    require_callable(tx, counter)
    ticket = ticket_by_ref(tx, params)
    if ticket["status"] != "waiting":
        raise error(ErrorCode.INVALID_TRANSITION, "Ese turno no está en espera.")
    counter_id = counter["counter_id"]
    target = ticket["target_counter_id"]
    attends = ticket["service_code"] in json.loads(counter["active_services"])
    # a service central withdrew: its waiting tickets may be called by number anywhere
    attends = attends or ticket["service_code"] not in tx.catalogue.offered
    if (target is not None and target != counter_id) or (target is None and not attends):
        raise error(
            ErrorCode.INVALID_TRANSITION, "Ese turno corresponde a otra ventanilla o servicio."
        )
    _call(tx, counter, ticket, reason="specific")


def _call(tx: Tx, counter: sqlite3.Row, ticket: Mapping[str, Any], *, reason: str):
    after = update_ticket(
        tx,
        ticket,
        "called",
        {
            "status": "called",
            "counter_id": counter["counter_id"],
            "target_counter_id": None,
            "called_at": tx.now_iso,
            "first_called_at": ticket["first_called_at"] or tx.now_iso,
            "recalls": 0,
            "served_by": tx.username,
        },
        details={"reason": reason, "recalls": 0},
    )
    _announce(tx, after)
    tx.outcome.result = {"ticket": ticket_view(after).model_dump(mode="json")}


def _announce(tx: Tx, ticket: Mapping[str, Any]) -> None:
    counter = tx.catalogue.counters[ticket["counter_id"]]
    tx.outcome.calls.append(
        CallEvent(
            call=CallView(
                number=ticket["number"],
                service_code=ticket["service_code"],
                counter_id=counter.id,
                counter_name=counter.name,
                counter_number=counter.number,
                called_at=store.parse_iso(ticket["called_at"]),  # type: ignore[arg-type]
                recalls=ticket["recalls"],
            )
        )
    )
    tx.outcome.display_changed = True


def recall(*, tx: Tx, counter: sqlite3.Row, params: TicketRef) -> None:
    ticket = held_ticket(tx, counter, params, ("called",))
    if ticket["recalls"] >= tx.policy.max_recalls:
        after = update_ticket(
            tx,
            ticket,
            "no_show",
            {
                "status": "no_show",
                "outcome": str(Outcome.NO_SE_PRESENTO),
                "finished_at": tx.now_iso,
            },
            details={"reason": "max_recalls", "recalls": ticket["recalls"]},
        )
        tx.outcome.result = {
            "ticket": ticket_view(after).model_dump(mode="json"),
            "no_show": True,
        }
        return
    after = update_ticket(
        tx,
        ticket,
        "recalled",
        {"recalls": ticket["recalls"] + 1, "called_at": tx.now_iso},
        details={"recalls": ticket["recalls"] + 1},
    )
    _announce(tx, after)
    tx.outcome.result = {"ticket": ticket_view(after).model_dump(mode="json"), "no_show": False}


def start_attention(*, tx: Tx, counter: sqlite3.Row, params: TicketRef) -> None:
    ticket = held_ticket(tx, counter, params, ("called",))
    after = update_ticket(tx, ticket, "started", {"status": "serving", "started_at": tx.now_iso})
    tx.outcome.result = {"ticket": ticket_view(after).model_dump(mode="json")}


def finish_attention(*, tx: Tx, counter: sqlite3.Row, params: FinishAttentionParams) -> None:
    ticket = held_ticket(tx, counter, TicketRef(), IN_HAND)
    if params.outcome is not Outcome.NO_SE_PRESENTO and ticket["status"] != "serving":
        raise error(
            ErrorCode.INVALID_TRANSITION,
            "Inicie la atención antes de finalizarla, o registre que no se presentó.",
        )
    status = "no_show" if params.outcome is Outcome.NO_SE_PRESENTO else "done"
    after = update_ticket(
        tx,
        ticket,
        "finished",
        {
            "status": status,
            "outcome": str(params.outcome),
            "note": params.note,
            "finished_at": tx.now_iso,
        },
        details={"outcome": str(params.outcome)},
    )
    tx.outcome.result = {"ticket": ticket_view(after).model_dump(mode="json")}


def transfer_ticket(*, tx: Tx, counter: sqlite3.Row, params: TransferTicketParams) -> None:
    if params.to_service_code is None and params.to_counter_id is None:
        raise error(
            ErrorCode.INVALID_PAYLOAD,
            "Indique el servicio o la ventanilla de destino.",
            "to_service_code",
        )
    ticket = held_ticket(tx, counter, TicketRef(), IN_HAND)
    service_code = ticket["service_code"]
    if params.to_service_code is not None:
        service_code = tx.service(params.to_service_code, "to_service_code").code
    target = None
    if params.to_counter_id is not None:
        if params.to_counter_id not in tx.catalogue.counters:
            raise error(ErrorCode.UNKNOWN_COUNTER, field="to_counter_id")
        if params.to_counter_id == counter["counter_id"]:
            raise error(
                ErrorCode.INVALID_TRANSITION,
                "No puede derivar un turno a la misma ventanilla.",
                "to_counter_id",
            )
        target = params.to_counter_id
    elif service_code == ticket["service_code"]:
        raise error(
            ErrorCode.INVALID_TRANSITION,
            "El turno ya pertenece a ese servicio.",
            "to_service_code",
        )
    after = update_ticket(
        tx,
        ticket,
        "transferred",
        back_to_line(service_code, target),
        details={
            "from_service": ticket["service_code"],
            "to_service": service_code,
            "from_counter": counter["counter_id"],
            "to_counter": target,
            "note": params.note,
        },
    )
    tx.outcome.result = {"ticket": ticket_view(after).model_dump(mode="json")}


def park_ticket(*, tx: Tx, counter: sqlite3.Row, params: TicketRef) -> None:
    ticket = held_ticket(tx, counter, params, IN_HAND)
    after = update_ticket(tx, ticket, "parked", {"status": "parked"})
    tx.outcome.result = {"ticket": ticket_view(after).model_dump(mode="json")}


def resume_ticket(*, tx: Tx, counter: sqlite3.Row, params: TicketRef) -> None:
    if params.ticket_id is None and params.number is None:
        parked = tx.conn.execute(
            "SELECT * FROM tickets WHERE counter_id = ? AND status = 'parked'",
            (counter["counter_id"],),
        ).fetchall()
        if len(parked) != 1:
            raise error(
                ErrorCode.INVALID_PAYLOAD if parked else ErrorCode.INVALID_TRANSITION,
                "Indique el turno a retomar." if parked else "No hay turnos en espera aquí.",
                "ticket_id",
            )
        ticket = parked[0]
    else:
        ticket = ticket_by_ref(tx, params)
    if ticket["status"] != "parked" or ticket["counter_id"] != counter["counter_id"]:
        raise error(ErrorCode.INVALID_TRANSITION, "Ese turno no está en espera aquí.")
    require_callable(tx, counter)
    after = update_ticket(
        tx,
        ticket,
        "resumed",
        {"status": "serving", "started_at": ticket["started_at"] or tx.now_iso},
    )
    tx.outcome.result = {"ticket": ticket_view(after).model_dump(mode="json")}


def cancel_ticket(*, tx: Tx, counter: sqlite3.Row, params: TicketRef) -> None:
    if params.ticket_id is None and params.number is None:
        ticket = held_ticket(tx, counter, params, IN_HAND)
    else:
        ticket = ticket_by_ref(tx, params)
        held_elsewhere = (
            ticket["status"] in ("called", "serving", "parked")
            and ticket["counter_id"] != counter["counter_id"]
        )
        if ticket["status"] in FINAL or held_elsewhere:
            raise error(ErrorCode.INVALID_TRANSITION)
    after = update_ticket(
        tx, ticket, "cancelled", {"status": "cancelled", "finished_at": tx.now_iso}
    )
    tx.outcome.result = {"ticket": ticket_view(after).model_dump(mode="json")}


def reprint_ticket(*, tx: Tx, counter: sqlite3.Row, params: TicketRef) -> None:
    if params.ticket_id is None and params.number is None:
        ticket = held_ticket(tx, counter, params, IN_HAND)
    else:
        ticket = ticket_by_ref(tx, params)
    if ticket["status"] in FINAL:
        raise error(ErrorCode.INVALID_TRANSITION, "Ese turno ya terminó.")
    device = (
        ticket["issued_by_device"]
        if ticket["issued_by_role"] == str(Role.KIOSK)
        else counter["counter_id"]
    )
    after = update_ticket(tx, ticket, "reprint_requested", {}, details={"device_id": device})
    service = tx.catalogue.services[after["service_code"]]
    view = ticket_view(after)
    tx.outcome.prints.append(
        (
            device,
            PrintJob(
                ticket=view,
                sede_name=tx.catalogue.config.name,
                service_name=service.name,
                reprint=True,
            ),
        )
    )
    tx.outcome.result = {"ticket": view.model_dump(mode="json"), "device_id": device}


def roll_over(tx: Tx, previous: str, today: str) -> None:
    expired = 0
    if tx.policy.reset is ResetPolicy.DAILY:
        for ticket in tx.conn.execute(
            "SELECT * FROM tickets WHERE status IN ('waiting', 'called', 'serving', "
            "'parked') AND business_date < ?",
            (today,),
        ).fetchall():
            update_ticket(
                tx,
                ticket,
                "expired",
                {"status": "cancelled", "finished_at": tx.now_iso},
                details={"reason": "day_rollover"},
            )
            expired += 1
    store.set_hub_meta(tx.conn, "business_date", today)
    summary = {
        "from": previous,
        "to": today,
        "policy": str(tx.policy.reset),
        "expired": expired,
    }
    tx.audit(entity_type="hub", entity_id=tx.sede_id, before=None, after=summary)
    tx.outbox("hub.day_rolled_over", "hub", tx.sede_id, summary)
    tx.outcome.changed_services.update(tx.catalogue.services)
    tx.outcome.changed_counters.update(tx.catalogue.counters)
    tx.outcome.display_changed = True
