"""Web pages of Module 01 (Spanish): monthly programming, activities recorded by hand and the
supervision dashboard with its charts and exports. Writes go through the same services as the
API, so they are validated and audited the same way."""

from __future__ import annotations

from datetime import date
from pathlib import Path as FsPath
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import ChoiceLoader, FileSystemLoader
from pydantic import ValidationError

from central.activities import charts, service
from central.activities.schemas import (
    ACTIVITY_TYPE_LABELS_ES,
    GROUP_LABELS_ES,
    MANUAL_KIND_LABELS_ES,
    ActivityType,
    GroupBy,
    ManualActivityCreate,
    ManualKind,
    PlanCreate,
    PlanTargets,
    PlanUpdate,
    SupervisionQuery,
    check_month,
)
from central.activities.views import activities_settings, export_response
from central.auth.deps import SessionDep
from central.auth.web import WebContext, verify_csrf
from central.domain.errors import DomainError, ValidationFailed
from central.org.models import District, Sede
from central.web import rendering
from central.web.deps import page
from central.web.forms import FormDep, FormErrors, build, domain_errors, text, validation_errors

router = APIRouter(include_in_schema=False)
TEMPLATES = FsPath(__file__).resolve().parent / "templates"
ENV = rendering.ENV.overlay(
    loader=ChoiceLoader([FileSystemLoader(str(TEMPLATES)), rendering.ENV.loader])
)
PAGE_SIZE = 25
PlanId = Annotated[str, Path(max_length=36)]
Month = Annotated[str, Query(max_length=7)]
Slug = Annotated[str, Query(max_length=64)]

NOTICES = {
    "creada": "Programación registrada.",
    "guardada": "Cambios guardados.",
    "actividad": "Actividad registrada.",
}


def _render(
    request: Request, template: str, context: dict[str, Any], *, status: int = 200
) -> HTMLResponse:
    settings = request.app.state.settings
    data: dict[str, Any] = {
        "request": request,
        "path": request.url.path,
        "system_name": settings.system_name,
        "institution_name": settings.institution_name,
        "service_name": settings.service_name,
        "web": None,
        "errors": {},
        "message": None,
        "notice": None,
        "type_labels": {t.value: label for t, label in ACTIVITY_TYPE_LABELS_ES.items()},
        "kind_labels": {k.value: label for k, label in MANUAL_KIND_LABELS_ES.items()},
        "month_label": service.month_label,
    }
    data.update(context)
    return HTMLResponse(ENV.get_template(template).render(data), status_code=status)


def _current_month() -> str:
    return service.lima_today().strftime("%Y-%m")


def _valid_month(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return check_month(value)
    except ValueError:
        return None


def _sedes(session, web: WebContext) -> list[Sede]:  # noqa: ANN001
    return service.sedes_in_scope(session=session, area=web.area)


def _professional_choices(session, sedes: list[Sede]) -> list[tuple[Sede, list]]:  # noqa: ANN001
    people = service.professionals_by_sede(session, sedes=sedes)
    return [(sede, people[sede.id]) for sede in sedes if people[sede.id]]


# ------------------------------------------------------------------------- programming


@router.get("/programacion")
def plans_list(
    request: Request,
    session: SessionDep,
    web: Annotated[WebContext, Depends(page("activities.read"))],
    mes: Annotated[str | None, Query(max_length=7)] = None,
    sede: Annotated[str | None, Query(max_length=64)] = None,
    pagina: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    month = _valid_month(mes) if mes is not None else _current_month()
    errors = {}
    if mes and month is None:
        errors["mes"] = "Use el formato AAAA-MM (por ejemplo, 2026-03)."
    sedes = _sedes(session, web)
    rows = service.list_plans(
        session=session,
        area=web.area,  # type: ignore[arg-type]
        sede_id=sede or None,
        month_from=month,
        month_to=month,
        limit=PAGE_SIZE + 1,
        offset=(pagina - 1) * PAGE_SIZE,
    )
    return _render(
        request,
        "activities/plans.html",
        {
            "web": web,
            "rows": rows[:PAGE_SIZE],
            "has_next": len(rows) > PAGE_SIZE,
            "page_number": pagina,
            "query": urlencode({"mes": mes or month or "", "sede": sede or ""}),
            "filters": {"mes": mes if mes is not None else (month or ""), "sede": sede or ""},
            "errors": errors,
            "sedes": sedes,
            "sede_names": {s.id: s.name for s in sedes},
            "notice": NOTICES.get(request.query_params.get("aviso", "")),
        },
    )


def _plan_form(
    request: Request,
    session,  # noqa: ANN001
    web: WebContext,
    values: dict[str, Any],
    errors: FormErrors | None = None,
    *,
    plan=None,  # noqa: ANN001
    status: int = 200,
    notice: str | None = None,
) -> Response:
    sedes = _sedes(session, web)
    return _render(
        request,
        "activities/plan_form.html",
        {
            "web": web,
            "plan": plan,
            "values": values,
            "errors": (errors or FormErrors()).fields,
            "message": errors.message if errors else None,
            "sedes": sedes,
            "choices": _professional_choices(session, sedes) if plan is None else [],
            "types": list(ActivityType),
            "notice": notice,
        },
        status=status,
    )


def _target_values(form) -> dict[str, str]:  # noqa: ANN001
    return {t.value: text(form, f"target_{t.value}") for t in ActivityType}


def _targets(values: dict[str, str]) -> tuple[PlanTargets | None, FormErrors]:
    data = {name: (value if value != "" else 0) for name, value in values.items()}
    targets, errors = build(PlanTargets, data)
    if errors:
        prefixed = FormErrors(message="Revise las metas marcadas.")
        for name, message in errors.fields.items():
            if name in {t.value for t in ActivityType}:
                message = (
                    "La meta debe ser un número entero entre 0 y 10 000."
                    if "entero" in message or "mayor" in message or "menor" in message
                    else message
                )
            prefixed.add(f"target_{name}", message)
        return None, prefixed
    return targets, errors


@router.get("/programacion/nueva")
def plan_new_form(
    request: Request,
    session: SessionDep,
    web: Annotated[WebContext, Depends(page("activities.plan"))],
) -> Response:
    values: dict[str, Any] = {"month": _current_month()}
    values.update({f"target_{t.value}": "0" for t in ActivityType})
    return _plan_form(request, session, web, values)


@router.post("/programacion/nueva", dependencies=[Depends(verify_csrf)])
def plan_new_submit(
    request: Request,
    form: FormDep,
    session: SessionDep,
    web: Annotated[WebContext, Depends(page("activities.plan"))],
) -> Response:
    targets_raw = _target_values(form)
    values: dict[str, Any] = {
        "sede_id": text(form, "sede_id"),
        "professional_id": text(form, "professional_id"),
        "month": text(form, "month"),
        "notes": text(form, "notes"),
        **{f"target_{k}": v for k, v in targets_raw.items()},
    }
    targets, target_errors = _targets(targets_raw)
    data, errors = build(
        PlanCreate,
        {
            "sede_id": values["sede_id"],
            "professional_id": values["professional_id"],
            "month": values["month"],
            "notes": values["notes"] or None,
        },
    )
    for name, message in target_errors.fields.items():
        errors.add(name, message)
    if errors or data is None or targets is None:
        errors.message = errors.message or target_errors.message
        return _plan_form(request, session, web, values, errors, status=422)
    data = data.model_copy(update={"targets": targets})
    try:
        plan = service.create_plan(session=session, actor=web.actor, data=data, area=web.area)  # type: ignore[arg-type]
    except DomainError as exc:
        session.rollback()
        status = 409 if exc.code == "duplicate" else 422
        return _plan_form(request, session, web, values, domain_errors(exc), status=status)
    session.commit()
    return RedirectResponse(f"/programacion/{plan.id}?aviso=creada", status_code=303)


@router.get("/programacion/{plan_id}")
def plan_detail(
    request: Request,
    plan_id: PlanId,
    session: SessionDep,
    web: Annotated[WebContext, Depends(page("activities.read"))],
) -> Response:
    plan = service.plan_read(
        session,
        service.get_plan(session=session, plan_id=plan_id, area=web.area),  # type: ignore[arg-type]
    )
    values: dict[str, Any] = {"notes": plan.notes or "", "revision": plan.revision}
    values.update({f"target_{k}": str(v) for k, v in plan.targets.items()})
    notice = NOTICES.get(request.query_params.get("aviso", ""))
    return _plan_form(request, session, web, values, plan=plan, notice=notice)


@router.post("/programacion/{plan_id}", dependencies=[Depends(verify_csrf)])
def plan_edit_submit(
    request: Request,
    plan_id: PlanId,
    form: FormDep,
    session: SessionDep,
    web: Annotated[WebContext, Depends(page("activities.plan"))],
) -> Response:
    current = service.plan_read(
        session,
        service.get_plan(session=session, plan_id=plan_id, area=web.area),  # type: ignore[arg-type]
    )
    targets_raw = _target_values(form)
    values: dict[str, Any] = {
        "notes": text(form, "notes"),
        "revision": text(form, "revision"),
        **{f"target_{k}": v for k, v in targets_raw.items()},
    }
    targets, errors = _targets(targets_raw)
    if targets is None:
        return _plan_form(request, session, web, values, errors, plan=current, status=422)
    try:
        data = PlanUpdate(
            targets=targets,
            notes=values["notes"],
            expected_revision=int(values["revision"]) if values["revision"].isdigit() else None,
        )
        service.update_plan(
            session=session,
            actor=web.actor,
            plan_id=plan_id,
            data=data,
            area=web.area,  # type: ignore[arg-type]
        )
    except ValidationError as exc:
        return _plan_form(
            request, session, web, values, validation_errors(exc), plan=current, status=422
        )
    except DomainError as exc:
        session.rollback()
        status = 409 if exc.code == "conflict" else 422
        return _plan_form(
            request, session, web, values, domain_errors(exc), plan=current, status=status
        )
    session.commit()
    return RedirectResponse(f"/programacion/{plan_id}?aviso=guardada", status_code=303)


# ---------------------------------------------------------------- activities by hand


@router.get("/actividades")
def activities_list(
    request: Request,
    session: SessionDep,
    web: Annotated[WebContext, Depends(page("activities.read"))],
    sede: Annotated[str | None, Query(max_length=64)] = None,
    tipo: Annotated[str | None, Query(max_length=20)] = None,
    desde: Annotated[str | None, Query(max_length=10)] = None,
    hasta: Annotated[str | None, Query(max_length=10)] = None,
    pagina: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    errors: dict[str, str] = {}

    def day(name: str, value: str | None) -> date | None:
        if not value:
            return None
        try:
            return date.fromisoformat(value)
        except ValueError:
            errors[name] = "Fecha no válida."
            return None

    kind = None
    if tipo:
        try:
            kind = ManualKind(tipo)
        except ValueError:
            errors["tipo"] = "Tipo no válido."
    sedes = _sedes(session, web)
    rows = service.list_activities(
        session=session,
        area=web.area,  # type: ignore[arg-type]
        sede_id=sede or None,
        date_from=day("desde", desde),
        date_to=day("hasta", hasta),
        kind=kind,
        limit=PAGE_SIZE + 1,
        offset=(pagina - 1) * PAGE_SIZE,
    )
    filters = {"sede": sede or "", "tipo": tipo or "", "desde": desde or "", "hasta": hasta or ""}
    return _render(
        request,
        "activities/activities.html",
        {
            "web": web,
            "rows": rows[:PAGE_SIZE],
            "has_next": len(rows) > PAGE_SIZE,
            "page_number": pagina,
            "filters": filters,
            "query": urlencode(filters),
            "errors": errors,
            "sedes": sedes,
            "sede_names": {s.id: s.name for s in sedes},
            "kinds": list(ManualKind),
            "notice": NOTICES.get(request.query_params.get("aviso", "")),
        },
    )


def _activity_form(
    request: Request,
    session,  # noqa: ANN001
    web: WebContext,
    values: dict[str, Any],
    errors: FormErrors | None = None,
    status: int = 200,
) -> Response:
    sedes = _sedes(session, web)
    for_others = web.can("activities.plan")  # coordinators record for their staff
    return _render(
        request,
        "activities/activity_form.html",
        {
            "web": web,
            "values": values,
            "errors": (errors or FormErrors()).fields,
            "message": errors.message if errors else None,
            "sedes": sedes,
            "choices": _professional_choices(session, sedes) if for_others else [],
            "kinds": list(ManualKind),
            "today": service.lima_today().isoformat(),
        },
        status=status,
    )


@router.get("/actividades/nueva")
def activity_new_form(
    request: Request,
    session: SessionDep,
    web: Annotated[WebContext, Depends(page("activities.record"))],
) -> Response:
    values = {
        "sede_id": web.user.sede_id or "",
        "activity_date": service.lima_today().isoformat(),
        "participants": "0",
        "kind": ManualKind.CHARLA.value,
    }
    return _activity_form(request, session, web, values)


@router.post("/actividades/nueva", dependencies=[Depends(verify_csrf)])
def activity_new_submit(
    request: Request,
    form: FormDep,
    session: SessionDep,
    web: Annotated[WebContext, Depends(page("activities.record"))],
) -> Response:
    values = {
        name: text(form, name)
        for name in (
            "sede_id",
            "professional_id",
            "kind",
            "activity_date",
            "title",
            "participants",
            "notes",
        )
    }
    data, errors = build(
        ManualActivityCreate,
        {
            **values,
            "professional_id": values["professional_id"] or None,
            "participants": values["participants"] or 0,
            "notes": values["notes"] or None,
        },
    )
    if errors or data is None:
        if "activity_date" in errors.fields:
            errors.fields["activity_date"] = "Ingrese una fecha válida (día, mes y año)."
        return _activity_form(request, session, web, values, errors, status=422)
    try:
        service.record_activity(session=session, actor=web.actor, data=data, area=web.area)  # type: ignore[arg-type]
    except DomainError as exc:
        session.rollback()
        status = 403 if exc.code == "forbidden" else 422
        return _activity_form(request, session, web, values, domain_errors(exc), status=status)
    session.commit()
    return RedirectResponse("/actividades?aviso=actividad", status_code=303)


# ---------------------------------------------------------------------------- supervision


def _supervision_query(
    desde: str | None,
    hasta: str | None,
    distrito: str | None,
    sede: str | None,
    por: str | None,
) -> tuple[SupervisionQuery | None, dict[str, str], dict[str, str]]:
    filters = {
        "desde": desde or _current_month(),
        "hasta": hasta or "",
        "distrito": distrito or "",
        "sede": sede or "",
        "por": por or GroupBy.PROFESSIONAL.value,
    }
    errors: dict[str, str] = {}
    for name in ("desde", "hasta"):
        if filters[name] and _valid_month(filters[name]) is None:
            errors[name] = "Use el formato AAAA-MM (por ejemplo, 2026-03)."
    try:
        group_by = GroupBy(filters["por"])
    except ValueError:
        errors["por"] = "Agrupación no válida."
        group_by = GroupBy.PROFESSIONAL
    if errors:
        return None, filters, errors
    try:
        query = SupervisionQuery(
            month_from=filters["desde"],
            month_to=filters["hasta"] or None,
            district_id=filters["distrito"] or None,
            sede_id=filters["sede"] or None,
            group_by=group_by,
        )
    except ValidationError as exc:
        return None, filters, validation_errors(exc).fields
    return query, filters, errors


@router.get("/supervision")
def supervision_page(
    request: Request,
    session: SessionDep,
    web: Annotated[WebContext, Depends(page("supervision.read"))],
    desde: Annotated[str | None, Query(max_length=7)] = None,
    hasta: Annotated[str | None, Query(max_length=7)] = None,
    distrito: Annotated[str | None, Query(max_length=64)] = None,
    sede: Annotated[str | None, Query(max_length=64)] = None,
    por: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    settings = activities_settings(request)
    query, filters, errors = _supervision_query(desde, hasta, distrito, sede, por)
    report = None
    message = None
    if query is not None:
        try:
            report = service.supervision_report(
                session=session,
                area=web.area,  # type: ignore[arg-type]
                query=query,
                workload_ceiling=settings.workload_ceiling,
                max_months=settings.max_report_months,
            )
            session.commit()  # keeps the roll-up of synced attentions the report refreshed
        except ValidationFailed as exc:
            message = exc.message
            errors = {
                {"month_to": "hasta", "sede_id": "sede"}.get(f.field, f.field): f.message
                for f in exc.fields
            }
    else:
        message = "Revise los filtros marcados."
    sedes = _sedes(session, web)
    district_ids = sorted({s.district_id for s in sedes})
    districts = [session.get(District, d) for d in district_ids]
    return _render(
        request,
        "activities/supervision.html",
        {
            "web": web,
            "report": report,
            "filters": filters,
            "errors": errors,
            "message": message,
            "sedes": sedes,
            "districts": [d for d in districts if d is not None],
            "groups": [(g.value, GROUP_LABELS_ES[g]) for g in GroupBy],
            "export_query": urlencode({k: v for k, v in filters.items() if v}),
            "chart_types": charts.planned_vs_executed(report.totals.figures) if report else None,
            "chart_compliance": charts.compliance_by_row(report.rows) if report else None,
            "chart_workload": (
                charts.workload(report.rows, report.workload_ceiling) if report else None
            ),
            "period": (
                service.month_label(report.month_from)
                + (
                    ""
                    if report.month_from == report.month_to
                    else f" a {service.month_label(report.month_to)}"
                )
                if report
                else ""
            ),
        },
        status=200 if report is not None else 422,
    )


@router.get("/supervision/exportar")
def supervision_export_page(
    request: Request,
    session: SessionDep,
    web: Annotated[WebContext, Depends(page("supervision.read"))],
    formato: Annotated[str, Query(pattern="^(xlsx|pdf)$")] = "xlsx",
    desde: Annotated[str | None, Query(max_length=7)] = None,
    hasta: Annotated[str | None, Query(max_length=7)] = None,
    distrito: Annotated[str | None, Query(max_length=64)] = None,
    sede: Annotated[str | None, Query(max_length=64)] = None,
    por: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    settings = activities_settings(request)
    query, _, errors = _supervision_query(desde, hasta, distrito, sede, por)
    if query is None:
        raise ValidationFailed("Revise los filtros del reporte: " + "; ".join(errors.values()))
    report = service.supervision_report(
        session=session,
        area=web.area,  # type: ignore[arg-type]
        query=query,
        workload_ceiling=settings.workload_ceiling,
        max_months=settings.max_report_months,
    )
    return export_response(
        request=request, session=session, actor=web.actor, report=report, kind=formato
    )
