"""Sensitive notes: written and read only with the explicit ``sensitive.*`` permissions, every
read (of a list or of one note) audited. The audit rows never copy the content."""

from __future__ import annotations

from sqlmodel import Session, col, select

from central.audit import service as audit
from central.auth.policy import Area
from central.domain.actor import Actor
from central.domain.errors import NotFound, PermissionDenied
from central.org.service import get_sede
from central.sensitive.models import SensitiveNote
from central.sensitive.schemas import SensitiveNoteCreate


def create_note(
    *, session: Session, actor: Actor, data: SensitiveNoteCreate, area: Area | None = None
) -> SensitiveNote:
    sede = get_sede(session=session, sede_id=data.sede_id)
    if area is not None and not area.contains(sede_id=sede.id, district_id=sede.district_id):
        raise PermissionDenied()
    note = SensitiveNote(
        sede_id=data.sede_id,
        category=data.category.value,
        subject_ref=data.subject_ref,
        title=data.title,
        body=data.body,
        created_by=actor.user_id,
    )
    session.add(note)
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="sensitive_note.create",
        entity="sensitive_note",
        entity_id=note.id,
        sede_id=note.sede_id,
        after={
            "category": note.category,
            "subject_ref": note.subject_ref,
            "body_chars": len(note.body),
        },
    )
    return note


def list_notes(
    *,
    session: Session,
    actor: Actor,
    area: Area,
    sede_id: str | None = None,
    subject_ref: str | None = None,
    limit: int = 100,
) -> list[SensitiveNote]:
    query = (
        select(SensitiveNote)
        .where(area.where(sede_column=SensitiveNote.sede_id))
        .order_by(col(SensitiveNote.created_at).desc())
    )
    if sede_id:
        query = query.where(SensitiveNote.sede_id == sede_id)
    if subject_ref:
        query = query.where(SensitiveNote.subject_ref == subject_ref)
    notes = list(session.exec(query.limit(limit)).all())
    audit.record(
        session=session,
        actor=actor,
        action="sensitive_note.list",
        entity="sensitive_note",
        sede_id=sede_id,
        after={"ids": [n.id for n in notes], "subject_ref": subject_ref},
    )
    return notes


def read_note(*, session: Session, actor: Actor, note_id: str, area: Area) -> SensitiveNote:
    note = session.get(SensitiveNote, note_id)
    if note is not None:
        sede = get_sede(session=session, sede_id=note.sede_id)
        if not area.contains(sede_id=sede.id, district_id=sede.district_id):
            note = None
    if note is None:
        raise NotFound()
    audit.record(
        session=session,
        actor=actor,
        action="sensitive_note.read",
        entity="sensitive_note",
        entity_id=note.id,
        sede_id=note.sede_id,
    )
    return note
