"""HTTP API of the citizens registry and of Ley 29360 sworn statements (income: explicit
``income.*`` permissions, every read audited)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from central.auth.deps import Authorized, SessionDep, require
from central.cases.settings import CasesSettings
from central.citizens import service
from central.citizens.schemas import (
    CitizenCreate,
    CitizenRead,
    CitizenUpdate,
    EligibilityCreate,
    EligibilityDecision,
    EligibilityRead,
    EligibilitySummary,
    IdentityLookupRead,
    MergeRead,
    MergeRequest,
)
from central.core.http import ERROR_RESPONSES
from central.reniec import ReniecLookup, make_lookup

router = APIRouter(tags=["ciudadanos"], responses=ERROR_RESPONSES)
CitizenId = Annotated[str, Path(max_length=36)]


def cases_settings(request: Request) -> CasesSettings:
    return request.app.state.cases_settings


@router.get("/citizens", response_model=list[CitizenRead])
def list_citizens(
    auth: Annotated[Authorized, Depends(require("citizens.read"))],
    session: SessionDep,
    response: Response,
    q: Annotated[str | None, Query(max_length=120, description="Nombre o apellidos")] = None,
    doc_number: Annotated[str | None, Query(max_length=20)] = None,
    include_merged: bool = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
):
    rows = service.search_citizens(
        session=session,
        area=auth.area,
        q=q,
        doc_number=doc_number,
        include_merged=include_merged,
        limit=limit + 1,
        offset=offset,
    )
    response.headers["X-Has-More"] = "true" if len(rows) > limit else "false"
    return rows[:limit]


@router.post("/citizens", response_model=CitizenRead, status_code=201)
def create_citizen(
    body: CitizenCreate,
    auth: Annotated[Authorized, Depends(require("citizens.write"))],
    session: SessionDep,
    settings: Annotated[CasesSettings, Depends(cases_settings)],
):
    citizen = service.create_citizen(
        session=session, actor=auth.actor, data=body, area=auth.area, settings=settings
    )
    session.commit()
    return citizen


def identity_lookup(request: Request) -> ReniecLookup:
    """The configured RENIEC adapter (``ALEGRA_RENIEC_ADAPTER``; FakeReniec by default)."""
    adapter = getattr(request.app.state, "identity_lookup", None)
    if adapter is None:
        adapter = request.app.state.identity_lookup = make_lookup()
    return adapter


@router.get("/citizens/lookup", response_model=IdentityLookupRead)
def lookup_citizen(
    auth: Annotated[Authorized, Depends(require("citizens.write"))],
    session: SessionDep,
    lookup: Annotated[ReniecLookup, Depends(identity_lookup)],
    dni: Annotated[str, Query(max_length=20, description="DNI de 8 dígitos")],
):
    """Names, birth date, sex and ubigeo (RENIEC coding) of a DNI from the identity service, to
    prefill a registration; ``status`` says ``found``, ``not_found`` or ``unavailable`` (then
    the person's own declaration is used). Every lookup is audited."""
    result = service.lookup_identity(
        session=session, actor=auth.actor, lookup=lookup, dni=dni, area=auth.area
    )
    session.commit()
    return result


@router.get("/citizens/{citizen_id}", response_model=CitizenRead)
def read_citizen(
    citizen_id: CitizenId,
    auth: Annotated[Authorized, Depends(require("citizens.read"))],
    session: SessionDep,
):
    return service.get_citizen(session=session, citizen_id=citizen_id, area=auth.area)


@router.patch("/citizens/{citizen_id}", response_model=CitizenRead)
def update_citizen(
    citizen_id: CitizenId,
    body: CitizenUpdate,
    auth: Annotated[Authorized, Depends(require("citizens.write"))],
    session: SessionDep,
):
    citizen = service.update_citizen(
        session=session, actor=auth.actor, citizen_id=citizen_id, data=body, area=auth.area
    )
    session.commit()
    return citizen


@router.post("/citizens/{citizen_id}/merge", response_model=MergeRead, status_code=201)
def merge_citizen(
    citizen_id: CitizenId,
    body: MergeRequest,
    auth: Annotated[Authorized, Depends(require("citizens.merge"))],
    session: SessionDep,
):
    """Merge ``merged_id`` into this record (the survivor); references move, history stays."""
    record = service.merge_citizens(
        session=session,
        actor=auth.actor,
        survivor_id=citizen_id,
        merged_id=body.merged_id,
        reason=body.reason,
        area=auth.area,
    )
    session.commit()
    return record


@router.get("/citizens/{citizen_id}/merges", response_model=list[MergeRead])
def merges(
    citizen_id: CitizenId,
    auth: Annotated[Authorized, Depends(require("citizens.read"))],
    session: SessionDep,
):
    citizen = service.get_citizen(session=session, citizen_id=citizen_id, area=auth.area)
    return service.merge_history(session=session, citizen_id=citizen.id)


@router.get("/citizens/{citizen_id}/eligibility/status", response_model=list[EligibilitySummary])
def eligibility_status(
    citizen_id: CitizenId,
    auth: Annotated[Authorized, Depends(require("citizens.read"))],
    session: SessionDep,
):
    """Status and due dates of the sworn statements, without income data."""
    citizen = service.get_citizen(session=session, citizen_id=citizen_id, area=auth.area)
    return service.statement_summaries(session=session, citizen_id=citizen.id)


@router.get("/citizens/{citizen_id}/eligibility", response_model=list[EligibilityRead])
def read_eligibility(
    citizen_id: CitizenId,
    auth: Annotated[Authorized, Depends(require("income.read"))],
    session: SessionDep,
):
    """Full sworn statements with income (sensitive: the read is audited)."""
    rows = service.read_statements(
        session=session, actor=auth.actor, citizen_id=citizen_id, area=auth.area
    )
    session.commit()
    return rows


@router.post(
    "/citizens/{citizen_id}/eligibility", response_model=EligibilitySummary, status_code=201
)
def create_eligibility(
    citizen_id: CitizenId,
    body: EligibilityCreate,
    auth: Annotated[Authorized, Depends(require("income.write"))],
    session: SessionDep,
    settings: Annotated[CasesSettings, Depends(cases_settings)],
):
    statement = service.create_statement(
        session=session,
        actor=auth.actor,
        citizen_id=citizen_id,
        data=body,
        area=auth.area,
        settings=settings,
    )
    session.commit()
    return statement


@router.post("/eligibility/{statement_id}/decision", response_model=EligibilitySummary)
def decide_eligibility(
    statement_id: Annotated[str, Path(max_length=36)],
    body: EligibilityDecision,
    auth: Annotated[Authorized, Depends(require("income.verify"))],
    session: SessionDep,
):
    """Verification outcome: ``verified`` or ``no_gratuidad`` (with its resolution number)."""
    statement = service.decide_statement(
        session=session, actor=auth.actor, statement_id=statement_id, decision=body, area=auth.area
    )
    session.commit()
    return statement


@router.get("/eligibility/overdue", response_model=list[EligibilitySummary])
def overdue_eligibility(
    auth: Annotated[Authorized, Depends(require("cases.supervise"))],
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
):
    """Sworn statements whose verification is overdue (for supervisors)."""
    return service.overdue_verifications(session=session, area=auth.area, limit=limit)
