"""Appointments at the sede (central-owned, pulled by the sync agent): a citizen checks in at the
kiosk and gets a ticket that goes ahead once the appointment is due; ``record_appointment``
records one directly (``HubEngine.add_appointment``: tools, tests)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

from contracts.errors import ErrorCode
from contracts.messages import CheckinAppointmentParams, PreferenceCategory, TicketOrigin
from hub.domain.store import iso
from hub.domain.tickets import answer_issued, check_open_hours, create_ticket
from hub.domain.tx import Tx, error


def checkin_appointment(*, tx: Tx, params: CheckinAppointmentParams) -> None:
    if params.dni is None and params.appointment_code is None:
        raise error(ErrorCode.INVALID_PAYLOAD, "Indique el DNI o el código de la cita.", "dni")
    today = tx.business_date()
    tomorrow = (date.fromisoformat(today) + timedelta(days=1)).isoformat()
    sql = (
        "SELECT * FROM appointments WHERE scheduled_at >= ? AND scheduled_at < ? "
        "AND status != 'cancelled'"
    )
    args: list[Any] = [tx.catalogue.day_start(today), tx.catalogue.day_start(tomorrow)]
    if params.appointment_code is not None:
        sql += " AND code = ?"
        args.append(params.appointment_code.upper())
    if params.dni is not None:
        sql += " AND dni = ?"
        args.append(params.dni)
    rows = tx.conn.execute(sql + " ORDER BY scheduled_at", args).fetchall()
    if not rows:
        raise error(ErrorCode.UNKNOWN_APPOINTMENT)
    pending = [r for r in rows if r["status"] == "pending"]
    if not pending:
        raise error(ErrorCode.INVALID_TRANSITION, "Su cita ya fue registrada; conserve su turno.")
    appointment = pending[0]
    service = tx.service(appointment["service_code"], "service_code")
    check_open_hours(tx)
    ticket = create_ticket(
        tx,
        service=service,
        preference=PreferenceCategory.NONE,
        origin=TicketOrigin.APPOINTMENT,
        dni=appointment["dni"],
        appointment=appointment,
    )
    tx.conn.execute(
        "UPDATE appointments SET status = 'checked_in', ticket_id = ?, checked_in_at = ?, "
        "revision = revision + 1, updated_at = ? WHERE id = ?",
        (ticket["id"], tx.now_iso, tx.now_iso, appointment["id"]),
    )
    after = tx.conn.execute(
        "SELECT * FROM appointments WHERE id = ?", (appointment["id"],)
    ).fetchone()
    tx.audit(
        entity_type="appointment",
        entity_id=appointment["id"],
        before={"status": appointment["status"]},
        after={"status": "checked_in", "ticket_id": ticket["id"]},
    )
    tx.outbox("appointment.checked_in", "appointment", appointment["id"], appointment_record(after))
    answer_issued(tx, ticket, service)


def appointment_record(row: Mapping[str, Any]) -> dict[str, Any]:
    return {k: row[k] for k in row.keys() if k != "dni"}


def record_appointment(
    *,
    tx: Tx,
    appointment_id: str,
    code: str,
    service_code: str,
    scheduled_at: datetime,
    dni: str | None,
) -> None:
    """Record (or update, by id) an appointment and its audit row in ``tx``; a code taken by
    another appointment raises ``sqlite3.IntegrityError``."""
    tx.conn.execute(
        "INSERT INTO appointments (id, sede_id, code, dni, service_code, "
        "scheduled_at, updated_at) VALUES (?,?,?,?,?,?,?) ON CONFLICT (id) DO UPDATE "
        "SET code = excluded.code, dni = excluded.dni, "
        "service_code = excluded.service_code, scheduled_at = excluded.scheduled_at, "
        "revision = revision + 1, updated_at = excluded.updated_at",
        (
            appointment_id,
            tx.sede_id,
            code.upper(),
            dni,
            service_code,
            iso(scheduled_at),
            tx.now_iso,
        ),
    )
    tx.audit(
        entity_type="appointment",
        entity_id=appointment_id,
        before=None,
        after={"service_code": service_code, "scheduled_at": iso(scheduled_at)},
    )
