"""HTTP API of case files (``/api/v1/cases``)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Path, Query, Request, Response, UploadFile
from sqlmodel import Session

from central.audit import service as audit
from central.auth.deps import Authorized, Principal, SessionDep, require, signed_in
from central.auth.policy import Area, area_for
from central.cases import catalogues as cat
from central.cases import service
from central.cases.intake import ingest_intakes
from central.cases.letters import PdfUnavailable, html_to_pdf, render_letter_html
from central.cases.models import CaseFile, CaseReferral
from central.cases.schemas import (
    ActionCreate,
    ActionRead,
    AlertRead,
    CaseCreate,
    CaseRead,
    CaseSummary,
    CaseUpdate,
    CatalogueEntry,
    DeadlineCreate,
    DeadlineRead,
    DocumentCategory,
    DocumentRead,
    IngestReport,
    NoteHit,
    PartyCreate,
    PartyRead,
    PartyRemoval,
    ReferralCreate,
    ReferralDecision,
    ReferralRead,
    RestrictedParts,
    State,
    TimelineEntry,
    TransitionRequest,
)
from central.cases.settings import CasesSettings
from central.citizens.models import Citizen
from central.core.http import ERROR_RESPONSES
from central.documents.storage import DocumentStorage, LocalDirectoryStorage
from central.domain.actor import Actor
from central.domain.errors import DomainError, PermissionDenied, ValidationFailed
from central.org.service import get_sede

router = APIRouter(prefix="/cases", tags=["expedientes"], responses=ERROR_RESPONSES)
CaseId = Annotated[str, Path(max_length=36)]
ItemId = Annotated[str, Path(max_length=36)]


def cases_settings(request: Request) -> CasesSettings:
    return request.app.state.cases_settings


def document_storage(request: Request) -> DocumentStorage:
    storage = getattr(request.app.state, "document_storage", None)
    if storage is None:
        storage = LocalDirectoryStorage(request.app.state.cases_settings.documents_dir)
        request.app.state.document_storage = storage
    return storage


SettingsDep = Annotated[CasesSettings, Depends(cases_settings)]
StorageDep = Annotated[DocumentStorage, Depends(document_storage)]


def may_see_restricted(actor: Actor, case: CaseFile) -> bool:
    return area_for(actor, "cases.sensitive").contains(
        sede_id=case.sede_id, district_id=case.district_id
    )


def case_read(session: Session, case: CaseFile) -> CaseRead:
    data = CaseRead.model_validate(case, from_attributes=True)
    data.parties = [
        PartyRead.model_validate(p)
        for p in service.parties(session=session, case_id=case.id, restricted=False)
    ]
    data.restricted_items = service.restricted_count(session=session, case_id=case.id)
    return data


# --------------------------------------------------------------------------- collection


@router.get("", response_model=list[CaseSummary])
def list_cases(
    auth: Annotated[Authorized, Depends(require("cases.read"))],
    session: SessionDep,
    response: Response,
    sede_id: Annotated[str | None, Query(max_length=64)] = None,
    state: State | None = None,
    matter: Annotated[str | None, Query(max_length=40)] = None,
    service_code: Annotated[str | None, Query(alias="service", max_length=30)] = None,
    number: Annotated[str | None, Query(max_length=60)] = None,
    judicial_number: Annotated[str | None, Query(max_length=40)] = None,
    doc_number: Annotated[str | None, Query(max_length=20)] = None,
    name: Annotated[str | None, Query(max_length=120)] = None,
    opened_from: date | None = None,
    opened_to: date | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
):
    """Search by document, name, file number, judicial number, matter, state, service, sede or
    opening dates (``X-Has-More`` tells whether another page exists)."""
    rows = service.search_cases(
        session=session,
        area=auth.area,
        filters=service.CaseFilters(
            sede_id=sede_id,
            state=state.value if state else None,
            matter=matter,
            service=service_code,
            number=number,
            judicial_number=judicial_number,
            doc_number=doc_number,
            name=name,
            opened_from=opened_from,
            opened_to=opened_to,
        ),
        limit=limit + 1,
        offset=offset,
    )
    response.headers["X-Has-More"] = "true" if len(rows) > limit else "false"
    return rows[:limit]


@router.post("", response_model=CaseRead, status_code=201)
def open_case(
    body: CaseCreate,
    auth: Annotated[Authorized, Depends(require("cases.write"))],
    session: SessionDep,
    settings: SettingsDep,
):
    case = service.open_case(
        session=session, actor=auth.actor, data=body, area=auth.area, settings=settings
    )
    session.commit()
    return case_read(session, case)


@router.get("/catalogues", response_model=dict[str, list[CatalogueEntry]])
def catalogues(_: Annotated[Principal, Depends(signed_in)]):
    """Services, matters, attention types, states, outcomes, action types, party roles,
    institutions and document categories, with their Spanish labels."""
    tables = {
        "services": cat.SERVICES,
        "matters": cat.MATTERS,
        "attention_types": cat.ATTENTION_TYPES,
        "states": cat.STATES,
        "outcomes": cat.OUTCOMES,
        "action_types": cat.ACTION_TYPES,
        "party_roles": cat.PARTY_ROLES,
        "institutions": cat.INSTITUTIONS,
        "document_categories": cat.DOCUMENT_CATEGORIES,
    }
    return {
        name: [CatalogueEntry(code=k, label=v) for k, v in table.items()]
        for name, table in tables.items()
    }


@router.get("/notes-search", response_model=list[NoteHit])
def search_notes(
    auth: Annotated[Authorized, Depends(require("cases.read"))],
    session: SessionDep,
    q: Annotated[str, Query(min_length=2, max_length=200)],
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
):
    """Full-text search over the notes of actions (restricted actions excluded)."""
    hits = service.search_notes(session=session, area=auth.area, query=q, limit=limit)
    return [
        NoteHit(
            action_id=h.action_id,
            case_id=h.case_id,
            case_number=h.case_number,
            action_type=h.action_type,
            action_date=h.action_date,
            snippet=service.snippet(h.notes, q),
        )
        for h in hits
    ]


@router.get("/overdue", response_model=list[DeadlineRead])
def overdue(
    auth: Annotated[Authorized, Depends(require("cases.supervise"))],
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
):
    """Pending deadlines already past their due date, oldest first (supervisors)."""
    return [
        d
        for d, _ in service.overdue_deadlines(
            session=session, area=auth.area, limit=limit, offset=offset
        )
    ]


@router.get("/dashboard")
def dashboard(
    auth: Annotated[Authorized, Depends(require("cases.supervise"))],
    session: SessionDep,
    district_id: Annotated[str, Query(max_length=64)],
    year: Annotated[int, Query(ge=2000, le=2100)],
    month: Annotated[int, Query(ge=1, le=12)],
) -> dict[str, object]:
    """Supervision figures of a district for a month."""
    return service.district_month_dashboard(
        session=session, area=auth.area, district_id=district_id, year=year, month=month
    )


@router.post("/ingest-intakes", response_model=IngestReport)
def ingest(
    auth: Annotated[Authorized, Depends(require("cases.supervise"))],
    session: SessionDep,
    settings: SettingsDep,
):
    """Open or update files from synced counter intakes now (the scheduler also does it)."""
    if not auth.area.national:
        raise PermissionDenied("Solo el nivel nacional puede forzar la ingesta.")
    report = ingest_intakes(session=session, settings=settings)
    audit.record(
        session=session,
        actor=auth.actor,
        action="case.ingest_intakes",
        entity="case_file",
        after=report.model_dump(),
    )
    session.commit()
    return report


@router.get("/alerts", response_model=list[AlertRead])
def my_alerts(principal: Annotated[Principal, Depends(signed_in)], session: SessionDep):
    """Deadline alerts of the signed-in person, unread first."""
    return service.alerts_for(session=session, user_id=principal.user.id)


@router.post("/alerts/{alert_id}/read", response_model=AlertRead)
def read_alert(
    alert_id: ItemId, principal: Annotated[Principal, Depends(signed_in)], session: SessionDep
):
    alert = service.mark_alert_read(session=session, actor=principal.actor, alert_id=alert_id)
    session.commit()
    return alert


@router.post("/referrals/{referral_id}/decision", response_model=ReferralRead)
def decide_referral(
    referral_id: ItemId,
    body: ReferralDecision,
    auth: Annotated[Authorized, Depends(require("cases.write"))],
    session: SessionDep,
):
    """The receiving sede accepts (the file moves to it) or rejects an internal referral."""
    referral = service.decide_referral(
        session=session, actor=auth.actor, referral_id=referral_id, data=body, area=auth.area
    )
    session.commit()
    return referral


# --------------------------------------------------------------------------- one file


@router.get("/{case_id}", response_model=CaseRead)
def read_case(
    case_id: CaseId,
    auth: Annotated[Authorized, Depends(require("cases.read"))],
    session: SessionDep,
):
    """The file without its restricted parts (``restricted_items`` counts them)."""
    case = service.get_case(session=session, case_id=case_id, area=auth.area)
    return case_read(session, case)


@router.patch("/{case_id}", response_model=CaseRead)
def update_case(
    case_id: CaseId,
    body: CaseUpdate,
    auth: Annotated[Authorized, Depends(require("cases.write"))],
    session: SessionDep,
):
    case = service.update_case(
        session=session, actor=auth.actor, case_id=case_id, data=body, area=auth.area
    )
    session.commit()
    return case_read(session, case)


@router.post("/{case_id}/transitions", response_model=CaseRead)
def change_state(
    case_id: CaseId,
    body: TransitionRequest,
    auth: Annotated[Authorized, Depends(require("cases.write"))],
    session: SessionDep,
):
    case = service.transition(
        session=session, actor=auth.actor, case_id=case_id, data=body, area=auth.area
    )
    session.commit()
    return case_read(session, case)


@router.post("/{case_id}/parties", response_model=PartyRead, status_code=201)
def add_party(
    case_id: CaseId,
    body: PartyCreate,
    auth: Annotated[Authorized, Depends(require("cases.write"))],
    session: SessionDep,
):
    party = service.add_party_to(
        session=session, actor=auth.actor, case_id=case_id, data=body, area=auth.area
    )
    session.commit()
    return party


@router.post("/{case_id}/parties/{party_id}/removal", response_model=PartyRead)
def remove_party(
    case_id: CaseId,
    party_id: ItemId,
    body: PartyRemoval,
    auth: Annotated[Authorized, Depends(require("cases.write"))],
    session: SessionDep,
):
    """Withdraw a party (not the client); the row and the timeline keep who, when and why."""
    party = service.remove_party(
        session=session,
        actor=auth.actor,
        case_id=case_id,
        party_id=party_id,
        reason=body.reason,
        area=auth.area,
        sensitive_area=area_for(auth.actor, "cases.sensitive"),
    )
    session.commit()
    return party


@router.get("/{case_id}/restricted", response_model=RestrictedParts)
def read_restricted(
    case_id: CaseId,
    auth: Annotated[Authorized, Depends(require("cases.sensitive"))],
    session: SessionDep,
):
    """Victims, minors, restricted actions and documents (sensitive: the read is audited)."""
    _, parties, actions, documents = service.read_restricted(
        session=session, actor=auth.actor, case_id=case_id, area=auth.area
    )
    session.commit()
    return RestrictedParts(
        parties=[PartyRead.model_validate(p) for p in parties],
        actions=[ActionRead.model_validate(a) for a in actions],
        documents=[DocumentRead.model_validate(d) for d in documents],
    )


@router.get("/{case_id}/timeline", response_model=list[TimelineEntry])
def read_timeline(
    case_id: CaseId,
    auth: Annotated[Authorized, Depends(require("cases.read"))],
    session: SessionDep,
):
    """Everything that happened in the file; restricted entries are masked."""
    case = service.get_case(session=session, case_id=case_id, area=auth.area)
    events = service.timeline(session=session, case_id=case.id, show_restricted=False)
    return [
        TimelineEntry(
            kind=e.kind,
            label=cat.EVENT_LABELS.get(e.kind, e.kind),
            summary=e.summary,
            ref_id=None if e.restricted else e.ref_id,
            restricted=e.restricted,
            actor_name=e.actor_name,
            occurred_at=e.occurred_at,
        )
        for e in events
    ]


@router.get("/{case_id}/actions", response_model=list[ActionRead])
def list_actions(
    case_id: CaseId,
    auth: Annotated[Authorized, Depends(require("cases.read"))],
    session: SessionDep,
):
    case = service.get_case(session=session, case_id=case_id, area=auth.area)
    return service.list_actions(session=session, case_id=case.id)


@router.post("/{case_id}/actions", response_model=ActionRead, status_code=201)
def add_action(
    case_id: CaseId,
    body: ActionCreate,
    auth: Annotated[Authorized, Depends(require("cases.write"))],
    session: SessionDep,
    settings: SettingsDep,
):
    """An action (filing, hearing, visit, diligence...), optionally opening a deadline."""
    action, _ = service.add_action(
        session=session,
        actor=auth.actor,
        case_id=case_id,
        data=body,
        area=auth.area,
        settings=settings,
    )
    session.commit()
    return action


@router.get("/{case_id}/deadlines", response_model=list[DeadlineRead])
def list_deadlines(
    case_id: CaseId,
    auth: Annotated[Authorized, Depends(require("cases.read"))],
    session: SessionDep,
):
    case = service.get_case(session=session, case_id=case_id, area=auth.area)
    return service.list_deadlines(session=session, case_id=case.id)


@router.post("/{case_id}/deadlines", response_model=DeadlineRead, status_code=201)
def add_deadline(
    case_id: CaseId,
    body: DeadlineCreate,
    auth: Annotated[Authorized, Depends(require("cases.write"))],
    session: SessionDep,
    settings: SettingsDep,
):
    """A deadline in business days (Peruvian holidays) or with an explicit due date."""
    deadline = service.add_deadline(
        session=session,
        actor=auth.actor,
        case_id=case_id,
        data=body,
        area=auth.area,
        settings=settings,
    )
    session.commit()
    return deadline


@router.post("/{case_id}/deadlines/{deadline_id}/done", response_model=DeadlineRead)
def complete_deadline(
    case_id: CaseId,
    deadline_id: ItemId,
    auth: Annotated[Authorized, Depends(require("cases.write"))],
    session: SessionDep,
):
    case = service.get_case(session=session, case_id=case_id, area=auth.area)
    deadline = service.complete_deadline(
        session=session, actor=auth.actor, deadline_id=deadline_id, area=auth.area
    )
    if deadline.case_id != case.id:
        raise ValidationFailed("El plazo no es de este expediente.")
    session.commit()
    return deadline


@router.get("/{case_id}/referrals", response_model=list[ReferralRead])
def list_referrals(
    case_id: CaseId,
    auth: Annotated[Authorized, Depends(require("cases.read"))],
    session: SessionDep,
):
    case = service.get_case(session=session, case_id=case_id, area=auth.area)
    return service.list_referrals(session=session, case_id=case.id)


@router.post("/{case_id}/referrals", response_model=ReferralRead, status_code=201)
def create_referral(
    case_id: CaseId,
    body: ReferralCreate,
    auth: Annotated[Authorized, Depends(require("cases.write"))],
    session: SessionDep,
):
    """Internal (another sede or service; the file follows once accepted) or external
    (Ministerio Público, PNP, CEM, DEMUNA, Poder Judicial...)."""
    referral = service.create_referral(
        session=session, actor=auth.actor, case_id=case_id, data=body, area=auth.area
    )
    session.commit()
    return referral


def letter_html(
    session: Session, request: Request, case: CaseFile, referral: CaseReferral, signer: str
) -> str:
    settings = request.app.state.settings
    sede = get_sede(session=session, sede_id=referral.from_sede_id)
    target = get_sede(session=session, sede_id=referral.to_sede_id) if referral.to_sede_id else None
    client = session.get(Citizen, case.client_citizen_id)
    return render_letter_html(
        {
            "case": case,
            "referral": referral,
            "institution_name": settings.institution_name,
            "service_name": settings.service_name,
            "sede_name": sede.name,
            "place": sede.address,
            "target_name": target.name if target else "",
            "client_name": f"{client.given_names} {client.surnames}".strip() if client else "",
            "client_document": f"{client.doc_type.upper()} {client.doc_number}"
            if client and client.doc_number
            else "",
            "signer": signer,
        }
    )


@router.get(
    "/{case_id}/referrals/{referral_id}/letter",
    responses={200: {"content": {"text/html": {}, "application/pdf": {}}}},
)
def referral_letter(
    case_id: CaseId,
    referral_id: ItemId,
    request: Request,
    auth: Annotated[Authorized, Depends(require("cases.read"))],
    session: SessionDep,
    format: Annotated[str, Query(pattern="^(html|pdf)$")] = "html",
) -> Response:
    """The referral letter, as HTML or PDF (printed by headless Chromium); audited."""
    return referral_letter_response(
        session,
        request,
        case_id=case_id,
        referral_id=referral_id,
        area=auth.area,
        actor=auth.actor,
        signer=auth.user.display_name,
        fmt=format,
    )


def referral_letter_response(
    session: Session,
    request: Request,
    *,
    case_id: str,
    referral_id: str,
    area: Area,
    actor: Actor,
    signer: str,
    fmt: str,
    via: str | None = None,
    pdf_failure: str = "No se pudo generar el PDF; descargue la versión HTML.",
    html_headers: dict[str, str] | None = None,
) -> Response:
    """The referral letter of ``referral_id`` (which must belong to ``case_id``, within
    ``area``) as HTML or PDF, with its audit row (``via`` marks where it was asked from);
    commits. Shared by the API and the web page."""
    referral, case = service.get_referral(session=session, referral_id=referral_id, area=area)
    if case.id != case_id:
        raise ValidationFailed("La derivación no es de este expediente.")
    html = letter_html(session, request, case, referral, signer)
    service._audit(
        session,
        actor,
        "case.referral_letter",
        case,
        entity="case_referral",
        entity_id=referral.id,
        after={"format": fmt} | ({"via": via} if via else {}),
    )
    if fmt == "pdf":
        try:
            pdf = html_to_pdf(html)
        except (PdfUnavailable, OSError) as exc:
            session.rollback()
            raise DomainError(pdf_failure) from exc
        session.commit()
        return Response(
            pdf,
            media_type="application/pdf",
            headers={"Content-Disposition": f'attachment; filename="derivacion-{case.number}.pdf"'},
        )
    session.commit()
    return Response(html, media_type="text/html; charset=utf-8", headers=html_headers)


@router.get("/{case_id}/documents", response_model=list[DocumentRead])
def list_documents(
    case_id: CaseId,
    auth: Annotated[Authorized, Depends(require("cases.read"))],
    session: SessionDep,
):
    case = service.get_case(session=session, case_id=case_id, area=auth.area)
    return service.list_documents(session=session, case_id=case.id)


@router.post("/{case_id}/documents", response_model=DocumentRead, status_code=201)
def upload_document(
    case_id: CaseId,
    auth: Annotated[Authorized, Depends(require("cases.write"))],
    session: SessionDep,
    settings: SettingsDep,
    storage: StorageDep,
    file: Annotated[UploadFile, File(description="PDF, JPG, PNG, TXT, ODT o DOCX")],
    category: Annotated[DocumentCategory, Form()] = DocumentCategory("otro"),  # type: ignore[call-arg]
    restricted: Annotated[bool, Form()] = False,
):
    """Upload with type and size limits; the SHA-256 is recorded and the bytes are stored
    outside the database."""
    document = store_upload(
        session=session,
        actor=auth.actor,
        case_id=case_id,
        area=auth.area,
        storage=storage,
        settings=settings,
        upload=file,
        category=category.value,
        restricted=restricted,
    )
    return document


def store_upload(*, session, actor, case_id, area, storage, settings, upload, category, restricted):  # noqa: ANN001, ANN201
    """Store then commit; if the commit fails the stored bytes are removed (nothing half-kept)."""
    document = service.upload_document(
        session=session,
        actor=actor,
        case_id=case_id,
        area=area,
        storage=storage,
        settings=settings,
        filename=upload.filename or "",
        stream=upload.file,
        category=category,
        restricted=restricted,
    )
    try:
        session.commit()
    except BaseException:
        storage.delete(document.storage_key)
        raise
    return document


@router.get(
    "/{case_id}/documents/{document_id}/content",
    responses={200: {"content": {"application/octet-stream": {}}}},
)
def download_document(
    case_id: CaseId,
    document_id: ItemId,
    auth: Annotated[Authorized, Depends(require("cases.read"))],
    session: SessionDep,
    storage: StorageDep,
) -> Response:
    """The file's bytes (integrity checked); every download is audited."""
    document, data = service.download_document(
        session=session,
        actor=auth.actor,
        case_id=case_id,
        document_id=document_id,
        area=auth.area,
        sensitive_area=area_for(auth.actor, "cases.sensitive"),
        storage=storage,
    )
    session.commit()
    return Response(
        data,
        media_type=document.content_type,
        headers={
            "Content-Disposition": f'attachment; filename="{document.filename}"',
            "X-Content-SHA256": document.sha256,
        },
    )
