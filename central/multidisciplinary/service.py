"""Rules of Module 05. Keyword-only functions, session first; they never commit. Every change
writes its audit row; every read of sensitive content (questions, report content, ficha,
evidence) is audited with its purpose, and a refused read leaves an audited attempt.

Who may read content: the assigned professional, their supervisor and whoever asked for the
service (the requesting defender or conciliator) — and nobody else, whatever their profile;
others allowed to see the request see that it exists and its state."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from central.audit import service as audit
from central.audit.models import AuditEvent
from central.auth.policy import Area
from central.cases.models import CaseEvent, CaseFile
from central.citizens.models import Citizen, EligibilityStatement
from central.conciliation.models import ConcFile, ConcParty
from central.core import signed
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
from central.multidisciplinary import catalogues as cat
from central.multidisciplinary.models import (
    MdAlert,
    MdCaseNotice,
    MdCustodyEvent,
    MdDelivery,
    MdEvidence,
    MdReport,
    MdReportVersion,
    MdRequest,
    MdSequence,
    MdSession,
    MdSocioEval,
)
from central.multidisciplinary.schemas import (
    AssignIn,
    CustodyIn,
    DecisionIn,
    DeliverIn,
    DeriveIn,
    FichaIn,
    Purpose,
    RequestCreate,
    ReviewIn,
    SessionCreate,
    SessionOutcomeIn,
)
from central.multidisciplinary.settings import MultidisciplinarySettings
from central.org.models import Sede
from central.users.models import User, UserProfile
from contracts.errors import ErrorCode

LIMA = ZoneInfo("America/Lima")
OPEN_STATES = ("requested", "assigned", "in_progress")
CUSTODY_RECEIVED = "recibido"  # the first link of every chain of custody


def lima_today(now: datetime | None = None) -> date:
    return (now or datetime.now(UTC)).astimezone(LIMA).date()


# ------------------------------------------------------------------------------- helpers


def _sede(session: Session, sede_id: str) -> Sede:
    sede = session.get(Sede, sede_id)
    if sede is None:
        raise NotFound("La sede no existe.")
    return sede


def _inside(session: Session, area: Area, sede_id: str) -> bool:
    sede = session.get(Sede, sede_id)
    return sede is not None and area.contains(sede_id=sede.id, district_id=sede.district_id)


def _next_number(session: Session, *, kind: str, sede_id: str, year: int) -> int:
    row = session.exec(
        select(MdSequence)
        .where(MdSequence.kind == kind, MdSequence.sede_id == sede_id, MdSequence.year == year)
        .with_for_update()
    ).first()
    if row is None:
        row = MdSequence(kind=kind, sede_id=sede_id, year=year, last_value=0)
    row.last_value += 1
    session.add(row)
    session.flush()
    return row.last_value


def get_request(*, session: Session, request_id: str, area: Area) -> MdRequest:
    """The request if it exists inside ``area`` (existence and state; no content check)."""
    row = session.get(MdRequest, request_id)
    if row is None or not (
        _inside(session, area, row.sede_id) or _inside(session, area, row.origin_sede_id)
    ):
        raise NotFound("La solicitud no existe.")
    return row


def may_read_content(actor: Actor, request: MdRequest) -> bool:
    """The assigned professional, their supervisor and the requester: nobody else."""
    return actor.user_id is not None and actor.user_id in {
        request.assigned_user_id,
        request.supervisor_user_id,
        request.requested_by,
    }


def audit_content_read(
    *,
    session: Session,
    actor: Actor,
    request: MdRequest,
    what: str,
    object_id: str | None,
    purpose: Purpose,
) -> None:
    """Refuse (403, with an audited attempt the caller must commit) or record the read. The
    audit row is keyed by the person (entity ``citizen``) so "quién vio qué" finds it."""
    allowed = may_read_content(actor, request)
    audit.record(
        session=session,
        actor=actor,
        action="md.content_read" if allowed else "md.content_denied",
        entity="citizen",
        entity_id=request.citizen_id,
        sede_id=request.sede_id,
        after={
            "what": what,
            "object_id": object_id,
            "request_id": request.id,
            "purpose": purpose.value,
        },
    )
    if not allowed:
        raise ContentDenied(
            "Solo el profesional asignado, su supervisor y quien solicitó el servicio pueden "
            "ver este contenido. El intento quedó registrado."
        )


class ContentDenied(PermissionDenied):
    """A refused read of sensitive content: its audit row must be committed (views do)."""


# ------------------------------------------------------------------------------ requests


def create_request(
    *,
    session: Session,
    actor: Actor,
    area: Area,
    settings: MultidisciplinarySettings,
    data: RequestCreate,
    now: datetime | None = None,
) -> MdRequest:
    now = now or utcnow()
    if bool(data.case_id) == bool(data.conc_file_id):
        raise ValidationFailed(
            code=ErrorCode.FILE_REQUIRED,
            fields=[FieldError("case_id", "Indique un expediente de caso o de conciliación.")],
        )
    if data.case_id:
        case = session.get(CaseFile, data.case_id)
        if case is None or not _inside(session, area, case.sede_id):
            raise NotFound("El expediente no existe.")
        if case.state == "closed":
            raise InvalidTransition("El expediente está concluido.", code=ErrorCode.CASE_CLOSED)
        sede_id, file_number = case.sede_id, case.number
        citizen_id = data.citizen_id or case.client_citizen_id
    else:
        conc = session.get(ConcFile, data.conc_file_id)
        if conc is None or not _inside(session, area, conc.sede_id):
            raise NotFound("El expediente de conciliación no existe.")
        sede_id, file_number = conc.sede_id, conc.number
        citizen_id = data.citizen_id
        if not citizen_id:
            raise ValidationFailed(
                "Indique a qué parte del expediente se refiere el servicio.",
                fields=[FieldError("citizen_id", "Requerido en un expediente de conciliación.")],
            )
        party = session.exec(
            select(ConcParty.id).where(
                ConcParty.file_id == conc.id, ConcParty.citizen_id == citizen_id
            )
        ).first()
        if party is None:
            raise ValidationFailed(
                "La persona indicada no es parte del expediente.",
                fields=[FieldError("citizen_id", "No es parte del expediente.")],
            )
    if session.get(Citizen, citizen_id) is None:
        raise NotFound("La persona no existe.")
    if data.authority_kind and not (data.authority_name and data.authority_file_number):
        message = "Indique la autoridad que ordenó el servicio y su número de expediente."
        raise ValidationFailed(
            message,
            fields=[
                FieldError("authority_name", message),
                FieldError("authority_file_number", message),
            ],
        )
    if not data.authority_kind and (data.authority_name or data.authority_file_number):
        message = "Indique si la autoridad es una fiscalía o un juzgado."
        raise ValidationFailed(message, fields=[FieldError("authority_kind", message)])
    today = lima_today(now)
    seq = _next_number(session, kind="request", sede_id=sede_id, year=today.year)
    due = settings.calendar().add_business_days(
        today, settings.turnaround(data.service_type.value, data.urgency.value)
    )
    row = MdRequest(
        number=settings.request_number_format.format(sede=sede_id, year=today.year, seq=seq),
        sede_id=sede_id,
        origin_sede_id=sede_id,
        service_type=data.service_type.value,
        case_id=data.case_id,
        conc_file_id=data.conc_file_id,
        file_number=file_number,
        citizen_id=citizen_id,
        questions=data.questions,
        urgency=data.urgency.value,
        authority_kind=data.authority_kind.value if data.authority_kind else None,
        authority_name=data.authority_name,
        authority_file_number=data.authority_file_number,
        requested_by=actor.user_id or "system",
        due_date=due,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="md_request.create",
        entity="md_request",
        entity_id=row.id,
        sede_id=sede_id,
        after={
            "number": row.number,
            "service_type": row.service_type,
            "file_number": file_number,
            "urgency": row.urgency,
            "authority_kind": row.authority_kind,
            "due_date": due.isoformat(),
        },  # never the questions
    )
    return row


def professional_ok(session: Session, *, user_id: str, sede_id: str, service_type: str) -> User:
    user = session.get(User, user_id)
    profile = cat.PROFILE_FOR[service_type]
    if user is None or not user.active or user.sede_id != sede_id:
        raise ValidationFailed(
            "La persona indicada no es un profesional activo de la sede.",
            fields=[FieldError("professional_id", "No es profesional de la sede.")],
        )
    holds = session.exec(
        select(UserProfile.profile).where(
            UserProfile.user_id == user_id, UserProfile.profile == profile
        )
    ).first()
    if holds is None:
        raise ValidationFailed(
            f"El servicio «{cat.SERVICE_LABELS_ES[service_type]}» requiere un profesional con "
            f"perfil {profile.replace('_', ' ')}.",
            fields=[FieldError("professional_id", "Perfil profesional no corresponde.")],
        )
    return user


def assign_request(
    *,
    session: Session,
    actor: Actor,
    area: Area,
    request_id: str,
    data: AssignIn,
    now: datetime | None = None,
) -> MdRequest:
    row = get_request(session=session, request_id=request_id, area=area)
    if not _inside(session, area, row.sede_id):
        raise NotFound("La solicitud no existe.")
    if row.state not in ("requested", "assigned"):
        raise InvalidTransition("La solicitud ya está en atención o concluida.")
    professional_ok(
        session, user_id=data.professional_id, sede_id=row.sede_id, service_type=row.service_type
    )
    supervisor = data.supervisor_id or actor.user_id
    before = {"assigned_user_id": row.assigned_user_id, "state": row.state}
    row.assigned_user_id = data.professional_id
    row.supervisor_user_id = supervisor
    row.assigned_at = now or utcnow()
    row.state = "assigned"
    row.updated_at = now or utcnow()
    session.add(row)
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="md_request.assign",
        entity="md_request",
        entity_id=row.id,
        sede_id=row.sede_id,
        before=before,
        after={
            "assigned_user_id": row.assigned_user_id,
            "supervisor_user_id": supervisor,
            "state": "assigned",
        },
    )
    return row


def derive_request(
    *,
    session: Session,
    actor: Actor,
    area: Area,
    request_id: str,
    data: DeriveIn,
    now: datetime | None = None,
) -> MdRequest:
    """To another Mega ALEGRA sede (this one has no professional for the type): the request
    moves there, the derivation is recorded on it and audited."""
    row = get_request(session=session, request_id=request_id, area=area)
    if row.state not in ("requested", "assigned"):
        raise InvalidTransition("Solo se deriva una solicitud que aún no está en atención.")
    target = session.get(Sede, data.to_sede_id)
    if target is None or target.id == row.sede_id:
        raise ValidationFailed(
            "Indique otra sede existente.", fields=[FieldError("to_sede_id", "Sede inválida.")]
        )
    if target.kind != "Mega ALEGRA":
        raise ValidationFailed(
            "Los servicios multidisciplinarios se derivan a una sede Mega ALEGRA.",
            fields=[FieldError("to_sede_id", "No es una sede Mega ALEGRA.")],
        )
    before = {"sede_id": row.sede_id, "state": row.state}
    row.derived_from_sede_id = row.sede_id
    row.sede_id = target.id
    row.derivation_reason = data.reason
    row.derived_at = now or utcnow()
    row.assigned_user_id = None
    row.supervisor_user_id = None
    row.state = "requested"
    row.updated_at = now or utcnow()
    session.add(row)
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="md_request.derive",
        entity="md_request",
        entity_id=row.id,
        sede_id=target.id,
        before=before,
        after={"sede_id": target.id, "state": "requested"},
    )
    return row


def list_requests(
    *,
    session: Session,
    area: Area,
    sede_id: str | None = None,
    state: str | None = None,
    requested_by: str | None = None,
    limit: int = 100,
) -> list[MdRequest]:
    query = select(MdRequest).where(
        or_(
            area.where(sede_column=MdRequest.sede_id),
            area.where(sede_column=MdRequest.origin_sede_id),
        )
    )
    if sede_id:
        query = query.where(MdRequest.sede_id == sede_id)
    if state:
        query = query.where(MdRequest.state == state)
    if requested_by:
        query = query.where(MdRequest.requested_by == requested_by)
    return list(session.exec(query.order_by(col(MdRequest.created_at).desc()).limit(limit)).all())


def tray(*, session: Session, actor: Actor, limit: int = 50) -> list[MdRequest]:
    """The professional's open requests, the nearest deadline first (ix_md_request_assigned_state)."""
    return list(
        session.exec(
            select(MdRequest)
            .where(
                MdRequest.assigned_user_id == actor.user_id,
                col(MdRequest.state).in_(OPEN_STATES),
            )
            .order_by(col(MdRequest.due_date), col(MdRequest.number))
            .limit(limit)
        ).all()
    )


def read_request_content(
    *, session: Session, actor: Actor, area: Area, request_id: str, purpose: Purpose
) -> MdRequest:
    row = get_request(session=session, request_id=request_id, area=area)
    audit_content_read(
        session=session,
        actor=actor,
        request=row,
        what="solicitud",
        object_id=row.id,
        purpose=purpose,
    )
    return row


# ------------------------------------------------------------------------------ sessions


def _own_request(session: Session, actor: Actor, area: Area, request_id: str) -> MdRequest:
    row = get_request(session=session, request_id=request_id, area=area)
    if row.assigned_user_id != actor.user_id:
        raise PermissionDenied("Solo el profesional asignado puede registrar esta actuación.")
    return row


def schedule_session(
    *,
    session: Session,
    actor: Actor,
    area: Area,
    request_id: str,
    data: SessionCreate,
    now: datetime | None = None,
) -> MdSession:
    row = _own_request(session, actor, area, request_id)
    if row.state not in ("assigned", "in_progress"):
        raise InvalidTransition("La solicitud no admite nuevas sesiones en su estado actual.")
    starts = as_utc(data.starts_at)
    assert starts is not None
    ends = starts + timedelta(minutes=data.minutes)
    if starts < (now or utcnow()) - timedelta(minutes=5):
        raise ValidationFailed(
            "La sesión no puede programarse en el pasado.",
            code=ErrorCode.INVALID_DATE,
            fields=[FieldError("starts_at", "Fecha pasada.")],
        )
    # one professional's bookings line up (the user row is the lock on PostgreSQL; SQLite
    # writers are serialised by BEGIN IMMEDIATE)
    session.exec(select(User.id).where(User.id == actor.user_id).with_for_update()).first()
    clash = session.exec(
        select(MdSession).where(
            MdSession.professional_id == actor.user_id,
            col(MdSession.status).in_(("scheduled", "held")),
            MdSession.starts_at < ends,
            MdSession.ends_at > starts,
        )
    ).first()
    if clash is not None:
        at = as_utc(clash.starts_at).astimezone(LIMA)  # type: ignore[union-attr]
        until = as_utc(clash.ends_at).astimezone(LIMA)  # type: ignore[union-attr]
        message = (
            f"Ya tiene una sesión el {at:%d/%m/%Y} de {at:%H:%M} a {until:%H:%M}; "
            "elija otro horario."
        )
        raise Conflict(
            message, code=ErrorCode.SESSION_OVERLAP, fields=[FieldError("starts_at", message)]
        )
    booked = MdSession(
        request_id=row.id,
        sede_id=row.sede_id,
        professional_id=actor.user_id or "",
        starts_at=starts,
        ends_at=ends,
        place=data.place,
        created_by=actor.user_id or "system",
    )
    session.add(booked)
    if row.state == "assigned":
        row.state = "in_progress"
        row.updated_at = utcnow()
        session.add(row)
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="md_session.schedule",
        entity="md_session",
        entity_id=booked.id,
        sede_id=row.sede_id,
        after={"request_id": row.id, "starts_at": starts.isoformat(), "minutes": data.minutes},
    )
    return booked


def record_session_outcome(
    *,
    session: Session,
    actor: Actor,
    area: Area,
    session_id: str,
    data: SessionOutcomeIn,
    now: datetime | None = None,
) -> MdSession:
    booked = session.get(MdSession, session_id)
    if booked is None:
        raise NotFound("La sesión no existe.")
    _own_request(session, actor, area, booked.request_id)
    if booked.status != "scheduled":
        raise InvalidTransition("La sesión ya tiene un resultado registrado.")
    if data.outcome.value in ("held", "no_show") and as_utc(booked.starts_at) > (now or utcnow()):
        raise InvalidTransition("La sesión aún no ha comenzado.")
    booked.status = data.outcome.value
    booked.outcome_at = now or utcnow()
    session.add(booked)
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="md_session.outcome",
        entity="md_session",
        entity_id=booked.id,
        sede_id=booked.sede_id,
        before={"status": "scheduled"},
        after={"status": booked.status},
    )
    return booked


def agenda(*, session: Session, professional_id: str, week_start: date) -> list[MdSession]:
    start = datetime.combine(week_start, datetime.min.time(), LIMA).astimezone(UTC)
    end = start + timedelta(days=7)
    return list(
        session.exec(
            select(MdSession)
            .where(
                MdSession.professional_id == professional_id,
                MdSession.starts_at >= start,
                MdSession.starts_at < end,
                MdSession.status != "cancelled",
            )
            .order_by(col(MdSession.starts_at))
        ).all()
    )


# ------------------------------------------------------------------------------- reports


def template_of(service_type: str) -> tuple[cat.Section, ...]:
    return cat.TEMPLATES[service_type]


def _clean_content(service_type: str, content: dict[str, Any]) -> dict[str, Any]:
    """Shape check against the template (a draft may leave sections empty)."""
    sections = {s.key: s for s in template_of(service_type)}
    unknown = sorted(set(content) - set(sections))
    if unknown:
        raise ValidationFailed(
            f"Sección desconocida para este tipo de informe: {', '.join(unknown)}.",
            fields=[FieldError(f"content.{k}", "Sección desconocida.") for k in unknown],
        )
    clean: dict[str, Any] = {}
    for key, value in content.items():
        section = sections[key]
        where = f"content.{key}"
        if value is None or value == "":
            continue
        if section.kind is cat.SectionKind.TEXT:
            if not isinstance(value, str) or len(value) > 20000:
                raise ValidationFailed(
                    f"«{section.label}» debe ser un texto (hasta 20 000 caracteres).",
                    fields=[FieldError(where, "Texto inválido.")],
                )
            clean[key] = value.strip()
        elif section.kind is cat.SectionKind.INTEGER:
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 3650:
                raise ValidationFailed(
                    f"«{section.label}» debe ser un número entero de días (0 a 3650).",
                    fields=[FieldError(where, "Número entero de días.")],
                )
            clean[key] = value
        else:
            fields = (
                ("location", "description")
                if section.kind is cat.SectionKind.INJURIES
                else ("description", "custody")
            )
            if not isinstance(value, list) or len(value) > 100:
                raise ValidationFailed(
                    f"«{section.label}» debe ser una lista.", fields=[FieldError(where, "Lista.")]
                )
            items = []
            for index, item in enumerate(value):
                if not isinstance(item, dict) or set(item) - set(fields):
                    raise ValidationFailed(
                        f"«{section.label}»: cada elemento lleva {' y '.join(fields)}.",
                        fields=[FieldError(f"{where}.{index}", "Elemento inválido.")],
                    )
                entry = {f: str(item.get(f) or "").strip()[:2000] for f in fields}
                if any(not entry[f] for f in fields):
                    label = (
                        "ubicación y descripción"
                        if section.kind is cat.SectionKind.INJURIES
                        else "descripción y cadena de custodia"
                    )
                    raise ValidationFailed(
                        f"«{section.label}»: complete {label} de cada elemento.",
                        fields=[FieldError(f"{where}.{index}", "Incompleto.")],
                    )
                items.append(entry)
            if items:
                clean[key] = items
    return clean


def missing_sections(service_type: str, content: dict[str, Any]) -> list[cat.Section]:
    return [
        s
        for s in template_of(service_type)
        if s.required and (content.get(s.key) is None or content.get(s.key) in ("", []))
    ]


def report_of(session: Session, request_id: str) -> MdReport | None:
    return session.exec(select(MdReport).where(MdReport.request_id == request_id)).first()


def versions_of(session: Session, report_id: str) -> list[MdReportVersion]:
    return list(
        session.exec(
            select(MdReportVersion)
            .where(MdReportVersion.report_id == report_id)
            .order_by(col(MdReportVersion.version))
        ).all()
    )


def current_version(session: Session, report: MdReport) -> MdReportVersion:
    row = session.exec(
        select(MdReportVersion).where(
            MdReportVersion.report_id == report.id,
            MdReportVersion.version == report.current_version,
        )
    ).one()
    return row


def save_draft(
    *,
    session: Session,
    actor: Actor,
    area: Area,
    request_id: str,
    content: dict[str, Any],
) -> tuple[MdReport, MdReportVersion]:
    """Create the report (version 1) or replace the content of its current draft. A signed
    version is never edited (409): an amendment opens a new version."""
    row = _own_request(session, actor, area, request_id)
    if row.state not in ("assigned", "in_progress", "reported", "delivered"):
        raise InvalidTransition("La solicitud no admite informe en su estado actual.")
    clean = _clean_content(row.service_type, content)
    report = report_of(session, row.id)
    now = utcnow()
    if report is None:
        report = MdReport(
            request_id=row.id,
            sede_id=row.sede_id,
            service_type=row.service_type,
            author_id=actor.user_id or "",
        )
        session.add(report)
        session.flush()
        version = MdReportVersion(
            report_id=report.id,
            version=1,
            content_json=json.dumps(clean, ensure_ascii=False),
            updated_by=actor.user_id or "",
        )
        if row.state == "assigned":
            row.state = "in_progress"
            session.add(row)
    else:
        version = current_version(session, report)
        if version.signed_at is not None:
            raise Conflict(code=ErrorCode.REPORT_SIGNED)
        version.content_json = json.dumps(clean, ensure_ascii=False)
        version.status = "draft"  # an edit after review needs a new review
        version.reviewed_at = None
        version.reviewer_id = None
        version.updated_by = actor.user_id or ""
        version.updated_at = now
        report.state = "draft"
        report.updated_at = now
    session.add(report)
    session.add(version)
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="md_report.save_draft",
        entity="md_report",
        entity_id=report.id,
        sede_id=report.sede_id,
        after={"version": version.version, "sections": sorted(clean)},  # never the content
    )
    return report, version


def request_review(
    *, session: Session, actor: Actor, area: Area, request_id: str, reviewer_id: str
) -> MdReportVersion:
    row = _own_request(session, actor, area, request_id)
    report = report_of(session, row.id)
    if report is None:
        raise NotFound("La solicitud aún no tiene informe.")
    version = current_version(session, report)
    if version.signed_at is not None:
        raise Conflict(code=ErrorCode.REPORT_SIGNED)
    _require_complete(row.service_type, json.loads(version.content_json))
    if reviewer_id == actor.user_id:
        raise ValidationFailed(
            "La revisión la hace otro profesional.",
            fields=[FieldError("reviewer_id", "Elija a otro profesional.")],
        )
    professional_ok(
        session, user_id=reviewer_id, sede_id=row.sede_id, service_type=row.service_type
    )
    version.status = "in_review"
    version.reviewer_id = reviewer_id
    version.review_requested_at = utcnow()
    report.state = "in_review"
    session.add(version)
    session.add(report)
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="md_report.request_review",
        entity="md_report",
        entity_id=report.id,
        sede_id=report.sede_id,
        after={"version": version.version, "reviewer_id": reviewer_id},
    )
    return version


def review(
    *, session: Session, actor: Actor, area: Area, report_id: str, data: ReviewIn
) -> MdReportVersion:
    report = session.get(MdReport, report_id)
    if report is None:
        raise NotFound("El informe no existe.")
    get_request(session=session, request_id=report.request_id, area=area)
    version = current_version(session, report)
    if version.status != "in_review" or version.reviewer_id != actor.user_id:
        raise PermissionDenied("Solo el revisor designado puede revisar este informe.")
    version.status = "approved" if data.approve else "draft"
    version.reviewed_at = utcnow()
    version.review_notes = data.notes or None
    report.state = "in_review" if data.approve else "draft"
    session.add(version)
    session.add(report)
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="md_report.review",
        entity="md_report",
        entity_id=report.id,
        sede_id=report.sede_id,
        after={"version": version.version, "approved": data.approve},
    )
    return version


def _require_complete(service_type: str, content: dict[str, Any]) -> None:
    missing = missing_sections(service_type, content)
    if missing:
        first = missing[0]
        raise ValidationFailed(
            f"El informe no puede firmarse: falta completar la sección «{first.label}».",
            code=ErrorCode.REPORT_INCOMPLETE,
            fields=[FieldError(f"content.{s.key}", f"Falta «{s.label}».") for s in missing],
        )


@dataclass(frozen=True)
class SignInputs:
    """What signing needs from outside the rules: render+sign a PDF, and store it."""

    render: Callable[[dict[str, Any]], bytes]  # frozen content -> signed PDF
    store: Callable[[str, bytes], str]  # key, bytes -> sha256
    issuer: str


def sign_report(
    *,
    session: Session,
    actor: Actor,
    area: Area,
    settings: MultidisciplinarySettings,
    request_id: str,
    inputs: SignInputs,
    now: datetime | None = None,
) -> MdReportVersion:
    now = now or utcnow()
    row = _own_request(session, actor, area, request_id)
    report = report_of(session, row.id)
    if report is None:
        raise NotFound("La solicitud aún no tiene informe.")
    version = current_version(session, report)
    if version.signed_at is not None:
        raise Conflict(code=ErrorCode.REPORT_SIGNED)
    content = json.loads(version.content_json)
    _require_complete(row.service_type, content)
    if settings.review_required(row.sede_id) and version.status != "approved":
        raise InvalidTransition(
            "En esta sede el informe requiere la revisión de un segundo profesional antes de "
            "firmarse."
        )
    signer = session.get(User, actor.user_id)
    code = signed.new_code()
    frozen = {
        "title": cat.REPORT_TITLES_ES[row.service_type],
        "service_label": cat.SERVICE_LABELS_ES[row.service_type],
        "number": f"{row.number}-V{version.version}",
        "request_number": row.number,
        "file_number": row.file_number,
        "authority": (
            f"{cat.AUTHORITY_LABELS_ES.get(row.authority_kind or '', '')} {row.authority_name} — "
            f"expediente {row.authority_file_number}"
            if row.authority_kind
            else None
        ),
        "questions": row.questions,
        "version": version.version,
        "amendment_reason": version.amendment_reason,
        "sections": [
            {"key": s.key, "label": s.label, "kind": s.kind.value, "value": content.get(s.key)}
            for s in template_of(row.service_type)
        ],
        "signer": signer.display_name if signer else "",
        "signer_user_id": actor.user_id,
        "signed_on": lima_today(now).isoformat(),
        "sede_id": row.sede_id,
        "verification_code": code,
    }
    pdf = inputs.render(frozen)
    key = f"md/{row.sede_id}/{report.id}/v{version.version}.pdf"
    sha = inputs.store(key, pdf)
    version.status = "signed"
    version.signed_by = actor.user_id
    version.signed_at = now
    version.signer_name = frozen["signer"]
    version.pdf_key = key
    version.pdf_sha256 = sha
    version.verification_code = code
    version.updated_at = now
    report.state = "signed"
    report.updated_at = now
    row.state = "reported"
    row.closed_at = now
    row.updated_at = now
    session.add_all([version, report, row])
    signed.register(
        session=session,
        code=code,
        kind=f"md_{row.service_type}",
        title=frozen["title"],
        number=frozen["number"],
        issued_on=lima_today(now),
        issuer=inputs.issuer,
        sha256=sha,
        sede_id=row.sede_id,
        ref_id=version.id,
    )
    for earlier in versions_of(session, report.id):
        if earlier.version < version.version and earlier.verification_code:
            signed.set_status(
                session=session,
                code=earlier.verification_code,
                status="replaced",
                note=f"Reemplazado por la versión {version.version} (enmienda).",
            )
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="md_report.sign",
        entity="md_report",
        entity_id=report.id,
        sede_id=report.sede_id,
        after={"version": version.version, "sha256": sha, "code": code},
    )
    return version


def amend_report(
    *, session: Session, actor: Actor, area: Area, request_id: str, reason: str
) -> MdReportVersion:
    """A new draft version (copy of the signed one) carrying its reason."""
    row = _own_request(session, actor, area, request_id)
    report = report_of(session, row.id)
    if report is None:
        raise NotFound("La solicitud aún no tiene informe.")
    latest = current_version(session, report)
    if latest.signed_at is None:
        raise InvalidTransition("La versión vigente aún no está firmada: corrija el borrador.")
    version = MdReportVersion(
        report_id=report.id,
        version=latest.version + 1,
        content_json=latest.content_json,
        amendment_reason=reason,
        updated_by=actor.user_id or "",
    )
    report.current_version = version.version
    report.state = "draft"
    report.updated_at = utcnow()
    row.state = "in_progress"
    session.add_all([version, report, row])
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="md_report.amend",
        entity="md_report",
        entity_id=report.id,
        sede_id=report.sede_id,
        after={"version": version.version, "reason_chars": len(reason)},
    )
    return version


def deliver_report(
    *, session: Session, actor: Actor, area: Area, request_id: str, data: DeliverIn
) -> MdDelivery:
    row = _own_request(session, actor, area, request_id)
    report = report_of(session, row.id)
    if report is None:
        raise NotFound("La solicitud aún no tiene informe.")
    version = current_version(session, report)
    if version.signed_at is None:
        raise InvalidTransition("Solo se entrega un informe firmado.")
    if data.recipient == "authority" and not row.authority_kind:
        raise ValidationFailed(
            "La solicitud no fue ordenada por una autoridad.",
            fields=[FieldError("recipient", "Sin autoridad.")],
        )
    delivery = MdDelivery(
        version_id=version.id,
        recipient=data.recipient,
        certified_copy=data.recipient == "authority",
        notes=data.notes,
        delivered_by=actor.user_id or "",
    )
    report.state = "delivered"
    row.state = "delivered"
    row.updated_at = utcnow()
    session.add_all([delivery, report, row])
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="md_report.deliver",
        entity="md_report",
        entity_id=report.id,
        sede_id=report.sede_id,
        after={"version": version.version, "recipient": data.recipient},
    )
    return delivery


def read_report_content(
    *, session: Session, actor: Actor, area: Area, request_id: str, purpose: Purpose
) -> tuple[MdReport, MdReportVersion, dict[str, Any]]:
    row = get_request(session=session, request_id=request_id, area=area)
    report = report_of(session, row.id)
    if report is None:
        raise NotFound("La solicitud aún no tiene informe.")
    version = current_version(session, report)
    audit_content_read(
        session=session,
        actor=actor,
        request=row,
        what="informe",
        object_id=version.id,
        purpose=purpose,
    )
    return report, version, json.loads(version.content_json)


# ---------------------------------------------------------------- socio-economic evaluation


def compute_score(ficha: FichaIn, settings: MultidisciplinarySettings) -> tuple[int, str, dict]:
    """Need score 0-100 (higher: more need) and the recommendation it implies."""
    household = len(ficha.members)
    income = sum((a.monthly_soles for a in ficha.incomes), Decimal(0))
    expenses = sum((a.monthly_soles for a in ficha.expenses), Decimal(0))
    per_capita = float(income) / household
    line = settings.poverty_line_per_capita_soles
    if per_capita <= line:
        income_points = 50
    elif per_capita >= 2 * line:
        income_points = 0
    else:
        income_points = round(50 * (2 * line - per_capita) / line)
    burden = 10 if expenses >= income else 0
    housing = {"precaria": 10, "cedida": 5}.get(ficha.housing.value, 0)
    insurance = 5 if ficha.health_insurance == "ninguno" else 0
    vulnerability = sum(settings.vulnerability_factors.get(v, 0) for v in ficha.vulnerability)
    score = min(100, income_points + burden + housing + insurance + vulnerability)
    recommendation = "gratuito" if score >= settings.gratuity_score_threshold else "no_gratuito"
    parts = {
        "per_capita_soles": round(per_capita, 2),
        "income_points": income_points,
        "burden_points": burden,
        "housing_points": housing,
        "insurance_points": insurance,
        "vulnerability_points": vulnerability,
    }
    return score, recommendation, parts


def save_ficha(
    *,
    session: Session,
    actor: Actor,
    area: Area,
    settings: MultidisciplinarySettings,
    request_id: str,
    ficha: FichaIn,
) -> MdSocioEval:
    row = _own_request(session, actor, area, request_id)
    if row.service_type != cat.ServiceType.EVALUACION_SOCIOECONOMICA:
        raise ValidationFailed(
            "La ficha socioeconómica corresponde a una evaluación socioeconómica."
        )
    unknown = [v for v in ficha.vulnerability if v not in settings.vulnerability_factors]
    if unknown:
        raise ValidationFailed(
            f"Factor de vulnerabilidad no configurado: {', '.join(unknown)}.",
            fields=[FieldError("vulnerability", "Factor no configurado.")],
        )
    if ficha.statement_id:
        statement = session.get(EligibilityStatement, ficha.statement_id)
        if statement is None or statement.citizen_id != row.citizen_id:
            raise ValidationFailed(
                "La declaración jurada indicada no es de la persona evaluada.",
                fields=[FieldError("statement_id", "No corresponde.")],
            )
    evaluation = session.exec(select(MdSocioEval).where(MdSocioEval.request_id == row.id)).first()
    if evaluation is not None and evaluation.decision is not None:
        raise Conflict("La evaluación ya fue decidida; la ficha no puede modificarse.")
    score, recommendation, parts = compute_score(ficha, settings)
    payload = ficha.model_dump(mode="json") | {"score_parts": parts}
    if evaluation is None:
        evaluation = MdSocioEval(
            request_id=row.id,
            citizen_id=row.citizen_id,
            sede_id=row.sede_id,
            ficha_json="{}",
            updated_by=actor.user_id or "",
        )
    evaluation.statement_id = ficha.statement_id
    evaluation.ficha_json = json.dumps(payload, ensure_ascii=False)
    evaluation.score = score
    evaluation.recommendation = recommendation
    evaluation.updated_by = actor.user_id or ""
    evaluation.updated_at = utcnow()
    if row.state == "assigned":
        row.state = "in_progress"
        session.add(row)
    session.add(evaluation)
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="md_socio.ficha",
        entity="md_socio_eval",
        entity_id=evaluation.id,
        sede_id=row.sede_id,
        after={"score": score, "recommendation": recommendation},  # never the income
    )
    return evaluation


def decide(
    *,
    session: Session,
    actor: Actor,
    area: Area,
    settings: MultidisciplinarySettings,
    request_id: str,
    data: DecisionIn,
    resolution: Callable[[dict[str, Any]], tuple[str, str]] | None = None,
    now: datetime | None = None,
) -> MdSocioEval:
    """The social worker decides. It settles the linked sworn statement; ``no_gratuito``
    issues the resolución (``resolution(content) -> (pdf key, sha256)``) and flags each of the
    person's open files with a notice to its defender and the configured next steps."""
    now = now or utcnow()
    row = _own_request(session, actor, area, request_id)
    evaluation = session.exec(select(MdSocioEval).where(MdSocioEval.request_id == row.id)).first()
    if evaluation is None:
        raise InvalidTransition("Registre primero la ficha socioeconómica.")
    if evaluation.decision is not None:
        raise Conflict("La evaluación ya fue decidida.")
    evaluation.decision = data.decision.value
    evaluation.decision_reasons = data.reasons
    evaluation.decided_by = actor.user_id
    evaluation.decided_at = now
    notices: list[MdCaseNotice] = []
    if data.decision.value == "no_gratuito":
        today = lima_today(now)
        seq = _next_number(session, kind="resolution", sede_id=row.sede_id, year=today.year)
        number = settings.resolution_number_format.format(
            sede=row.sede_id, year=today.year, seq=seq
        )
        code = signed.new_code()
        evaluation.resolution_number = number
        evaluation.resolution_code = code
        if resolution is not None:
            key, sha = resolution(
                {
                    "number": number,
                    "code": code,
                    "request_number": row.number,
                    "file_number": row.file_number,
                    "reasons": data.reasons,
                    "score": evaluation.score,
                    "recommendation": evaluation.recommendation,
                    "issued_on": today.isoformat(),
                    "sede_id": row.sede_id,
                    "signer_user_id": actor.user_id,
                }
            )
            evaluation.resolution_pdf_key = key
            evaluation.resolution_sha256 = sha
        open_cases = session.exec(
            select(CaseFile).where(
                CaseFile.client_citizen_id == row.citizen_id,
                col(CaseFile.state).in_(settings.open_case_states),
            )
        ).all()
        for case in open_cases:
            notice = MdCaseNotice(
                eval_id=evaluation.id,
                case_id=case.id,
                sede_id=case.sede_id,
                user_id=case.assigned_user_id,
                flag=settings.no_gratuidad_flag,
                next_steps=settings.no_gratuidad_next_steps,
            )
            session.add(notice)
            notices.append(notice)
            session.add(
                CaseEvent(
                    case_id=case.id,
                    kind="no_gratuidad",
                    summary=f"Resolución de no gratuidad {number}",
                    ref_id=evaluation.id,
                    restricted=True,
                    actor_user_id=actor.user_id,
                )
            )
    if evaluation.statement_id:
        statement = session.get(EligibilityStatement, evaluation.statement_id)
        if statement is not None and statement.status == "pending":
            statement.status = (
                "no_gratuidad" if data.decision.value == "no_gratuito" else "verified"
            )
            statement.resolution_number = evaluation.resolution_number
            statement.verification_notes = "Evaluación socioeconómica " + row.number
            statement.verified_by = actor.user_id
            statement.verified_at = now
            session.add(statement)
            audit.record(
                session=session,
                actor=actor,
                action="eligibility.decide",
                entity="eligibility_statement",
                entity_id=statement.id,
                sede_id=statement.sede_id,
                before={"status": "pending"},
                after={
                    "status": statement.status,
                    "resolution_number": statement.resolution_number,
                },
            )
    row.state = "reported"
    row.closed_at = now
    row.updated_at = now
    session.add_all([evaluation, row])
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="md_socio.decide",
        entity="md_socio_eval",
        entity_id=evaluation.id,
        sede_id=row.sede_id,
        after={
            "decision": evaluation.decision,
            "resolution_number": evaluation.resolution_number,
            "open_files_flagged": [n.case_id for n in notices],
        },
    )
    if evaluation.resolution_code and evaluation.resolution_sha256:
        signed.register(
            session=session,
            code=evaluation.resolution_code,
            kind="resolucion_no_gratuidad",
            title="Resolución de no gratuidad",
            number=evaluation.resolution_number or "",
            issued_on=lima_today(now),
            issuer="Defensa Pública",
            sha256=evaluation.resolution_sha256,
            sede_id=row.sede_id,
            ref_id=evaluation.id,
        )
    return evaluation


def read_ficha(
    *, session: Session, actor: Actor, area: Area, request_id: str, purpose: Purpose
) -> MdSocioEval:
    row = get_request(session=session, request_id=request_id, area=area)
    evaluation = session.exec(select(MdSocioEval).where(MdSocioEval.request_id == row.id)).first()
    if evaluation is None:
        raise NotFound("La solicitud aún no tiene ficha socioeconómica.")
    audit_content_read(
        session=session,
        actor=actor,
        request=row,
        what="ficha",
        object_id=evaluation.id,
        purpose=purpose,
    )
    return evaluation


def notices_for(*, session: Session, user_id: str) -> list[MdCaseNotice]:
    return list(
        session.exec(
            select(MdCaseNotice)
            .where(MdCaseNotice.user_id == user_id)
            .order_by(col(MdCaseNotice.created_at).desc())
        ).all()
    )


# ------------------------------------------------------------------------------ evidence


def add_evidence(
    *,
    session: Session,
    actor: Actor,
    area: Area,
    request_id: str,
    description: str,
    received_from: str,
    filename: str | None,
    content_type: str | None,
    stored: Callable[[str], tuple[int, str]] | None,
) -> MdEvidence:
    """An item received; ``stored(key) -> (size, sha256)`` keeps its file (checked and
    encrypted by the caller's storage). The first custody link ('recibido') is written with it."""
    row = _own_request(session, actor, area, request_id)
    evidence = MdEvidence(
        request_id=row.id,
        description=description,
        received_from=received_from,
        received_by=actor.user_id or "",
        filename=filename,
        content_type=content_type,
    )
    if stored is not None:
        key = f"md/{row.sede_id}/{row.id}/evidence/{evidence.id}"
        size, sha = stored(key)
        evidence.storage_key, evidence.size_bytes, evidence.sha256 = key, size, sha
    session.add(evidence)
    session.flush()
    session.add(
        MdCustodyEvent(
            evidence_id=evidence.id,
            action=CUSTODY_RECEIVED,
            from_party=received_from,
            to_party=actor.username or "",
            recorded_by=actor.user_id or "",
        )
    )
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="md_evidence.receive",
        entity="md_evidence",
        entity_id=evidence.id,
        sede_id=row.sede_id,
        after={"request_id": row.id, "sha256": evidence.sha256, "size": evidence.size_bytes},
    )
    return evidence


def add_custody(
    *, session: Session, actor: Actor, area: Area, evidence_id: str, data: CustodyIn
) -> MdCustodyEvent:
    evidence = session.get(MdEvidence, evidence_id)
    if evidence is None:
        raise NotFound("El indicio no existe.")
    row = _own_request(session, actor, area, evidence.request_id)
    event = MdCustodyEvent(
        evidence_id=evidence.id,
        action=data.action,
        from_party=data.from_party,
        to_party=data.to_party,
        notes=data.notes,
        recorded_by=actor.user_id or "",
    )
    session.add(event)
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="md_evidence.custody",
        entity="md_evidence",
        entity_id=evidence.id,
        sede_id=row.sede_id,
        after={"action": data.action},
    )
    return event


def custody_chain(session: Session, evidence_id: str) -> list[MdCustodyEvent]:
    return list(
        session.exec(
            select(MdCustodyEvent)
            .where(MdCustodyEvent.evidence_id == evidence_id)
            .order_by(col(MdCustodyEvent.occurred_at))
        ).all()
    )


def read_evidence(
    *, session: Session, actor: Actor, area: Area, evidence_id: str, purpose: Purpose
) -> MdEvidence:
    evidence = session.get(MdEvidence, evidence_id)
    if evidence is None:
        raise NotFound("El indicio no existe.")
    row = get_request(session=session, request_id=evidence.request_id, area=area)
    audit_content_read(
        session=session,
        actor=actor,
        request=row,
        what="indicio",
        object_id=evidence.id,
        purpose=purpose,
    )
    return evidence


# ------------------------------------------------------------------ who saw what, production

WHO_SAW_ACTIONS = (
    "md.content_read",
    "md.content_denied",
    "eligibility.read",
    "citizen.read",
    "sensitive_note.read",
)


def who_saw(
    *, session: Session, citizen_id: str, since: datetime | None = None, limit: int = 500
) -> list[AuditEvent]:
    """Every audited read about the person (newest first): the audit rows whose entity id is
    the person (ix_audit_event_entity_id), so one person's page stays fast among millions."""
    query = select(AuditEvent).where(AuditEvent.entity_id == citizen_id)
    if since is not None:
        query = query.where(AuditEvent.occurred_at >= since)
    return list(session.exec(query.order_by(col(AuditEvent.seq).desc()).limit(limit)).all())


def production(
    *, session: Session, area: Area, sede_id: str | None, date_from: date, date_to: date
) -> list[dict[str, Any]]:
    """Per professional and service type: requests assigned, reports signed (and on time),
    sessions held and no-shows in [date_from, date_to] (Lima days)."""
    start = datetime.combine(date_from, datetime.min.time(), LIMA).astimezone(UTC)
    end = datetime.combine(date_to + timedelta(days=1), datetime.min.time(), LIMA).astimezone(UTC)
    where = [area.where(sede_column=MdRequest.sede_id)]
    if sede_id:
        where.append(MdRequest.sede_id == sede_id)
    tallies: dict[tuple[str, str], dict[str, int]] = defaultdict(
        lambda: {"assigned": 0, "signed": 0, "on_time": 0, "sessions_held": 0, "no_shows": 0}
    )
    for user_id, service_type, count in session.exec(
        select(MdRequest.assigned_user_id, MdRequest.service_type, func.count())
        .where(*where, MdRequest.assigned_at >= start, MdRequest.assigned_at < end)
        .group_by(MdRequest.assigned_user_id, MdRequest.service_type)
    ).all():
        tallies[(user_id, service_type)]["assigned"] += int(count)
    for user_id, service_type, signed_at, due in session.exec(
        select(
            MdReportVersion.signed_by,
            MdRequest.service_type,
            MdReportVersion.signed_at,
            MdRequest.due_date,
        )
        .join(MdReport, MdReport.id == MdReportVersion.report_id)
        .join(MdRequest, MdRequest.id == MdReport.request_id)
        .where(*where, MdReportVersion.signed_at >= start, MdReportVersion.signed_at < end)
    ).all():
        tally = tallies[(user_id, service_type)]
        tally["signed"] += 1
        if due is None or as_utc(signed_at).astimezone(LIMA).date() <= due:  # type: ignore[union-attr]
            tally["on_time"] += 1
    for user_id, service_type, status, count in session.exec(
        select(MdSession.professional_id, MdRequest.service_type, MdSession.status, func.count())
        .join(MdRequest, MdRequest.id == MdSession.request_id)
        .where(
            *where,
            MdSession.starts_at >= start,
            MdSession.starts_at < end,
            col(MdSession.status).in_(("held", "no_show")),
        )
        .group_by(MdSession.professional_id, MdRequest.service_type, MdSession.status)
    ).all():
        tallies[(user_id, service_type)]["sessions_held" if status == "held" else "no_shows"] += (
            int(count)
        )
    ids = sorted({u for u, _ in tallies if u})
    names = (
        dict(session.exec(select(User.id, User.display_name).where(col(User.id).in_(ids))).all())
        if ids
        else {}
    )
    rows = [
        {
            "professional_id": user_id or "",
            "professional": names.get(user_id or "", "(sin asignar)"),
            "service_type": service_type,
            **counts,
        }
        for (user_id, service_type), counts in tallies.items()
    ]
    rows.sort(key=lambda r: (r["professional"].lower(), r["service_type"]))
    return rows


# -------------------------------------------------------------------------------- alerts


def make_alerts(
    *, session: Session, settings: MultidisciplinarySettings, today: date | None = None
) -> int:
    """due_soon (within the configured business days) and overdue alerts, once per kind."""
    today = today or lima_today()
    calendar = settings.calendar()
    horizon = calendar.add_business_days(today, settings.alert_business_days_before)
    rows = session.exec(
        select(MdRequest).where(
            col(MdRequest.state).in_(OPEN_STATES),
            MdRequest.due_date.is_not(None),  # type: ignore[union-attr]
            MdRequest.due_date <= horizon,
        )
    ).all()
    existing = (
        set(
            session.exec(
                select(MdAlert.request_id, MdAlert.kind).where(
                    col(MdAlert.request_id).in_([r.id for r in rows])
                )
            ).all()
        )
        if rows
        else set()
    )
    created = 0
    for row in rows:
        kind = "overdue" if row.due_date < today else "due_soon"  # type: ignore[operator]
        if (row.id, kind) in existing:
            continue
        session.add(
            MdAlert(
                request_id=row.id,
                sede_id=row.sede_id,
                user_id=row.assigned_user_id or row.supervisor_user_id,
                kind=kind,
                due_date=row.due_date,  # type: ignore[arg-type]
            )
        )
        created += 1
    session.flush()
    return created


def alerts_for(*, session: Session, user_id: str) -> list[MdAlert]:
    return list(
        session.exec(
            select(MdAlert)
            .where(MdAlert.user_id == user_id, MdAlert.read_at.is_(None))  # type: ignore[union-attr]
            .order_by(col(MdAlert.due_date))
        ).all()
    )


__all__ = ["ContentDenied"]
