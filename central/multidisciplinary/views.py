"""HTTP API of the multidisciplinary services (``/api/v1/md``): one transaction per request,
errors as JSON with a stable code and a Spanish message. Reads of content take a ``purpose``
and are audited; a refused read answers 403 and its audited attempt is committed."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Path, Query, Request, Response, UploadFile
from sqlmodel import Session

from central.audit.actions import SENSITIVE_READS, action_label
from central.auth.deps import Authorized, SessionDep, read_only, require
from central.auth.policy import area_for
from central.core import signed
from central.core.http import ERROR_RESPONSES
from central.multidisciplinary import catalogues as cat
from central.multidisciplinary import exports, flows, service
from central.multidisciplinary.models import MdReport, MdRequest
from central.multidisciplinary.schemas import (
    AccessRow,
    AmendIn,
    AssignIn,
    CustodyIn,
    DecisionIn,
    DeliverIn,
    DeriveIn,
    EvidenceRead,
    FichaIn,
    ProductionRow,
    Purpose,
    ReportContentIn,
    ReportRead,
    RequestContent,
    RequestCreate,
    RequestRead,
    ReviewIn,
    SessionCreate,
    SessionOutcomeIn,
    SessionRead,
    SocioEvalRead,
    VersionRead,
)
from central.multidisciplinary.settings import MultidisciplinarySettings

router = APIRouter(prefix="/md", tags=["servicios multidisciplinarios"], responses=ERROR_RESPONSES)
ItemId = Annotated[str, Path(max_length=36)]
PurposeQ = Annotated[Purpose, Query(description="Motivo de la consulta (queda auditado)")]


def md_settings(request: Request) -> MultidisciplinarySettings:
    return request.app.state.md_settings


def md_paper(request: Request) -> flows.Paper:
    return request.app.state.md_paper


SettingsDep = Annotated[MultidisciplinarySettings, Depends(md_settings)]
PaperDep = Annotated[flows.Paper, Depends(md_paper)]


def request_read(session: Session, row: MdRequest) -> RequestRead:
    report = service.report_of(session, row.id)
    data = RequestRead.model_validate(row)
    data.report_state = report.state if report else None
    return data


def report_read(
    session: Session, report: MdReport, base_url: str, content: dict[str, Any] | None = None
) -> ReportRead:
    versions = []
    for version in service.versions_of(session, report.id):
        item = VersionRead.model_validate(version)
        if version.verification_code:
            item.verification_url = signed.verification_url(base_url, version.verification_code)
        versions.append(item)
    return ReportRead(
        id=report.id,
        request_id=report.request_id,
        service_type=report.service_type,
        state=report.state,
        current_version=report.current_version,
        versions=versions,
        content=content,
        template=[
            {"key": s.key, "label": s.label, "kind": s.kind.value, "required": s.required}
            for s in service.template_of(report.service_type)
        ],
    )


def _denied(session: Session, error: service.ContentDenied) -> None:
    session.commit()  # the audited attempt stays
    raise error


@router.post("/requests", response_model=RequestRead, status_code=201)
def create_request(
    body: RequestCreate,
    auth: Annotated[Authorized, Depends(require("md.request"))],
    session: SessionDep,
    settings: SettingsDep,
):
    row = service.create_request(
        session=session, actor=auth.actor, area=auth.area, settings=settings, data=body
    )
    session.commit()
    return request_read(session, row)


@router.get("/requests", response_model=list[RequestRead])
@read_only
def list_requests(
    auth: Annotated[Authorized, Depends(require("md.read"))],
    session: SessionDep,
    sede_id: Annotated[str | None, Query(max_length=64)] = None,
    state: Annotated[str | None, Query(max_length=12)] = None,
    mine: bool = False,
):
    rows = service.list_requests(
        session=session,
        area=auth.area,
        sede_id=sede_id,
        state=state,
        requested_by=auth.actor.user_id if mine else None,
    )
    return [request_read(session, r) for r in rows]


@router.get("/tray", response_model=list[RequestRead])
@read_only
def tray(auth: Annotated[Authorized, Depends(require("md.work"))], session: SessionDep):
    return [request_read(session, r) for r in service.tray(session=session, actor=auth.actor)]


@router.get("/requests/{request_id}", response_model=RequestRead)
@read_only
def get_request(
    request_id: ItemId,
    auth: Annotated[Authorized, Depends(require("md.read"))],
    session: SessionDep,
):
    return request_read(
        session, service.get_request(session=session, request_id=request_id, area=auth.area)
    )


@router.get("/requests/{request_id}/content", response_model=RequestContent)
def request_content(
    request_id: ItemId,
    purpose: PurposeQ,
    auth: Annotated[Authorized, Depends(require("md.content"))],
    session: SessionDep,
):
    try:
        row = service.read_request_content(
            session=session,
            actor=auth.actor,
            area=auth.area,
            request_id=request_id,
            purpose=purpose,
        )
    except service.ContentDenied as error:
        _denied(session, error)
    session.commit()
    data = RequestContent.model_validate(row)
    return data


@router.post("/requests/{request_id}/assignment", response_model=RequestRead)
def assign(
    request_id: ItemId,
    body: AssignIn,
    auth: Annotated[Authorized, Depends(require("md.assign"))],
    session: SessionDep,
):
    row = service.assign_request(
        session=session, actor=auth.actor, area=auth.area, request_id=request_id, data=body
    )
    session.commit()
    return request_read(session, row)


@router.post("/requests/{request_id}/derivation", response_model=RequestRead)
def derive(
    request_id: ItemId,
    body: DeriveIn,
    auth: Annotated[Authorized, Depends(require("md.assign"))],
    session: SessionDep,
):
    row = service.derive_request(
        session=session, actor=auth.actor, area=auth.area, request_id=request_id, data=body
    )
    session.commit()
    return request_read(session, row)


@router.post("/requests/{request_id}/sessions", response_model=SessionRead, status_code=201)
def schedule_session(
    request_id: ItemId,
    body: SessionCreate,
    auth: Annotated[Authorized, Depends(require("md.work"))],
    session: SessionDep,
    settings: SettingsDep,
):
    booked = flows.schedule_session(
        session=session,
        actor=auth.actor,
        area=auth.area,
        settings=settings,
        request_id=request_id,
        data=body,
    )
    session.commit()
    return booked


@router.post("/sessions/{session_id}/outcome", response_model=SessionRead)
def session_outcome(
    session_id: ItemId,
    body: SessionOutcomeIn,
    auth: Annotated[Authorized, Depends(require("md.work"))],
    session: SessionDep,
):
    booked = service.record_session_outcome(
        session=session, actor=auth.actor, area=auth.area, session_id=session_id, data=body
    )
    if booked.status == "cancelled":
        flows.cancel_appointment(session=session, booked=booked)
    session.commit()
    return booked


@router.get("/agenda", response_model=list[SessionRead])
@read_only
def agenda(
    auth: Annotated[Authorized, Depends(require("md.work"))],
    session: SessionDep,
    week: date,
):
    return service.agenda(
        session=session, professional_id=auth.actor.user_id or "", week_start=week
    )


@router.put("/requests/{request_id}/report", response_model=ReportRead)
def save_report(
    request_id: ItemId,
    body: ReportContentIn,
    request: Request,
    auth: Annotated[Authorized, Depends(require("md.work"))],
    session: SessionDep,
):
    report, version = service.save_draft(
        session=session,
        actor=auth.actor,
        area=auth.area,
        request_id=request_id,
        content=body.content,
    )
    session.commit()
    return report_read(
        session,
        report,
        request.app.state.settings.public_base_url,
        json.loads(version.content_json),
    )


@router.get("/requests/{request_id}/report", response_model=ReportRead)
def read_report(
    request_id: ItemId,
    purpose: PurposeQ,
    request: Request,
    auth: Annotated[Authorized, Depends(require("md.content"))],
    session: SessionDep,
):
    try:
        report, _, content = service.read_report_content(
            session=session,
            actor=auth.actor,
            area=auth.area,
            request_id=request_id,
            purpose=purpose,
        )
    except service.ContentDenied as error:
        _denied(session, error)
    session.commit()
    return report_read(session, report, request.app.state.settings.public_base_url, content)


@router.get("/requests/{request_id}/report/status", response_model=ReportRead)
@read_only
def report_status(
    request_id: ItemId,
    request: Request,
    auth: Annotated[Authorized, Depends(require("md.read"))],
    session: SessionDep,
):
    """Versions and states without the content (for anyone who may see the request)."""
    row = service.get_request(session=session, request_id=request_id, area=auth.area)
    report = service.report_of(session, row.id)
    if report is None:
        from central.domain.errors import NotFound

        raise NotFound("La solicitud aún no tiene informe.")
    return report_read(session, report, request.app.state.settings.public_base_url)


@router.post("/requests/{request_id}/report/review-request", response_model=VersionRead)
def ask_review(
    request_id: ItemId,
    reviewer_id: Annotated[str, Query(max_length=36)],
    auth: Annotated[Authorized, Depends(require("md.work"))],
    session: SessionDep,
):
    version = service.request_review(
        session=session,
        actor=auth.actor,
        area=auth.area,
        request_id=request_id,
        reviewer_id=reviewer_id,
    )
    session.commit()
    return version


@router.post("/reports/{report_id}/review", response_model=VersionRead)
def review(
    report_id: ItemId,
    body: ReviewIn,
    auth: Annotated[Authorized, Depends(require("md.work"))],
    session: SessionDep,
):
    version = service.review(
        session=session, actor=auth.actor, area=auth.area, report_id=report_id, data=body
    )
    session.commit()
    return version


@router.post("/requests/{request_id}/report/signature", response_model=VersionRead)
def sign(
    request_id: ItemId,
    request: Request,
    auth: Annotated[Authorized, Depends(require("md.work"))],
    session: SessionDep,
    settings: SettingsDep,
    paper: PaperDep,
):
    version = flows.sign_report(
        session=session,
        actor=auth.actor,
        area=auth.area,
        settings=settings,
        request_id=request_id,
        paper=paper,
    )
    session.commit()
    item = VersionRead.model_validate(version)
    item.verification_url = signed.verification_url(
        request.app.state.settings.public_base_url, version.verification_code or ""
    )
    return item


@router.post("/requests/{request_id}/report/amendment", response_model=VersionRead, status_code=201)
def amend(
    request_id: ItemId,
    body: AmendIn,
    auth: Annotated[Authorized, Depends(require("md.work"))],
    session: SessionDep,
):
    version = service.amend_report(
        session=session, actor=auth.actor, area=auth.area, request_id=request_id, reason=body.reason
    )
    session.commit()
    return version


@router.post("/requests/{request_id}/report/delivery", status_code=201)
def deliver(
    request_id: ItemId,
    body: DeliverIn,
    auth: Annotated[Authorized, Depends(require("md.work"))],
    session: SessionDep,
) -> dict[str, Any]:
    delivery = service.deliver_report(
        session=session, actor=auth.actor, area=auth.area, request_id=request_id, data=body
    )
    session.commit()
    return {
        "id": delivery.id,
        "recipient": delivery.recipient,
        "certified_copy": delivery.certified_copy,
    }


@router.get(
    "/requests/{request_id}/report.pdf",
    responses={200: {"content": {"application/pdf": {}}, "description": "PDF firmado"}},
)
def report_pdf(
    request_id: ItemId,
    purpose: PurposeQ,
    auth: Annotated[Authorized, Depends(require("md.content"))],
    session: SessionDep,
    paper: PaperDep,
) -> Response:
    try:
        report, version, _ = service.read_report_content(
            session=session,
            actor=auth.actor,
            area=auth.area,
            request_id=request_id,
            purpose=purpose,
        )
    except service.ContentDenied as error:
        _denied(session, error)
    if version.pdf_key is None:
        from central.domain.errors import InvalidTransition

        raise InvalidTransition("La versión vigente aún no está firmada.")
    data = flows.report_pdf(version=version, paper=paper)
    session.commit()
    return Response(
        data,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="informe-v{version.version}.pdf"'},
    )


@router.put("/requests/{request_id}/ficha", response_model=SocioEvalRead)
def save_ficha(
    request_id: ItemId,
    body: FichaIn,
    auth: Annotated[Authorized, Depends(require("md.work"))],
    session: SessionDep,
    settings: SettingsDep,
):
    evaluation = service.save_ficha(
        session=session,
        actor=auth.actor,
        area=auth.area,
        settings=settings,
        request_id=request_id,
        ficha=body,
    )
    session.commit()
    return _eval_read(session, evaluation, content=True)


def _eval_read(session: Session, evaluation, *, content: bool) -> SocioEvalRead:  # noqa: ANN001
    from sqlmodel import func, select

    from central.multidisciplinary.models import MdCaseNotice

    notices = session.exec(select(func.count()).where(MdCaseNotice.eval_id == evaluation.id)).one()
    return SocioEvalRead(
        id=evaluation.id,
        request_id=evaluation.request_id,
        statement_id=evaluation.statement_id,
        score=evaluation.score,
        recommendation=evaluation.recommendation,
        decision=evaluation.decision,
        decided_at=evaluation.decided_at,
        resolution_number=evaluation.resolution_number,
        resolution_code=evaluation.resolution_code,
        ficha=json.loads(evaluation.ficha_json) if content else None,
        decision_reasons=evaluation.decision_reasons if content else None,
        notices=int(notices),
    )


@router.get("/requests/{request_id}/ficha", response_model=SocioEvalRead)
def read_ficha(
    request_id: ItemId,
    purpose: PurposeQ,
    auth: Annotated[Authorized, Depends(require("md.content"))],
    session: SessionDep,
):
    try:
        evaluation = service.read_ficha(
            session=session,
            actor=auth.actor,
            area=auth.area,
            request_id=request_id,
            purpose=purpose,
        )
    except service.ContentDenied as error:
        _denied(session, error)
    session.commit()
    return _eval_read(session, evaluation, content=True)


@router.post("/requests/{request_id}/decision", response_model=SocioEvalRead)
def decide(
    request_id: ItemId,
    body: DecisionIn,
    auth: Annotated[Authorized, Depends(require("md.work"))],
    session: SessionDep,
    settings: SettingsDep,
    paper: PaperDep,
):
    evaluation = flows.decide(
        session=session,
        actor=auth.actor,
        area=auth.area,
        settings=settings,
        request_id=request_id,
        data=body,
        paper=paper,
    )
    session.commit()
    return _eval_read(session, evaluation, content=False)


@router.post("/requests/{request_id}/evidence", response_model=EvidenceRead, status_code=201)
async def add_evidence(
    request_id: ItemId,
    auth: Annotated[Authorized, Depends(require("md.work"))],
    session: SessionDep,
    settings: SettingsDep,
    paper: PaperDep,
    description: Annotated[str, Form(min_length=1, max_length=400)],
    received_from: Annotated[str, Form(min_length=1, max_length=200)],
    file: Annotated[UploadFile | None, File()] = None,
):
    data = await file.read(settings.evidence_max_bytes + 1) if file is not None else None
    evidence = flows.receive_evidence(
        session=session,
        actor=auth.actor,
        area=auth.area,
        settings=settings,
        request_id=request_id,
        description=description,
        received_from=received_from,
        filename=file.filename if file is not None else None,
        data=data,
        paper=paper,
    )
    session.commit()
    return evidence


@router.post("/evidence/{evidence_id}/custody", status_code=201)
def custody(
    evidence_id: ItemId,
    body: CustodyIn,
    auth: Annotated[Authorized, Depends(require("md.work"))],
    session: SessionDep,
) -> list[dict[str, Any]]:
    service.add_custody(
        session=session, actor=auth.actor, area=auth.area, evidence_id=evidence_id, data=body
    )
    session.commit()
    return [
        {
            "action": e.action,
            "from_party": e.from_party,
            "to_party": e.to_party,
            "occurred_at": e.occurred_at.isoformat(),
        }
        for e in service.custody_chain(session, evidence_id)
    ]


@router.get("/evidence/{evidence_id}/file")
def evidence_file(
    evidence_id: ItemId,
    purpose: PurposeQ,
    auth: Annotated[Authorized, Depends(require("md.content"))],
    session: SessionDep,
    paper: PaperDep,
) -> Response:
    try:
        evidence = service.read_evidence(
            session=session,
            actor=auth.actor,
            area=auth.area,
            evidence_id=evidence_id,
            purpose=purpose,
        )
    except service.ContentDenied as error:
        _denied(session, error)
    if evidence.storage_key is None:
        from central.domain.errors import NotFound

        raise NotFound("El indicio no tiene archivo.")
    data = flows.evidence_bytes(evidence=evidence, paper=paper)
    session.commit()
    return Response(data, media_type=evidence.content_type or "application/octet-stream")


@router.get("/people/{citizen_id}/access-log", response_model=list[AccessRow])
def who_saw(
    citizen_id: ItemId,
    auth: Annotated[Authorized, Depends(require("md.who_saw"))],
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
):
    """ "Quién vio qué": every audited read about the person (itself audited)."""
    from central.audit import service as audit
    from central.citizens.models import Citizen
    from central.domain.errors import NotFound

    citizen = session.get(Citizen, citizen_id)
    if (
        citizen is None
        or not auth.area.contains(sede_id=citizen.sede_id)
        and not auth.area.national
    ):
        raise NotFound("La persona no existe.")
    rows = access_rows(service.who_saw(session=session, citizen_id=citizen_id, limit=limit))
    audit.record(
        session=session,
        actor=auth.actor,
        action="md.who_saw",
        entity="md_access_log",
        entity_id=None,
        sede_id=citizen.sede_id,
        after={"citizen_id": citizen_id, "rows": len(rows)},
    )
    session.commit()
    return rows


def access_rows(events) -> list[AccessRow]:  # noqa: ANN001
    rows = []
    for event in events:
        after = json.loads(event.after_json) if event.after_json else {}
        after = after if isinstance(after, dict) else {}
        rows.append(
            AccessRow(
                at=event.occurred_at,
                user_id=event.actor_user_id,
                username=event.actor_username,
                profiles=event.actor_profiles,
                action=event.action,
                what=str(after.get("what") or action_label(event.action)),
                object_id=after.get("object_id") or after.get("request_id"),
                purpose=after.get("purpose"),
                allowed=not event.action.endswith("_denied"),
                read=event.action in SENSITIVE_READS,
            )
        )
    return rows


@router.get("/production", response_model=list[ProductionRow])
@read_only
def production(
    auth: Annotated[Authorized, Depends(require("md.supervise"))],
    session: SessionDep,
    date_from: date,
    date_to: date,
    sede_id: Annotated[str | None, Query(max_length=64)] = None,
):
    return service.production(
        session=session, area=auth.area, sede_id=sede_id, date_from=date_from, date_to=date_to
    )


@router.get(
    "/production/export",
    responses={
        200: {
            "content": {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {}},
            "description": "XLSX",
        }
    },
)
@read_only
def production_export(
    auth: Annotated[Authorized, Depends(require("md.supervise"))],
    session: SessionDep,
    date_from: date,
    date_to: date,
    sede_id: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    rows = service.production(
        session=session, area=auth.area, sede_id=sede_id, date_from=date_from, date_to=date_to
    )
    data = exports.production_xlsx(rows, date_from=date_from, date_to=date_to)
    return Response(
        data,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={
            "Content-Disposition": 'attachment; filename="produccion-multidisciplinaria.xlsx"'
        },
    )


@router.get("/catalogue")
@read_only
def catalogue(auth: Annotated[Authorized, Depends(require("md.read"))]) -> dict[str, Any]:
    """Service types, their report templates and the reading purposes."""
    return {
        "service_types": cat.SERVICE_LABELS_ES,
        "templates": {
            t: [
                {"key": s.key, "label": s.label, "kind": s.kind.value, "required": s.required}
                for s in sections
            ]
            for t, sections in cat.TEMPLATES.items()
        },
        "can_read_content": not area_for(auth.actor, "md.content").empty,
    }
