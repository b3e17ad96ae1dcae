"""HTTP API of sensitive notes (explicit ``sensitive.*`` permissions; every read audited)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from central.auth.deps import Authorized, SessionDep, require
from central.core.http import ERROR_RESPONSES
from central.sensitive import service
from central.sensitive.schemas import SensitiveNoteCreate, SensitiveNoteRead, SensitiveNoteSummary

router = APIRouter(prefix="/sensitive-notes", tags=["datos sensibles"], responses=ERROR_RESPONSES)


@router.get("", response_model=list[SensitiveNoteSummary])
def list_notes(
    auth: Annotated[Authorized, Depends(require("sensitive.read"))],
    session: SessionDep,
    sede_id: Annotated[str | None, Query(max_length=64)] = None,
    subject_ref: Annotated[str | None, Query(max_length=64)] = None,
):
    notes = service.list_notes(
        session=session, actor=auth.actor, area=auth.area, sede_id=sede_id, subject_ref=subject_ref
    )
    session.commit()
    return notes


@router.post("", response_model=SensitiveNoteRead, status_code=201)
def create_note(
    body: SensitiveNoteCreate,
    auth: Annotated[Authorized, Depends(require("sensitive.write"))],
    session: SessionDep,
):
    note = service.create_note(session=session, actor=auth.actor, data=body, area=auth.area)
    session.commit()
    return note


@router.get("/{note_id}", response_model=SensitiveNoteRead)
def read_note(
    note_id: Annotated[str, Path(max_length=64)],
    auth: Annotated[Authorized, Depends(require("sensitive.read"))],
    session: SessionDep,
):
    note = service.read_note(session=session, actor=auth.actor, note_id=note_id, area=auth.area)
    session.commit()
    return note
