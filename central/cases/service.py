"""Rules of case files: numbering, the state machine, parties with the conflict-of-interest
check, actions, deadlines in business days with alerts, referrals, documents, timeline, search
(one API over PostgreSQL full-text and SQLite FTS5), and the ingestion of counter intakes.

Services never commit; each command writes its audit row and its timeline entry in the same
transaction as its effect.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import BinaryIO

from sqlalchemy import and_, false, func, or_, text, true, union_all, update
from sqlalchemy import select as sa_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from central.audit import service as audit
from central.auth.policy import Area
from central.calendar.business_days import BusinessCalendar
from central.cases import catalogues as cat
from central.cases.models import (
    CaseAction,
    CaseAlert,
    CaseDeadline,
    CaseDocument,
    CaseEvent,
    CaseFile,
    CaseParty,
    CaseReferral,
    CaseSequence,
)
from central.cases.schemas import (
    ActionCreate,
    CaseCreate,
    CaseUpdate,
    DeadlineCreate,
    PartyCreate,
    ReferralCreate,
    ReferralDecision,
    TransitionRequest,
)
from central.cases.settings import CasesSettings
from central.citizens import service as citizens
from central.citizens.identifiers import fold, normalize_document, valid_judicial_number
from central.citizens.models import Citizen
from central.documents.storage import (
    DocumentStorage,
    IntegrityFailure,
    TooLarge,
    content_type_for,
    read_verified,
)
from central.domain.actor import Actor
from central.domain.clock import new_id, utcnow
from central.domain.errors import (
    Conflict,
    DomainError,
    FieldError,
    InvalidTransition,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from central.org.models import Sede
from central.org.service import get_sede
from contracts.errors import ErrorCode

# ------------------------------------------------------------------------------- helpers


def _event(
    session: Session,
    actor: Actor,
    case: CaseFile,
    kind: str,
    summary: str,
    *,
    ref_id: str | None = None,
    restricted: bool = False,
) -> None:
    session.add(
        CaseEvent(
            case_id=case.id,
            kind=kind,
            summary=summary[:400],
            ref_id=ref_id,
            restricted=restricted,
            actor_user_id=actor.user_id,
            actor_name=actor.username or ("sede" if actor.device_id else None),
        )
    )


def _audit(session: Session, actor: Actor, action: str, case: CaseFile, **kw) -> None:  # noqa: ANN003
    audit.record(
        session=session,
        actor=actor,
        action=action,
        entity=kw.pop("entity", "case_file"),
        entity_id=kw.pop("entity_id", case.id),
        sede_id=case.sede_id,
        **kw,
    )


def _sede_in_area(session: Session, area: Area | None, sede_id: str) -> Sede:
    sede = get_sede(session=session, sede_id=sede_id)
    if area is not None and not area.contains(sede_id=sede.id, district_id=sede.district_id):
        raise PermissionDenied()
    return sede


def _invalid(code: ErrorCode, field: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, code=code, fields=[FieldError(field, message)])


def _check_judicial(number: str | None) -> str | None:
    if not number:
        return None
    value = number.strip().upper()
    if not valid_judicial_number(value):
        raise _invalid(
            ErrorCode.INVALID_JUDICIAL_NUMBER,
            "judicial_number",
            "El número de expediente judicial debe tener la forma 00123-2024-0-1801-JR-FA-01.",
        )
    return value


def _ensure_open(case: CaseFile) -> None:
    if case.state in cat.ENDED_STATES:
        raise Conflict(
            f"El expediente {case.number} está {cat.STATES[case.state].lower()}.",
            code=ErrorCode.CASE_CLOSED,
        )


# ------------------------------------------------------------------------------- numbering


def next_number(
    *, session: Session, district_id: str, year: int, settings: CasesSettings
) -> tuple[int, str]:
    """The next sequence value of (district, year) and its formatted number. The row update
    happens in the caller's transaction: a rolled-back opening never consumed the number from
    anyone else's point of view, and a committed one is never handed out again."""
    dialect = session.get_bind().dialect.name
    insert = (postgresql if dialect == "postgresql" else sqlite).insert(CaseSequence)
    session.execute(
        insert.values(district_id=district_id, year=year, last_value=0).on_conflict_do_nothing()
    )
    seq = session.execute(
        update(CaseSequence)
        .where(CaseSequence.district_id == district_id, CaseSequence.year == year)
        .values(last_value=CaseSequence.last_value + 1)
        .returning(CaseSequence.last_value)
    ).scalar_one()
    number = settings.format_for(district_id).format(
        district=district_id.upper(), year=year, seq=seq
    )
    return seq, number


# --------------------------------------------------------------------------- conflict check


def conflicting_cases(
    *, session: Session, doc_type: str | None, doc_number: str | None, citizen_id: str | None
) -> list[CaseFile]:
    """Live files whose client is this person (by registry id or document)."""
    clauses = []
    if citizen_id:
        clauses.append(CaseFile.client_citizen_id == citizen_id)
    if doc_type and doc_number:
        clauses.append(
            CaseFile.client_citizen_id.in_(  # type: ignore[attr-defined]
                sa_select(Citizen.id).where(
                    Citizen.doc_type == doc_type, Citizen.doc_number == doc_number
                )
            )
        )
    if not clauses:
        return []
    return list(
        session.exec(
            select(CaseFile)
            .where(or_(*clauses), col(CaseFile.state).not_in(["archived"]))
            .limit(20)
        ).all()
    )


def _client_is_counterpart_elsewhere(session: Session, citizen: Citizen) -> list[CaseFile]:
    clauses = [CaseParty.citizen_id == citizen.id]
    if citizen.doc_number:
        clauses.append(
            and_(CaseParty.doc_type == citizen.doc_type, CaseParty.doc_number == citizen.doc_number)
        )
    return list(
        session.exec(
            select(CaseFile)
            .join(CaseParty, CaseParty.case_id == CaseFile.id)
            .where(
                CaseParty.role == "counterpart",
                col(CaseParty.removed_at).is_(None),
                or_(*clauses),
                CaseFile.state != "archived",
            )
            .limit(20)
        ).all()
    )


def _conflict_error(files: Iterable[CaseFile], who: str) -> Conflict:
    numbers = ", ".join(sorted({f.number for f in files}))
    return Conflict(
        f"Conflicto de intereses: {who} en el expediente {numbers}. "
        "Derive el caso a otra sede o servicio.",
        code=ErrorCode.CONFLICT_OF_INTEREST,
        fields=[FieldError("parties", numbers)],
    )


# ------------------------------------------------------------------------------- opening


def open_case(
    *,
    session: Session,
    actor: Actor,
    data: CaseCreate,
    area: Area | None,
    settings: CasesSettings,
    source: str = "central",
    intake_id: str | None = None,
    intake_revision: int | None = None,
    today: date | None = None,
) -> CaseFile:
    sede = _sede_in_area(session, area, data.sede_id)
    judicial = _check_judicial(data.judicial_number)
    if (data.client_citizen_id is None) == (data.client is None):
        raise _invalid(
            ErrorCode.INVALID_PAYLOAD,
            "client_citizen_id",
            "Indique a la persona usuaria: un registro existente o sus datos.",
        )
    if data.client is not None:
        client = citizens.create_citizen(
            session=session, actor=actor, data=data.client, area=area, settings=settings
        )
    else:
        # only a person the user may see (their area): an id from elsewhere would attach that
        # person to a file here and so expose their record
        client = citizens.get_citizen(
            session=session, citizen_id=data.client_citizen_id or "", area=area
        )
        if client.merged_into_id:
            client = citizens.get_citizen(
                session=session, citizen_id=client.merged_into_id, area=None
            )
    against = _client_is_counterpart_elsewhere(session, client)
    if against:
        raise _conflict_error(against, "la persona usuaria es contraparte")
    now = utcnow()
    year = (today or citizens.lima_today(now)).year
    seq, number = next_number(
        session=session, district_id=sede.district_id, year=year, settings=settings
    )
    case = CaseFile(
        number=number,
        district_id=sede.district_id,
        sede_id=sede.id,
        year=year,
        seq=seq,
        service=data.service.value,
        matter=data.matter.value,
        attention_type=data.attention_type.value,
        client_citizen_id=client.id,
        assigned_user_id=data.assigned_user_id or (actor.user_id if source == "central" else None),
        judicial_number=judicial,
        court=data.court,
        summary=data.summary,
        source=source,
        intake_id=intake_id,
        intake_revision=intake_revision,
        created_by=actor.user_id,
        opened_at=now,
        updated_at=now,
    )
    session.add(case)
    session.flush()
    session.add(
        CaseParty(
            case_id=case.id,
            role="client",
            citizen_id=client.id,
            name=f"{client.surnames} {client.given_names}".strip(),
            doc_type=client.doc_type,
            doc_number=client.doc_number,
            added_by=actor.user_id,
        )
    )
    origin = "en ventanilla de sede" if source == "counter" else "en central"
    _event(session, actor, case, "opened", f"Expediente {number} abierto {origin}.")
    _audit(
        session,
        actor,
        "case.open",
        case,
        after={"number": number, "service": case.service, "matter": case.matter, "source": source},
    )
    for party in data.parties:
        add_party(session=session, actor=actor, case=case, data=party, area=area)
    return case


# ------------------------------------------------------------------------------- reading


def get_case(*, session: Session, case_id: str, area: Area | None) -> CaseFile:
    case = session.get(CaseFile, case_id)
    if case is None or (
        area is not None and not area.contains(sede_id=case.sede_id, district_id=case.district_id)
    ):
        raise NotFound("No se encontró el expediente.")
    return case


def case_by_number(*, session: Session, number: str, area: Area) -> CaseFile:
    case = session.exec(select(CaseFile).where(CaseFile.number == number)).first()
    if case is None:
        raise NotFound("No se encontró el expediente.")
    return get_case(session=session, case_id=case.id, area=area)


def parties(*, session: Session, case_id: str, restricted: bool | None = False) -> list[CaseParty]:
    query = select(CaseParty).where(
        CaseParty.case_id == case_id, col(CaseParty.removed_at).is_(None)
    )
    if restricted is not None:
        query = query.where(CaseParty.restricted == restricted)
    return list(session.exec(query.order_by(col(CaseParty.added_at))).all())


def restricted_count(*, session: Session, case_id: str) -> int:
    total = 0
    for model in (CaseParty, CaseAction, CaseDocument):
        query = (
            select(func.count())
            .select_from(model)
            .where(
                model.case_id == case_id,
                model.restricted == True,  # noqa: E712
            )
        )
        if model is CaseParty:
            query = query.where(col(CaseParty.removed_at).is_(None))
        total += session.exec(query).one()
    return int(total)


@dataclass
class CaseFilters:
    sede_id: str | None = None
    state: str | None = None
    matter: str | None = None
    service: str | None = None
    number: str | None = None
    judicial_number: str | None = None
    doc_number: str | None = None
    name: str | None = None
    assigned_user_id: str | None = None
    opened_from: date | None = None
    opened_to: date | None = None


def search_cases(
    *, session: Session, area: Area, filters: CaseFilters, limit: int = 50, offset: int = 0
) -> list[CaseFile]:
    query = select(CaseFile).where(case_scope(area))
    f = filters
    if f.sede_id:
        query = query.where(CaseFile.sede_id == f.sede_id)
    if f.state:
        query = query.where(CaseFile.state == f.state)
    if f.matter:
        query = query.where(CaseFile.matter == f.matter)
    if f.service:
        query = query.where(CaseFile.service == f.service)
    if f.number:
        query = query.where(CaseFile.number == f.number.strip().upper())
    if f.judicial_number:
        query = query.where(CaseFile.judicial_number == f.judicial_number.strip().upper())
    if f.assigned_user_id:
        query = query.where(CaseFile.assigned_user_id == f.assigned_user_id)
    if f.opened_from:
        query = query.where(CaseFile.opened_at >= _lima_midnight(f.opened_from))
    if f.opened_to:
        query = query.where(CaseFile.opened_at < _lima_midnight(f.opened_to + timedelta(days=1)))
    order = (col(CaseFile.opened_at).desc(), col(CaseFile.id).desc())
    if not (f.doc_number or f.name):
        return list(session.exec(query.order_by(*order).offset(offset).limit(limit)).all())
    people = sa_select(Citizen.id)
    if f.doc_number:
        people = people.where(Citizen.doc_number == re.sub(r"[\s.-]", "", f.doc_number).upper())
    if not f.name:
        query = query.where(col(CaseFile.client_citizen_id).in_(people))
        return list(session.exec(query.order_by(*order).offset(offset).limit(limit)).all())
    # names: first as typed, surnames first (a prefix: the btree index answers it); only when
    # nobody's name starts that way, every word anywhere (trigram index on PostgreSQL)
    key = fold(f.name)
    prefix = people.where(col(Citizen.name_norm).startswith(key, autoescape=True))
    found = list(
        session.exec(
            query.where(col(CaseFile.client_citizen_id).in_(prefix))
            .order_by(*order)
            .offset(offset)
            .limit(limit)
        ).all()
    )
    words = key.split()
    if found or offset or session.execute(prefix.limit(1)).first() is not None:
        return found
    anywhere = people.where(
        and_(*[col(Citizen.name_norm).contains(w, autoescape=True) for w in words or [""]])
    )
    more = session.exec(
        query.where(col(CaseFile.client_citizen_id).in_(anywhere)).order_by(*order).limit(limit)
    ).all()
    return list(more)


def _lima_midnight(day: date):  # noqa: ANN202
    from datetime import datetime, time

    return datetime.combine(day, time(0), citizens.LIMA)


# ------------------------------------------------------------------------------- changes


def update_case(
    *, session: Session, actor: Actor, case_id: str, data: CaseUpdate, area: Area
) -> CaseFile:
    case = get_case(session=session, case_id=case_id, area=area)
    _ensure_open(case)
    if case.revision != data.base_revision:
        raise Conflict()
    changes = data.model_dump(exclude_unset=True, exclude={"base_revision"})
    if "judicial_number" in changes:
        changes["judicial_number"] = _check_judicial(changes["judicial_number"])
    before = {k: getattr(case, k) for k in changes if k != "summary"}
    for key, value in changes.items():
        setattr(case, key, value.value if hasattr(value, "value") else value)
    case.revision += 1
    case.updated_at = utcnow()
    session.add(case)
    kind = "assignment" if set(changes) == {"assigned_user_id"} else "update"
    _event(session, actor, case, kind, "Modificado: " + ", ".join(sorted(changes)))
    _audit(session, actor, "case.update", case, before=before, after={"fields": sorted(changes)})
    return case


def transition(
    *, session: Session, actor: Actor, case_id: str, data: TransitionRequest, area: Area
) -> CaseFile:
    case = get_case(session=session, case_id=case_id, area=area)
    return _transition(session, actor, case, data.to_state.value, data.outcome_code, data.notes)


def _transition(
    session: Session,
    actor: Actor,
    case: CaseFile,
    target: str,
    outcome=None,  # noqa: ANN001
    notes: str = "",
) -> CaseFile:
    allowed = cat.TRANSITIONS[case.state]
    if target not in allowed:
        raise InvalidTransition(
            f"No se puede pasar de «{cat.STATES[case.state]}» a «{cat.STATES[target]}».",
            fields=[FieldError("to_state", target)],
        )
    if target == "referred":
        raise InvalidTransition(
            "Para derivar el expediente registre una derivación.",
            fields=[FieldError("to_state", target)],
        )
    outcome_code = getattr(outcome, "value", outcome)
    if target == "closed" and not outcome_code:
        raise _invalid(
            ErrorCode.INVALID_PAYLOAD,
            "outcome_code",
            "Para concluir el expediente indique el resultado.",
        )
    if outcome_code and target != "closed":
        raise _invalid(
            ErrorCode.INVALID_PAYLOAD, "outcome_code", "El resultado solo se indica al concluir."
        )
    return _set_state(session, actor, case, target, outcome_code, notes)


def _set_state(
    session: Session,
    actor: Actor,
    case: CaseFile,
    target: str,
    outcome_code: str | None = None,
    notes: str = "",
) -> CaseFile:
    before = case.state
    case.state = target
    if target == "closed":
        case.outcome_code = outcome_code
        case.closed_at = utcnow()
    case.revision += 1
    case.updated_at = utcnow()
    session.add(case)
    label = f"{cat.STATES[before]} → {cat.STATES[target]}"
    if outcome_code:
        label += f" ({cat.OUTCOMES.get(outcome_code, outcome_code)})"
    if notes:
        label += f": {notes}"
    _event(session, actor, case, "state", label)
    _audit(
        session,
        actor,
        "case.transition",
        case,
        before={"state": before},
        after={"state": target, "outcome_code": outcome_code},
    )
    return case


def add_party(
    *, session: Session, actor: Actor, case: CaseFile, data: PartyCreate, area: Area | None
) -> CaseParty:
    """``area``: where the user may see people (None: the system, e.g. a hub's intake); a
    registered person outside it is not found, as if the id did not exist."""
    _ensure_open(case)
    role = data.role.value
    doc_type = data.doc_type.value if data.doc_type else None
    doc_number = None
    name = data.name or ""
    person: Citizen | None = None
    if data.citizen_id:
        person = citizens.get_citizen(session=session, citizen_id=data.citizen_id, area=area)
        doc_type, doc_number = person.doc_type, person.doc_number
        name = f"{person.surnames} {person.given_names}".strip()
    elif doc_type:
        doc_number, error = normalize_document(doc_type, data.doc_number)
        if error:
            code = ErrorCode.INVALID_DNI if doc_type == "dni" else ErrorCode.INVALID_DOCUMENT
            raise _invalid(code, "doc_number", error)
    if not name:
        raise _invalid(ErrorCode.INVALID_PAYLOAD, "name", "Indique el nombre de la parte.")
    if role == "counterpart":
        clashes = [
            c
            for c in conflicting_cases(
                session=session,
                doc_type=doc_type,
                doc_number=doc_number,
                citizen_id=person.id if person else None,
            )
            if c.id != case.id
        ]
        if clashes or (person and person.id == case.client_citizen_id):
            raise _conflict_error(clashes or [case], "la contraparte es usuaria de la defensa")
    party = CaseParty(
        case_id=case.id,
        role=role,
        citizen_id=person.id if person else None,
        name=name,
        doc_type=doc_type,
        doc_number=doc_number,
        restricted=role in cat.RESTRICTED_ROLES,
        added_by=actor.user_id,
    )
    session.add(party)
    session.flush()
    restricted = party.restricted
    _event(
        session,
        actor,
        case,
        "party",
        f"{cat.PARTY_ROLES[role]} incorporada" + ("" if restricted else f": {name}"),
        ref_id=party.id,
        restricted=restricted,
    )
    _audit(
        session,
        actor,
        "case.party_add",
        case,
        entity="case_party",
        entity_id=party.id,
        after={"case_id": case.id, "role": role, "restricted": restricted},
    )
    return party


def add_party_to(
    *, session: Session, actor: Actor, case_id: str, data: PartyCreate, area: Area
) -> CaseParty:
    case = get_case(session=session, case_id=case_id, area=area)
    party = add_party(session=session, actor=actor, case=case, data=data, area=area)
    case.revision += 1
    case.updated_at = utcnow()
    session.add(case)
    return party


def remove_party(
    *,
    session: Session,
    actor: Actor,
    case_id: str,
    party_id: str,
    reason: str,
    area: Area,
    sensitive_area: Area,
) -> CaseParty:
    """Withdraw a party registered by mistake (or who left the proceeding): the row stays with
    who, when and why; the timeline and the audit say so. The client is never withdrawn here
    (the file belongs to them)."""
    case = get_case(session=session, case_id=case_id, area=area)
    _ensure_open(case)
    party = session.get(CaseParty, party_id)
    hidden = (
        party is not None
        and party.restricted
        and not sensitive_area.contains(sede_id=case.sede_id, district_id=case.district_id)
    )
    if party is None or party.case_id != case.id or party.removed_at is not None or hidden:
        raise NotFound("No se encontró la parte en este expediente.")
    if party.role == "client":
        raise _invalid(
            ErrorCode.INVALID_PAYLOAD,
            "party_id",
            "La persona usuaria no se retira del expediente; cierre o derive el expediente.",
        )
    party.removed_at = utcnow()
    party.removed_by = actor.user_id
    party.removal_reason = reason
    session.add(party)
    case.revision += 1
    case.updated_at = utcnow()
    session.add(case)
    restricted = party.restricted
    _event(
        session,
        actor,
        case,
        "party_removed",
        f"{cat.PARTY_ROLES[party.role]} retirada" + ("" if restricted else f": {party.name}"),
        ref_id=party.id,
        restricted=restricted,
    )
    _audit(
        session,
        actor,
        "case.party_remove",
        case,
        entity="case_party",
        entity_id=party.id,
        before={"role": party.role, "restricted": restricted},
        after={"removed": True, "reason_length": len(reason)},
    )
    return party


# -------------------------------------------------------------------- actions and deadlines


def _due_date(
    calendar: BusinessCalendar,
    start: date,
    business_days: int | None,
    due_date: date | None,
    field: str = "due_date",
) -> date:
    if business_days is None and due_date is None:
        raise _invalid(
            ErrorCode.INVALID_PAYLOAD, field, "Indique el plazo en días hábiles o la fecha límite."
        )
    if business_days is not None and due_date is not None:
        raise _invalid(
            ErrorCode.INVALID_PAYLOAD, field, "Indique días hábiles o fecha límite, no ambos."
        )
    if due_date is not None:
        if due_date < start:
            raise _invalid(
                ErrorCode.INVALID_DATE,
                field,
                "La fecha límite no puede ser anterior a la fecha de inicio del plazo.",
            )
        return due_date
    return calendar.add_business_days(start, business_days or 0)


def _check_action_date(day: date, case: CaseFile) -> None:
    today = citizens.lima_today()
    opened = citizens.lima_today(case.opened_at)
    if day > today + timedelta(days=366):
        raise _invalid(ErrorCode.INVALID_DATE, "action_date", "La fecha está demasiado lejos.")
    if day < opened - timedelta(days=3650):
        raise _invalid(ErrorCode.INVALID_DATE, "action_date", "La fecha no es válida.")


def add_action(
    *,
    session: Session,
    actor: Actor,
    case_id: str,
    data: ActionCreate,
    area: Area,
    settings: CasesSettings,
) -> tuple[CaseAction, CaseDeadline | None]:
    case = get_case(session=session, case_id=case_id, area=area)
    _ensure_open(case)
    _check_action_date(data.action_date, case)
    action = CaseAction(
        case_id=case.id,
        sede_id=case.sede_id,
        case_sede_id=case.sede_id,
        action_type=data.action_type.value,
        action_date=data.action_date,
        author_user_id=actor.user_id,
        notes=data.notes,
        restricted=data.restricted,
    )
    deadline = None
    wants_deadline = data.deadline_business_days is not None or data.deadline_due_date is not None
    if wants_deadline or data.deadline_title:
        due = _due_date(
            settings.calendar(),
            data.action_date,
            data.deadline_business_days,
            data.deadline_due_date,
            "deadline_due_date",
        )
        deadline = CaseDeadline(
            case_id=case.id,
            sede_id=case.sede_id,
            action_id=action.id,
            title=data.deadline_title or f"Plazo de {cat.ACTION_TYPES[action.action_type].lower()}",
            start_date=data.action_date,
            business_days=data.deadline_business_days,
            due_date=due,
            responsible_user_id=case.assigned_user_id or actor.user_id,
            created_by=actor.user_id,
        )
    session.add(action)
    if deadline is not None:
        session.add(deadline)
    if case.state == "open":
        _set_state(session, actor, case, "in_progress", notes="primera actuación")
    else:
        case.revision += 1
        case.updated_at = utcnow()
        session.add(case)
    session.flush()
    label = cat.ACTION_TYPES[action.action_type]
    _event(
        session,
        actor,
        case,
        "action",
        f"{label} del {action.action_date.strftime('%d/%m/%Y')}",
        ref_id=action.id,
        restricted=action.restricted,
    )
    if deadline is not None:
        _event(
            session,
            actor,
            case,
            "deadline",
            f"{deadline.title}: vence el {deadline.due_date.strftime('%d/%m/%Y')}",
            ref_id=deadline.id,
        )
    _audit(
        session,
        actor,
        "case.action_add",
        case,
        entity="case_action",
        entity_id=action.id,
        after={
            "case_id": case.id,
            "action_type": action.action_type,
            "action_date": action.action_date.isoformat(),
            "deadline_id": deadline.id if deadline else None,
        },
    )
    return action, deadline


def add_deadline(
    *,
    session: Session,
    actor: Actor,
    case_id: str,
    data: DeadlineCreate,
    area: Area,
    settings: CasesSettings,
) -> CaseDeadline:
    case = get_case(session=session, case_id=case_id, area=area)
    _ensure_open(case)
    if data.action_id:
        action = session.get(CaseAction, data.action_id)
        if action is None or action.case_id != case.id:
            raise _invalid(
                ErrorCode.NOT_FOUND, "action_id", "La actuación no es de este expediente."
            )
        if data.start_date < action.action_date:
            raise _invalid(
                ErrorCode.INVALID_DATE,
                "start_date",
                "El plazo no puede empezar antes de la fecha de la actuación.",
            )
    due = _due_date(settings.calendar(), data.start_date, data.business_days, data.due_date)
    deadline = CaseDeadline(
        case_id=case.id,
        sede_id=case.sede_id,
        action_id=data.action_id,
        title=data.title,
        start_date=data.start_date,
        business_days=data.business_days,
        due_date=due,
        responsible_user_id=data.responsible_user_id or case.assigned_user_id or actor.user_id,
        created_by=actor.user_id,
    )
    session.add(deadline)
    session.flush()
    _event(
        session,
        actor,
        case,
        "deadline",
        f"{deadline.title}: vence el {due.strftime('%d/%m/%Y')}",
        ref_id=deadline.id,
    )
    _audit(
        session,
        actor,
        "case.deadline_add",
        case,
        entity="case_deadline",
        entity_id=deadline.id,
        after={"due_date": due.isoformat(), "business_days": data.business_days},
    )
    return deadline


def complete_deadline(
    *, session: Session, actor: Actor, deadline_id: str, area: Area
) -> CaseDeadline:
    deadline = session.get(CaseDeadline, deadline_id)
    if deadline is None:
        raise NotFound("No se encontró el plazo.")
    case = get_case(session=session, case_id=deadline.case_id, area=area)
    if deadline.status != "pending":
        raise InvalidTransition("El plazo ya fue cerrado.")
    deadline.status = "done"
    deadline.done_at = utcnow()
    session.add(deadline)
    _event(session, actor, case, "deadline_done", f"{deadline.title}: cumplido", ref_id=deadline.id)
    _audit(
        session, actor, "case.deadline_done", case, entity="case_deadline", entity_id=deadline.id
    )
    return deadline


def list_actions(
    *, session: Session, case_id: str, restricted: bool | None = False
) -> list[CaseAction]:
    query = select(CaseAction).where(CaseAction.case_id == case_id)
    if restricted is not None:
        query = query.where(CaseAction.restricted == restricted)
    return list(
        session.exec(query.order_by(col(CaseAction.action_date), col(CaseAction.created_at))).all()
    )


def list_deadlines(*, session: Session, case_id: str) -> list[CaseDeadline]:
    return list(
        session.exec(
            select(CaseDeadline)
            .where(CaseDeadline.case_id == case_id)
            .order_by(col(CaseDeadline.due_date))
        ).all()
    )


def run_deadline_alerts(
    *, session: Session, settings: CasesSettings, today: date | None = None
) -> int:
    """Store one ``due_soon`` alert per pending deadline entering its warning window and one
    ``overdue`` alert once it has passed (idempotent: the unique key drops repeats). Returns
    how many alerts were created. Run by the scheduler (central.cases.jobs)."""
    today = today or citizens.lima_today()
    calendar = settings.calendar()
    horizon = calendar.add_business_days(today, settings.alert_business_days_before)
    pending = session.exec(
        select(CaseDeadline).where(
            CaseDeadline.status == "pending", CaseDeadline.due_date <= horizon
        )
    ).all()
    if not pending:
        return 0
    existing = {
        (a.deadline_id, a.kind)
        for a in session.exec(
            select(CaseAlert).where(col(CaseAlert.deadline_id).in_([d.id for d in pending]))
        )
    }
    created = 0
    for deadline in pending:
        kind = "overdue" if deadline.due_date < today else "due_soon"
        if (deadline.id, kind) in existing:
            continue
        session.add(
            CaseAlert(
                deadline_id=deadline.id,
                case_id=deadline.case_id,
                sede_id=deadline.sede_id,
                user_id=deadline.responsible_user_id,
                kind=kind,
                due_date=deadline.due_date,
            )
        )
        created += 1
    session.flush()
    return created


def alerts_for(*, session: Session, user_id: str, unread_only: bool = True) -> list[CaseAlert]:
    query = select(CaseAlert).where(CaseAlert.user_id == user_id)
    if unread_only:
        query = query.where(col(CaseAlert.read_at).is_(None))
    return list(session.exec(query.order_by(col(CaseAlert.due_date)).limit(200)).all())


def mark_alert_read(*, session: Session, actor: Actor, alert_id: str) -> CaseAlert:
    alert = session.get(CaseAlert, alert_id)
    if alert is None or alert.user_id != actor.user_id:
        raise NotFound("No se encontró la alerta.")
    if alert.read_at is None:
        alert.read_at = utcnow()
        session.add(alert)
        audit.record(
            session=session,
            actor=actor,
            action="case.alert_read",
            entity="case_alert",
            entity_id=alert.id,
            sede_id=alert.sede_id,
        )
    return alert


def overdue_deadlines(
    *, session: Session, area: Area, today: date | None = None, limit: int = 200, offset: int = 0
) -> list[tuple[CaseDeadline, CaseFile]]:
    today = today or citizens.lima_today()
    rows = session.exec(
        select(CaseDeadline, CaseFile)
        .join(CaseFile, CaseFile.id == CaseDeadline.case_id)
        .where(
            CaseDeadline.status == "pending",
            CaseDeadline.due_date < today,
            area.where(sede_column=CaseFile.sede_id, district_column=CaseFile.district_id),
        )
        .order_by(col(CaseDeadline.due_date), col(CaseDeadline.id))
        .offset(offset)
        .limit(limit)
    ).all()
    return [(d, c) for d, c in rows]


# ------------------------------------------------------------------------------- referrals


def create_referral(
    *, session: Session, actor: Actor, case_id: str, data: ReferralCreate, area: Area
) -> CaseReferral:
    case = get_case(session=session, case_id=case_id, area=area)
    _ensure_open(case)
    if case.state == "referred":
        raise InvalidTransition("El expediente ya tiene una derivación pendiente.")
    if data.kind == "internal":
        if not data.to_sede_id and not data.to_service:
            raise _invalid(
                ErrorCode.INVALID_PAYLOAD, "to_sede_id", "Indique la sede o el servicio de destino."
            )
        target_sede = get_sede(session=session, sede_id=data.to_sede_id or case.sede_id)
        if target_sede.id == case.sede_id and (
            data.to_service is None or data.to_service.value == case.service
        ):
            raise _invalid(
                ErrorCode.INVALID_PAYLOAD, "to_sede_id", "El destino es el mismo servicio y sede."
            )
        institution = None
    else:
        if data.institution is None:
            raise _invalid(ErrorCode.INVALID_PAYLOAD, "institution", "Indique la institución.")
        target_sede, institution = None, data.institution.value
    referral = CaseReferral(
        case_id=case.id,
        kind=data.kind,
        from_sede_id=case.sede_id,
        to_sede_id=target_sede.id if target_sede else None,
        to_service=(data.to_service.value if data.to_service else case.service)
        if data.kind == "internal"
        else None,
        institution=institution,
        institution_detail=data.institution_detail,
        reason=data.reason,
        status="pending" if data.kind == "internal" else "sent",
        state_before=case.state,
        created_by=actor.user_id,
    )
    session.add(referral)
    session.flush()
    state_before = case.state
    case.state = "referred" if data.kind == "internal" else case.state
    case.revision += 1
    case.updated_at = utcnow()
    session.add(case)
    where = (
        f"sede {target_sede.name}" if target_sede else cat.INSTITUTIONS.get(institution or "", "")
    )
    _event(session, actor, case, "referral", f"Derivación a {where}", ref_id=referral.id)
    _audit(
        session,
        actor,
        "case.referral_create",
        case,
        entity="case_referral",
        entity_id=referral.id,
        before={"state": state_before},
        after={
            "kind": referral.kind,
            "to_sede_id": referral.to_sede_id,
            "institution": institution,
        },
    )
    return referral


def decide_referral(
    *,
    session: Session,
    actor: Actor,
    referral_id: str,
    data: ReferralDecision,
    area: Area,
) -> CaseReferral:
    """The receiving sede accepts (the file moves there) or rejects (it goes back)."""
    referral = session.get(CaseReferral, referral_id)
    if referral is None or referral.kind != "internal":
        raise NotFound("No se encontró la derivación.")
    target = get_sede(session=session, sede_id=referral.to_sede_id or "")
    if not area.contains(sede_id=target.id, district_id=target.district_id):
        raise NotFound("No se encontró la derivación.")
    if referral.status != "pending":
        raise InvalidTransition("La derivación ya fue resuelta.")
    case = get_case(session=session, case_id=referral.case_id, area=None)
    referral.status = "accepted" if data.accept else "rejected"
    referral.decided_by = actor.user_id
    referral.decided_at = utcnow()
    referral.decision_notes = data.notes
    session.add(referral)
    before = {"sede_id": case.sede_id, "state": case.state, "service": case.service}
    if data.accept:
        case.sede_id = target.id
        case.district_id = target.district_id
        case.service = referral.to_service or case.service
        case.assigned_user_id = actor.user_id
        case.state = "in_progress"
        session.execute(
            update(CaseDeadline)
            .where(CaseDeadline.case_id == case.id)
            .values(sede_id=target.id, responsible_user_id=actor.user_id)
        )
        # the actions keep the sede where they were done (Module 01 counts them there) and
        # follow the file for search scoping
        session.execute(
            update(CaseAction).where(CaseAction.case_id == case.id).values(case_sede_id=target.id)
        )
    else:
        case.state = referral.state_before
    case.revision += 1
    case.updated_at = utcnow()
    session.add(case)
    verb = "aceptada" if data.accept else "rechazada"
    _event(session, actor, case, "referral_decision", f"Derivación {verb}", ref_id=referral.id)
    _audit(
        session,
        actor,
        "case.referral_decide",
        case,
        entity="case_referral",
        entity_id=referral.id,
        before=before,
        after={"status": referral.status, "sede_id": case.sede_id},
    )
    return referral


def list_referrals(*, session: Session, case_id: str) -> list[CaseReferral]:
    return list(
        session.exec(
            select(CaseReferral)
            .where(CaseReferral.case_id == case_id)
            .order_by(col(CaseReferral.created_at))
        ).all()
    )


def incoming_referrals(*, session: Session, area: Area) -> list[CaseReferral]:
    return list(
        session.exec(
            select(CaseReferral)
            .where(
                CaseReferral.status == "pending",
                area.where(sede_column=CaseReferral.to_sede_id),
            )
            .order_by(col(CaseReferral.created_at))
        ).all()
    )


def get_referral(
    *, session: Session, referral_id: str, area: Area
) -> tuple[CaseReferral, CaseFile]:
    referral = session.get(CaseReferral, referral_id)
    if referral is None:
        raise NotFound("No se encontró la derivación.")
    case = get_case(session=session, case_id=referral.case_id, area=area)
    return referral, case


# ------------------------------------------------------------------------------- documents


def upload_document(
    *,
    session: Session,
    actor: Actor,
    case_id: str,
    area: Area,
    storage: DocumentStorage,
    settings: CasesSettings,
    filename: str,
    stream: BinaryIO,
    category: str,
    restricted: bool = False,
    action_id: str | None = None,
) -> CaseDocument:
    """Checks type (extension and first bytes) and size while storing; the row, its timeline
    entry and audit row are written only once the bytes are safely stored. If the transaction
    later fails the caller removes the stored file (``storage.delete``)."""
    case = get_case(session=session, case_id=case_id, area=area)
    _ensure_open(case)
    if category not in cat.DOCUMENT_CATEGORIES:
        raise _invalid(ErrorCode.INVALID_PAYLOAD, "category", "Tipo de documento no válido.")
    clean_name = re.sub(r"[^\w.() -]+", "_", (filename or "").rsplit("/", 1)[-1]).strip()[:200]
    if not clean_name:
        raise _invalid(ErrorCode.INVALID_PAYLOAD, "file", "Seleccione un archivo.")
    head = stream.read(4096)
    content_type = content_type_for(clean_name, head)
    if content_type is None:
        raise _invalid(
            ErrorCode.FILE_TYPE_NOT_ALLOWED,
            "file",
            "Tipo de archivo no permitido. Use PDF, JPG, PNG, TXT, ODT o DOCX.",
        )
    if action_id:
        action = session.get(CaseAction, action_id)
        if action is None or action.case_id != case.id:
            raise _invalid(
                ErrorCode.NOT_FOUND, "action_id", "La actuación no es de este expediente."
            )
    document_id = new_id()
    key = f"{case.id}/{document_id}"
    combined = _Prefixed(head, stream)
    try:
        stored = storage.put(key, combined, max_bytes=settings.max_upload_bytes)  # type: ignore[arg-type]
    except TooLarge:
        megabytes = settings.max_upload_bytes / (1024 * 1024)
        raise _invalid(
            ErrorCode.FILE_TOO_LARGE,
            "file",
            f"El archivo supera el tamaño máximo permitido ({megabytes:g} MB).",
        ) from None
    if stored.size == 0:
        storage.delete(key)
        raise _invalid(ErrorCode.INVALID_PAYLOAD, "file", "El archivo está vacío.")
    document = CaseDocument(
        id=document_id,
        case_id=case.id,
        action_id=action_id,
        category=category,
        filename=clean_name,
        content_type=content_type,
        size_bytes=stored.size,
        sha256=stored.sha256,
        storage_key=key,
        restricted=restricted,
        uploaded_by=actor.user_id,
    )
    session.add(document)
    session.flush()
    _event(
        session,
        actor,
        case,
        "document",
        f"{cat.DOCUMENT_CATEGORIES[category]}: {clean_name}"
        if not restricted
        else "Documento reservado",
        ref_id=document.id,
        restricted=restricted,
    )
    _audit(
        session,
        actor,
        "case.document_upload",
        case,
        entity="case_document",
        entity_id=document.id,
        after={"sha256": stored.sha256, "size": stored.size, "content_type": content_type},
    )
    return document


class _Prefixed(io.RawIOBase):
    """The sniffed head followed by the rest of the stream."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        self.head, self.rest = head, rest

    def read(self, size: int = -1) -> bytes:  # type: ignore[override]
        if self.head:
            out, self.head = self.head, b""
            return out
        return self.rest.read(size)


def list_documents(
    *, session: Session, case_id: str, restricted: bool | None = False
) -> list[CaseDocument]:
    query = select(CaseDocument).where(CaseDocument.case_id == case_id)
    if restricted is not None:
        query = query.where(CaseDocument.restricted == restricted)
    return list(session.exec(query.order_by(col(CaseDocument.uploaded_at))).all())


def download_document(
    *,
    session: Session,
    actor: Actor,
    case_id: str,
    document_id: str,
    area: Area,
    sensitive_area: Area,
    storage: DocumentStorage,
) -> tuple[CaseDocument, bytes]:
    """The bytes (checked against their SHA-256); every download is audited. Restricted
    documents need ``cases.sensitive`` on the file's sede."""
    case = get_case(session=session, case_id=case_id, area=area)
    document = session.get(CaseDocument, document_id)
    if document is None or document.case_id != case.id:
        raise NotFound("No se encontró el documento.")
    if document.restricted and not sensitive_area.contains(
        sede_id=case.sede_id, district_id=case.district_id
    ):
        raise PermissionDenied("Este documento es reservado.")
    try:
        data = read_verified(storage, document.storage_key, document.sha256)
    except (IntegrityFailure, FileNotFoundError) as exc:
        raise DomainError(
            "El documento almacenado no coincide con su huella SHA-256 o falta; no se entrega. "
            "Avise al administrador.",
            code=ErrorCode.INTERNAL,
        ) from exc
    _audit(
        session,
        actor,
        "case.document_download",
        case,
        entity="case_document",
        entity_id=document.id,
        after={"restricted": document.restricted},
    )
    return document, data


# ---------------------------------------------------------------------- restricted parts


def read_restricted(
    *, session: Session, actor: Actor, case_id: str, area: Area
) -> tuple[CaseFile, list[CaseParty], list[CaseAction], list[CaseDocument]]:
    """Victims, minors, restricted actions and documents (``cases.sensitive``); audited."""
    case = get_case(session=session, case_id=case_id, area=area)
    found = (
        parties(session=session, case_id=case.id, restricted=True),
        list_actions(session=session, case_id=case.id, restricted=True),
        list_documents(session=session, case_id=case.id, restricted=True),
    )
    _audit(
        session,
        actor,
        "case.restricted_read",
        case,
        after={"parties": len(found[0]), "actions": len(found[1]), "documents": len(found[2])},
    )
    return case, *found


def timeline(*, session: Session, case_id: str, show_restricted: bool) -> list[CaseEvent]:
    events = list(
        session.exec(
            select(CaseEvent)
            .where(CaseEvent.case_id == case_id)
            .order_by(col(CaseEvent.occurred_at), col(CaseEvent.id))
        ).all()
    )
    if show_restricted:
        return events
    return [
        e
        if not e.restricted
        else CaseEvent(
            id=e.id,
            case_id=e.case_id,
            kind=e.kind,
            summary="Entrada reservada",
            restricted=True,
            actor_user_id=None,
            actor_name=None,
            occurred_at=e.occurred_at,
        )
        for e in events
    ]


# ---------------------------------------------------------------------- full-text search


@dataclass(frozen=True)
class NoteMatch:
    action_id: str
    case_id: str
    case_number: str
    action_type: str
    action_date: date
    notes: str


def _fts5_query(query: str) -> str:
    words = [w for w in re.findall(r"\w+", query, flags=re.UNICODE) if w][:12]
    # each word as a prefix: a poor man's stemming that makes "pensión alimenticia" find
    # "pensiones alimenticias" as PostgreSQL's Spanish stemmer does
    return " ".join(f'"{w}"*' for w in words)


def area_sedes(session: Session, area: Area) -> list[str] | None:
    """The sedes inside an area (None: the whole country)."""
    if area.national:
        return None
    sedes = set(area.sede_ids)
    if area.district_ids:
        sedes.update(
            session.exec(
                select(Sede.id).where(col(Sede.district_id).in_(sorted(area.district_ids)))
            )
        )
    return sorted(sedes)


def case_scope(area: Area):  # noqa: ANN201
    """SQL condition keeping the case files inside an area (files carry sede and district)."""
    if area.national:
        return true()
    clauses = []
    if area.sede_ids:
        clauses.append(col(CaseFile.sede_id).in_(sorted(area.sede_ids)))
    if area.district_ids:
        clauses.append(col(CaseFile.district_id).in_(sorted(area.district_ids)))
    return or_(*clauses) if clauses else false()


def search_notes(
    *, session: Session, area: Area, query: str, limit: int = 50, include_restricted: bool = False
) -> list[NoteMatch]:
    """Full-text over action notes: PostgreSQL tsvector (``spanish``) with a GIN index on
    (file's sede, notes), or the SQLite FTS5 table kept by triggers — same call, same answer
    shape. Newest actions first."""
    query = (query or "").strip()
    if not query:
        return []
    dialect = session.get_bind().dialect.name
    stmt = sa_select(
        CaseAction.id,
        CaseAction.case_id,
        CaseAction.action_type,
        CaseAction.action_date,
        CaseAction.notes,
    )
    sedes = area_sedes(session, area)
    if sedes is not None and not sedes:
        return []
    if not include_restricted:
        stmt = stmt.where(CaseAction.restricted == False)  # noqa: E712
    if dialect == "postgresql":
        stmt = stmt.where(text("case_action.notes_tsv @@ websearch_to_tsquery('spanish', :q)"))
        params = {"q": query}
    else:
        match = _fts5_query(query)
        if not match:
            return []
        stmt = stmt.where(
            text(
                "case_action.rowid IN (SELECT rowid FROM case_action_fts "
                "WHERE case_action_fts MATCH :q)"
            )
        )
        params = {"q": match}
    newest = (col(CaseAction.action_date).desc(), col(CaseAction.id).desc())
    if sedes is None:
        final = stmt.order_by(*newest).limit(limit)
    else:
        # one newest-first query per sede, merged: each can stop after ``limit`` matches
        # walking the (case_sede_id, action_date) index when the words are common, or use the
        # GIN index when they are rare — an IN list would force reading every match
        parts = [
            sa_select(
                stmt.where(CaseAction.case_sede_id == sede)
                .order_by(*newest)
                .limit(limit)
                .subquery()
            )
            for sede in sedes
        ]
        merged = (parts[0] if len(parts) == 1 else union_all(*parts)).subquery("matches")
        final = (
            sa_select(merged).order_by(merged.c.action_date.desc(), merged.c.id.desc()).limit(limit)
        )
    rows = session.execute(final, params).all()
    numbers = (
        dict(
            session.execute(
                sa_select(CaseFile.id, CaseFile.number).where(
                    col(CaseFile.id).in_(sorted({r[1] for r in rows}))
                )
            ).all()
        )
        if rows
        else {}
    )
    return [NoteMatch(r[0], r[1], numbers.get(r[1], ""), r[2], r[3], r[4]) for r in rows]


def snippet(notes: str, query: str, width: int = 160) -> str:
    words = [fold(w) for w in query.split() if w]
    folded = fold(notes)
    position = min((p for w in words if (p := folded.find(w)) >= 0), default=0)
    start = max(0, position - width // 3)
    text_ = notes[start : start + width]
    return ("…" if start else "") + text_ + ("…" if start + width < len(notes) else "")


# ---------------------------------------------------------------------------- dashboard


def district_month_dashboard(
    *, session: Session, area: Area, district_id: str, year: int, month: int
) -> dict[str, object]:
    """Supervision figures of a district for one month (Lima time): files opened by service and
    state, actions by type and sede, deadlines overdue."""
    from central.org.models import District

    if session.get(District, district_id) is None or not area.contains(district_id=district_id):
        raise NotFound("No se encontró la dirección distrital.")
    start = date(year, month, 1)
    end = date(year + (month == 12), month % 12 + 1, 1)
    opened_from, opened_to = _lima_midnight(start), _lima_midnight(end)
    opened = session.execute(
        sa_select(CaseFile.sede_id, CaseFile.service, CaseFile.state, func.count())
        .where(
            CaseFile.district_id == district_id,
            CaseFile.opened_at >= opened_from,
            CaseFile.opened_at < opened_to,
        )
        .group_by(CaseFile.sede_id, CaseFile.service, CaseFile.state)
    ).all()
    sedes = sa_select(Sede.id).where(Sede.district_id == district_id)
    actions = session.execute(
        sa_select(CaseAction.sede_id, CaseAction.action_type, func.count())
        .where(
            col(CaseAction.sede_id).in_(sedes),
            CaseAction.action_date >= start,
            CaseAction.action_date < end,
        )
        .group_by(CaseAction.sede_id, CaseAction.action_type)
    ).all()
    overdue = session.execute(
        sa_select(CaseDeadline.sede_id, func.count())
        .where(
            col(CaseDeadline.sede_id).in_(sedes),
            CaseDeadline.status == "pending",
            CaseDeadline.due_date < min(end, citizens.lima_today() + timedelta(days=1)),
        )
        .group_by(CaseDeadline.sede_id)
    ).all()
    return {
        "district_id": district_id,
        "year": year,
        "month": month,
        "opened": [
            {"sede_id": s, "service": sv, "state": st, "count": n} for s, sv, st, n in opened
        ],
        "actions": [{"sede_id": s, "action_type": t, "count": n} for s, t, n in actions],
        "overdue_deadlines": [{"sede_id": s, "count": n} for s, n in overdue],
    }
