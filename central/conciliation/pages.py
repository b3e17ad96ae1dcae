"""Web pages of Module 04 (Spanish, server-rendered, extending central/web's base layout): the
conciliator's tray (today's sessions, deliveries coming due, files by stage), the coordinator's
view of the centre, a new solicitud, and the file page with its timeline, the form of each step,
the Art. 16 checklist with the acta preview, and the issued actas. Every write calls the same
service functions as the API."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import ChoiceLoader, FileSystemLoader
from pydantic import ValidationError
from sqlmodel import Session, col, select

from central.auth.deps import SessionDep
from central.auth.policy import area_for
from central.auth.web import WebContext, verify_csrf
from central.citizens.models import Citizen
from central.conciliation import catalogues as cat
from central.conciliation import flows, service
from central.conciliation.models import ConcActa, ConcActaVoid, ConcEvent, ConcFile, ConcInvitation
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
    SessionCreate,
    SolicitudCreate,
)
from central.core import signed
from central.core.http import status_for
from central.domain.errors import DomainError, ValidationFailed
from central.org.models import Sede
from central.users.models import User
from central.web.deps import page
from central.web.forms import FormDep, domain_errors, text, validation_errors
from central.web.rendering import ENV
from contracts.cases import DEFAULT_MATTERS
from contracts.errors import ErrorCode

router = APIRouter(include_in_schema=False)
FileId = Annotated[str, Path(max_length=36)]
ItemId = Annotated[str, Path(max_length=36)]
TEMPLATES = __import__("pathlib").Path(__file__).resolve().parent / "templates"
_ENV = ENV.overlay(loader=ChoiceLoader([FileSystemLoader(TEMPLATES), ENV.loader]))  # type: ignore[list-item]
_ENV.globals = dict(ENV.globals)  # an overlay shares its parent's globals: keep `cat` ours
_ENV.globals.update(cat=cat, matters=DEFAULT_MATTERS)
NOTICES = {
    "solicitud": "Solicitud registrada.",
    "designado": "Designación registrada.",
    "sesion": "Sesión programada; las partes con DNI tienen cita en la sede.",
    "invitacion": "Invitación emitida.",
    "entrega": "Entrega registrada.",
    "asistencia": "Asistencia registrada.",
    "prorroga": "Prórroga registrada.",
    "acuerdos": "Obligaciones registradas.",
    "concluido": "Conclusión registrada.",
    "conformidad": "Conformidad del abogado verificador registrada.",
    "acta": "Acta emitida y firmada digitalmente por el centro.",
    "copia": "Copia certificada registrada.",
    "reemplazo": "Sesión de reemplazo programada.",
    "derivado": "Expediente derivado a defensa de víctimas.",
}


def render(
    request: Request, template: str, context: dict[str, Any], status: int = 200
) -> HTMLResponse:
    settings = request.app.state.settings
    data: dict[str, Any] = {
        "request": request,
        "path": request.url.path,
        "system_name": settings.system_name,
        "institution_name": settings.institution_name,
        "service_name": settings.service_name,
        "errors": {},
        "message": None,
        "notice": NOTICES.get(request.query_params.get("aviso", "")),
    }
    data.update(context)
    return HTMLResponse(_ENV.get_template(template).render(data), status_code=status)


def _settings(request: Request):  # noqa: ANN202
    return request.app.state.conciliation_settings


def _paper(request: Request) -> flows.Paper:
    return request.app.state.conciliation_paper


def _user_names(session: Session, ids: set[str | None]) -> dict[str, str]:
    wanted = sorted(i for i in ids if i)
    if not wanted:
        return {}
    return {
        u.id: u.display_name
        for u in session.exec(select(User).where(col(User.id).in_(wanted))).all()
    }


def _lima_local(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value).replace(tzinfo=service.LIMA)
    except ValueError:
        return None


# ------------------------------------------------------------------------------ tray


@router.get("/conciliacion")
def tray_page(
    request: Request,
    session: SessionDep,
    web: Annotated[WebContext, Depends(page("conciliation.read"))],
) -> Response:
    data = service.tray(session=session, area=web.area, user_id=web.actor.user_id)
    files = service.list_files(
        session=session, area=web.area, conciliator_user_id=web.actor.user_id, limit=50
    )
    return render(
        request,
        "conciliation/tray.html",
        {"web": web, "tray": data, "files": files, "lima": service.LIMA},
    )


@router.get("/conciliacion/centro")
def centre_page(
    request: Request,
    session: SessionDep,
    web: Annotated[WebContext, Depends(page("conciliation.designate"))],
) -> Response:
    data = service.tray(session=session, area=web.area, user_id=None)
    files = service.list_files(session=session, area=web.area, limit=100)
    names = _user_names(session, {f.conciliator_user_id for f in files})
    sede_ids = sorted(
        {f.sede_id for f in files} | ({web.actor.sede_id} if web.actor.sede_id else set())
    )
    loads = {s: service.propose_conciliators(session=session, sede_id=s) for s in sede_ids}
    return render(
        request,
        "conciliation/centre.html",
        {
            "web": web,
            "tray": data,
            "files": files,
            "names": names,
            "loads": loads,
            "year": service.today().year,
            "lima": service.LIMA,
        },
    )


# ------------------------------------------------------------------------ solicitud


def _citizen_by_doc(session: Session, doc_number: str) -> Citizen | None:
    if not doc_number:
        return None
    return session.exec(
        select(Citizen).where(
            Citizen.doc_number == doc_number.upper(), col(Citizen.merged_into_id).is_(None)
        )
    ).first()


@router.get("/conciliacion/nueva")
def new_page(
    request: Request, web: Annotated[WebContext, Depends(page("conciliation.write"))]
) -> Response:
    return render(
        request, "conciliation/new.html", {"web": web, "values": {}, "settings": _settings(request)}
    )


@router.post("/conciliacion/nueva", dependencies=[Depends(verify_csrf)])
def new_submit(
    request: Request,
    form: FormDep,
    session: SessionDep,
    web: Annotated[WebContext, Depends(page("conciliation.write"))],
) -> Response:
    values = {
        k: text(form, k)
        for k in (
            "matter",
            "solicitante_doc",
            "invitado_doc",
            "invitado_address",
            "facts",
            "controversy",
            "claim",
        )
    }
    values["violence_declared"] = bool(form.get("violence_declared"))
    values["protective_measures"] = bool(form.get("protective_measures"))
    errors: dict[str, str] = {}
    people = {}
    for key in ("solicitante_doc", "invitado_doc"):
        person = _citizen_by_doc(session, values[key])
        if person is None:
            errors[key] = (
                "No hay una persona registrada con ese documento; regístrela primero en Personas."
            )
        people[key] = person
    message = "Revise los datos marcados."
    if not errors:
        try:
            data = SolicitudCreate(
                sede_id=web.actor.sede_id or "",
                matter=values["matter"],
                parties=[
                    {"role": "solicitante", "citizen_id": people["solicitante_doc"].id},  # type: ignore[union-attr]
                    {
                        "role": "invitado",
                        "citizen_id": people["invitado_doc"].id,  # type: ignore[union-attr]
                        "notice_address": values["invitado_address"] or None,
                    },
                ],
                facts=values["facts"],
                controversy=values["controversy"],
                claims=[{"party_index": 0, "description": values["claim"]}],
                violence_declared=values["violence_declared"],
                protective_measures=values["protective_measures"],
            )
            file = service.create_solicitud(
                session=session,
                actor=web.actor,
                area=web.area,
                settings=_settings(request),
                data=data,
            )
            session.commit()
            return RedirectResponse(
                f"/conciliacion/expedientes/{file.id}?aviso=solicitud", status_code=303
            )
        except ValidationError as exc:
            failed = validation_errors(exc)
            errors, message = failed.fields, failed.message or message
        except DomainError as exc:
            session.rollback()
            failed = domain_errors(exc)
            errors, message = failed.fields, exc.message
    return render(
        request,
        "conciliation/new.html",
        {
            "web": web,
            "values": values,
            "errors": errors,
            "message": message,
            "settings": _settings(request),
        },
        status=422,
    )


# ------------------------------------------------------------------------- file page


def _detail(
    request: Request,
    session: Session,
    web: WebContext,
    file_id: str,
    message: str | None = None,
    status: int = 200,
) -> Response:
    settings = _settings(request)
    file = service.get_file(session=session, file_id=file_id, area=web.area)
    party_rows = service.parties(session=session, file_id=file.id)
    citizens = {
        c.id: c
        for c in session.exec(
            select(Citizen).where(col(Citizen.id).in_([p.citizen_id for p in party_rows]))
        ).all()
    }
    hearings = service.sessions(session=session, file_id=file.id)
    invitations = session.exec(
        select(ConcInvitation)
        .where(ConcInvitation.file_id == file.id)
        .order_by(col(ConcInvitation.created_at))
    ).all()
    actas = service.actas(session=session, file_id=file.id)
    voids = (
        {
            v.acta_id: v
            for v in session.exec(
                select(ConcActaVoid).where(col(ConcActaVoid.acta_id).in_([a.id for a in actas]))
            ).all()
        }
        if actas
        else {}
    )
    replaced = {a.replaces_acta_id: a for a in actas if a.replaces_acta_id}
    content = service.acta_content(session=session, file=file)
    checklist = service.checklist(content)
    events = session.exec(
        select(ConcEvent)
        .where(ConcEvent.file_id == file.id)
        .order_by(col(ConcEvent.occurred_at).desc())
    ).all()
    proposal = (
        service.propose_conciliators(session=session, sede_id=file.sede_id)
        if file.state == "solicitud"
        else []
    )
    verifiers = (
        service.verifiers(session=session, sede_id=file.sede_id)
        if file.state == "solicitud"
        else []
    )
    names = _user_names(session, {file.conciliator_user_id, file.verifier_user_id})
    can = {
        a: not area_for(web.actor, a).empty
        for a in (
            "conciliation.write",
            "conciliation.designate",
            "conciliation.verify",
            "conciliation.registry",
        )
    }
    return render(
        request,
        "conciliation/detail.html",
        {
            "web": web,
            "file": file,
            "parties": party_rows,
            "citizens": citizens,
            "label": service.party_label,
            "hearings": hearings,
            "marks": service.attendance_of(session=session, file_id=file.id),
            "invitations": invitations,
            "obligations": content["obligations"],
            "actas": actas,
            "voids": voids,
            "replaced": replaced,
            "copies": {a.id: service.copies(session=session, acta_id=a.id) for a in actas},
            "checklist": checklist,
            "checklist_complete": not any(m for _, m in checklist),
            "approved": file.approved_digest is not None
            and file.approved_digest == service.content_digest(content),
            "events": events,
            "proposal": proposal,
            "verifiers": verifiers,
            "names": names,
            "can": can,
            "limit": service.audiencia_limit(file, settings),
            "deadlines": service.deadlines(file=file, settings=settings, session=session),
            "verify_url": lambda code: signed.verification_url(_paper(request).base_url, code),
            "lima": service.LIMA,
            "today": service.today(),
            "message": message,
        },
        status=status,
    )


@router.get("/conciliacion/expedientes/{file_id}")
def detail_page(
    request: Request,
    file_id: FileId,
    session: SessionDep,
    web: Annotated[WebContext, Depends(page("conciliation.read"))],
) -> Response:
    return _detail(request, session, web, file_id)


def _act(
    request: Request,
    session: Session,
    web: WebContext,
    file_id: str,
    notice: str,
    work: Callable[[], object],
) -> Response:
    """Run one step; success: commit and back to the file page with a notice; a refusal: the
    page again with the Spanish reason, nothing written."""
    try:
        work()
        session.commit()
    except ValidationError as exc:
        session.rollback()
        failed = validation_errors(exc)
        detail = "; ".join(f"{k}: {v}" for k, v in failed.fields.items())
        return _detail(request, session, web, file_id, f"{failed.message} {detail}", 422)
    except DomainError as exc:
        session.rollback()
        extra = [f.message for f in exc.fields if f.field.startswith("art16.")]
        message = exc.message if not extra else f"{exc.message} Faltan: {'; '.join(extra)}."
        return _detail(request, session, web, file_id, message, status_for(exc))
    return RedirectResponse(f"/conciliacion/expedientes/{file_id}?aviso={notice}", status_code=303)


WriteWeb = Annotated[WebContext, Depends(page("conciliation.write"))]


@router.post("/conciliacion/expedientes/{file_id}/designacion", dependencies=[Depends(verify_csrf)])
def designation_submit(
    request: Request,
    file_id: FileId,
    form: FormDep,
    session: SessionDep,
    web: Annotated[WebContext, Depends(page("conciliation.designate"))],
) -> Response:
    return _act(
        request,
        session,
        web,
        file_id,
        "designado",
        lambda: service.designate(
            session=session,
            actor=web.actor,
            area=web.area,
            settings=_settings(request),
            file_id=file_id,
            data=DesignationIn(
                conciliator_user_id=text(form, "conciliator_user_id"),
                verifier_user_id=text(form, "verifier_user_id"),
                base_revision=int(text(form, "base_revision") or 0) or None,
            ),
        ),
    )


@router.post("/conciliacion/expedientes/{file_id}/sesiones", dependencies=[Depends(verify_csrf)])
def session_submit(
    request: Request, file_id: FileId, form: FormDep, session: SessionDep, web: WriteWeb
) -> Response:
    def work() -> None:
        when = _lima_local(text(form, "scheduled_at"))
        if when is None:
            raise ValidationFailed(
                "Indique la fecha y hora de la sesión.", code=ErrorCode.INVALID_DATE
            )
        flows.schedule_session(
            session=session,
            actor=web.actor,
            area=web.area,
            settings=_settings(request),
            file_id=file_id,
            data=SessionCreate(
                scheduled_at=when,
                mode=text(form, "mode") or "presencial",
                place=text(form, "place") or None,
                virtual_means=text(form, "virtual_means") or None,
                virtual_link=text(form, "virtual_link") or None,
            ),
        )

    return _act(request, session, web, file_id, "sesion", work)


@router.post(
    "/conciliacion/expedientes/{file_id}/invitaciones", dependencies=[Depends(verify_csrf)]
)
def invitation_submit(
    request: Request, file_id: FileId, form: FormDep, session: SessionDep, web: WriteWeb
) -> Response:
    return _act(
        request,
        session,
        web,
        file_id,
        "invitacion",
        lambda: service.issue_invitation(
            session=session,
            actor=web.actor,
            area=web.area,
            settings=_settings(request),
            file_id=file_id,
            data=InvitationCreate(
                party_id=text(form, "party_id"), session_id=text(form, "session_id")
            ),
        ),
    )


@router.post(
    "/conciliacion/expedientes/{file_id}/invitaciones/{invitation_id}/entrega",
    dependencies=[Depends(verify_csrf)],
)
def delivery_submit(
    request: Request,
    file_id: FileId,
    invitation_id: ItemId,
    form: FormDep,
    session: SessionDep,
    web: WriteWeb,
) -> Response:
    delivered = text(form, "delivered") == "si"
    return _act(
        request,
        session,
        web,
        file_id,
        "entrega",
        lambda: service.record_delivery(
            session=session,
            actor=web.actor,
            area=web.area,
            file_id=file_id,
            invitation_id=invitation_id,
            data=DeliveryIn(
                delivered=delivered,
                delivered_on=text(form, "delivered_on") or service.today().isoformat(),
                mode=text(form, "mode") or None,
                received_by=text(form, "received_by") or None,
                undelivered_reason=text(form, "undelivered_reason") or None,
            ),
        ),
    )


@router.post(
    "/conciliacion/expedientes/{file_id}/sesiones/{session_id}/asistencia",
    dependencies=[Depends(verify_csrf)],
)
def attendance_submit(
    request: Request,
    file_id: FileId,
    session_id: ItemId,
    form: FormDep,
    session: SessionDep,
    web: WriteWeb,
) -> Response:
    def work() -> None:
        party_rows = service.parties(session=session, file_id=file_id)
        entries = [
            {
                "party_id": p.id,
                "present": bool(form.get(f"present_{p.id}")),
                "virtual_consent": bool(form.get(f"consent_{p.id}")),
            }
            for p in party_rows
        ]
        service.record_attendance(
            session=session,
            actor=web.actor,
            area=web.area,
            settings=_settings(request),
            file_id=file_id,
            session_id=session_id,
            data=AttendanceIn(entries=entries, notes=text(form, "notes") or None),
        )

    return _act(request, session, web, file_id, "asistencia", work)


@router.post("/conciliacion/expedientes/{file_id}/prorroga", dependencies=[Depends(verify_csrf)])
def extension_submit(
    request: Request, file_id: FileId, form: FormDep, session: SessionDep, web: WriteWeb
) -> Response:
    return _act(
        request,
        session,
        web,
        file_id,
        "prorroga",
        lambda: service.record_extension(
            session=session,
            actor=web.actor,
            area=web.area,
            settings=_settings(request),
            file_id=file_id,
            data=ExtensionIn(
                agreed_on=text(form, "agreed_on"),
                new_limit=text(form, "new_limit"),
                note=text(form, "note"),
            ),
        ),
    )


@router.post(
    "/conciliacion/expedientes/{file_id}/obligaciones", dependencies=[Depends(verify_csrf)]
)
def obligation_submit(
    request: Request, file_id: FileId, form: FormDep, session: SessionDep, web: WriteWeb
) -> Response:
    """Add one obligation to the agreement (the list is replaced as a whole in the service)."""

    def work() -> None:
        current = [
            {k: v for k, v in o.model_dump().items() if k in _OBLIGATION_FIELDS}
            for o in service.obligations(session=session, file_id=file_id)
        ]
        new = {k: (text(form, k) or None) for k in _OBLIGATION_FIELDS}
        service.set_obligations(
            session=session,
            actor=web.actor,
            area=web.area,
            file_id=file_id,
            data=ObligationsIn(obligations=[*current, new]),
        )

    return _act(request, session, web, file_id, "acuerdos", work)


_OBLIGATION_FIELDS = (
    "kind",
    "debtor_party_id",
    "creditor_party_id",
    "description",
    "amount",
    "due_date",
    "periodicity",
    "start_date",
    "end_date",
    "payment_method",
)


@router.post("/conciliacion/expedientes/{file_id}/conclusion", dependencies=[Depends(verify_csrf)])
def conclusion_submit(
    request: Request, file_id: FileId, form: FormDep, session: SessionDep, web: WriteWeb
) -> Response:
    return _act(
        request,
        session,
        web,
        file_id,
        "concluido",
        lambda: service.conclude(
            session=session,
            actor=web.actor,
            area=web.area,
            file_id=file_id,
            data=ConclusionIn(
                way=text(form, "way"),
                session_id=text(form, "session_id"),
                reason=text(form, "reason") or None,
                no_agreement_points=text(form, "no_agreement_points") or None,
            ),
        ),
    )


@router.post("/conciliacion/expedientes/{file_id}/derivacion", dependencies=[Depends(verify_csrf)])
def derivation_submit(
    request: Request, file_id: FileId, form: FormDep, session: SessionDep, web: WriteWeb
) -> Response:
    return _act(
        request,
        session,
        web,
        file_id,
        "derivado",
        lambda: service.derive(
            session=session,
            actor=web.actor,
            area=web.area,
            file_id=file_id,
            data=DerivationIn(reason=text(form, "reason")),
        ),
    )


@router.post("/conciliacion/expedientes/{file_id}/conformidad", dependencies=[Depends(verify_csrf)])
def approval_submit(
    request: Request,
    file_id: FileId,
    session: SessionDep,
    web: Annotated[WebContext, Depends(page("conciliation.verify"))],
) -> Response:
    return _act(
        request,
        session,
        web,
        file_id,
        "conformidad",
        lambda: service.approve_acta(
            session=session, actor=web.actor, area=web.area, file_id=file_id
        ),
    )


@router.post("/conciliacion/expedientes/{file_id}/acta", dependencies=[Depends(verify_csrf)])
def issue_submit(request: Request, file_id: FileId, session: SessionDep, web: WriteWeb) -> Response:
    return _act(
        request,
        session,
        web,
        file_id,
        "acta",
        lambda: flows.issue_acta(
            session=session,
            actor=web.actor,
            area=web.area,
            settings=_settings(request),
            file_id=file_id,
            paper=_paper(request),
        ),
    )


@router.get("/conciliacion/expedientes/{file_id}/borrador.pdf")
def preview_pdf(
    file_id: FileId,
    request: Request,
    session: SessionDep,
    web: Annotated[WebContext, Depends(page("conciliation.read"))],
) -> Response:
    pdf = flows.acta_preview(session=session, area=web.area, file_id=file_id, paper=_paper(request))
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": 'inline; filename="borrador-acta.pdf"'},
    )


@router.get("/conciliacion/expedientes/{file_id}/invitaciones/{invitation_id}.pdf")
def invitation_pdf(
    file_id: FileId,
    invitation_id: ItemId,
    request: Request,
    session: SessionDep,
    web: Annotated[WebContext, Depends(page("conciliation.read"))],
) -> Response:
    pdf = flows.invitation_pdf(
        session=session,
        area=web.area,
        file_id=file_id,
        invitation_id=invitation_id,
        paper=_paper(request),
    )
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": 'inline; filename="invitacion.pdf"'},
    )


@router.get("/conciliacion/actas/{acta_id}.pdf")
def acta_pdf(
    acta_id: ItemId,
    request: Request,
    session: SessionDep,
    web: Annotated[WebContext, Depends(page("conciliation.read"))],
) -> Response:
    acta = service.get_acta(session=session, acta_id=acta_id, area=web.area)
    return Response(
        flows.acta_pdf(acta=acta, paper=_paper(request)),
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="acta-{acta.number_text}.pdf"'},
    )


@router.post("/conciliacion/actas/{acta_id}/copias", dependencies=[Depends(verify_csrf)])
def copy_submit(
    request: Request, acta_id: ItemId, form: FormDep, session: SessionDep, web: WriteWeb
) -> Response:
    acta = service.get_acta(session=session, acta_id=acta_id, area=web.area)
    return _act(
        request,
        session,
        web,
        acta.file_id,
        "copia",
        lambda: service.register_copy(
            session=session,
            actor=web.actor,
            area=web.area,
            acta_id=acta_id,
            data=CopyIn(recipient_party_id=text(form, "recipient_party_id") or None),
        ),
    )


@router.get("/conciliacion/registro.{fmt}")
def registry_export(
    fmt: str,
    request: Request,
    session: SessionDep,
    web: Annotated[WebContext, Depends(page("conciliation.registry"))],
) -> Response:
    if fmt not in {"pdf", "xlsx"}:
        return Response(status_code=404)
    sede_id = request.query_params.get("sede") or web.actor.sede_id or ""
    year = int(request.query_params.get("anio") or service.today().year)
    data, media = flows.registry(
        session=session, area=web.area, sede_id=sede_id, year=year, fmt=fmt, paper=_paper(request)
    )
    return Response(
        data,
        media_type=media,
        headers={
            "Content-Disposition": f'attachment; filename="registro-actas-{sede_id}-{year}.{fmt}"'
        },
    )


__all__ = ["router", "json", "date", "ConcActa", "ConcFile", "Sede"]
