"""Case intakes opened at a counter at the end of an attention (Module 02, issue 6): the
``open_case_intake`` command, and ``amend_case_intake`` to correct the matter or summary
until central has opened the file. Works with no WAN: the intake, its audit row, its outbox event
and the stored answer commit in the engine's command transaction; the sync agent pushes the
event later and central opens the case file (``central.cases.intake``) and sends the file
number back (``case_file`` records, ``central_records.case_file_for_intake``).

The outbox payload is the one place where a citizen's names and document number leave the
hub (central needs them to register the person); the answer, the audit row, the retained
state and the logs carry none of them.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import uuid6

from contracts.cases import (
    INTAKE_FIELDS,
    MAX_NAMES,
    IntakeRecord,
    forward_status,
    intake_names,
    normalize_document,
    status_rank,
)
from contracts.errors import ErrorCode
from contracts.messages import (
    AmendCaseIntakeParams,
    CaseIntakeView,
    Empty,
    OpenCaseIntakeParams,
)
from contracts.sync import RecordType
from hub.domain import central_records, outbox, store
from hub.domain.errors import DomainError
from hub.domain.tx import Tx

# column lists come from the INTAKE_FIELDS constant, never from input
_UPSERT_LOCAL_INTAKE = (
    "INSERT INTO case_intakes (id, sede_id, "  # noqa: S608
    + ", ".join(INTAKE_FIELDS)
    + ", deleted, revision, pending_seq, created_at, updated_at) VALUES (?, ?, "
    + ", ".join("?" for _ in INTAKE_FIELDS)
    + ", ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
    + ", ".join(f"{k} = excluded.{k}" for k in INTAKE_FIELDS)
    + ", deleted = excluded.deleted, revision = excluded.revision, "
    "pending_seq = excluded.pending_seq, updated_at = excluded.updated_at"
)


INTAKE_DEFAULTS = {
    "citizen_doc_number": None,
    "citizen_names": None,
    "matter": None,
    "summary": None,
    "ticket_id": None,
    "status": "open",
}


def write_intake(
    conn: sqlite3.Connection,
    *,
    intake_id: str | None = None,
    changes: dict[str, Any],
    delete: bool = False,
    at: str | None = None,
) -> dict[str, Any]:
    """Create or edit (or delete, as a tombstone) a case intake: the row and its outbox event,
    inside the CALLER's open transaction (the hub engine's command transaction, with its audit
    row and stored answer), so they commit or roll back together. Status only moves forward.
    Raises ValueError (pydantic's ValidationError) before writing anything on bad input."""
    if not conn.in_transaction:
        raise RuntimeError("write_intake needs the caller's open transaction")
    meta = store.hub_meta(conn)
    at = at or store.now_iso()
    current = None
    if intake_id is not None:
        current = conn.execute("SELECT * FROM case_intakes WHERE id = ?", (intake_id,)).fetchone()
    if current is None:
        record = {
            **INTAKE_DEFAULTS,
            **changes,
            "id": intake_id or str(uuid6.uuid7()),
            "sede_id": meta["sede_id"],
            "created_at": at,
        }
        base_revision = local_revision = 0
    else:
        record = {k: current[k] for k in (*INTAKE_FIELDS, "id", "sede_id", "created_at")}
        record.update(changes)
        status_rank(record["status"])
        record["status"] = forward_status(current["status"], record["status"])
        # based on the revision central holds once it has applied what this hub already
        # sent, not only on what it last pulled: a copy born here (revision 0) is revision 1
        # at central, and an edit that changes something moves central one revision on.
        # Otherwise an edit made before the pull came back (offline, or the pull not yet
        # due) would meet the hub's own earlier write as a conflict (docs/sync.md).
        base_revision = max(int(current["revision"]), 1)
        changed = bool(current["deleted"]) != bool(delete) or any(
            record.get(k) != current[k] for k in INTAKE_FIELDS
        )
        local_revision = base_revision + 1 if changed else int(current["revision"])
    record["deleted"] = bool(delete)
    record["updated_at"] = at
    IntakeRecord.model_validate(record)  # bad input changes nothing
    seq = outbox.write(
        conn,
        event_type="case_intake.deleted" if delete else "case_intake.saved",
        aggregate_type="case_intake",
        aggregate_id=record["id"],
        payload={"intake": record, "base_revision": base_revision},
        at=at,
    )
    conn.execute(
        _UPSERT_LOCAL_INTAKE,
        (
            record["id"],
            record["sede_id"],
            *[record.get(k) for k in INTAKE_FIELDS],
            int(delete),
            local_revision,
            seq,
            record["created_at"],
            at,
        ),
    )
    return record


def _refuse(code: ErrorCode, message: str | None, field: str) -> DomainError:
    return DomainError(code, message, field=field)


def _clean(text: str) -> str:
    return " ".join(text.split())


def open_case_intake(*, tx: Tx, counter: sqlite3.Row, params: OpenCaseIntakeParams) -> None:
    """Handler of ``open_case_intake`` (counter dispatch table). Every check runs before the
    first write; the engine's savepoint undoes everything if anything later fails."""
    number, problem = normalize_document(params.doc_type, params.doc_number)
    if problem is not None:
        code = ErrorCode.INVALID_DNI if params.doc_type == "dni" else ErrorCode.INVALID_DOCUMENT
        raise _refuse(code, problem, "doc_number")
    given_names, surnames = _clean(params.given_names), _clean(params.surnames)
    if not given_names:
        raise _refuse(ErrorCode.MISSING_FIELD, "Ingrese los nombres de la persona.", "given_names")
    if not surnames:
        raise _refuse(ErrorCode.MISSING_FIELD, "Ingrese los apellidos de la persona.", "surnames")
    citizen_names = intake_names(given_names, surnames)
    if len(citizen_names) > MAX_NAMES:
        raise _refuse(
            ErrorCode.INVALID_PAYLOAD,
            f"Nombres y apellidos no pueden sumar más de {MAX_NAMES} caracteres.",
            "surnames",
        )
    summary = params.summary.strip()
    if not summary:
        raise _refuse(
            ErrorCode.MISSING_FIELD, "Escriba un breve resumen de la consulta.", "summary"
        )
    service = tx.service(params.service_code, "service_code")
    matters = central_records.matter_catalogue(tx.conn)
    if params.matter not in matters:
        raise _refuse(ErrorCode.UNKNOWN_MATTER, None, "matter")
    ticket_number = None
    if params.ticket_id is not None:
        ticket = tx.conn.execute(
            "SELECT number, status, counter_id FROM tickets WHERE id = ?", (params.ticket_id,)
        ).fetchone()
        if ticket is None:
            raise _refuse(ErrorCode.UNKNOWN_TICKET, None, "ticket_id")
        if ticket["status"] != "done" or ticket["counter_id"] != counter["counter_id"]:
            raise _refuse(
                ErrorCode.INVALID_TRANSITION,
                "Solo se abre un expediente de una atención finalizada en esta ventanilla.",
                "ticket_id",
            )
        taken = tx.conn.execute(
            "SELECT 1 FROM case_intakes WHERE ticket_id = ? AND deleted = 0", (params.ticket_id,)
        ).fetchone()
        if taken is not None:
            raise _refuse(
                ErrorCode.CONFLICT, "Ya se abrió un expediente para esta atención.", "ticket_id"
            )
        ticket_number = ticket["number"]
    try:
        record = write_intake(
            tx.conn,
            changes={
                "citizen_doc_type": params.doc_type,
                "citizen_doc_number": number,
                "citizen_names": citizen_names,
                "service_code": service.code,
                "matter": params.matter,
                "summary": summary,
                "status": "open",
                "ticket_id": params.ticket_id,
            },
            at=tx.now_iso,
        )
    except ValueError:
        # the sync record's own check (pydantic: its message would quote the names); every
        # rule above should have caught it first
        raise _refuse(ErrorCode.INVALID_PAYLOAD, None, "intake") from None
    # what was done, never who it was done for: no names, no document number
    public = {
        "intake_id": record["id"],
        "status": record["status"],
        "service_code": service.code,
        "matter": params.matter,
        "doc_type": params.doc_type,
        "ticket_id": params.ticket_id,
        "ticket_number": ticket_number,
    }
    tx.audit(entity_type="case_intake", entity_id=record["id"], before=None, after=public)
    tx.outcome.result = {"intake": public}


def _todays_intake(tx: Tx, counter: sqlite3.Row, intake_id: str) -> sqlite3.Row | None:
    """The intake, if it was opened today (business day) for a ticket finished at this
    counter and is not deleted: the same scope as ``list_case_intakes``."""
    since = tx.day_start()
    return tx.conn.execute(
        "SELECT ci.*, t.number AS ticket_number FROM case_intakes ci "
        "JOIN tickets t ON t.id = ci.ticket_id "
        "WHERE ci.id = ? AND t.counter_id = ? AND ci.created_at >= ? AND ci.deleted = 0",
        (intake_id, counter["counter_id"], since),
    ).fetchone()


def amend_case_intake(*, tx: Tx, counter: sqlite3.Row, params: AmendCaseIntakeParams) -> None:
    """Handler of ``amend_case_intake`` (counter dispatch table): a new matter and/or summary
    for an intake this counter opened today, while central has not opened its file. Every
    check runs before the first write. It travels as an edit of the intake (its revision,
    conflict detection at central: docs/sync.md). A correction that changes nothing is
    answered with the intake as it is (``changed: false``) and writes nothing."""
    if params.matter is None and params.summary is None:
        raise _refuse(
            ErrorCode.MISSING_FIELD, "Indique la materia o el resumen a corregir.", "summary"
        )
    row = _todays_intake(tx, counter, params.intake_id)
    if row is None:  # another counter's intake is "not found" too: nothing to learn here
        raise _refuse(
            ErrorCode.NOT_FOUND,
            "No se encontró esa ficha entre las abiertas hoy en esta ventanilla.",
            "intake_id",
        )
    case_file = central_records.case_file_for_intake(tx.conn, row["id"])
    if case_file is not None:
        raise _refuse(
            ErrorCode.INVALID_TRANSITION,
            f"La central ya abrió el expediente N.º {case_file.get('case_number')}: "
            "corríjalo allí.",
            "intake_id",
        )
    if row["status"] != "open":
        raise _refuse(
            ErrorCode.INVALID_TRANSITION,
            "La ficha ya fue derivada o cerrada: corríjala en la central.",
            "intake_id",
        )
    matter = row["matter"] if params.matter is None else params.matter
    # the intake's own matter stays acceptable should the pulled catalogue have dropped it
    if matter != row["matter"] and matter not in central_records.matter_catalogue(tx.conn):
        raise _refuse(ErrorCode.UNKNOWN_MATTER, None, "matter")
    summary = row["summary"] if params.summary is None else params.summary.strip()
    if not summary:
        raise _refuse(
            ErrorCode.MISSING_FIELD, "Escriba un breve resumen de la consulta.", "summary"
        )
    summary_changed = summary != row["summary"]
    changed = matter != row["matter"] or summary_changed
    if changed:
        try:
            write_intake(
                tx.conn,
                intake_id=row["id"],
                changes={"matter": matter, "summary": summary},
                at=tx.now_iso,
            )
        except ValueError:  # as in open_case_intake: never quote the record
            raise _refuse(ErrorCode.INVALID_PAYLOAD, None, "intake") from None
        # the summary may name people: the audit says only that it changed
        tx.audit(
            entity_type="case_intake",
            entity_id=row["id"],
            before={"matter": row["matter"]},
            after={"matter": matter, "summary_changed": summary_changed},
        )
    view = CaseIntakeView(
        intake_id=row["id"],
        ticket_number=row["ticket_number"],
        status=row["status"],
        created_at=row["created_at"],
        case_number=None,
        matter=matter,
        summary=summary,
    )
    tx.outcome.result = {"intake": view.model_dump(mode="json"), "changed": changed}


def list_case_intakes(*, tx: Tx, counter: sqlite3.Row, params: Empty) -> None:
    """Handler of ``list_case_intakes``: the intakes opened today (business day) for tickets
    finished at this counter, newest first, each with central's file number once pulled and
    its matter and summary (the counter's correction form). Changes nothing (the engine only
    stores the answer for its request id)."""
    since = tx.day_start()
    rows = tx.conn.execute(
        "SELECT ci.id, ci.status, ci.created_at, ci.matter, ci.summary, t.number, "
        "sr.body AS case_file "
        "FROM case_intakes ci JOIN tickets t ON t.id = ci.ticket_id "
        "LEFT JOIN synced_records sr ON sr.record_type = ? AND sr.record_id = ci.id "
        "AND sr.deleted = 0 "
        "WHERE t.counter_id = ? AND ci.created_at >= ? AND ci.deleted = 0 "
        "ORDER BY ci.created_at DESC, ci.id DESC LIMIT 50",
        (RecordType.CASE_FILE, counter["counter_id"], since),
    ).fetchall()
    views = [
        CaseIntakeView(
            intake_id=row["id"],
            ticket_number=row["number"],
            status=row["status"],
            created_at=row["created_at"],
            case_number=json.loads(row["case_file"]).get("case_number")
            if row["case_file"]
            else None,
            matter=row["matter"],
            summary=row["summary"],
        ).model_dump(mode="json")
        for row in rows
    ]
    tx.outcome.result = {"intakes": views}
