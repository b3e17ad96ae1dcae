"""Case files from counter intakes: a hub records an intake at the end of an attention (offline
if need be); central.sync stores it in ``sync_case_intake`` with revisions and conflict flags.
``ingest_intakes`` turns new intakes into case files and applies later revisions — idempotent,
so the scheduler can run it as often as it likes, and each intake in its own savepoint so one
bad record never blocks the others."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import or_, text
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from central.cases import catalogues as cat
from central.cases import service as cases
from central.cases.models import CaseFile
from central.cases.schemas import CaseCreate, IngestReport
from central.cases.settings import CasesSettings
from central.citizens.identifiers import fold, normalize_document
from central.citizens.models import Citizen
from central.citizens.schemas import CitizenCreate
from central.domain.actor import Actor
from central.domain.clock import as_utc, utcnow
from central.domain.errors import DomainError
from central.sync.models import sync_case_intake
from central.sync.service import log_change
from contracts.sync import RecordType

log = logging.getLogger(__name__)

# pg_advisory_xact_lock key of the intake ingestion (any constant unique in the database)
INGEST_LOCK_KEY = 0x414C_4547_5241_0001
INTAKE_ACTOR = Actor.system("ingesta-sede")
_MATTER_BY_TEXT = {fold(label): code for code, label in cat.MATTERS.items()} | {
    fold(code.replace("_", " ")): code for code in cat.MATTERS
}


def _matter(text: str | None) -> str:
    return _MATTER_BY_TEXT.get(fold(text or ""), "otro")


def _split_names(full: str | None) -> tuple[str, str]:
    """(given names, surnames). Counters send "SURNAMES, GIVEN NAMES" (the comma says which
    is which); older hubs sent one string, split with the usual two surnames last."""
    if full and "," in full:
        surnames, _, given = full.partition(",")
        if given.strip() and surnames.strip():
            return " ".join(given.split()), " ".join(surnames.split())
    words = (full or "").split()
    if not words:
        return "Sin nombre registrado", ""
    if len(words) >= 3:
        return " ".join(words[:-2]), " ".join(words[-2:])
    if len(words) == 2:
        return words[0], words[1]
    return words[0], ""


def _parse_ts(value: str | None) -> datetime:
    try:
        return as_utc(datetime.fromisoformat(str(value).replace("Z", "+00:00"))) or utcnow()
    except ValueError:
        return utcnow()


def _citizen_for(session: Session, row, settings: CasesSettings) -> Citizen:  # noqa: ANN001
    doc_type = row["citizen_doc_type"] or "ninguno"
    number, error = normalize_document(doc_type, row["citizen_doc_number"])
    if error:
        doc_type, number = "ninguno", None
    if number:
        found = session.exec(
            select(Citizen).where(
                Citizen.doc_type == doc_type,
                Citizen.doc_number == number,
                col(Citizen.merged_into_id).is_(None),
            )
        ).first()
        if found:
            return found
    given, surnames = _split_names(row["citizen_names"])
    from central.citizens import service as citizens

    return citizens.create_citizen(
        session=session,
        actor=INTAKE_ACTOR,
        data=CitizenCreate(
            sede_id=row["sede_id"],
            doc_type=doc_type,
            doc_number=number,
            given_names=given[:120],
            surnames=surnames[:120],
            confirm_not_duplicate=True,  # no birth date at the counter: merges happen later
        ),
        settings=settings,
    )


def _apply_status(session: Session, case: CaseFile, status: str) -> None:
    if status == "closed" and case.state not in cat.ENDED_STATES:
        cases._set_state(session, INTAKE_ACTOR, case, "closed", "orientacion_brindada", "en sede")
    elif status == "referred" and case.state in {"open", "in_progress"}:
        cases._set_state(session, INTAKE_ACTOR, case, "referred", notes="derivado en sede")


def _create(session: Session, row, settings: CasesSettings) -> CaseFile:  # noqa: ANN001
    client = _citizen_for(session, row, settings)
    service = settings.intake_service_map.get(row["service_code"], "asistencia_legal")
    opened = _parse_ts(row["created_at"])
    case = cases.open_case(
        session=session,
        actor=INTAKE_ACTOR,
        data=CaseCreate(
            sede_id=row["sede_id"],
            service=service,
            matter=_matter(row["matter"]),
            attention_type="orientacion" if row["service_code"] == "orientacion" else "asistencia",
            client_citizen_id=client.id,
            summary=(row["summary"] or "")
            + (
                f"\nMateria indicada en sede: {row['matter']}"
                if _matter(row["matter"]) == "otro" and row["matter"]
                else ""
            ),
        ),
        area=None,
        settings=settings,
        source="counter",
        intake_id=row["id"],
        intake_revision=row["revision"],
        today=opened.astimezone(cases.citizens.LIMA).date(),
    )
    case.opened_at = opened
    case.intake_conflict = bool(row["has_conflict"])
    session.add(case)
    _apply_status(session, case, row["status"])
    session.flush()
    # the sede learns which file its intake became (same transaction as the opening)
    log_change(
        session.connection(),
        sede_id=row["sede_id"],
        record_type=RecordType.CASE_FILE,
        record_id=row["id"],
        revision=1,
        deleted=False,
        body=case_file_body(case),
    )
    return case


def case_file_body(case: CaseFile) -> dict[str, str | None]:
    """What a sede gets back about the file opened from its intake: no personal data."""
    return {
        "intake_id": case.intake_id,
        "case_id": str(case.id),
        "case_number": case.number,
        "sede_id": case.sede_id,
        "opened_at": as_utc(case.opened_at).isoformat() if case.opened_at else None,
    }


def _update(session: Session, case: CaseFile, row) -> None:  # noqa: ANN001
    changed = []
    if row["deleted"]:
        cases._event(session, INTAKE_ACTOR, case, "intake", "La sede anuló la atención de origen.")
        changed.append("deleted")
    else:
        summary = row["summary"] or ""
        if summary and summary not in case.summary:
            case.summary = summary
            changed.append("summary")
        matter = _matter(row["matter"])
        if matter != "otro" and matter != case.matter:
            case.matter = matter
            changed.append("matter")
        _apply_status(session, case, row["status"])
    case.intake_revision = row["revision"]
    case.intake_conflict = bool(row["has_conflict"])
    case.revision += 1
    case.updated_at = utcnow()
    session.add(case)
    if changed and changed != ["deleted"]:
        cases._event(session, INTAKE_ACTOR, case, "intake", "Datos actualizados desde la sede.")
    cases._audit(
        session,
        INTAKE_ACTOR,
        "case.intake_update",
        case,
        after={"intake_revision": row["revision"], "fields": changed},
    )


def ingest_intakes(*, session: Session, settings: CasesSettings, limit: int = 500) -> IngestReport:
    """Open or update case files from synced intakes the case module has not seen yet.

    One ingestion at a time (the scheduled job, a push's wake-up and the API may overlap): on
    PostgreSQL a transaction-scoped advisory lock taken before reading what is pending; on
    SQLite the session's write transaction already serialises them."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": INGEST_LOCK_KEY})
    t = sync_case_intake
    rows = (
        session.execute(
            sa_select(t, CaseFile.id.label("case_id"))  # type: ignore[attr-defined]
            .outerjoin(CaseFile, CaseFile.intake_id == t.c.id)
            .where(
                or_(
                    (CaseFile.id.is_(None)) & (t.c.deleted == False),  # type: ignore[attr-defined]  # noqa: E712
                    CaseFile.intake_revision < t.c.revision,
                )
            )
            .order_by(t.c.created_at)
            .limit(limit)
        )
        .mappings()
        .all()
    )
    report = IngestReport(created=0, updated=0, skipped=0, conflicts=0)
    for row in rows:
        savepoint = session.begin_nested()
        try:
            if row["case_id"] is None:
                _create(session, row, settings)
                report.created += 1
            else:
                _update(session, session.get(CaseFile, row["case_id"]), row)
                report.updated += 1
            if row["has_conflict"]:
                report.conflicts += 1
            session.flush()
            savepoint.commit()
        except DomainError as exc:
            savepoint.rollback()
            report.skipped += 1
            log.warning(
                "intake not ingested", extra={"intake_id": row["id"], "code": str(exc.code)}
            )
    return report
