"""The writes every command subject shares: a ticket's or a counter's change together with its
history, audit and outbox rows and what the transport must republish; the running line counts;
the look-ups of the ticket a command acts on and the checks on a counter's hands. All run
inside the command's transaction (``hub.domain.tx.Tx``)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping
from typing import Any

from contracts.errors import ErrorCode
from contracts.messages import TicketRef
from hub.domain.queries import counter_state, in_hand
from hub.domain.tx import Tx, dumps, error, new_id


def adjust_lines(tx: Tx, before: Mapping[str, Any] | None, after: Mapping[str, Any]) -> None:
    old, new = _line_slot(before), _line_slot(after)
    if old == new:
        return
    for slot, delta in ((old, -1), (new, 1)):
        if slot is None:
            continue
        service_code, in_line, preferential = slot
        tx.conn.execute(
            "UPDATE service_lines SET waiting_total = waiting_total + ?, "
            "waiting_in_line = waiting_in_line + ?, "
            "preferential_in_line = preferential_in_line + ? WHERE service_code = ?",
            (
                delta,
                delta if in_line else 0,
                delta if in_line and preferential else 0,
                service_code,
            ),
        )


def _line_slot(ticket: Mapping[str, Any] | None) -> tuple[str, bool, bool] | None:
    """Which running count of service_lines a ticket adds to (None: not waiting)."""
    if ticket is None or ticket["status"] != "waiting":
        return None
    return (
        ticket["service_code"],
        ticket["target_counter_id"] is None,
        ticket["preference_category"] != "none",
    )


def update_ticket(
    tx: Tx,
    before: Mapping[str, Any],
    event_type: str,
    changes: Mapping[str, Any],
    *,
    details: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    after = dict(before)
    after.update(changes)
    after["revision"] = before["revision"] + 1
    after["updated_at"] = tx.now_iso
    assignments = ", ".join(f"{column} = ?" for column in (*changes, "revision", "updated_at"))
    cursor = tx.conn.execute(
        f"UPDATE tickets SET {assignments} WHERE id = ? AND revision = ?",  # noqa: S608
        (*changes.values(), after["revision"], tx.now_iso, before["id"], before["revision"]),
    )
    if cursor.rowcount != 1:
        raise error(ErrorCode.CONFLICT)
    adjust_lines(tx, before, after)
    ticket_history(tx, before, after, event_type, details or {})
    out = tx.outcome
    out.changed_services.update({before["service_code"], after["service_code"]})
    for counter_id in (
        before["counter_id"],
        after["counter_id"],
        before["target_counter_id"],
        after["target_counter_id"],
    ):
        if counter_id is not None:
            out.changed_counters.add(counter_id)
    out.display_changed = True
    return after


def ticket_history(
    tx: Tx,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any],
    event_type: str,
    details: Mapping[str, Any],
) -> None:
    event = {
        "ticket_id": after["id"],
        "id": new_id(),
        "sede_id": tx.sede_id,
        "event_type": event_type,
        "from_status": before["status"] if before else None,
        "to_status": after["status"],
        "service_code": after["service_code"],
        "counter_id": after["counter_id"]
        or (before["counter_id"] if before else None)
        or tx.actor.device_id,
        "username": tx.username,
        "details": dumps(details),
        "request_id": tx.request_id,
        "at": tx.now_iso,
    }
    tx.conn.execute(
        "INSERT INTO ticket_events (ticket_id, id, sede_id, event_type, from_status, "
        "to_status, service_code, counter_id, username, details, request_id, at) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
        tuple(event.values()),
    )
    tx.audit(
        entity_type="ticket",
        entity_id=after["id"],
        before=ticket_summary(before) if before else None,
        after=ticket_summary(after),
    )
    tx.outbox(
        f"ticket.{event_type}",
        "ticket",
        after["id"],
        {"ticket": ticket_record(after), "event": {**event, "details": details}},
    )


def update_counter(
    tx: Tx, before: sqlite3.Row, event_type: str, changes: Mapping[str, Any]
) -> None:
    after = dict(before)
    after.update(changes)
    after["revision"] = before["revision"] + 1
    after["updated_at"] = tx.now_iso
    assignments = ", ".join(f"{column} = ?" for column in (*changes, "revision", "updated_at"))
    tx.conn.execute(
        f"UPDATE counters SET {assignments} WHERE counter_id = ?",  # noqa: S608
        (*changes.values(), after["revision"], tx.now_iso, before["counter_id"]),
    )
    summary_keys = ("status", "pause_reason", "active_services", "username")
    tx.audit(
        entity_type="counter",
        entity_id=before["counter_id"],
        before={k: before[k] for k in summary_keys},
        after={k: after[k] for k in summary_keys},
    )
    record = {k: v for k, v in after.items() if k != "wrr_state"}
    record["active_services"] = json.loads(after["active_services"])
    record["sede_id"] = tx.sede_id
    tx.outbox(f"counter.{event_type}", "counter", before["counter_id"], record)
    tx.outcome.changed_counters.add(before["counter_id"])
    tx.outcome.display_changed = True


def ticket_by_id(tx: Tx, ticket_id: str) -> sqlite3.Row:
    row = tx.conn.execute("SELECT * FROM tickets WHERE id = ?", (ticket_id,)).fetchone()
    if row is None:
        raise error(ErrorCode.UNKNOWN_TICKET, field="ticket_id")
    return row


def ticket_by_ref(tx: Tx, ref: TicketRef) -> sqlite3.Row:
    if ref.ticket_id is not None:
        row = ticket_by_id(tx, ref.ticket_id)
        if ref.number is not None and row["number"] != ref.number:
            raise error(ErrorCode.UNKNOWN_TICKET, field="number")
        return row
    # numbers repeat across days: prefer a live ticket (latest day first), then today's
    row = (
        tx.conn.execute(
            "SELECT * FROM tickets WHERE status IN ('waiting', 'called', 'serving', 'parked') "
            "AND number = ? ORDER BY business_date DESC LIMIT 1",
            (ref.number,),
        ).fetchone()
        or tx.conn.execute(
            "SELECT * FROM tickets WHERE business_date = ? AND number = ?",
            (tx.business_date(), ref.number),
        ).fetchone()
    )
    if row is None:
        raise error(ErrorCode.UNKNOWN_TICKET, field="number")
    return row


def held_ticket(
    tx: Tx, counter: sqlite3.Row, ref: TicketRef, statuses: tuple[str, ...]
) -> sqlite3.Row:
    """The ticket this counter is acting on: the one named, else the one in hand."""
    if ref.ticket_id is None and ref.number is None:
        ticket = in_hand(tx.conn, counter["counter_id"])
        if ticket is None:
            raise error(ErrorCode.INVALID_TRANSITION, "La ventanilla no tiene un turno en curso.")
    else:
        ticket = ticket_by_ref(tx, ref)
    if ticket["counter_id"] != counter["counter_id"] or ticket["status"] not in statuses:
        raise error(ErrorCode.INVALID_TRANSITION)
    return ticket


def require_free_hands(tx: Tx, counter: sqlite3.Row) -> None:
    if in_hand(tx.conn, counter["counter_id"]) is not None:
        raise error(
            ErrorCode.COUNTER_BUSY,
            "La ventanilla tiene un turno en curso: finalícelo, derívelo o póngalo en espera.",
        )


def require_callable(tx: Tx, counter: sqlite3.Row) -> None:
    if counter["status"] != "open":
        raise error(ErrorCode.COUNTER_NOT_OPEN)
    if in_hand(tx.conn, counter["counter_id"]) is not None:
        raise error(ErrorCode.COUNTER_BUSY)


def counter_result(tx: Tx, counter_id: str) -> dict[str, Any]:
    state = counter_state(tx.conn, catalogue=tx.catalogue, counter_id=counter_id)
    return {"counter": state.model_dump(mode="json")}


def back_to_line(service_code: str, target_counter_id: str | None) -> dict[str, Any]:
    """A ticket returning to a line keeps its original arrival (fairness across transfers)."""
    return {
        "status": "waiting",
        "service_code": service_code,
        "counter_id": None,
        "target_counter_id": target_counter_id,
        "called_at": None,
        "started_at": None,
        "recalls": 0,
    }


def ticket_summary(ticket: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("number", "status", "service_code", "counter_id", "target_counter_id", "recalls")
    summary = {k: ticket[k] for k in keys}
    summary["preference_category"] = ticket["preference_category"]
    return summary


def ticket_record(ticket: Mapping[str, Any]) -> dict[str, Any]:
    """The ticket as it travels to central: every column but the DNI."""
    record = {k: v for k, v in ticket.items() if k != "dni"}
    record["has_dni"] = ticket["dni"] is not None
    record["needs_reprint"] = bool(ticket["needs_reprint"])
    return record


def recount_lines(conn: sqlite3.Connection, service_codes: Iterable[str]) -> None:
    """Rebuild the running line counts (``service_lines``) from the tickets: at start and
    whenever the services change."""
    conn.execute("DELETE FROM service_lines")
    conn.executemany(
        "INSERT INTO service_lines (service_code) VALUES (?)",
        [(code,) for code in service_codes],
    )
    conn.execute(
        "UPDATE service_lines SET "
        "waiting_total = (SELECT COUNT(*) FROM tickets t WHERE t.status = 'waiting' "
        "AND t.service_code = service_lines.service_code), "
        "waiting_in_line = (SELECT COUNT(*) FROM tickets t WHERE t.status = 'waiting' "
        "AND t.service_code = service_lines.service_code AND t.target_counter_id IS NULL), "
        "preferential_in_line = (SELECT COUNT(*) FROM tickets t WHERE t.status = 'waiting' "
        "AND t.service_code = service_lines.service_code AND t.target_counter_id IS NULL "
        "AND t.preference_category != 'none')"
    )
