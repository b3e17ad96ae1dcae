"""Rules of extrajudicial conciliation (Ley 26872, DS 014-2008-JUS as amended, Ley 31165).

Every function is keyword-only with the session first, writes its audit row and timeline entry
in the caller's transaction and never commits. The state machine is in ``catalogues``; the
rules that refuse (conciliability, violence, the 30-day audiencia, attendance-derived endings,
the Art. 16 checklist, issued actas) raise domain errors with stable codes."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from central.audit import service as audit
from central.auth.policy import Area, Profile
from central.cases.models import CaseFile, CaseParty
from central.citizens.models import Citizen
from central.conciliation import catalogues as cat
from central.conciliation.models import (
    ConcActa,
    ConcActaVoid,
    ConcAttendance,
    ConcCertifiedCopy,
    ConcClaim,
    ConcEvent,
    ConcFile,
    ConcInvitation,
    ConcObligation,
    ConcParty,
    ConcProfessional,
    ConcSequence,
    ConcSession,
)
from central.conciliation.schemas import (
    AttendanceIn,
    ConclusionIn,
    CopyIn,
    DeliveryIn,
    DerivationIn,
    DesignationIn,
    ExtensionIn,
    InvitationCreate,
    ObligationsIn,
    ProfessionalIn,
    SessionCreate,
    SolicitudCreate,
)
from central.conciliation.settings import ConciliationSettings
from central.domain.actor import Actor
from central.domain.clock import as_utc, utcnow
from central.domain.errors import (
    Conflict,
    FieldError,
    InvalidTransition,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from central.org.models import Sede
from central.users.models import User, UserProfile
from contracts.cases import DEFAULT_MATTERS
from contracts.errors import ErrorCode

LIMA = ZoneInfo("America/Lima")


def lima_date(value: datetime) -> date:
    return as_utc(value).astimezone(LIMA).date()  # type: ignore[union-attr]


def today(now: datetime | None = None) -> date:
    return lima_date(now or utcnow())


class ActaIssued(Conflict):
    default_code = ErrorCode.ACTA_ISSUED


# ------------------------------------------------------------------------------ helpers


def _event(session: Session, actor: Actor, file: ConcFile, kind: str, summary: str) -> None:
    session.add(
        ConcEvent(
            file_id=file.id,
            kind=kind,
            summary=summary[:400],
            actor_user_id=actor.user_id,
            actor_name=(actor.username or "sistema")[:80],
        )
    )


def _audit(
    session: Session,
    actor: Actor,
    action: str,
    file: ConcFile,
    after: Any = None,
    *,
    entity: str = "conc_file",
    entity_id: str | None = None,
) -> None:
    audit.record(
        session=session,
        actor=actor,
        action=f"conciliation.{action}",
        entity=entity,
        entity_id=entity_id or file.id,
        sede_id=file.sede_id,
        after=after,
    )


def _next_value(session: Session, *, kind: str, sede_id: str, year: int) -> int:
    """Bump the sequence row inside the transaction (row lock on PostgreSQL; SQLite
    transactions are BEGIN IMMEDIATE), so two issues never share a number."""
    row = session.exec(
        select(ConcSequence)
        .where(
            ConcSequence.kind == kind, ConcSequence.sede_id == sede_id, ConcSequence.year == year
        )
        .with_for_update()
    ).first()
    if row is None:
        row = ConcSequence(kind=kind, sede_id=sede_id, year=year, last_value=0)
    row.last_value += 1
    session.add(row)
    session.flush()
    return row.last_value


def get_file(*, session: Session, file_id: str, area: Area, for_update: bool = False) -> ConcFile:
    query = select(ConcFile).where(ConcFile.id == file_id)
    if for_update:
        query = query.with_for_update()
    file = session.exec(query).first()
    if file is None or not area.contains(sede_id=file.sede_id, district_id=file.district_id):
        raise NotFound("El expediente de conciliación no existe.")
    return file


def _touch(session: Session, file: ConcFile, state: str | None = None) -> None:
    if state is not None and state != file.state:
        if state not in cat.TRANSITIONS[file.state]:
            raise InvalidTransition(
                f"No es posible pasar de «{cat.STATES[file.state]}» a «{cat.STATES[state]}»."
            )
        file.state = state
    file.revision += 1
    file.updated_at = utcnow()
    session.add(file)


def _not_issued(file: ConcFile) -> None:
    if file.state == "acta":
        raise ActaIssued()
    if file.state == "derivado":
        raise InvalidTransition("El expediente fue derivado; no admite más actuaciones.")


def parties(*, session: Session, file_id: str) -> list[ConcParty]:
    return list(
        session.exec(
            select(ConcParty)
            .where(ConcParty.file_id == file_id)
            .order_by(col(ConcParty.role).desc(), col(ConcParty.ordinal))
        ).all()
    )


def party_label(party: ConcParty) -> str:
    return f"{cat.ROLES[party.role]} {party.ordinal}"


def _party(session: Session, file: ConcFile, party_id: str) -> ConcParty:
    party = session.get(ConcParty, party_id)
    if party is None or party.file_id != file.id:
        raise ValidationFailed(
            "La parte indicada no pertenece al expediente.",
            fields=[FieldError("party_id", "No pertenece al expediente.")],
        )
    return party


def _session_of(session: Session, file: ConcFile, session_id: str) -> ConcSession:
    row = session.get(ConcSession, session_id)
    if row is None or row.file_id != file.id:
        raise ValidationFailed(
            "La sesión indicada no pertenece al expediente.",
            fields=[FieldError("session_id", "No pertenece al expediente.")],
        )
    return row


def sessions(*, session: Session, file_id: str) -> list[ConcSession]:
    return list(
        session.exec(
            select(ConcSession)
            .where(ConcSession.file_id == file_id)
            .order_by(col(ConcSession.ordinal))
        ).all()
    )


# ---------------------------------------------------------------------- conciliability


def conciliability_problem(settings: ConciliationSettings, matter: str) -> str | None:
    """The Spanish reason the matter cannot be conciliated, or None."""
    if matter in settings.non_conciliable_reasons:
        return settings.non_conciliable_reasons[matter]
    if matter not in settings.conciliable_matters:
        label = DEFAULT_MATTERS.get(matter, matter)
        return f"La materia «{label}» no está configurada como conciliable en el centro."
    return None


def violence_signals(
    *,
    session: Session,
    settings: ConciliationSettings,
    citizen_ids: list[str],
    case_id: str | None,
    declared: bool,
    protective_measures: bool,
) -> list[str]:
    """Why family violence (Ley 30364) blocks this conciliation (empty: it does not). Looks at
    what the solicitud declares, the parties' vulnerability flags, the linked case file and any
    case file where a party is the client or a party, with a violence matter."""
    reasons: list[str] = []
    if declared:
        reasons.append("la solicitud declara hechos de violencia familiar")
    if protective_measures:
        reasons.append("existen medidas de protección")
    flags = set(settings.violence_citizen_flags)
    if citizen_ids and flags:
        for citizen in session.exec(select(Citizen).where(col(Citizen.id).in_(citizen_ids))).all():
            if flags & {f for f in citizen.flags.split(",") if f}:
                reasons.append("una de las partes está registrada como víctima de violencia")
                break
    matters = list(settings.violence_matters)
    if matters:
        if case_id is not None:
            linked = session.get(CaseFile, case_id)
            if linked is not None and linked.matter in matters:
                reasons.append("el expediente vinculado es de violencia familiar")
        if citizen_ids:
            related = session.exec(
                select(CaseFile.id)
                .where(col(CaseFile.matter).in_(matters))
                .where(
                    col(CaseFile.client_citizen_id).in_(citizen_ids)
                    | col(CaseFile.id).in_(
                        select(CaseParty.case_id).where(
                            col(CaseParty.citizen_id).in_(citizen_ids),
                            col(CaseParty.removed_at).is_(None),
                        )
                    )
                )
                .limit(1)
            ).first()
            if related is not None:
                reasons.append("una de las partes tiene un expediente de violencia familiar")
    return reasons


def _violence_error(reasons: list[str]) -> Conflict:
    return Conflict(
        "No procede la conciliación (Ley 30364): "
        + "; ".join(reasons)
        + ". Derive el caso a defensa de víctimas.",
        code=ErrorCode.VIOLENCE_BLOCK,
        fields=[FieldError("derive_to", "defensa_victimas")],
    )


def check_conciliable(*, session: Session, settings: ConciliationSettings, file: ConcFile) -> None:
    problem = conciliability_problem(settings, file.matter)
    if problem:
        raise ValidationFailed(problem, code=ErrorCode.NOT_CONCILIABLE)
    citizen_ids = [p.citizen_id for p in parties(session=session, file_id=file.id)]
    reasons = violence_signals(
        session=session,
        settings=settings,
        citizen_ids=citizen_ids,
        case_id=file.case_id,
        declared=file.violence_declared,
        protective_measures=file.protective_measures,
    )
    if reasons:
        raise _violence_error(reasons)


# ------------------------------------------------------------------------------ solicitud


def create_solicitud(
    *,
    session: Session,
    actor: Actor,
    area: Area,
    settings: ConciliationSettings,
    data: SolicitudCreate,
    now: datetime | None = None,
) -> ConcFile:
    sede = session.get(Sede, data.sede_id)
    if sede is None or not area.contains(sede_id=sede.id, district_id=sede.district_id):
        raise NotFound("La sede no existe.")
    day = today(now)
    requested_on = data.requested_on or day
    if requested_on > day:
        raise ValidationFailed(
            "La fecha de la solicitud no puede ser futura.",
            code=ErrorCode.INVALID_DATE,
            fields=[FieldError("requested_on", "No puede ser futura.")],
        )
    if data.matter not in DEFAULT_MATTERS:
        raise ValidationFailed(
            code=ErrorCode.UNKNOWN_MATTER, fields=[FieldError("matter", "No está en el catálogo.")]
        )
    problem = conciliability_problem(settings, data.matter)
    if problem:
        raise ValidationFailed(
            problem, code=ErrorCode.NOT_CONCILIABLE, fields=[FieldError("matter", problem)]
        )
    roles = {p.role.value for p in data.parties}
    if roles != {"solicitante", "invitado"}:
        raise ValidationFailed(
            "La solicitud necesita al menos un solicitante y un invitado.",
            fields=[FieldError("parties", "Indique solicitante(s) e invitado(s).")],
        )
    citizen_ids = [p.citizen_id for p in data.parties]
    if len(set(citizen_ids)) != len(citizen_ids):
        raise ValidationFailed(
            "Una persona figura dos veces entre las partes.",
            fields=[FieldError("parties", "Persona repetida.")],
        )
    referenced = set(citizen_ids) | {
        x for p in data.parties for x in (p.representative_citizen_id, p.witness_citizen_id) if x
    }
    found = {
        c.id
        for c in session.exec(select(Citizen).where(col(Citizen.id).in_(sorted(referenced)))).all()
    }
    missing = sorted(referenced - found)
    if missing:
        raise ValidationFailed(
            "Una de las personas indicadas no está registrada.",
            fields=[FieldError("parties", f"Persona no registrada: {m}") for m in missing],
        )
    for index, party in enumerate(data.parties):
        if party.representative_citizen_id and not party.representative_powers:
            raise ValidationFailed(
                "Indique los poderes del representante.",
                fields=[
                    FieldError(
                        f"parties.{index}.representative_powers", "Obligatorio con representante."
                    )
                ],
            )
    for index, claim in enumerate(data.claims):
        if claim.party_index >= len(data.parties):
            raise ValidationFailed(
                fields=[FieldError(f"claims.{index}.party_index", "No existe esa parte.")]
            )
    if data.case_id is not None:
        linked = session.get(CaseFile, data.case_id)
        if linked is None or not area.contains(
            sede_id=linked.sede_id, district_id=linked.district_id
        ):
            raise ValidationFailed(
                "El expediente vinculado no existe.", fields=[FieldError("case_id", "No existe.")]
            )
    reasons = violence_signals(
        session=session,
        settings=settings,
        citizen_ids=citizen_ids,
        case_id=data.case_id,
        declared=data.violence_declared,
        protective_measures=data.protective_measures,
    )
    if reasons:
        raise _violence_error(reasons)
    seq = _next_value(session, kind="file", sede_id=sede.id, year=requested_on.year)
    number = settings.file_number_format.format(
        sede=sede.id.upper(), year=requested_on.year, seq=seq
    )
    file = ConcFile(
        number=number,
        sede_id=sede.id,
        district_id=sede.district_id,
        year=requested_on.year,
        seq=seq,
        matter=data.matter,
        source="case" if data.case_id else ("intake" if data.intake_id else "central"),
        case_id=data.case_id,
        intake_id=data.intake_id,
        facts=data.facts,
        controversy=data.controversy,
        violence_declared=data.violence_declared,
        protective_measures=data.protective_measures,
        requested_on=requested_on,
        created_by=actor.user_id,
    )
    session.add(file)
    session.flush()
    counters = {"solicitante": 0, "invitado": 0}
    party_ids: list[str] = []
    for party in data.parties:
        counters[party.role.value] += 1
        row = ConcParty(
            file_id=file.id,
            role=party.role.value,
            ordinal=counters[party.role.value],
            citizen_id=party.citizen_id,
            notice_address=party.notice_address,
            representative_citizen_id=party.representative_citizen_id,
            representative_powers=party.representative_powers,
            witness_citizen_id=party.witness_citizen_id,
        )
        session.add(row)
        party_ids.append(row.id)
    for ordinal, claim in enumerate(data.claims, start=1):
        session.add(
            ConcClaim(
                file_id=file.id,
                party_id=party_ids[claim.party_index],
                ordinal=ordinal,
                description=claim.description,
                counterclaim=claim.counterclaim,
            )
        )
    _event(
        session, actor, file, "solicitud", f"Solicitud {number} ({DEFAULT_MATTERS[data.matter]})."
    )
    _audit(
        session,
        actor,
        "solicitud",
        file,
        {"number": number, "matter": data.matter, "parties": len(party_ids)},
    )
    session.flush()
    return file


# ---------------------------------------------------------------------------- designation


def _users_with(session: Session, profile: Profile, sede_id: str) -> list[User]:
    return list(
        session.exec(
            select(User)
            .join(UserProfile, col(UserProfile.user_id) == col(User.id))
            .where(UserProfile.profile == profile.value, User.sede_id == sede_id)
            .where(col(User.active).is_(True))
            .order_by(col(User.display_name))
        ).all()
    )


def propose_conciliators(*, session: Session, sede_id: str) -> list[tuple[User, int]]:
    """The sede's conciliators, least loaded first (open files designated to each)."""
    users = _users_with(session, Profile.CONCILIADOR, sede_id)
    if not users:
        return []
    loads = dict(
        session.exec(
            select(ConcFile.conciliator_user_id, func.count())
            .where(col(ConcFile.conciliator_user_id).in_([u.id for u in users]))
            .where(col(ConcFile.state).in_(cat.OPEN_STATES))
            .group_by(ConcFile.conciliator_user_id)
        ).all()
    )
    ranked = [(u, int(loads.get(u.id, 0))) for u in users]
    ranked.sort(key=lambda pair: (pair[1], pair[0].display_name))
    return ranked


def verifiers(*, session: Session, sede_id: str) -> list[User]:
    return _users_with(session, Profile.ABOGADO_VERIFICADOR, sede_id)


def designate(
    *,
    session: Session,
    actor: Actor,
    area: Area,
    settings: ConciliationSettings,
    file_id: str,
    data: DesignationIn,
) -> ConcFile:
    """Confirm the conciliator and the verifying lawyer. Concurrency-safe: the state change is a
    conditional UPDATE (… WHERE state = 'solicitud'), so of two designations at once exactly one
    changes the row and the other gets a conflict."""
    file = get_file(session=session, file_id=file_id, area=area)
    if data.base_revision is not None and data.base_revision != file.revision:
        raise Conflict("El expediente cambió mientras lo revisaba; recárguelo.")
    if file.state != "solicitud":
        raise Conflict("El expediente ya tiene conciliador designado.")
    check_conciliable(session=session, settings=settings, file=file)
    conciliators = {u.id for u in _users_with(session, Profile.CONCILIADOR, file.sede_id)}
    if data.conciliator_user_id not in conciliators:
        raise ValidationFailed(
            "La persona indicada no es conciliador de la sede.",
            fields=[FieldError("conciliator_user_id", "No es conciliador de la sede.")],
        )
    if data.verifier_user_id not in {
        u.id for u in verifiers(session=session, sede_id=file.sede_id)
    }:
        raise ValidationFailed(
            "La persona indicada no es abogado verificador de la sede.",
            fields=[FieldError("verifier_user_id", "No es abogado verificador de la sede.")],
        )
    now = utcnow()
    result = session.execute(
        update(ConcFile)
        .where(
            col(ConcFile.id) == file.id,
            col(ConcFile.state) == "solicitud",
            col(ConcFile.revision) == file.revision,
        )
        .values(
            state="designado",
            conciliator_user_id=data.conciliator_user_id,
            verifier_user_id=data.verifier_user_id,
            designated_at=now,
            revision=file.revision + 1,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(
            "Otra persona designó al conciliador al mismo tiempo; recargue el expediente."
        )
    session.refresh(file)
    _event(session, actor, file, "designation", "Conciliador y abogado verificador designados.")
    _audit(
        session,
        actor,
        "designate",
        file,
        {
            "conciliator_user_id": data.conciliator_user_id,
            "verifier_user_id": data.verifier_user_id,
        },
    )
    return file


# -------------------------------------------------------------------------- sessions


def audiencia_limit(file: ConcFile, settings: ConciliationSettings) -> date | None:
    if file.first_session_on is None:
        return None
    limit = file.first_session_on + timedelta(days=settings.audiencia_max_calendar_days)
    if file.extension_until is not None and file.extension_until > limit:
        return file.extension_until
    return limit


def _check_period(file: ConcFile, settings: ConciliationSettings, day: date) -> None:
    limit = audiencia_limit(file, settings)
    if limit is not None and day > limit:
        raise Conflict(
            f"La audiencia única vence el {limit:%d/%m/%Y} ({settings.audiencia_max_calendar_days} días "
            "calendario desde la primera sesión) y no hay una prórroga acordada que cubra esa fecha.",
            code=ErrorCode.HEARING_PERIOD_EXPIRED,
        )


def schedule_session(
    *,
    session: Session,
    actor: Actor,
    area: Area,
    settings: ConciliationSettings,
    file_id: str,
    data: SessionCreate,
    now: datetime | None = None,
    for_replacement: bool = False,
) -> ConcSession:
    file = get_file(session=session, file_id=file_id, area=area)
    if not for_replacement:
        _not_issued(file)
    if file.state in {"solicitud"}:
        raise InvalidTransition("Primero designe al conciliador.")
    if file.state == "concluido" and not for_replacement:
        raise InvalidTransition("El expediente ya concluyó.")
    now = now or utcnow()
    if data.scheduled_at.tzinfo is None:
        raise ValidationFailed("Indique la zona horaria de la fecha.", code=ErrorCode.INVALID_DATE)
    if data.scheduled_at < now:
        raise ValidationFailed(
            "La fecha de la sesión ya pasó.",
            code=ErrorCode.INVALID_DATE,
            fields=[FieldError("scheduled_at", "No puede estar en el pasado.")],
        )
    if data.mode.value == "virtual":
        if not data.virtual_means or not data.virtual_link:
            raise ValidationFailed(
                "Una sesión virtual (Ley 31165) necesita el medio electrónico y el enlace.",
                fields=[FieldError("virtual_means", "Obligatorio en sesión virtual.")],
            )
    elif not data.place:
        raise ValidationFailed(
            "Indique el lugar de la sesión.", fields=[FieldError("place", "Obligatorio.")]
        )
    if not for_replacement:
        _check_period(file, settings, lima_date(data.scheduled_at))
    existing = sessions(session=session, file_id=file.id)
    if any(s.status == "scheduled" for s in existing):
        raise Conflict("Ya hay una sesión programada pendiente de realizarse.")
    row = ConcSession(
        file_id=file.id,
        sede_id=file.sede_id,
        ordinal=len(existing) + 1,
        scheduled_at=as_utc(data.scheduled_at),  # type: ignore[arg-type]
        mode=data.mode.value,
        place=data.place,
        virtual_means=data.virtual_means,
        virtual_link=data.virtual_link,
        for_replacement=for_replacement,
        created_by=actor.user_id,
    )
    session.add(row)
    _touch(session, file)
    _event(
        session,
        actor,
        file,
        "session",
        f"Sesión {row.ordinal} programada para el {as_utc(row.scheduled_at).astimezone(LIMA):%d/%m/%Y %H:%M} ({cat.MODES[row.mode]}).",  # type: ignore[union-attr]
    )
    _audit(
        session,
        actor,
        "session",
        file,
        {"ordinal": row.ordinal, "mode": row.mode},
        entity="conc_session",
        entity_id=row.id,
    )
    session.flush()
    return row


# ----------------------------------------------------------------------- invitations


def issue_invitation(
    *,
    session: Session,
    actor: Actor,
    area: Area,
    settings: ConciliationSettings,
    file_id: str,
    data: InvitationCreate,
    now: datetime | None = None,
) -> ConcInvitation:
    file = get_file(session=session, file_id=file_id, area=area)
    _not_issued(file)
    if file.state not in {"designado", "invitado", "audiencia"}:
        raise InvalidTransition("El expediente no está en etapa de invitaciones.")
    check_conciliable(session=session, settings=settings, file=file)  # again, before every one
    party = _party(session, file, data.party_id)
    if party.role != "invitado":
        raise ValidationFailed(
            "Solo se invita a las partes invitadas.",
            fields=[FieldError("party_id", "No es invitado.")],
        )
    hearing = _session_of(session, file, data.session_id)
    if hearing.status != "scheduled":
        raise Conflict("La sesión indicada ya se realizó.")
    day = today(now)
    calendar = settings.calendar()
    earliest = (
        calendar.add_business_days(day, settings.min_notice_business_days)
        if settings.min_notice_business_days
        else day
    )
    if lima_date(hearing.scheduled_at) < earliest:
        raise ValidationFailed(
            f"Entre la invitación y la sesión deben mediar al menos {settings.min_notice_business_days} "
            f"días hábiles: la sesión debe ser desde el {earliest:%d/%m/%Y}.",
            code=ErrorCode.INVALID_DATE,
            fields=[FieldError("session_id", "Sesión demasiado próxima.")],
        )
    duplicate = session.exec(
        select(ConcInvitation.id).where(
            ConcInvitation.session_id == hearing.id, ConcInvitation.party_id == party.id
        )
    ).first()
    if duplicate is not None:
        raise Conflict("Esa parte ya tiene invitación para esa sesión.")
    row = ConcInvitation(
        file_id=file.id,
        party_id=party.id,
        session_id=hearing.id,
        issued_on=day,
        delivery_due=calendar.add_business_days(day, settings.invitation_business_days),
        created_by=actor.user_id,
    )
    session.add(row)
    _touch(session, file, "invitado" if file.state == "designado" else None)
    _event(
        session,
        actor,
        file,
        "invitation",
        f"Invitación a {party_label(party)} para la sesión {hearing.ordinal}.",
    )
    _audit(
        session,
        actor,
        "invitation",
        file,
        {"party": party_label(party), "session": hearing.ordinal},
        entity="conc_invitation",
        entity_id=row.id,
    )
    session.flush()
    return row


def record_delivery(
    *,
    session: Session,
    actor: Actor,
    area: Area,
    file_id: str,
    invitation_id: str,
    data: DeliveryIn,
    now: datetime | None = None,
) -> ConcInvitation:
    file = get_file(session=session, file_id=file_id, area=area)
    _not_issued(file)
    row = session.get(ConcInvitation, invitation_id)
    if row is None or row.file_id != file.id:
        raise NotFound("La invitación no existe.")
    if row.status != "pending":
        raise Conflict("La entrega de esta invitación ya fue registrada.")
    if data.delivered_on > today(now) or data.delivered_on < row.issued_on:
        raise ValidationFailed(
            "La fecha de entrega debe estar entre la emisión de la invitación y hoy.",
            code=ErrorCode.INVALID_DATE,
            fields=[FieldError("delivered_on", "Fecha fuera de rango.")],
        )
    if data.delivered:
        if data.mode is None or not data.received_by:
            raise ValidationFailed(
                "Indique el modo de entrega y quién recibió la invitación.",
                fields=[FieldError("received_by", "Obligatorio si fue entregada.")],
            )
        row.status, row.delivery_mode, row.received_by = (
            "delivered",
            data.mode.value,
            data.received_by,
        )
    else:
        if not data.undelivered_reason:
            raise ValidationFailed(
                "Indique por qué no pudo entregarse.",
                fields=[FieldError("undelivered_reason", "Obligatorio si no fue entregada.")],
            )
        row.status, row.undelivered_reason = "undelivered", data.undelivered_reason
        row.delivery_mode = data.mode.value if data.mode else None
    row.delivered_on = data.delivered_on
    row.recorded_by = actor.user_id
    session.add(row)
    _touch(session, file)
    _event(
        session,
        actor,
        file,
        "delivery",
        "Invitación entregada." if data.delivered else "Invitación no entregada.",
    )
    _audit(
        session,
        actor,
        "delivery",
        file,
        {"status": row.status},
        entity="conc_invitation",
        entity_id=row.id,
    )
    return row


# ------------------------------------------------------------------------ attendance


def attendance_of(*, session: Session, file_id: str) -> dict[str, dict[str, bool]]:
    """session id -> party id -> present."""
    rows = session.exec(
        select(ConcAttendance)
        .join(ConcSession, col(ConcSession.id) == col(ConcAttendance.session_id))
        .where(ConcSession.file_id == file_id)
    ).all()
    result: dict[str, dict[str, bool]] = {}
    for row in rows:
        result.setdefault(row.session_id, {})[row.party_id] = row.present
    return result


def record_attendance(
    *,
    session: Session,
    actor: Actor,
    area: Area,
    settings: ConciliationSettings,
    file_id: str,
    session_id: str,
    data: AttendanceIn,
    now: datetime | None = None,
) -> ConcSession:
    """Hold a session: who attended (each party, and for a virtual session each one's consent
    to the electronic means, Ley 31165)."""
    file = get_file(session=session, file_id=file_id, area=area)
    hearing = _session_of(session, file, session_id)
    if not hearing.for_replacement:
        _not_issued(file)
    if hearing.status != "scheduled":
        raise Conflict("La asistencia de esta sesión ya fue registrada.")
    if file.state == "designado":
        raise InvalidTransition("Emita primero las invitaciones a las partes invitadas.")
    held_on = lima_date(hearing.scheduled_at)
    if held_on > today(now):
        raise ValidationFailed(
            "La sesión aún no llega a su fecha.",
            code=ErrorCode.INVALID_DATE,
            fields=[FieldError("session_id", "Sesión futura.")],
        )
    if not hearing.for_replacement:
        _check_period(file, settings, held_on)
    all_parties = {p.id: p for p in parties(session=session, file_id=file.id)}
    given = {e.party_id: e for e in data.entries}
    if set(given) != set(all_parties):
        raise ValidationFailed(
            "Registre la asistencia de cada una de las partes, una vez.",
            fields=[FieldError("entries", "Deben figurar todas las partes del expediente.")],
        )
    if len(given) != len(data.entries):
        raise ValidationFailed(fields=[FieldError("entries", "Parte repetida.")])
    for entry in data.entries:
        if hearing.mode == "virtual" and entry.present and not entry.virtual_consent:
            raise ValidationFailed(
                f"Falta el consentimiento de {party_label(all_parties[entry.party_id])} al medio electrónico (Ley 31165).",
                fields=[FieldError("entries", "Consentimiento obligatorio en sesión virtual.")],
            )
        session.add(
            ConcAttendance(
                session_id=hearing.id,
                party_id=entry.party_id,
                present=entry.present,
                virtual_consent=entry.virtual_consent,
                recorded_by=actor.user_id,
            )
        )
    hearing.status, hearing.held_on, hearing.notes = "held", held_on, data.notes
    session.add(hearing)
    if file.first_session_on is None and not hearing.for_replacement:
        file.first_session_on = held_on
    _touch(session, file, "audiencia" if file.state == "invitado" else None)
    present = sum(1 for e in data.entries if e.present)
    _event(
        session,
        actor,
        file,
        "attendance",
        f"Sesión {hearing.ordinal} realizada: {present} de {len(data.entries)} partes asistieron.",
    )
    _audit(
        session,
        actor,
        "attendance",
        file,
        {
            "session": hearing.ordinal,
            "present": {party_label(all_parties[k]): v.present for k, v in given.items()},
        },
        entity="conc_session",
        entity_id=hearing.id,
    )
    session.flush()
    return hearing


def record_extension(
    *,
    session: Session,
    actor: Actor,
    area: Area,
    settings: ConciliationSettings,
    file_id: str,
    data: ExtensionIn,
    now: datetime | None = None,
) -> ConcFile:
    """The parties' agreement to extend the audiencia única beyond its 30 days."""
    file = get_file(session=session, file_id=file_id, area=area)
    _not_issued(file)
    if file.first_session_on is None:
        raise InvalidTransition("La prórroga se acuerda en una sesión ya realizada.")
    if data.agreed_on > today(now) or data.agreed_on < file.first_session_on:
        raise ValidationFailed(
            "La fecha del acuerdo no es válida.",
            code=ErrorCode.INVALID_DATE,
            fields=[FieldError("agreed_on", "Fuera de rango.")],
        )
    base = file.first_session_on + timedelta(days=settings.audiencia_max_calendar_days)
    if data.new_limit <= base:
        raise ValidationFailed(
            f"La nueva fecha límite debe ser posterior al {base:%d/%m/%Y}.",
            code=ErrorCode.INVALID_DATE,
            fields=[FieldError("new_limit", "Debe ampliar el plazo.")],
        )
    file.extension_until, file.extension_note = data.new_limit, data.note
    _touch(session, file)
    _event(
        session,
        actor,
        file,
        "extension",
        f"Las partes acordaron prorrogar la audiencia hasta el {data.new_limit:%d/%m/%Y}.",
    )
    _audit(session, actor, "extension", file, {"new_limit": data.new_limit.isoformat()})
    return file


# ----------------------------------------------------------------------- agreements


def obligations(*, session: Session, file_id: str) -> list[ConcObligation]:
    return list(
        session.exec(
            select(ConcObligation)
            .where(ConcObligation.file_id == file_id)
            .order_by(col(ConcObligation.ordinal))
        ).all()
    )


def set_obligations(
    *, session: Session, actor: Actor, area: Area, file_id: str, data: ObligationsIn
) -> list[ConcObligation]:
    """Replace the agreement's obligations (only before the acta is issued)."""
    file = get_file(session=session, file_id=file_id, area=area)
    _not_issued(file)
    if file.state not in {"audiencia", "concluido"}:
        raise InvalidTransition("Los acuerdos se registran en la audiencia.")
    for index, item in enumerate(data.obligations):
        debtor = _party(session, file, item.debtor_party_id)
        creditor = _party(session, file, item.creditor_party_id)
        if debtor.id == creditor.id:
            raise ValidationFailed(
                fields=[
                    FieldError(f"obligations.{index}.creditor_party_id", "Debe ser otra parte.")
                ]
            )
        if item.kind.value in cat.MONEY_KINDS:
            if item.amount is None:
                raise ValidationFailed(
                    "Una obligación de dar dinero indica el monto.",
                    fields=[FieldError(f"obligations.{index}.amount", "Obligatorio.")],
                )
            if item.kind.value == "pension_alimentos" and (
                item.periodicity is None or item.start_date is None
            ):
                raise ValidationFailed(
                    "La pensión de alimentos indica su periodicidad y la fecha del primer pago.",
                    fields=[FieldError(f"obligations.{index}.periodicity", "Obligatorio.")],
                )
            if item.kind.value == "dar_suma" and item.due_date is None and item.start_date is None:
                raise ValidationFailed(
                    "Indique la fecha de pago.",
                    fields=[FieldError(f"obligations.{index}.due_date", "Obligatorio.")],
                )
        if item.end_date and item.start_date and item.end_date < item.start_date:
            raise ValidationFailed(
                fields=[FieldError(f"obligations.{index}.end_date", "Anterior al inicio.")]
            )
    for row in obligations(session=session, file_id=file.id):
        session.delete(row)
    session.flush()
    rows = []
    for ordinal, item in enumerate(data.obligations, start=1):
        row = ConcObligation(
            file_id=file.id,
            ordinal=ordinal,
            kind=item.kind.value,
            debtor_party_id=item.debtor_party_id,
            creditor_party_id=item.creditor_party_id,
            description=item.description,
            amount=None if item.amount is None else f"{item.amount:.2f}",
            due_date=item.due_date,
            periodicity=item.periodicity.value if item.periodicity else None,
            start_date=item.start_date,
            end_date=item.end_date,
            payment_method=item.payment_method,
        )
        session.add(row)
        rows.append(row)
    file.approved_digest = None  # the verifier approves what will be issued
    _touch(session, file)
    _event(
        session, actor, file, "obligations", f"{len(rows)} obligación(es) del acuerdo registradas."
    )
    _audit(session, actor, "obligations", file, {"count": len(rows)})
    session.flush()
    return rows


# ------------------------------------------------------------------------ conclusion


def derived_inasistencia(
    *, session: Session, file_id: str, session_id: str | None = None
) -> dict[str, list[str]]:
    """What the attendance records support: ``inasistencia_una_parte`` -> labels of the parties
    absent from two (or more) held sessions; ``inasistencia_ambas`` -> the ordinals of held
    sessions nobody attended (only ``session_id`` when given)."""
    held = [
        s
        for s in sessions(session=session, file_id=file_id)
        if s.status == "held" and not s.for_replacement
    ]
    replacement = [
        s
        for s in sessions(session=session, file_id=file_id)
        if s.status == "held" and s.for_replacement
    ]
    marks = attendance_of(session=session, file_id=file_id)
    by_party = {p.id: p for p in parties(session=session, file_id=file_id)}
    absences: dict[str, int] = {}
    for hearing in held:
        for party_id, present in marks.get(hearing.id, {}).items():
            if not present:
                absences[party_id] = absences.get(party_id, 0) + 1
    nobody = [
        str(s.ordinal)
        for s in held + replacement
        if (session_id is None or s.id == session_id)
        and marks.get(s.id)
        and not any(marks[s.id].values())
    ]
    return {
        "inasistencia_una_parte": [party_label(by_party[k]) for k, n in absences.items() if n >= 2],
        "inasistencia_ambas": nobody,
    }


def conclude(
    *, session: Session, actor: Actor, area: Area, file_id: str, data: ConclusionIn
) -> ConcFile:
    """Conclude by exactly one of the six ways; the inasistencia ways must follow from the
    attendance, and an agreement or lack of it needs the parties present."""
    file = get_file(session=session, file_id=file_id, area=area)
    _not_issued(file)
    if file.state != "audiencia":
        raise InvalidTransition("Solo se concluye un expediente en audiencia.")
    hearing = _session_of(session, file, data.session_id)
    if hearing.status != "held":
        raise InvalidTransition("La sesión indicada aún no se realizó.")
    marks = attendance_of(session=session, file_id=file.id).get(hearing.id, {})
    by_party = {p.id: p for p in parties(session=session, file_id=file.id)}
    derived = derived_inasistencia(session=session, file_id=file.id, session_id=hearing.id)
    way = data.way.value
    reason = data.reason
    if way in cat.AGREEMENT_WAYS or way == "falta_acuerdo":
        absent = [party_label(by_party[k]) for k, present in marks.items() if not present]
        if absent:
            raise Conflict(
                f"«{cat.WAYS[way]}» requiere la asistencia de todas las partes; no asistieron: {', '.join(absent)}.",
                code=ErrorCode.ATTENDANCE_CONTRADICTS,
            )
        if way == "acuerdo_parcial" and not data.no_agreement_points:
            raise ValidationFailed(
                "Indique los puntos en que no hubo acuerdo.",
                fields=[FieldError("no_agreement_points", "Obligatorio en acuerdo parcial.")],
            )
        if way == "falta_acuerdo" and not reason:
            reason = "Las partes asistieron y no llegaron a un acuerdo."
    elif way == "inasistencia_una_parte":
        labels = derived["inasistencia_una_parte"]
        if not labels or derived["inasistencia_ambas"]:
            raise Conflict(
                "La asistencia registrada no muestra a una parte ausente en dos sesiones.",
                code=ErrorCode.ATTENDANCE_CONTRADICTS,
            )
        reason = f"Inasistencia de {', '.join(labels)} a dos sesiones de la audiencia."
    elif way == "inasistencia_ambas":
        if not derived["inasistencia_ambas"]:
            raise Conflict(
                f"En la sesión {hearing.ordinal} asistió al menos una parte.",
                code=ErrorCode.ATTENDANCE_CONTRADICTS,
            )
        reason = f"Inasistencia de ambas partes a la sesión {hearing.ordinal}."
    elif way == "decision_motivada":
        if not reason or len(reason) < 20:
            raise ValidationFailed(
                "La decisión del conciliador debe estar motivada (al menos 20 caracteres).",
                fields=[FieldError("reason", "Motive la decisión.")],
            )
    file.conclusion_way = way
    file.conclusion_reason = reason
    file.no_agreement_points = data.no_agreement_points if way == "acuerdo_parcial" else None
    file.concluded_session_id = hearing.id
    file.concluded_at = utcnow()
    file.approved_digest = None
    _touch(session, file, "concluido")
    _event(session, actor, file, "conclusion", f"Concluido: {cat.WAYS[way]}.")
    _audit(session, actor, "conclude", file, {"way": way, "session": hearing.ordinal})
    return file


# ---------------------------------------------------------------------------- the acta


def _citizen_name(citizen: Citizen | None) -> str:
    if citizen is None:
        return ""
    return f"{citizen.given_names} {citizen.surnames}".strip()


def _doc(citizen: Citizen | None) -> str:
    if citizen is None or citizen.doc_type == "ninguno" or not citizen.doc_number:
        return ""
    return f"{citizen.doc_type.upper()} {citizen.doc_number}"


def obligation_text(item: ConcObligation, names: dict[str, str]) -> str:
    """The obligation as certain, express and enforceable text."""
    debtor, creditor = names[item.debtor_party_id], names[item.creditor_party_id]
    amount = ""
    if item.amount is not None:
        value = Decimal(item.amount)
        amount = f"la suma de S/ {value:,.2f} ({_soles_words(value)})"
    if item.kind == "pension_alimentos":
        text = (
            f"{debtor} se obliga a pagar a favor de {creditor}, por concepto de pensión de alimentos, "
            f"{amount} con periodicidad {cat.PERIODICITIES.get(item.periodicity or '', item.periodicity or '')}, "
            f"a partir del {item.start_date:%d/%m/%Y}"
        )
        if item.end_date:
            text += f" y hasta el {item.end_date:%d/%m/%Y}"
    elif item.kind == "dar_suma":
        when = item.due_date or item.start_date
        text = f"{debtor} se obliga a pagar a {creditor} {amount}"
        if item.periodicity and item.periodicity != "unica":
            text += f" en cuotas de periodicidad {cat.PERIODICITIES[item.periodicity]} desde el {when:%d/%m/%Y}"
        else:
            text += f" a más tardar el {when:%d/%m/%Y}"  # type: ignore[union-attr]
    else:
        text = f"{debtor} se obliga frente a {creditor} a lo siguiente ({cat.OBLIGATION_KINDS[item.kind].lower()})"
        if item.due_date:
            text += f", a más tardar el {item.due_date:%d/%m/%Y}"
    text += f": {item.description.rstrip('.')}."
    if item.payment_method:
        text += f" Forma de pago o cumplimiento: {item.payment_method.rstrip('.')}."
    return text


_UNITS = "cero uno dos tres cuatro cinco seis siete ocho nueve diez once doce trece catorce quince dieciséis diecisiete dieciocho diecinueve veinte".split()
_TENS = {
    30: "treinta",
    40: "cuarenta",
    50: "cincuenta",
    60: "sesenta",
    70: "setenta",
    80: "ochenta",
    90: "noventa",
}
_HUNDREDS = {
    1: "ciento",
    2: "doscientos",
    3: "trescientos",
    4: "cuatrocientos",
    5: "quinientos",
    6: "seiscientos",
    7: "setecientos",
    8: "ochocientos",
    9: "novecientos",
}


def _words(n: int) -> str:
    if n <= 20:
        return _UNITS[n]
    if n < 30:
        return "veinti" + _UNITS[n - 20]
    if n < 100:
        tens, unit = divmod(n, 10)
        return _TENS[tens * 10] + ("" if unit == 0 else " y " + _UNITS[unit])
    if n == 100:
        return "cien"
    if n < 1000:
        hundreds, rest = divmod(n, 100)
        return _HUNDREDS[hundreds] + ("" if rest == 0 else " " + _words(rest))
    if n < 1_000_000:
        thousands, rest = divmod(n, 1000)
        head = "mil" if thousands == 1 else _words(thousands) + " mil"
        return head + ("" if rest == 0 else " " + _words(rest))
    millions, rest = divmod(n, 1_000_000)
    head = "un millón" if millions == 1 else _words(millions) + " millones"
    return head + ("" if rest == 0 else " " + _words(rest))


def _soles_words(value: Decimal) -> str:
    whole = int(value)
    cents = int((value - whole) * 100)
    return f"{_words(whole)} con {cents:02d}/100 soles".replace("uno con", "un con")


def acta_content(*, session: Session, file: ConcFile) -> dict[str, Any]:
    """Everything the acta says, as plain data (what is rendered, checked and frozen)."""
    sede = session.get(Sede, file.sede_id)
    rows = parties(session=session, file_id=file.id)
    ids = {
        x
        for p in rows
        for x in (p.citizen_id, p.representative_citizen_id, p.witness_citizen_id)
        if x
    }
    citizens = {
        c.id: c for c in session.exec(select(Citizen).where(col(Citizen.id).in_(sorted(ids)))).all()
    }
    names = {p.id: _citizen_name(citizens.get(p.citizen_id)) for p in rows}
    party_items = []
    for p in rows:
        citizen = citizens.get(p.citizen_id)
        rep = citizens.get(p.representative_citizen_id or "")
        witness = citizens.get(p.witness_citizen_id or "")
        party_items.append(
            {
                "id": p.id,
                "label": party_label(p),
                "role": p.role,
                "name": names[p.id],
                "document": _doc(citizen),
                "address": p.notice_address or (citizen.address if citizen else None) or "",
                "representative": None
                if rep is None
                else {
                    "name": _citizen_name(rep),
                    "document": _doc(rep),
                    "powers": p.representative_powers or "",
                },
                "witness": None
                if witness is None
                else {"name": _citizen_name(witness), "document": _doc(witness)},
            }
        )
    claims = session.exec(
        select(ConcClaim).where(ConcClaim.file_id == file.id).order_by(col(ConcClaim.ordinal))
    ).all()
    label_of = {p.id: party_label(p) for p in rows}

    def professional(user_id: str | None) -> dict[str, Any]:
        if user_id is None:
            return {}
        prof = session.get(ConcProfessional, user_id)
        user = session.get(User, user_id)
        return {
            "user_id": user_id,
            "name": prof.full_name if prof else (user.display_name if user else ""),
            "document": f"DNI {prof.doc_number}" if prof else "",
            "registration": (prof.conciliator_registration or "") if prof else "",
            "specialty_registration": (prof.family_specialty_registration or "") if prof else "",
            "bar_registration": (prof.bar_registration or "") if prof else "",
        }

    hearing = (
        session.get(ConcSession, file.concluded_session_id) if file.concluded_session_id else None
    )
    place = ""
    if hearing is not None:
        if hearing.mode == "virtual":
            place = f"Audiencia virtual (Ley 31165) mediante {hearing.virtual_means}; centro: {sede.name if sede else ''}, {sede.address if sede else ''}"
        else:
            place = f"{hearing.place}, {sede.name if sede else ''}"
    marks = attendance_of(session=session, file_id=file.id).get(hearing.id, {}) if hearing else {}
    return {
        "file_number": file.number,
        "centre": sede.name if sede else "",
        "centre_address": sede.address if sede else "",
        "matter": DEFAULT_MATTERS.get(file.matter, file.matter),
        "place": place,
        "hearing_date": hearing.held_on.isoformat() if hearing and hearing.held_on else None,
        "hearing_time": as_utc(hearing.scheduled_at).astimezone(LIMA).strftime("%H:%M")
        if hearing
        else None,  # type: ignore[union-attr]
        "virtual": bool(hearing and hearing.mode == "virtual"),
        "session_ordinal": hearing.ordinal if hearing else None,
        "parties": party_items,
        "present": [label_of[k] for k, v in marks.items() if v],
        "conciliator": professional(file.conciliator_user_id),
        "verifier": professional(file.verifier_user_id),
        "family_matter": file.matter in cat.FAMILY_MATTERS,
        "facts": file.facts,
        "controversy": file.controversy,
        "claims": [
            {
                "party": label_of.get(c.party_id, ""),
                "description": c.description,
                "counterclaim": c.counterclaim,
            }
            for c in claims
        ],
        "way": file.conclusion_way,
        "way_label": cat.WAYS.get(file.conclusion_way or "", ""),
        "reason": file.conclusion_reason or "",
        "no_agreement_points": file.no_agreement_points or "",
        "obligations": [
            {
                "id": o.id,
                "ordinal": o.ordinal,
                "kind": o.kind,
                "debtor": label_of.get(o.debtor_party_id, ""),
                "creditor": label_of.get(o.creditor_party_id, ""),
                "amount": o.amount,
                "currency": o.currency,
                "due_date": o.due_date.isoformat() if o.due_date else None,
                "periodicity": o.periodicity,
                "start_date": o.start_date.isoformat() if o.start_date else None,
                "end_date": o.end_date.isoformat() if o.end_date else None,
                "text": obligation_text(o, names),
            }
            for o in obligations(session=session, file_id=file.id)
        ],
        "replaces": None,
    }


def checklist(content: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """Art. 16, item by item: (code, what is missing)."""
    missing: dict[str, list[str]] = {code: [] for code in cat.ART16_ITEMS}
    if not content["file_number"]:
        missing["expediente"].append("número de expediente")
    if not content["place"]:
        missing["lugar_fecha"].append("lugar de la audiencia")
    if not content["hearing_date"]:
        missing["lugar_fecha"].append("fecha de la sesión")
    for party in content["parties"]:
        label = party["label"]
        if not party["name"]:
            missing["partes"].append(f"nombre de {label}")
        if not party["document"]:
            missing["partes"].append(f"documento de identidad de {label}")
        if not party["address"]:
            missing["partes"].append(f"domicilio de {label}")
        rep = party["representative"]
        if rep is not None:
            if not rep["document"]:
                missing["partes"].append(f"documento del representante de {label}")
            if not rep["powers"]:
                missing["partes"].append(f"poderes del representante de {label}")
        witness = party["witness"]
        if witness is not None and not witness["document"]:
            missing["partes"].append(f"documento del testigo a ruego de {label}")
    conciliator = content["conciliator"]
    if not conciliator:
        missing["conciliador"].append("conciliador designado")
    else:
        if not conciliator["name"]:
            missing["conciliador"].append("nombre del conciliador")
        if not conciliator["document"]:
            missing["conciliador"].append("documento del conciliador")
        if not conciliator["registration"]:
            missing["conciliador"].append("número de registro del conciliador")
        if content["family_matter"] and not conciliator["specialty_registration"]:
            missing["conciliador"].append("registro de especialidad en familia del conciliador")
    if not content["facts"]:
        missing["hechos"].append("hechos")
    if not content["controversy"]:
        missing["hechos"].append("descripción de la controversia")
    if not content["claims"]:
        missing["hechos"].append("pretensiones")
    way = content["way"]
    if not way:
        missing["acuerdo_o_motivo"].append("forma de conclusión")
    elif way in cat.AGREEMENT_WAYS:
        if not content["obligations"]:
            missing["acuerdo_o_motivo"].append("obligaciones del acuerdo")
        if way == "acuerdo_parcial" and not content["no_agreement_points"]:
            missing["acuerdo_o_motivo"].append("puntos sin acuerdo")
    elif not content["reason"]:
        missing["acuerdo_o_motivo"].append("motivo de la conclusión")
    verifier = content["verifier"]
    if not verifier:
        missing["verificador"].append("abogado verificador designado")
    else:
        if not verifier["name"]:
            missing["verificador"].append("nombre del abogado verificador")
        if not verifier["bar_registration"]:
            missing["verificador"].append("registro en el colegio de abogados del verificador")
    return [(code, items) for code, items in missing.items()]


def content_digest(content: dict[str, Any]) -> str:
    return hashlib.sha256(
        json.dumps(content, sort_keys=True, ensure_ascii=False, default=str).encode()
    ).hexdigest()


def _incomplete(items: list[tuple[str, list[str]]]) -> ValidationFailed | None:
    missing = [(code, m) for code, ms in items for m in ms]
    if not missing:
        return None
    code, first = missing[0]
    return ValidationFailed(
        f"El acta no puede emitirse: falta {first} ({cat.ART16_ITEMS[code]}, Art. 16)."
        + (f" Y {len(missing) - 1} dato(s) más." if len(missing) > 1 else ""),
        code=ErrorCode.ACTA_INCOMPLETE,
        fields=[FieldError(f"art16.{c}", m) for c, m in missing],
    )


def approve_acta(*, session: Session, actor: Actor, area: Area, file_id: str) -> ConcFile:
    """The verifying lawyer's approval of the draft as it stands (a later change voids it)."""
    file = get_file(session=session, file_id=file_id, area=area)
    _not_issued(file)
    if file.state != "concluido":
        raise InvalidTransition("El acta se verifica cuando el expediente concluyó.")
    if actor.user_id != file.verifier_user_id:
        raise PermissionDenied("Solo el abogado verificador designado da conformidad al acta.")
    content = acta_content(session=session, file=file)
    problem = _incomplete(checklist(content))
    if problem:
        raise problem
    file.approved_digest = content_digest(content)
    file.approved_by = actor.user_id
    _touch(session, file)
    _event(
        session,
        actor,
        file,
        "approval",
        "El abogado verificador dio conformidad al proyecto de acta.",
    )
    _audit(session, actor, "approve", file, {"digest": file.approved_digest})
    return file


@dataclass
class IssueInputs:
    """What issuing needs beyond the database: renders and signs (``render``: content, number
    text, code -> signed PDF bytes) and stores (``store``: key, bytes -> sha256)."""

    render: Any
    store: Any
    issuer: str


def issue_acta(
    *,
    session: Session,
    actor: Actor,
    area: Area,
    settings: ConciliationSettings,
    file_id: str,
    inputs: IssueInputs,
    now: datetime | None = None,
) -> ConcActa:
    from central.core import signed  # the shared signed-document registry

    file = get_file(session=session, file_id=file_id, area=area, for_update=True)
    if file.state == "acta":
        raise ActaIssued()
    if file.state != "concluido":
        raise InvalidTransition("El acta se emite cuando el expediente concluyó.")
    if (
        actor.user_id not in {file.conciliator_user_id}
        and Profile.COORDINADOR_SEDE.value not in actor.profiles
    ):
        raise PermissionDenied("Emite el acta el conciliador designado.")
    content = acta_content(session=session, file=file)
    problem = _incomplete(checklist(content))
    if problem:
        raise problem
    if settings.require_verifier_approval and file.approved_digest != content_digest(content):
        raise Conflict(
            "Falta la conformidad del abogado verificador sobre la versión actual del acta.",
            code=ErrorCode.ACTA_INCOMPLETE,
            fields=[FieldError("art16.verificador", "conformidad del abogado verificador")],
        )
    now = now or utcnow()
    issued_on = today(now)
    number = _next_value(session, kind="acta", sede_id=file.sede_id, year=issued_on.year)
    number_text = settings.acta_number_format.format(seq=number, year=issued_on.year)
    code = signed.new_code()
    if file.replaces_acta_id:
        old = session.get(ConcActa, file.replaces_acta_id)
        content["replaces"] = old.number_text if old else None
    content.update(number_text=number_text, issued_on=issued_on.isoformat(), verification_code=code)
    pdf = inputs.render(content)
    key = f"conciliation/{file.sede_id}/{issued_on.year}/{number:06d}-{code}.pdf"
    sha = inputs.store(key, pdf)
    acta = ConcActa(
        file_id=file.id,
        sede_id=file.sede_id,
        year=issued_on.year,
        number=number,
        number_text=number_text,
        conclusion_way=file.conclusion_way or "",
        session_id=file.concluded_session_id,
        replaces_acta_id=file.replaces_acta_id,
        content=json.dumps(content, ensure_ascii=False, sort_keys=True),
        pdf_key=key,
        pdf_sha256=sha,
        verification_code=code,
        issued_by=actor.user_id,
        issued_at=now,
    )
    session.add(acta)
    signed.register(
        session=session,
        code=code,
        kind="acta_conciliacion",
        title="Acta de conciliación extrajudicial",
        number=f"Acta N° {number_text} — Exp. {file.number}",
        issued_on=issued_on,
        issuer=inputs.issuer,
        sha256=sha,
        sede_id=file.sede_id,
        ref_id=acta.id,
    )
    if file.replaces_acta_id:
        old = session.get(ConcActa, file.replaces_acta_id)
        if old is not None:
            signed.set_status(
                session=session,
                code=old.verification_code,
                status="replaced",
                note=f"Reemplazada por el acta N° {number_text}.",
            )
    file.replaces_acta_id = None
    _touch(session, file, "acta")
    _event(
        session,
        actor,
        file,
        "acta",
        f"Acta N° {number_text} emitida ({cat.WAYS.get(acta.conclusion_way, '')}).",
    )
    _audit(
        session,
        actor,
        "acta_issue",
        file,
        {"number": number_text, "sha256": sha, "way": acta.conclusion_way},
        entity="conc_acta",
        entity_id=acta.id,
    )
    session.flush()
    return acta


def actas(*, session: Session, file_id: str) -> list[ConcActa]:
    return list(
        session.exec(
            select(ConcActa).where(ConcActa.file_id == file_id).order_by(col(ConcActa.issued_at))
        ).all()
    )


def get_acta(*, session: Session, acta_id: str, area: Area) -> ConcActa:
    acta = session.get(ConcActa, acta_id)
    if acta is None:
        raise NotFound("El acta no existe.")
    get_file(session=session, file_id=acta.file_id, area=area)
    return acta


def void_acta(
    *, session: Session, actor: Actor, area: Area, acta_id: str, reason: str
) -> ConcActaVoid:
    from central.core import signed

    acta = get_acta(session=session, acta_id=acta_id, area=area)
    if session.exec(select(ConcActaVoid).where(ConcActaVoid.acta_id == acta.id)).first():
        raise Conflict("El número ya fue anulado.")
    row = ConcActaVoid(acta_id=acta.id, reason=reason, voided_by=actor.user_id)
    session.add(row)
    signed.set_status(session=session, code=acta.verification_code, status="voided", note=reason)
    file = session.get(ConcFile, acta.file_id)
    assert file is not None
    _event(session, actor, file, "void", f"Acta N° {acta.number_text} anulada.")
    _audit(
        session,
        actor,
        "acta_void",
        file,
        {"number": acta.number_text, "reason": reason},
        entity="conc_acta",
        entity_id=acta.id,
    )
    return row


def start_replacement(
    *,
    session: Session,
    actor: Actor,
    area: Area,
    settings: ConciliationSettings,
    acta_id: str,
    reason: str,
    data: SessionCreate,
    now: datetime | None = None,
) -> ConcSession:
    """A defective acta is replaced only through a new session and a new acta linked to it."""
    acta = get_acta(session=session, acta_id=acta_id, area=area)
    file = get_file(session=session, file_id=acta.file_id, area=area)
    if file.state != "acta":
        raise InvalidTransition("El expediente ya tiene un reemplazo en curso.")
    if session.exec(select(ConcActa.id).where(ConcActa.replaces_acta_id == acta.id)).first():
        raise Conflict("Esta acta ya fue reemplazada.")
    file.replaces_acta_id = acta.id
    file.conclusion_way = file.conclusion_reason = file.no_agreement_points = None
    file.concluded_session_id = file.approved_digest = None
    _touch(session, file, "audiencia")
    row = schedule_session(
        session=session,
        actor=actor,
        area=area,
        settings=settings,
        file_id=file.id,
        data=data,
        now=now,
        for_replacement=True,
    )
    _event(
        session,
        actor,
        file,
        "replacement",
        f"Nueva sesión para reemplazar el acta N° {acta.number_text}: {reason[:200]}",
    )
    _audit(
        session,
        actor,
        "acta_replacement",
        file,
        {"acta": acta.number_text, "reason": reason},
        entity="conc_acta",
        entity_id=acta.id,
    )
    return row


def register_copy(
    *, session: Session, actor: Actor, area: Area, acta_id: str, data: CopyIn
) -> ConcCertifiedCopy:
    acta = get_acta(session=session, acta_id=acta_id, area=area)
    file = session.get(ConcFile, acta.file_id)
    assert file is not None
    if data.recipient_party_id:
        party = _party(session, file, data.recipient_party_id)
        citizen = session.get(Citizen, party.citizen_id)
        name, doc = _citizen_name(citizen), (citizen.doc_number if citizen else None)
    elif data.recipient_name:
        name, doc = data.recipient_name, data.recipient_doc
    else:
        raise ValidationFailed(
            "Indique quién recibe la copia.", fields=[FieldError("recipient_name", "Obligatorio.")]
        )
    count = session.exec(
        select(func.count())
        .select_from(ConcCertifiedCopy)
        .where(ConcCertifiedCopy.acta_id == acta.id)
    ).one()
    row = ConcCertifiedCopy(
        acta_id=acta.id,
        copy_number=int(count) + 1,
        recipient_party_id=data.recipient_party_id,
        recipient_name=name,
        recipient_doc=doc,
        issued_by=actor.user_id,
    )
    session.add(row)
    _event(
        session,
        actor,
        file,
        "copy",
        f"Copia certificada N° {row.copy_number} del acta N° {acta.number_text}.",
    )
    _audit(
        session,
        actor,
        "acta_copy",
        file,
        {"acta": acta.number_text, "copy": row.copy_number},
        entity="conc_acta",
        entity_id=acta.id,
    )
    return row


def copies(*, session: Session, acta_id: str) -> list[ConcCertifiedCopy]:
    return list(
        session.exec(
            select(ConcCertifiedCopy)
            .where(ConcCertifiedCopy.acta_id == acta_id)
            .order_by(col(ConcCertifiedCopy.copy_number))
        ).all()
    )


def derive(
    *, session: Session, actor: Actor, area: Area, file_id: str, data: DerivationIn
) -> ConcFile:
    """The way out of a blocked conciliation: the file goes to defensa de víctimas."""
    file = get_file(session=session, file_id=file_id, area=area)
    _not_issued(file)
    _touch(session, file, "derivado")
    file.conclusion_reason = data.reason
    _event(session, actor, file, "derivation", "Derivado a defensa de víctimas.")
    _audit(session, actor, "derive", file, {"to": "defensa_victimas"})
    return file


def set_professional(
    *, session: Session, actor: Actor, area: Area, user_id: str, data: ProfessionalIn
) -> ConcProfessional:
    user = session.get(User, user_id)
    if user is None or not area.contains(sede_id=user.sede_id, district_id=user.district_id):
        raise NotFound("El usuario no existe.")
    row = session.get(ConcProfessional, user_id) or ConcProfessional(
        user_id=user_id, full_name="", doc_number=""
    )
    for key, value in data.model_dump().items():
        setattr(row, key, value)
    row.updated_by, row.updated_at = actor.user_id, utcnow()
    session.add(row)
    audit.record(
        session=session,
        actor=actor,
        action="conciliation.professional",
        entity="conc_professional",
        entity_id=user_id,
        sede_id=user.sede_id,
        after={"registration": data.conciliator_registration, "bar": data.bar_registration},
    )
    return row


# ------------------------------------------------------------------- reads and trays


def deadlines(
    *, file: ConcFile, settings: ConciliationSettings, session: Session
) -> list[dict[str, Any]]:
    calendar = settings.calendar()
    items = [
        {
            "code": "designacion",
            "label": "Designación del conciliador",
            "due": calendar.add_business_days(
                file.requested_on, settings.designation_business_days
            ),
            "done": file.designated_at is not None,
        }
    ]
    for inv in session.exec(select(ConcInvitation).where(ConcInvitation.file_id == file.id)).all():
        items.append(
            {
                "code": f"invitacion:{inv.id}",
                "label": "Entrega de invitación",
                "due": inv.delivery_due,
                "done": inv.status != "pending",
            }
        )
    limit = audiencia_limit(file, settings)
    if limit is not None:
        items.append(
            {
                "code": "audiencia",
                "label": "Fin de la audiencia única",
                "due": limit,
                "done": file.state not in {"audiencia", "invitado"},
            }
        )
    return items


def list_files(
    *,
    session: Session,
    area: Area,
    state: str | None = None,
    conciliator_user_id: str | None = None,
    sede_id: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[ConcFile]:
    query = select(ConcFile).where(area.where(ConcFile.sede_id, ConcFile.district_id))
    if state:
        query = query.where(ConcFile.state == state)
    if conciliator_user_id:
        query = query.where(ConcFile.conciliator_user_id == conciliator_user_id)
    if sede_id:
        query = query.where(ConcFile.sede_id == sede_id)
    return list(
        session.exec(
            query.order_by(col(ConcFile.created_at).desc()).limit(limit).offset(offset)
        ).all()
    )


def tray(
    *,
    session: Session,
    area: Area,
    user_id: str | None,
    now: datetime | None = None,
    days_ahead: int = 7,
) -> dict[str, Any]:
    """A conciliator's tray: today's sessions, pending invitation deliveries coming due, and
    the count of their files per stage (``user_id`` None: the whole area, the coordinator)."""
    now = now or utcnow()
    day = today(now)
    # the Lima day as UTC instants (SQLite compares stored UTC text: an offset would not match)
    start = datetime.combine(day, datetime.min.time(), LIMA).astimezone(UTC)
    end = start + timedelta(days=1)
    scope = area.where(ConcFile.sede_id, ConcFile.district_id)
    mine = (ConcFile.conciliator_user_id == user_id) if user_id else scope
    # columns, not entities: the tray is the hot read of the module (bench/conciliation.py)
    hearings = session.exec(
        select(
            ConcSession.id,
            ConcSession.ordinal,
            ConcSession.scheduled_at,
            ConcSession.mode,
            ConcFile.number,
            ConcFile.id,
        )
        .join(ConcFile, col(ConcFile.id) == col(ConcSession.file_id))
        .where(
            mine,
            scope,
            # the session's own sede: today's sessions of the sede come from its index
            area.where(ConcSession.sede_id),
            ConcSession.status == "scheduled",
            col(ConcSession.scheduled_at) >= start,
            col(ConcSession.scheduled_at) < end,
        )
        .order_by(col(ConcSession.scheduled_at))
        .limit(100)
    ).all()
    due = session.exec(
        select(ConcInvitation.id, ConcInvitation.delivery_due, ConcFile.number, ConcFile.id)
        .join(ConcFile, col(ConcFile.id) == col(ConcInvitation.file_id))
        .where(
            mine,
            scope,
            col(ConcFile.state).in_(cat.OPEN_STATES),
            ConcInvitation.status == "pending",
            col(ConcInvitation.delivery_due) <= day + timedelta(days=days_ahead),
        )
        .order_by(col(ConcInvitation.delivery_due))
        .limit(100)
    ).all()
    stages = dict(
        session.exec(
            select(ConcFile.state, func.count()).where(mine, scope).group_by(ConcFile.state)
        ).all()
    )
    return {
        "today": day,
        "hearings": [
            {
                "session": SimpleNamespace(id=sid, ordinal=o, scheduled_at=at, mode=m),
                "number": n,
                "file_id": f,
            }
            for sid, o, at, m, n, f in hearings
        ],
        "deadlines": [
            {"invitation": SimpleNamespace(id=i, delivery_due=d), "number": n, "file_id": f}
            for i, d, n, f in due
        ],
        "stages": {k: int(stages.get(k, 0)) for k in cat.STATES},
    }


def registry_rows(*, session: Session, area: Area, sede_id: str, year: int) -> list[dict[str, Any]]:
    """The registro de actas of a centre and year, by number (a voided number says why)."""
    sede = session.get(Sede, sede_id)
    if sede is None or not area.contains(sede_id=sede.id, district_id=sede.district_id):
        raise NotFound("La sede no existe.")
    voids = {
        v.acta_id: v
        for v in session.exec(
            select(ConcActaVoid)
            .join(ConcActa, col(ConcActa.id) == col(ConcActaVoid.acta_id))
            .where(ConcActa.sede_id == sede_id, ConcActa.year == year)
        ).all()
    }
    replaced = dict(
        session.exec(
            select(ConcActa.replaces_acta_id, ConcActa.number_text).where(
                ConcActa.sede_id == sede_id,
                ConcActa.year == year,
                col(ConcActa.replaces_acta_id).is_not(None),
            )
        ).all()
    )
    rows = session.exec(
        select(
            ConcActa.id,
            ConcActa.number,
            ConcActa.number_text,
            ConcActa.issued_at,
            ConcActa.conclusion_way,
            ConcActa.pdf_sha256,
            ConcFile.number,
            ConcFile.matter,
        )
        .join(ConcFile, col(ConcFile.id) == col(ConcActa.file_id))
        .where(ConcActa.sede_id == sede_id, ConcActa.year == year)
        .order_by(col(ConcActa.number))
    ).all()
    result = []
    for acta_id, number, number_text, issued_at, way, sha, file_number, matter in rows:
        status = "Vigente"
        if acta_id in voids:
            status = f"Anulada: {voids[acta_id].reason}"
        elif acta_id in replaced:
            status = f"Reemplazada por N° {replaced[acta_id]}"
        result.append(
            {
                "number": number,
                "number_text": number_text,
                "issued_on": lima_date(issued_at).isoformat(),
                "file_number": file_number,
                "matter": DEFAULT_MATTERS.get(matter, matter),
                "way": cat.WAYS.get(way, way),
                "way_code": way,
                "status": status,
                "sha256": sha,
            }
        )
    return result
