"""HTTP API of the audit log: search, export and chain verification, for auditors only. Every
search and export is itself audited."""

from __future__ import annotations

import io
import json
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from central.audit import exports, service
from central.audit.models import AuditEvent
from central.audit.schemas import AuditEventRead, AuditPage, VerifyRead
from central.auth.deps import Authorized, SessionDep, require
from central.core.http import ERROR_RESPONSES
from central.domain.clock import as_utc

router = APIRouter(prefix="/audit", tags=["auditoría"], responses=ERROR_RESPONSES)
Text64 = Annotated[str | None, Query(max_length=64)]


class ExportFormat(StrEnum):
    CSV = "csv"
    JSON = "json"


def event_read(event: AuditEvent) -> AuditEventRead:
    return AuditEventRead(
        seq=event.seq,
        id=event.id,
        occurred_at=as_utc(event.occurred_at),  # type: ignore[arg-type]
        actor_user_id=event.actor_user_id,
        actor_username=event.actor_username,
        actor_profiles=[p for p in event.actor_profiles.split(",") if p],
        actor_sede_id=event.actor_sede_id,
        actor_device_id=event.actor_device_id,
        action=event.action,
        entity=event.entity,
        entity_id=event.entity_id,
        sede_id=event.sede_id,
        before=json.loads(event.before_json) if event.before_json else None,
        after=json.loads(event.after_json) if event.after_json else None,
        request_id=event.request_id,
        ip=event.ip,
        hash=event.hash,
    )


def _filter(
    user_id: Text64 = None,
    username: Text64 = None,
    action: Text64 = None,
    entity: Text64 = None,
    entity_id: Text64 = None,
    sede_id: Text64 = None,
    since: datetime | None = None,
    until: datetime | None = None,
    sensitive_reads: Annotated[
        bool, Query(description="Only reads of sensitive data (every such action code)")
    ] = False,
) -> service.AuditFilter:
    return service.AuditFilter(
        user_id=user_id,
        username=username,
        action=action,
        entity=entity,
        entity_id=entity_id,
        sede_id=sede_id,
        since=since,
        until=until,
        sensitive_reads=sensitive_reads,
    )


FilterDep = Annotated[service.AuditFilter, Depends(_filter)]


@router.get("/events", response_model=AuditPage)
def search(
    flt: FilterDep,
    auth: Annotated[Authorized, Depends(require("audit.read"))],
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> AuditPage:
    rows, total = service.search(
        session=session, actor=auth.actor, flt=flt, limit=limit, offset=offset
    )
    session.commit()
    return AuditPage(items=[event_read(r) for r in rows], total=total, limit=limit, offset=offset)


@router.get(
    "/export",
    responses={
        200: {"content": {"text/csv": {"schema": {"type": "string"}}, "application/json": {}}}
    },
    response_class=Response,
)
def export(
    flt: FilterDep,
    auth: Annotated[Authorized, Depends(require("audit.export"))],
    session: SessionDep,
    format: ExportFormat = ExportFormat.CSV,  # noqa: A002
) -> Response:
    buffer = io.StringIO()
    count = exports.write(buffer, service.iter_events(session=session, flt=flt), format.value)
    service.record_export(session=session, actor=auth.actor, flt=flt, fmt=format.value, count=count)
    session.commit()
    return Response(
        buffer.getvalue(),
        media_type=exports.media_type(format.value),
        headers={"Content-Disposition": f'attachment; filename="{exports.filename(format.value)}"'},
    )


@router.get("/verify", response_model=VerifyRead)
def verify(
    request: Request,
    auth: Annotated[Authorized, Depends(require("audit.read"))],
    session: SessionDep,
) -> VerifyRead:
    """The whole chain, with the key and the checkpoints kept outside the database."""
    settings = request.app.state.settings
    result = service.verify_chain(
        session=session, checkpoint_file=settings.resolved_audit_checkpoint_file()
    )
    return VerifyRead(
        ok=result.ok,
        checked=result.checked,
        first_bad_seq=result.first_bad_seq,
        reason=result.reason,
    )
