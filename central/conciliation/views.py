"""HTTP API of extrajudicial conciliation (``/api/v1/conciliation``): one transaction per
request, errors as JSON with a stable code and a Spanish message."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from sqlmodel import Session, col, select

from central.auth.deps import Authorized, SessionDep, read_only, require
from central.citizens.models import Citizen
from central.conciliation import catalogues as cat
from central.conciliation import flows, service
from central.conciliation.models import ConcActa, ConcClaim, ConcEvent, ConcFile
from central.conciliation.schemas import (
    ActaRead,
    AttendanceIn,
    Checklist,
    ChecklistItem,
    ConclusionIn,
    CopyIn,
    CopyRead,
    DeadlineRead,
    DeliveryIn,
    DerivationIn,
    DesignationIn,
    DesignationProposal,
    ExtensionIn,
    FileRead,
    FileSummary,
    InvitationCreate,
    InvitationRead,
    ObligationRead,
    ObligationsIn,
    PartyRead,
    ProfessionalIn,
    ReplacementIn,
    SessionCreate,
    SessionRead,
    SolicitudCreate,
    State,
    TimelineEntry,
    VoidIn,
)
from central.conciliation.settings import ConciliationSettings
from central.core import signed
from central.core.http import ERROR_RESPONSES

router = APIRouter(prefix="/conciliation", tags=["conciliación"], responses=ERROR_RESPONSES)
PDF = {200: {"content": {"application/pdf": {}}, "description": "PDF"}}
XLSX_MEDIA = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
REGISTRY_MEDIA = {
    200: {
        "content": {"application/json": {}, "application/pdf": {}, XLSX_MEDIA: {}},
        "description": "JSON, PDF o XLSX según `format`",
    }
}
FileId = Annotated[str, Path(max_length=36)]
ItemId = Annotated[str, Path(max_length=36)]


def conciliation_settings(request: Request) -> ConciliationSettings:
    return request.app.state.conciliation_settings


def paper(request: Request) -> flows.Paper:
    return request.app.state.conciliation_paper


SettingsDep = Annotated[ConciliationSettings, Depends(conciliation_settings)]
PaperDep = Annotated[flows.Paper, Depends(paper)]


def acta_read(session: Session, acta: ConcActa, base_url: str) -> ActaRead:
    from central.conciliation.models import ConcActaVoid

    void = session.exec(select(ConcActaVoid).where(ConcActaVoid.acta_id == acta.id)).first()
    replaced_by = session.exec(
        select(ConcActa.id).where(ConcActa.replaces_acta_id == acta.id)
    ).first()
    return ActaRead(
        id=acta.id,
        file_id=acta.file_id,
        number_text=acta.number_text,
        year=acta.year,
        number=acta.number,
        conclusion_way=acta.conclusion_way,
        issued_at=acta.issued_at,
        pdf_sha256=acta.pdf_sha256,
        verification_code=acta.verification_code,
        verification_url=signed.verification_url(base_url, acta.verification_code),
        replaces_acta_id=acta.replaces_acta_id,
        replaced_by_acta_id=replaced_by,
        voided=void is not None,
        void_reason=void.reason if void else None,
    )


def file_read(
    session: Session, file: ConcFile, settings: ConciliationSettings, base_url: str
) -> FileRead:
    party_rows = service.parties(session=session, file_id=file.id)
    citizens = {
        c.id: c
        for c in session.exec(
            select(Citizen).where(col(Citizen.id).in_([p.citizen_id for p in party_rows]))
        ).all()
    }
    marks = service.attendance_of(session=session, file_id=file.id)
    claims = session.exec(
        select(ConcClaim).where(ConcClaim.file_id == file.id).order_by(col(ConcClaim.ordinal))
    ).all()
    from central.conciliation.models import ConcInvitation

    invitations = session.exec(
        select(ConcInvitation)
        .where(ConcInvitation.file_id == file.id)
        .order_by(col(ConcInvitation.created_at))
    ).all()
    return FileRead(
        id=file.id,
        number=file.number,
        sede_id=file.sede_id,
        matter=file.matter,
        state=file.state,
        state_label=cat.STATES[file.state],
        facts=file.facts,
        controversy=file.controversy,
        requested_on=file.requested_on,
        conciliator_user_id=file.conciliator_user_id,
        verifier_user_id=file.verifier_user_id,
        first_session_on=file.first_session_on,
        audiencia_limit=service.audiencia_limit(file, settings),
        extension_until=file.extension_until,
        conclusion_way=file.conclusion_way,
        conclusion_reason=file.conclusion_reason,
        revision=file.revision,
        parties=[
            PartyRead(
                id=p.id,
                role=p.role,
                ordinal=p.ordinal,
                citizen_id=p.citizen_id,
                label=service.party_label(p),
                has_document=bool(citizens.get(p.citizen_id) and citizens[p.citizen_id].doc_number),
                notice_address=p.notice_address,
                representative_citizen_id=p.representative_citizen_id,
                representative_powers=p.representative_powers,
                witness_citizen_id=p.witness_citizen_id,
            )
            for p in party_rows
        ],
        claims=[
            {"party_id": c.party_id, "description": c.description, "counterclaim": c.counterclaim}
            for c in claims
        ],
        sessions=[
            SessionRead.model_validate(s, from_attributes=True).model_copy(
                update={"attendance": marks.get(s.id, {})}
            )
            for s in service.sessions(session=session, file_id=file.id)
        ],
        invitations=[InvitationRead.model_validate(i, from_attributes=True) for i in invitations],
        obligations=[
            ObligationRead.model_validate(o, from_attributes=True)
            for o in service.obligations(session=session, file_id=file.id)
        ],
        actas=[
            acta_read(session, a, base_url) for a in service.actas(session=session, file_id=file.id)
        ],
        deadlines=[
            DeadlineRead(**d)
            for d in service.deadlines(file=file, settings=settings, session=session)
        ],
    )


def _read(session: Session, file: ConcFile, request: Request) -> FileRead:
    return file_read(
        session,
        file,
        request.app.state.conciliation_settings,
        request.app.state.conciliation_paper.base_url,
    )


# ------------------------------------------------------------------------------ files


@router.get("/catalogues")
def catalogues(
    _: Annotated[Authorized, Depends(require("conciliation.read"))], settings: SettingsDep
) -> dict[str, Any]:
    """States, conclusion ways, modes, delivery modes, obligation kinds, periodicities, the
    Art. 16 items and which matters are (not) conciliable, with Spanish labels."""
    return {
        "states": cat.STATES,
        "ways": cat.WAYS,
        "modes": cat.MODES,
        "delivery_modes": cat.DELIVERY_MODES,
        "obligation_kinds": cat.OBLIGATION_KINDS,
        "periodicities": cat.PERIODICITIES,
        "art16": cat.ART16_ITEMS,
        "conciliable_matters": settings.conciliable_matters,
        "non_conciliable": settings.non_conciliable_reasons,
    }


@router.post("/files", response_model=FileRead, status_code=201)
def create_file(
    body: SolicitudCreate,
    auth: Annotated[Authorized, Depends(require("conciliation.write"))],
    session: SessionDep,
    settings: SettingsDep,
    request: Request,
):
    """Register a solicitud (checked for conciliability and violence flags at once)."""
    file = service.create_solicitud(
        session=session, actor=auth.actor, area=auth.area, settings=settings, data=body
    )
    session.commit()
    return _read(session, file, request)


@router.get("/files", response_model=list[FileSummary])
@read_only
def list_files(
    auth: Annotated[Authorized, Depends(require("conciliation.read"))],
    session: SessionDep,
    state: State | None = None,
    sede_id: Annotated[str | None, Query(max_length=64)] = None,
    mine: bool = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
):
    rows = service.list_files(
        session=session,
        area=auth.area,
        state=state.value if state else None,
        sede_id=sede_id,
        conciliator_user_id=auth.actor.user_id if mine else None,
        limit=limit,
        offset=offset,
    )
    return [FileSummary.model_validate(r, from_attributes=True) for r in rows]


@router.get("/files/{file_id}", response_model=FileRead)
@read_only
def get_file(
    file_id: FileId,
    auth: Annotated[Authorized, Depends(require("conciliation.read"))],
    session: SessionDep,
    request: Request,
):
    return _read(
        session, service.get_file(session=session, file_id=file_id, area=auth.area), request
    )


@router.get("/files/{file_id}/timeline", response_model=list[TimelineEntry])
@read_only
def timeline(
    file_id: FileId,
    auth: Annotated[Authorized, Depends(require("conciliation.read"))],
    session: SessionDep,
):
    service.get_file(session=session, file_id=file_id, area=auth.area)
    rows = session.exec(
        select(ConcEvent).where(ConcEvent.file_id == file_id).order_by(col(ConcEvent.occurred_at))
    ).all()
    return [TimelineEntry.model_validate(r, from_attributes=True) for r in rows]


@router.get("/files/{file_id}/designation-proposal", response_model=list[DesignationProposal])
@read_only
def designation_proposal(
    file_id: FileId,
    auth: Annotated[Authorized, Depends(require("conciliation.designate"))],
    session: SessionDep,
):
    """The sede's conciliators, least loaded first (a person confirms the designation)."""
    file = service.get_file(session=session, file_id=file_id, area=auth.area)
    return [
        DesignationProposal(user_id=u.id, display_name=u.display_name, open_files=n)
        for u, n in service.propose_conciliators(session=session, sede_id=file.sede_id)
    ]


@router.post("/files/{file_id}/designation", response_model=FileRead)
def designate(
    file_id: FileId,
    body: DesignationIn,
    auth: Annotated[Authorized, Depends(require("conciliation.designate"))],
    session: SessionDep,
    settings: SettingsDep,
    request: Request,
):
    file = service.designate(
        session=session,
        actor=auth.actor,
        area=auth.area,
        settings=settings,
        file_id=file_id,
        data=body,
    )
    session.commit()
    return _read(session, file, request)


@router.post("/files/{file_id}/sessions", response_model=SessionRead, status_code=201)
def schedule(
    file_id: FileId,
    body: SessionCreate,
    auth: Annotated[Authorized, Depends(require("conciliation.write"))],
    session: SessionDep,
    settings: SettingsDep,
):
    """Schedule a session of the audiencia única (it becomes appointments at the sede)."""
    row = flows.schedule_session(
        session=session,
        actor=auth.actor,
        area=auth.area,
        settings=settings,
        file_id=file_id,
        data=body,
    )
    session.commit()
    return SessionRead.model_validate(row, from_attributes=True)


@router.post("/files/{file_id}/sessions/{session_id}/attendance", response_model=SessionRead)
def attendance(
    file_id: FileId,
    session_id: ItemId,
    body: AttendanceIn,
    auth: Annotated[Authorized, Depends(require("conciliation.write"))],
    session: SessionDep,
    settings: SettingsDep,
):
    row = service.record_attendance(
        session=session,
        actor=auth.actor,
        area=auth.area,
        settings=settings,
        file_id=file_id,
        session_id=session_id,
        data=body,
    )
    session.commit()
    marks = service.attendance_of(session=session, file_id=file_id).get(row.id, {})
    return SessionRead.model_validate(row, from_attributes=True).model_copy(
        update={"attendance": marks}
    )


@router.post("/files/{file_id}/invitations", response_model=InvitationRead, status_code=201)
def invite(
    file_id: FileId,
    body: InvitationCreate,
    auth: Annotated[Authorized, Depends(require("conciliation.write"))],
    session: SessionDep,
    settings: SettingsDep,
):
    row = service.issue_invitation(
        session=session,
        actor=auth.actor,
        area=auth.area,
        settings=settings,
        file_id=file_id,
        data=body,
    )
    session.commit()
    return InvitationRead.model_validate(row, from_attributes=True)


@router.get("/files/{file_id}/invitations/{invitation_id}/pdf", responses=PDF)
@read_only
def invitation_pdf(
    file_id: FileId,
    invitation_id: ItemId,
    auth: Annotated[Authorized, Depends(require("conciliation.read"))],
    session: SessionDep,
    paper: PaperDep,
) -> Response:
    pdf = flows.invitation_pdf(
        session=session, area=auth.area, file_id=file_id, invitation_id=invitation_id, paper=paper
    )
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": 'inline; filename="invitacion.pdf"'},
    )


@router.post("/files/{file_id}/invitations/{invitation_id}/delivery", response_model=InvitationRead)
def delivery(
    file_id: FileId,
    invitation_id: ItemId,
    body: DeliveryIn,
    auth: Annotated[Authorized, Depends(require("conciliation.write"))],
    session: SessionDep,
):
    row = service.record_delivery(
        session=session,
        actor=auth.actor,
        area=auth.area,
        file_id=file_id,
        invitation_id=invitation_id,
        data=body,
    )
    session.commit()
    return InvitationRead.model_validate(row, from_attributes=True)


@router.post("/files/{file_id}/extension", response_model=FileRead)
def extension(
    file_id: FileId,
    body: ExtensionIn,
    auth: Annotated[Authorized, Depends(require("conciliation.write"))],
    session: SessionDep,
    settings: SettingsDep,
    request: Request,
):
    """Record the parties' agreement to extend the audiencia única beyond 30 days."""
    file = service.record_extension(
        session=session,
        actor=auth.actor,
        area=auth.area,
        settings=settings,
        file_id=file_id,
        data=body,
    )
    session.commit()
    return _read(session, file, request)


@router.put("/files/{file_id}/obligations", response_model=list[ObligationRead])
def put_obligations(
    file_id: FileId,
    body: ObligationsIn,
    auth: Annotated[Authorized, Depends(require("conciliation.write"))],
    session: SessionDep,
):
    rows = service.set_obligations(
        session=session, actor=auth.actor, area=auth.area, file_id=file_id, data=body
    )
    session.commit()
    return [ObligationRead.model_validate(o, from_attributes=True) for o in rows]


@router.post("/files/{file_id}/conclusion", response_model=FileRead)
def conclusion(
    file_id: FileId,
    body: ConclusionIn,
    auth: Annotated[Authorized, Depends(require("conciliation.write"))],
    session: SessionDep,
    request: Request,
):
    file = service.conclude(
        session=session, actor=auth.actor, area=auth.area, file_id=file_id, data=body
    )
    session.commit()
    return _read(session, file, request)


@router.post("/files/{file_id}/derivation", response_model=FileRead)
def derivation(
    file_id: FileId,
    body: DerivationIn,
    auth: Annotated[Authorized, Depends(require("conciliation.write"))],
    session: SessionDep,
    request: Request,
):
    """The way out of a blocked conciliation: derive the file to defensa de víctimas."""
    file = service.derive(
        session=session, actor=auth.actor, area=auth.area, file_id=file_id, data=body
    )
    session.commit()
    return _read(session, file, request)


# ------------------------------------------------------------------------------ acta


@router.get("/files/{file_id}/acta/checklist", response_model=Checklist)
@read_only
def acta_checklist(
    file_id: FileId,
    auth: Annotated[Authorized, Depends(require("conciliation.read"))],
    session: SessionDep,
):
    """The Art. 16 contents of the acta as it would be issued now, item by item."""
    file = service.get_file(session=session, file_id=file_id, area=auth.area)
    items = service.checklist(service.acta_content(session=session, file=file))
    return Checklist(
        complete=not any(m for _, m in items),
        items=[
            ChecklistItem(code=c, label=cat.ART16_ITEMS[c], ok=not m, missing=m) for c, m in items
        ],
    )


@router.get("/files/{file_id}/acta/preview", responses=PDF)
@read_only
def acta_preview(
    file_id: FileId,
    auth: Annotated[Authorized, Depends(require("conciliation.read"))],
    session: SessionDep,
    paper: PaperDep,
) -> Response:
    """The acta as it would be issued now, marked BORRADOR (no number, no signature)."""
    pdf = flows.acta_preview(session=session, area=auth.area, file_id=file_id, paper=paper)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": 'inline; filename="borrador-acta.pdf"'},
    )


@router.post("/files/{file_id}/acta/approval", response_model=FileRead)
def acta_approval(
    file_id: FileId,
    auth: Annotated[Authorized, Depends(require("conciliation.verify"))],
    session: SessionDep,
    request: Request,
):
    """The verifying lawyer's conformity with the draft as it stands."""
    file = service.approve_acta(session=session, actor=auth.actor, area=auth.area, file_id=file_id)
    session.commit()
    return _read(session, file, request)


@router.post("/files/{file_id}/acta", response_model=ActaRead, status_code=201)
def issue_acta(
    file_id: FileId,
    auth: Annotated[Authorized, Depends(require("conciliation.write"))],
    session: SessionDep,
    settings: SettingsDep,
    paper: PaperDep,
):
    """Check (Art. 16), number, render, sign and store the acta. Answers 409 ``acta_issued``
    when it was already issued."""
    acta = flows.issue_acta(
        session=session,
        actor=auth.actor,
        area=auth.area,
        settings=settings,
        file_id=file_id,
        paper=paper,
    )
    session.commit()
    return acta_read(session, acta, paper.base_url)


@router.get("/actas/{acta_id}", response_model=ActaRead)
@read_only
def get_acta(
    acta_id: ItemId,
    auth: Annotated[Authorized, Depends(require("conciliation.read"))],
    session: SessionDep,
    paper: PaperDep,
):
    return acta_read(
        session, service.get_acta(session=session, acta_id=acta_id, area=auth.area), paper.base_url
    )


@router.patch("/actas/{acta_id}")
def edit_acta(
    acta_id: ItemId,
    auth: Annotated[Authorized, Depends(require("conciliation.write"))],
    session: SessionDep,
) -> None:
    """An issued acta is never edited: always 409 ``acta_issued`` (replace it through a new
    session instead)."""
    service.get_acta(session=session, acta_id=acta_id, area=auth.area)
    raise service.ActaIssued()


@router.get("/actas/{acta_id}/pdf", responses=PDF)
@read_only
def acta_pdf(
    acta_id: ItemId,
    auth: Annotated[Authorized, Depends(require("conciliation.read"))],
    session: SessionDep,
    paper: PaperDep,
) -> Response:
    acta = service.get_acta(session=session, acta_id=acta_id, area=auth.area)
    return Response(
        flows.acta_pdf(acta=acta, paper=paper),
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="acta-{acta.number_text}.pdf"'},
    )


@router.get("/actas/{acta_id}/content")
@read_only
def acta_content(
    acta_id: ItemId,
    auth: Annotated[Authorized, Depends(require("conciliation.read"))],
    session: SessionDep,
) -> dict[str, Any]:
    """What the acta says, as issued (its obligations carry the ids compliance refers to)."""
    return json.loads(service.get_acta(session=session, acta_id=acta_id, area=auth.area).content)


@router.post("/actas/{acta_id}/void", response_model=ActaRead)
def void_acta(
    acta_id: ItemId,
    body: VoidIn,
    auth: Annotated[Authorized, Depends(require("conciliation.registry"))],
    session: SessionDep,
    paper: PaperDep,
):
    service.void_acta(
        session=session, actor=auth.actor, area=auth.area, acta_id=acta_id, reason=body.reason
    )
    session.commit()
    return acta_read(
        session, service.get_acta(session=session, acta_id=acta_id, area=auth.area), paper.base_url
    )


@router.post("/actas/{acta_id}/replacement", response_model=SessionRead, status_code=201)
def replacement(
    acta_id: ItemId,
    body: ReplacementIn,
    auth: Annotated[Authorized, Depends(require("conciliation.write"))],
    session: SessionDep,
    settings: SettingsDep,
):
    """Open the new session through which a defective acta is replaced."""
    row = flows.start_replacement(
        session=session,
        actor=auth.actor,
        area=auth.area,
        settings=settings,
        acta_id=acta_id,
        reason=body.reason,
        data=body.session,
    )
    session.commit()
    return SessionRead.model_validate(row, from_attributes=True)


@router.post("/actas/{acta_id}/copies", response_model=CopyRead, status_code=201)
def add_copy(
    acta_id: ItemId,
    body: CopyIn,
    auth: Annotated[Authorized, Depends(require("conciliation.write"))],
    session: SessionDep,
):
    """Register a certified copy (who received which copy, when)."""
    row = service.register_copy(
        session=session, actor=auth.actor, area=auth.area, acta_id=acta_id, data=body
    )
    session.commit()
    return CopyRead.model_validate(row, from_attributes=True)


@router.get("/actas/{acta_id}/copies", response_model=list[CopyRead])
@read_only
def list_copies(
    acta_id: ItemId,
    auth: Annotated[Authorized, Depends(require("conciliation.read"))],
    session: SessionDep,
):
    service.get_acta(session=session, acta_id=acta_id, area=auth.area)
    return [
        CopyRead.model_validate(c, from_attributes=True)
        for c in service.copies(session=session, acta_id=acta_id)
    ]


@router.get("/registry", responses=REGISTRY_MEDIA)
@read_only
def registry(
    auth: Annotated[Authorized, Depends(require("conciliation.registry"))],
    session: SessionDep,
    paper: PaperDep,
    sede_id: Annotated[str, Query(max_length=64)],
    year: Annotated[int, Query(ge=2000, le=2100)],
    format: Annotated[str, Query(pattern="^(json|pdf|xlsx)$")] = "json",
):
    """The registro de actas of a centre and year (JSON, PDF or XLSX)."""
    if format == "json":
        return service.registry_rows(session=session, area=auth.area, sede_id=sede_id, year=year)
    data, media = flows.registry(
        session=session, area=auth.area, sede_id=sede_id, year=year, fmt=format, paper=paper
    )
    return Response(
        data,
        media_type=media,
        headers={
            "Content-Disposition": f'attachment; filename="registro-actas-{sede_id}-{year}.{format}"'
        },
    )


@router.get("/tray")
@read_only
def tray(
    auth: Annotated[Authorized, Depends(require("conciliation.read"))], session: SessionDep
) -> dict[str, Any]:
    """The signed-in conciliator's tray: today's sessions, deliveries coming due, files by stage."""
    data = service.tray(session=session, area=auth.area, user_id=auth.actor.user_id)
    return {
        "today": data["today"].isoformat(),
        "hearings": [
            {
                "file_id": h["file_id"],
                "number": h["number"],
                "session_id": h["session"].id,
                "scheduled_at": h["session"].scheduled_at,
            }
            for h in data["hearings"]
        ],
        "deadlines": [
            {
                "file_id": d["file_id"],
                "number": d["number"],
                "invitation_id": d["invitation"].id,
                "due": d["invitation"].delivery_due,
            }
            for d in data["deadlines"]
        ],
        "stages": data["stages"],
    }


@router.put("/professionals/{user_id}")
def put_professional(
    user_id: ItemId,
    body: ProfessionalIn,
    auth: Annotated[Authorized, Depends(require("conciliation.designate"))],
    session: SessionDep,
) -> dict[str, Any]:
    """Registration numbers the acta needs of a conciliator or verifying lawyer."""
    row = service.set_professional(
        session=session, actor=auth.actor, area=auth.area, user_id=user_id, data=body
    )
    session.commit()
    return row.model_dump(mode="json", exclude={"updated_by"})


__all__ = ["router", "date"]
