"""Web pages of Module 05 (Spanish, server-rendered, extending central/web's base layout): the
professional's tray with alerts, the week agenda, the request page with the report editor (the
type's template, preview, sign), the requester's view of where the request stands, the
supervisor's production report with its chart and XLSX export, and "quién vio qué" per person.
Every write calls the same service functions as the API."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path as FsPath
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import ChoiceLoader, FileSystemLoader

from central.auth.deps import SessionDep
from central.auth.web import WebContext, verify_csrf
from central.core import signed
from central.core.http import status_for
from central.domain.errors import DomainError
from central.multidisciplinary import catalogues as cat
from central.multidisciplinary import exports, flows, service
from central.multidisciplinary.schemas import PURPOSE_LABELS_ES, Purpose
from central.multidisciplinary.views import access_rows
from central.users.models import User
from central.web.deps import page
from central.web.forms import FormDep, text
from central.web.rendering import ENV

router = APIRouter(include_in_schema=False)
ItemId = Annotated[str, Path(max_length=36)]
TEMPLATES = FsPath(__file__).resolve().parent / "templates"
_ENV = ENV.overlay(loader=ChoiceLoader([FileSystemLoader(TEMPLATES), ENV.loader]))  # type: ignore[list-item]
_ENV.globals = dict(ENV.globals)  # an overlay shares its parent's globals: keep `cat` ours
_ENV.globals.update(cat=cat, purposes=PURPOSE_LABELS_ES)
NOTICES = {
    "guardado": "Borrador guardado.",
    "firmado": "Informe firmado digitalmente.",
}
BASE = "/multidisciplinario"


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


def _names(session, ids) -> dict[str, str]:  # noqa: ANN001
    from sqlmodel import col, select

    ids = sorted({i for i in ids if i})
    if not ids:
        return {}
    return dict(session.exec(select(User.id, User.display_name).where(col(User.id).in_(ids))).all())


@router.get(BASE)
def home(
    request: Request,
    session: SessionDep,
    web: Annotated[WebContext, Depends(page("md.read"))],
) -> Response:
    tray = service.tray(session=session, actor=web.actor) if web.can("md.work") else []
    mine = (
        service.list_requests(
            session=session, area=web.area, requested_by=web.actor.user_id, limit=50
        )  # type: ignore[arg-type]
        if web.can("md.request")
        else []
    )
    alerts = service.alerts_for(session=session, user_id=web.actor.user_id or "")
    names = _names(session, [r.assigned_user_id for r in tray + mine])
    return render(
        request,
        "multidisciplinary/home.html",
        {
            "web": web,
            "tray": tray,
            "mine": mine,
            "alerts": {a.request_id: a.kind for a in alerts},
            "names": names,
            "today": service.lima_today(),
            "reports": {r.id: service.report_of(session, r.id) for r in tray + mine},
        },
    )


@router.get(BASE + "/agenda")
def agenda(
    request: Request,
    session: SessionDep,
    web: Annotated[WebContext, Depends(page("md.work"))],
    semana: Annotated[date | None, Query()] = None,
) -> Response:
    today = service.lima_today()
    start = semana or today
    start = start - timedelta(days=start.weekday())
    sessions = service.agenda(
        session=session, professional_id=web.actor.user_id or "", week_start=start
    )
    days = [start + timedelta(days=i) for i in range(6)]
    numbers = {}
    for booked in sessions:
        row = session.get(service.MdRequest, booked.request_id)
        numbers[booked.request_id] = row.number if row else ""
    by_day: dict[date, list] = {d: [] for d in days}
    for booked in sessions:
        local = service.as_utc(booked.starts_at).astimezone(service.LIMA).date()  # type: ignore[union-attr]
        by_day.setdefault(local, []).append(booked)
    return render(
        request,
        "multidisciplinary/agenda.html",
        {
            "web": web,
            "days": days,
            "by_day": by_day,
            "numbers": numbers,
            "prev": start - timedelta(days=7),
            "next": start + timedelta(days=7),
            "today": today,
        },
    )


def _request_page(
    request: Request,
    session,  # noqa: ANN001
    web: WebContext,
    request_id: str,
    *,
    draft: dict[str, Any] | None = None,
    message: str | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    row = service.get_request(session=session, request_id=request_id, area=web.area)  # type: ignore[arg-type]
    report = service.report_of(session, row.id)
    versions = service.versions_of(session, report.id) if report else []
    assigned = row.assigned_user_id == web.actor.user_id
    content = draft
    if content is None and assigned and report is not None:
        # the assigned professional opens the editor: a read of the content, audited
        _, _, content = service.read_report_content(
            session=session,
            actor=web.actor,
            area=web.area,  # type: ignore[arg-type]
            request_id=row.id,
            purpose=Purpose.ELABORACION,
        )
        session.commit()
    base_url = request.app.state.settings.public_base_url
    return render(
        request,
        "multidisciplinary/request.html",
        {
            "web": web,
            "row": row,
            "report": report,
            "versions": versions,
            "verify": {
                v.id: signed.verification_url(base_url, v.verification_code)
                for v in versions
                if v.verification_code
            },
            "assigned": assigned,
            "may_read": service.may_read_content(web.actor, row),
            "content": content or {},
            "template": service.template_of(row.service_type),
            "names": _names(session, [row.assigned_user_id, row.requested_by]),
            "editable": assigned
            and row.service_type != cat.ServiceType.EVALUACION_SOCIOECONOMICA
            and (not versions or versions[-1].signed_at is None),
            "error_message": message,
            "errors": errors or {},
        },
        status=status,
    )


@router.get(BASE + "/solicitudes/{request_id}")
def request_detail(
    request: Request,
    request_id: ItemId,
    session: SessionDep,
    web: Annotated[WebContext, Depends(page("md.read"))],
) -> Response:
    return _request_page(request, session, web, request_id)


def _content_from_form(form, template) -> dict[str, Any]:  # noqa: ANN001
    content: dict[str, Any] = {}
    for section in template:
        raw = text(form, section.key)
        if not raw:
            continue
        if section.kind is cat.SectionKind.INTEGER:
            content[section.key] = int(raw) if raw.isdigit() else raw
        elif section.kind in (cat.SectionKind.INJURIES, cat.SectionKind.ITEMS):
            fields = (
                ("location", "description")
                if section.kind is cat.SectionKind.INJURIES
                else ("description", "custody")
            )
            items = []
            for line in raw.splitlines():
                if line.strip():
                    left, _, right = line.partition("|")
                    items.append({fields[0]: left.strip(), fields[1]: right.strip()})
            content[section.key] = items
        else:
            content[section.key] = raw
    return content


@router.post(BASE + "/solicitudes/{request_id}/informe", dependencies=[Depends(verify_csrf)])
def save_report(
    request: Request,
    request_id: ItemId,
    session: SessionDep,
    form: FormDep,
    web: Annotated[WebContext, Depends(page("md.work"))],
) -> Response:
    row = service.get_request(session=session, request_id=request_id, area=web.area)  # type: ignore[arg-type]
    content = _content_from_form(form, service.template_of(row.service_type))
    action = text(form, "accion")
    try:
        service.save_draft(
            session=session,
            actor=web.actor,
            area=web.area,
            request_id=request_id,
            content=content,  # type: ignore[arg-type]
        )
        if action == "firmar":
            flows.sign_report(
                session=session,
                actor=web.actor,
                area=web.area,  # type: ignore[arg-type]
                settings=request.app.state.md_settings,
                request_id=request_id,
                paper=request.app.state.md_paper,
            )
        session.commit()
    except DomainError as error:
        session.rollback()
        errors = {f.field.removeprefix("content."): f.message for f in error.fields}
        return _request_page(
            request,
            session,
            web,
            request_id,
            draft=content,
            message=error.message,
            errors=errors,
            status=status_for(error),
        )
    notice = "firmado" if action == "firmar" else "guardado"
    return RedirectResponse(f"{BASE}/solicitudes/{request_id}?aviso={notice}", status_code=303)


@router.get(BASE + "/solicitudes/{request_id}/vista-previa.pdf")
def preview(
    request: Request,
    request_id: ItemId,
    session: SessionDep,
    web: Annotated[WebContext, Depends(page("md.work"))],
) -> Response:
    row, _, content = None, None, {}
    row = service.get_request(session=session, request_id=request_id, area=web.area)  # type: ignore[arg-type]
    _, _, content = service.read_report_content(
        session=session,
        actor=web.actor,
        area=web.area,
        request_id=request_id,  # type: ignore[arg-type]
        purpose=Purpose.ELABORACION,
    )
    pdf = flows.report_preview(
        session=session, request=row, content=content, paper=request.app.state.md_paper
    )
    session.commit()
    return Response(pdf, media_type="application/pdf")


@router.get(BASE + "/produccion")
def production(
    request: Request,
    session: SessionDep,
    web: Annotated[WebContext, Depends(page("md.supervise"))],
    desde: Annotated[date | None, Query()] = None,
    hasta: Annotated[date | None, Query()] = None,
    formato: Annotated[str | None, Query(max_length=5)] = None,
) -> Response:
    today = service.lima_today()
    date_from = desde or today.replace(day=1)
    date_to = hasta or today
    rows = service.production(
        session=session,
        area=web.area,
        sede_id=None,
        date_from=date_from,
        date_to=date_to,  # type: ignore[arg-type]
    )
    if formato == "xlsx":
        return Response(
            exports.production_xlsx(rows, date_from=date_from, date_to=date_to),
            media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            headers={
                "Content-Disposition": 'attachment; filename="produccion-multidisciplinaria.xlsx"'
            },
        )
    top = max([r["signed"] for r in rows] + [1])
    return render(
        request,
        "multidisciplinary/production.html",
        {"web": web, "rows": rows, "date_from": date_from, "date_to": date_to, "top": top},
    )


@router.get(BASE + "/personas/{citizen_id}/quien-vio")
def who_saw(
    request: Request,
    citizen_id: ItemId,
    session: SessionDep,
    web: Annotated[WebContext, Depends(page("md.who_saw"))],
) -> Response:
    from central.audit import service as audit
    from central.citizens.models import Citizen
    from central.domain.errors import NotFound

    citizen = session.get(Citizen, citizen_id)
    area = web.area
    if citizen is None or not (area.national or area.contains(sede_id=citizen.sede_id)):  # type: ignore[union-attr]
        raise NotFound("La persona no existe.")
    rows = access_rows(service.who_saw(session=session, citizen_id=citizen_id, limit=1000))
    audit.record(
        session=session,
        actor=web.actor,
        action="md.who_saw",
        entity="md_access_log",
        sede_id=citizen.sede_id,
        after={"citizen_id": citizen_id, "rows": len(rows)},
    )
    session.commit()
    return render(
        request,
        "multidisciplinary/who_saw.html",
        {"web": web, "rows": rows, "citizen_id": citizen_id, "labels": json},
    )
