"""Rules of the citizens registry: validated identity documents and dates, duplicate detection
on entry (same document anywhere, or similar names with the same birth date), merges that keep
history, and the Ley 29360 sworn statement (income: explicit permission, every read audited)."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import and_, exists, or_, update
from sqlmodel import Session, col, select

from central.audit import service as audit
from central.auth.policy import Area
from central.cases.settings import CasesSettings
from central.citizens.identifiers import (
    fold,
    mask_document,
    name_key,
    name_similarity,
    normalize_document,
)
from central.citizens.models import Citizen, CitizenMerge, EligibilityStatement
from central.citizens.schemas import (
    CitizenCreate,
    CitizenUpdate,
    DuplicateCandidate,
    EligibilityCreate,
    EligibilityDecision,
    IdentityLookupRead,
)
from central.domain.actor import Actor
from central.domain.clock import utcnow
from central.domain.errors import (
    Conflict,
    Duplicate,
    FieldError,
    InvalidTransition,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from central.org.service import get_sede
from central.reniec import ReniecLookup, ReniecUnavailable
from contracts.errors import ErrorCode

LIMA = ZoneInfo("America/Lima")
OLDEST_BIRTH = date(1900, 1, 1)


def lima_today(now: datetime | None = None) -> date:
    return (now or utcnow()).astimezone(LIMA).date()


# ------------------------------------------------------------------------------ validation


def _check_document(doc_type: str, doc_number: str | None) -> str | None:
    number, error = normalize_document(doc_type, doc_number)
    if error:
        code = ErrorCode.INVALID_DNI if doc_type == "dni" else ErrorCode.INVALID_DOCUMENT
        raise ValidationFailed(error, code=code, fields=[FieldError("doc_number", error)])
    return number


def check_birth_date(birth_date: date | None, *, today: date | None = None) -> None:
    if birth_date is None:
        return
    today = today or lima_today()
    if birth_date > today:
        message = "La fecha de nacimiento no puede ser posterior a hoy."
    elif birth_date < OLDEST_BIRTH:
        message = "La fecha de nacimiento no es válida."
    else:
        return
    raise ValidationFailed(
        message, code=ErrorCode.INVALID_DATE, fields=[FieldError("birth_date", message)]
    )


def _check_area(area: Area | None, sede_id: str, session: Session) -> None:
    if area is None:
        return
    sede = get_sede(session=session, sede_id=sede_id)
    if not area.contains(sede_id=sede.id, district_id=sede.district_id):
        raise PermissionDenied()


# ------------------------------------------------------------------------------ duplicates


def find_duplicates(
    *,
    session: Session,
    doc_type: str,
    doc_number: str | None,
    given_names: str,
    surnames: str,
    birth_date: date | None,
    threshold: float = 0.85,
    exclude_id: str | None = None,
) -> list[DuplicateCandidate]:
    """Live records that may be the same person, across the whole country (a person moves
    between sedes): the same document, or a similar name with the same birth date."""
    found: dict[str, DuplicateCandidate] = {}

    def add(person: Citizen, reason: str, score: float) -> None:
        if person.id == exclude_id or person.id in found:
            return
        found[person.id] = DuplicateCandidate(
            id=person.id,
            sede_id=person.sede_id,
            doc_type=person.doc_type,
            doc_number_masked=mask_document(person.doc_number),
            name=f"{person.surnames} {person.given_names}".strip(),
            birth_date=person.birth_date,
            reason=reason,
            score=round(score, 3),
        )

    live = col(Citizen.merged_into_id).is_(None)
    if doc_number:
        for person in session.exec(
            select(Citizen).where(
                Citizen.doc_type == doc_type, Citizen.doc_number == doc_number, live
            )
        ):
            add(person, "documento", 1.0)
    if birth_date is not None:
        wanted = name_key(given_names, surnames)
        for person in session.exec(
            select(Citizen).where(Citizen.birth_date == birth_date, live).limit(500)
        ):
            score = name_similarity(wanted, person.name_norm)
            if score >= threshold:
                add(person, "nombre_y_fecha", score)
    return sorted(found.values(), key=lambda c: -c.score)


def visible_candidates(
    *, session: Session, candidates: list[DuplicateCandidate], area: Area | None
) -> list[DuplicateCandidate]:
    """The candidates the caller may see (``area`` None: the system sees all)."""
    if area is None:
        return candidates
    shown = []
    for candidate in candidates:
        person = session.get(Citizen, candidate.id)
        if person is not None and _visible(session, person, area):
            shown.append(candidate)
    return shown


# ---------------------------------------------------------------------------------- CRUD


def create_citizen(
    *,
    session: Session,
    actor: Actor,
    data: CitizenCreate,
    area: Area | None = None,
    settings: CasesSettings | None = None,
) -> Citizen:
    settings = settings or CasesSettings()
    _check_area(area, data.sede_id, session)
    number = _check_document(data.doc_type.value, data.doc_number)
    check_birth_date(data.birth_date)
    if data.ubigeo and data.ubigeo_scheme is None:
        message = "Indique si el ubigeo sigue la codificación RENIEC o INEI."
        raise ValidationFailed(message, fields=[FieldError("ubigeo_scheme", message)])
    candidates = find_duplicates(
        session=session,
        doc_type=data.doc_type.value,
        doc_number=number,
        given_names=data.given_names,
        surnames=data.surnames,
        birth_date=data.birth_date,
        threshold=settings.duplicate_name_threshold,
    )
    # the ids of existing records are only handed to a caller who may see them; for anyone
    # else the refusal is the same but neutral (an id would open that person's record)
    same_document = [c for c in candidates if c.reason == "documento"]
    if same_document:
        shown = visible_candidates(session=session, candidates=same_document, area=area)
        raise Duplicate(
            "Ya existe una persona registrada con ese documento."
            if shown
            else "Ya existe una persona registrada con ese documento en otra sede. Solicite a "
            "su coordinación que la ubique; no la registre de nuevo.",
            fields=[FieldError("duplicates", c.id) for c in shown],
        )
    if candidates and not data.confirm_not_duplicate:
        shown = visible_candidates(session=session, candidates=candidates, area=area)
        raise Conflict(
            "Hay personas registradas con nombre parecido y la misma fecha de nacimiento. "
            + (
                "Revise si es la misma persona antes de registrarla."
                if shown
                else "Están en otras sedes: confirme que se trata de otra persona o solicite "
                "a su coordinación que la ubique."
            ),
            code=ErrorCode.POSSIBLE_DUPLICATE,
            fields=[FieldError("duplicates", c.id) for c in shown],
        )
    citizen = Citizen(
        doc_type=data.doc_type.value,
        doc_number=number,
        given_names=data.given_names,
        surnames=data.surnames,
        name_norm=name_key(data.given_names, data.surnames),
        birth_date=data.birth_date,
        sex=data.sex.value if data.sex else None,
        language=data.language.value,
        phone=data.phone,
        email=data.email,
        address=data.address,
        ubigeo=data.ubigeo,
        ubigeo_scheme=data.ubigeo_scheme.value if data.ubigeo_scheme else None,
        flags=",".join(f.value for f in data.flags),
        sede_id=data.sede_id,
        created_by=actor.user_id,
    )
    session.add(citizen)
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="citizen.create",
        entity="citizen",
        entity_id=citizen.id,
        sede_id=citizen.sede_id,
        after={"doc_type": citizen.doc_type, "flags": citizen.flags, "candidates": len(candidates)},
    )
    return citizen


def _visible(session: Session, citizen: Citizen, area: Area) -> bool:
    if area.national:
        return True
    sede = get_sede(session=session, sede_id=citizen.sede_id)
    if area.contains(sede_id=sede.id, district_id=sede.district_id):
        return True
    from central.cases.models import CaseFile  # local: cases import citizens

    return bool(
        session.exec(
            select(CaseFile.id)
            .where(
                CaseFile.client_citizen_id == citizen.id, area.where(sede_column=CaseFile.sede_id)
            )
            .limit(1)
        ).first()
    )


def get_citizen(*, session: Session, citizen_id: str, area: Area | None) -> Citizen:
    citizen = session.get(Citizen, citizen_id)
    if citizen is None or (area is not None and not _visible(session, citizen, area)):
        raise NotFound("No se encontró a la persona.")
    return citizen


def update_citizen(
    *, session: Session, actor: Actor, citizen_id: str, data: CitizenUpdate, area: Area
) -> Citizen:
    citizen = get_citizen(session=session, citizen_id=citizen_id, area=area)
    if citizen.merged_into_id:
        raise Conflict("Este registro fue fusionado; modifique el registro que se conserva.")
    if citizen.revision != data.base_revision:
        raise Conflict()
    changes = data.model_dump(exclude_unset=True, exclude={"base_revision"})
    if "birth_date" in changes:
        check_birth_date(changes["birth_date"])
    before = {k: getattr(citizen, k) for k in changes}
    for key, value in changes.items():
        if key == "flags":
            value = ",".join(sorted({f.value if hasattr(f, "value") else f for f in value or []}))
        elif hasattr(value, "value"):
            value = value.value
        setattr(citizen, key, value)
    citizen.name_norm = name_key(citizen.given_names, citizen.surnames)
    citizen.revision += 1
    citizen.updated_at = utcnow()
    session.add(citizen)
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="citizen.update",
        entity="citizen",
        entity_id=citizen.id,
        sede_id=citizen.sede_id,
        before={k: str(v) for k, v in before.items() if k not in {"phone", "email", "address"}},
        after={"fields": sorted(changes)},
    )
    return citizen


def search_citizens(
    *,
    session: Session,
    area: Area,
    q: str | None = None,
    doc_number: str | None = None,
    include_merged: bool = False,
    limit: int = 50,
    offset: int = 0,
) -> list[Citizen]:
    """By document number (exact) and/or name (prefix of the folded "surnames given names",
    or every word present), within the area."""
    from central.cases.models import CaseFile

    in_area = area.where(sede_column=Citizen.sede_id)
    if not area.national:
        in_area = or_(
            in_area,
            exists().where(
                CaseFile.client_citizen_id == Citizen.id, area.where(sede_column=CaseFile.sede_id)
            ),
        )
    query = select(Citizen).where(in_area)
    if not include_merged:
        query = query.where(col(Citizen.merged_into_id).is_(None))
    if doc_number:
        query = query.where(Citizen.doc_number == doc_number.strip().upper())
    if q:
        key = fold(q)
        if key:
            words = key.split()
            query = query.where(
                or_(
                    col(Citizen.name_norm).startswith(key, autoescape=True),
                    and_(*[col(Citizen.name_norm).contains(w, autoescape=True) for w in words]),
                )
            )
    query = query.order_by(Citizen.name_norm, Citizen.id).offset(offset).limit(limit)
    return list(session.exec(query).all())


# ------------------------------------------------------------------------- identity lookup

LOOKUP_MESSAGES = {
    "found": "Datos encontrados en RENIEC. Revíselos con la persona antes de guardar.",
    "not_found": "RENIEC no tiene una persona con ese DNI. Registre los datos que declara.",
    "unavailable": "RENIEC no responde en este momento. Registre los datos que declara.",
}


def lookup_identity(
    *, session: Session, actor: Actor, lookup: ReniecLookup, dni: str, area: Area
) -> IdentityLookupRead:
    """Ask the configured identity adapter (RENIEC) about a DNI. Audited: who asked, whether
    it was found, the masked DNI and the registry id when the person is already registered."""
    number, error = normalize_document("dni", dni)
    if error or number is None:
        message = error or "El DNI debe tener 8 dígitos."
        raise ValidationFailed(
            message, code=ErrorCode.INVALID_DNI, fields=[FieldError("dni", message)]
        )
    try:
        record = lookup.lookup(number)
        status = "found" if record is not None else "not_found"
    except ReniecUnavailable:
        record, status = None, "unavailable"
    registered = session.exec(
        select(Citizen).where(
            Citizen.doc_type == "dni",
            Citizen.doc_number == number,
            col(Citizen.merged_into_id).is_(None),
        )
    ).first()
    if registered is not None and not _visible(session, registered, area):
        registered = None
    audit.record(
        session=session,
        actor=actor,
        action="citizen.identity_lookup",
        entity="citizen",
        entity_id=registered.id if registered else None,
        sede_id=actor.sede_id,
        after={"dni": mask_document(number), "status": status, "source": "reniec"},
    )
    result = IdentityLookupRead(
        status=status,
        message=LOOKUP_MESSAGES[status],
        dni=number,
        registered_citizen_id=registered.id if registered else None,
    )
    if record is not None:
        result.given_names = record.given_names
        result.surnames = record.surnames
        result.birth_date = record.birth_date
        result.sex = record.sex
        result.ubigeo = record.ubigeo
        result.ubigeo_scheme = "reniec" if record.ubigeo else None
    return result


# ---------------------------------------------------------------------------------- merge


def merge_citizens(
    *, session: Session, actor: Actor, survivor_id: str, merged_id: str, reason: str, area: Area
) -> CitizenMerge:
    """Fold ``merged_id`` into ``survivor_id``: references move to the survivor, the merged
    record stays (pointing to the survivor) with a snapshot in the merge row; audited."""
    from central.cases.models import CaseFile, CaseParty

    if survivor_id == merged_id:
        raise ValidationFailed("No puede fusionar un registro consigo mismo.")
    survivor = get_citizen(session=session, citizen_id=survivor_id, area=area)
    merged = get_citizen(session=session, citizen_id=merged_id, area=area)
    if survivor.merged_into_id or merged.merged_into_id:
        raise InvalidTransition("Uno de los registros ya fue fusionado.")
    snapshot = {
        k: (str(v) if isinstance(v, date | datetime) else v) for k, v in merged.model_dump().items()
    }
    moved: dict[str, int] = {}
    for table, column in (
        (CaseFile, CaseFile.client_citizen_id),
        (CaseParty, CaseParty.citizen_id),
        (EligibilityStatement, EligibilityStatement.citizen_id),
    ):
        result = session.execute(
            update(table).where(column == merged.id).values({column.key: survivor.id})
        )
        moved[table.__tablename__] = result.rowcount or 0
    # keep the document on the survivor when it had none; the merged one releases it
    merged.merged_into_id = survivor.id
    merged.revision += 1
    merged.updated_at = utcnow()
    session.add(merged)
    session.flush()
    if survivor.doc_number is None and merged.doc_number is not None:
        survivor.doc_type, survivor.doc_number = merged.doc_type, merged.doc_number
    survivor.flags = ",".join(sorted({*survivor.flags.split(","), *merged.flags.split(",")} - {""}))
    survivor.revision += 1
    survivor.updated_at = utcnow()
    session.add(survivor)
    record = CitizenMerge(
        survivor_id=survivor.id,
        merged_id=merged.id,
        merged_snapshot=json.dumps(snapshot, default=str, ensure_ascii=False),
        moved_references=json.dumps(moved),
        reason=reason,
        merged_by=actor.user_id,
    )
    session.add(record)
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="citizen.merge",
        entity="citizen",
        entity_id=survivor.id,
        sede_id=survivor.sede_id,
        before={"merged_id": merged.id},
        after={"moved": moved, "merge_id": record.id},
    )
    return record


def merge_history(*, session: Session, citizen_id: str) -> list[CitizenMerge]:
    return list(
        session.exec(
            select(CitizenMerge)
            .where(
                or_(CitizenMerge.survivor_id == citizen_id, CitizenMerge.merged_id == citizen_id)
            )
            .order_by(col(CitizenMerge.merged_at))
        ).all()
    )


# --------------------------------------------------------------------- eligibility (Ley 29360)


def create_statement(
    *,
    session: Session,
    actor: Actor,
    citizen_id: str,
    data: EligibilityCreate,
    area: Area,
    settings: CasesSettings | None = None,
) -> EligibilityStatement:
    settings = settings or CasesSettings()
    citizen = get_citizen(session=session, citizen_id=citizen_id, area=area)
    if citizen.merged_into_id:
        raise Conflict("Este registro fue fusionado; use el registro que se conserva.")
    today = lima_today()
    declared_on = data.declared_on or today
    if declared_on > today:
        message = "La declaración no puede tener una fecha futura."
        raise ValidationFailed(
            message, code=ErrorCode.INVALID_DATE, fields=[FieldError("declared_on", message)]
        )
    if settings.eligibility_business_days:
        due = settings.calendar().add_business_days(
            declared_on, settings.eligibility_verification_days
        )
    else:
        due = declared_on + timedelta(days=settings.eligibility_verification_days)
    sede_id = (
        actor.sede_id if actor.sede_id and area.contains(sede_id=actor.sede_id) else citizen.sede_id
    )
    statement = EligibilityStatement(
        citizen_id=citizen.id,
        sede_id=sede_id,
        household_size=data.household_size,
        dependants=data.dependants,
        monthly_income_soles=str(data.monthly_income_soles.quantize(Decimal("0.01"))),
        income_sources=data.income_sources,
        assets=data.assets,
        declared_on=declared_on,
        verification_due=due,
        created_by=actor.user_id,
    )
    session.add(statement)
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="eligibility.create",
        entity="eligibility_statement",
        entity_id=statement.id,
        sede_id=statement.sede_id,
        after={"citizen_id": citizen.id, "verification_due": due.isoformat()},  # never the income
    )
    return statement


def statement_summaries(*, session: Session, citizen_id: str) -> list[EligibilityStatement]:
    """Status and due dates only (callers must not show income from these without income.read)."""
    return list(
        session.exec(
            select(EligibilityStatement)
            .where(EligibilityStatement.citizen_id == citizen_id)
            .order_by(col(EligibilityStatement.declared_on).desc())
        ).all()
    )


def read_statements(
    *, session: Session, actor: Actor, citizen_id: str, area: Area
) -> list[EligibilityStatement]:
    """Full statements with income (``income.read``): the read itself is audited."""
    citizen = get_citizen(session=session, citizen_id=citizen_id, area=area)
    rows = statement_summaries(session=session, citizen_id=citizen.id)
    audit.record(
        session=session,
        actor=actor,
        action="eligibility.read",
        entity="eligibility_statement",
        entity_id=citizen.id,
        sede_id=citizen.sede_id,
        after={"ids": [r.id for r in rows]},
    )
    return rows


def decide_statement(
    *,
    session: Session,
    actor: Actor,
    statement_id: str,
    decision: EligibilityDecision,
    area: Area,
) -> EligibilityStatement:
    statement = session.get(EligibilityStatement, statement_id)
    if statement is not None:
        sede = get_sede(session=session, sede_id=statement.sede_id)
        if not area.contains(sede_id=sede.id, district_id=sede.district_id):
            statement = None
    if statement is None:
        raise NotFound("No se encontró la declaración jurada.")
    if statement.status != "pending":
        raise InvalidTransition("La declaración jurada ya fue verificada.")
    if decision.outcome == "no_gratuidad" and not decision.resolution_number:
        message = "Indique el número de la resolución de no gratuidad."
        raise ValidationFailed(message, fields=[FieldError("resolution_number", message)])
    statement.status = decision.outcome
    statement.resolution_number = decision.resolution_number
    statement.verification_notes = decision.notes
    statement.verified_by = actor.user_id
    statement.verified_at = utcnow()
    session.add(statement)
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="eligibility.decide",
        entity="eligibility_statement",
        entity_id=statement.id,
        sede_id=statement.sede_id,
        before={"status": "pending"},
        after={"status": statement.status, "resolution_number": statement.resolution_number},
    )
    return statement


def overdue_verifications(
    *, session: Session, area: Area, today: date | None = None, limit: int = 200
) -> list[EligibilityStatement]:
    today = today or lima_today()
    return list(
        session.exec(
            select(EligibilityStatement)
            .where(
                EligibilityStatement.status == "pending",
                EligibilityStatement.verification_due < today,
                area.where(sede_column=EligibilityStatement.sede_id),
            )
            .order_by(col(EligibilityStatement.verification_due))
            .limit(limit)
        ).all()
    )
