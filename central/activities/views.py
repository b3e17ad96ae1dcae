"""HTTP API of Module 01 (``/api/v1/activity-plans``, ``/api/v1/activities``,
``/api/v1/supervision``) and ``install(app)``, which also mounts the web pages (web.py)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request
from fastapi.responses import Response

from central.activities import exports, service
from central.activities.schemas import (
    GroupBy,
    ManualActivityCreate,
    ManualActivityRead,
    ManualKind,
    PlanCreate,
    PlanRead,
    PlanUpdate,
    SupervisionQuery,
    SupervisionReport,
)
from central.activities.settings import ActivitiesSettings
from central.audit import service as audit
from central.auth.deps import Authorized, SessionDep, require
from central.core.http import ERROR_RESPONSES
from central.domain.errors import FieldError, ValidationFailed

router = APIRouter(tags=["actividades y supervisión"], responses=ERROR_RESPONSES)

Month = Annotated[str | None, Query(max_length=7, examples=["2026-03"])]
SedeQuery = Annotated[str | None, Query(max_length=64)]
ItemId = Annotated[str, Path(max_length=36)]


def activities_settings(request: Request) -> ActivitiesSettings:
    settings = getattr(request.app.state, "activities_settings", None)
    if settings is None:
        settings = ActivitiesSettings()
        request.app.state.activities_settings = settings
    return settings


def _check_months(**months: str | None) -> None:
    from central.activities.schemas import MONTH_MESSAGE, check_month

    for name, value in months.items():
        if value is None:
            continue
        try:
            check_month(value)
        except ValueError:
            raise ValidationFailed(
                MONTH_MESSAGE, fields=[FieldError(f"query.{name}", MONTH_MESSAGE)]
            ) from None


# ------------------------------------------------------------------------------- plans


@router.get("/activity-plans", response_model=list[PlanRead])
def list_plans(
    auth: Annotated[Authorized, Depends(require("activities.read"))],
    session: SessionDep,
    sede_id: SedeQuery = None,
    month_from: Month = None,
    month_to: Month = None,
    professional_id: Annotated[str | None, Query(max_length=36)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[PlanRead]:
    """Monthly plans inside the caller's area, newest month first."""
    _check_months(month_from=month_from, month_to=month_to)
    return service.list_plans(
        session=session,
        area=auth.area,
        sede_id=sede_id,
        month_from=month_from,
        month_to=month_to,
        professional_id=professional_id,
        limit=limit,
        offset=offset,
    )


@router.post("/activity-plans", response_model=PlanRead, status_code=201)
def create_plan(
    body: PlanCreate,
    auth: Annotated[Authorized, Depends(require("activities.plan"))],
    session: SessionDep,
) -> PlanRead:
    """Programme a professional's month at a sede (one plan per professional and month)."""
    result = service.create_plan(session=session, actor=auth.actor, data=body, area=auth.area)
    session.commit()
    return result


@router.get("/activity-plans/{plan_id}", response_model=PlanRead)
def get_plan(
    plan_id: ItemId,
    auth: Annotated[Authorized, Depends(require("activities.read"))],
    session: SessionDep,
) -> PlanRead:
    plan = service.get_plan(session=session, plan_id=plan_id, area=auth.area)
    return service.plan_read(session, plan)


@router.patch("/activity-plans/{plan_id}", response_model=PlanRead)
def update_plan(
    plan_id: ItemId,
    body: PlanUpdate,
    auth: Annotated[Authorized, Depends(require("activities.plan"))],
    session: SessionDep,
) -> PlanRead:
    result = service.update_plan(
        session=session, actor=auth.actor, plan_id=plan_id, data=body, area=auth.area
    )
    session.commit()
    return result


# --------------------------------------------------------------------- manual activities


@router.get("/activities", response_model=list[ManualActivityRead])
def list_activities(
    auth: Annotated[Authorized, Depends(require("activities.read"))],
    session: SessionDep,
    sede_id: SedeQuery = None,
    date_from: date | None = None,
    date_to: date | None = None,
    kind: ManualKind | None = None,
    professional_id: Annotated[str | None, Query(max_length=36)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[ManualActivityRead]:
    """Activities recorded by hand inside the caller's area, newest first."""
    return service.list_activities(
        session=session,
        area=auth.area,
        sede_id=sede_id,
        date_from=date_from,
        date_to=date_to,
        kind=kind,
        professional_id=professional_id,
        limit=limit,
        offset=offset,
    )


@router.post("/activities", response_model=ManualActivityRead, status_code=201)
def record_activity(
    body: ManualActivityCreate,
    auth: Annotated[Authorized, Depends(require("activities.record"))],
    session: SessionDep,
) -> ManualActivityRead:
    """Record a talk, campaign, fair, training, visit or evaluation done outside the queue."""
    result = service.record_activity(session=session, actor=auth.actor, data=body, area=auth.area)
    session.commit()
    return result


@router.get("/activities/{activity_id}", response_model=ManualActivityRead)
def get_activity(
    activity_id: ItemId,
    auth: Annotated[Authorized, Depends(require("activities.read"))],
    session: SessionDep,
) -> ManualActivityRead:
    return service.get_activity(session=session, activity_id=activity_id, area=auth.area)


# ---------------------------------------------------------------------------- supervision


def _query(
    month_from: str,
    month_to: str | None,
    district_id: str | None,
    sede_id: str | None,
    group_by: GroupBy,
) -> SupervisionQuery:
    _check_months(month_from=month_from, month_to=month_to)
    return SupervisionQuery(
        month_from=month_from,
        month_to=month_to,
        district_id=district_id,
        sede_id=sede_id,
        group_by=group_by,
    )


MonthRequired = Annotated[str, Query(max_length=7, examples=["2026-03"])]
DistrictQuery = Annotated[str | None, Query(max_length=64, pattern=r"^[a-z0-9_-]{1,64}$")]
SedeFilter = Annotated[str | None, Query(max_length=64, pattern=r"^[a-z0-9_-]{1,64}$")]


@router.get("/supervision", response_model=SupervisionReport)
def supervision(
    auth: Annotated[Authorized, Depends(require("supervision.read"))],
    session: SessionDep,
    request: Request,
    month_from: MonthRequired,
    month_to: Month = None,
    district_id: DistrictQuery = None,
    sede_id: SedeFilter = None,
    group_by: GroupBy = GroupBy.PROFESSIONAL,
) -> SupervisionReport:
    """Planned against executed per professional, sede or district for a month or a range of
    months, with productivity and workload, limited to the caller's area."""
    settings = activities_settings(request)
    report = service.supervision_report(
        session=session,
        area=auth.area,
        query=_query(month_from, month_to, district_id, sede_id, group_by),
        workload_ceiling=settings.workload_ceiling,
        max_months=settings.max_report_months,
    )
    return report


@router.get(
    "/supervision/export",
    response_class=Response,
    responses={
        200: {
            "content": {
                exports.XLSX_MEDIA_TYPE: {},
                exports.PDF_MEDIA_TYPE: {},
            },
            "description": "El reporte en Excel o PDF",
        }
    },
)
def supervision_export(
    auth: Annotated[Authorized, Depends(require("supervision.read"))],
    session: SessionDep,
    request: Request,
    month_from: MonthRequired,
    format: Literal["xlsx", "pdf"] = "xlsx",  # noqa: A002
    month_to: Month = None,
    district_id: DistrictQuery = None,
    sede_id: SedeFilter = None,
    group_by: GroupBy = GroupBy.PROFESSIONAL,
) -> Response:
    """The supervision report as an Excel workbook or a PDF (the export is audited)."""
    settings = activities_settings(request)
    report = service.supervision_report(
        session=session,
        area=auth.area,
        query=_query(month_from, month_to, district_id, sede_id, group_by),
        workload_ceiling=settings.workload_ceiling,
        max_months=settings.max_report_months,
    )
    return export_response(
        request=request, session=session, actor=auth.actor, report=report, kind=format
    )


def export_response(*, request: Request, session, actor, report: SupervisionReport, kind: str):  # noqa: ANN001, ANN201
    """Render, audit and return an export (shared by the API and the web page)."""
    app_settings = request.app.state.settings
    scope_names = exports.scope_names(session, report)
    if kind == "pdf":
        content = exports.to_pdf(
            report, institution=app_settings.institution_name, scope=scope_names
        )
        media = exports.PDF_MEDIA_TYPE
    else:
        content = exports.to_xlsx(
            report, institution=app_settings.institution_name, scope=scope_names
        )
        media = exports.XLSX_MEDIA_TYPE
    audit.record(
        session=session,
        actor=actor,
        action="supervision.export",
        entity="supervision_report",
        entity_id=f"{report.month_from}..{report.month_to}",
        sede_id=report.sede_id,
        after={
            "format": kind,
            "group_by": report.group_by.value,
            "district_id": report.district_id,
            "sede_id": report.sede_id,
            "rows": len(report.rows),
        },
    )
    session.commit()
    filename = exports.filename(report, kind)
    return Response(
        content,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def install(app: FastAPI, *, web: bool = True) -> None:
    """Mount the API under /api/v1 and, when the web UI is on, the pages of Module 01."""
    app.include_router(router, prefix="/api/v1")
    if web:
        from central.activities.web import router as pages

        app.include_router(pages)
