"""HTTP side of sync: ``/api/v1/sync/...`` for hubs (device credential) and administrators,
and the per-sede status page ``/sincronizacion``.

Each request is one transaction on the request's session connection (the device check shares
it, so SQLite's single writer is never waited on twice). Central sheds load with 429 +
Retry-After when more batches are being applied than ``ALEGRA_SYNC_MAX_CONCURRENT``.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from pathlib import Path as FsPath
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import from_json
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from central.audit import service as audit
from central.auth.deps import Authorized, SessionDep, current_device, require
from central.auth.policy import ALLOWED_SCOPES, ScopeKind
from central.core.http import ERROR_RESPONSES, error_response
from central.devices.models import Device
from central.domain.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from central.domain.text import Line, Text
from central.sync import models as m
from central.sync import service
from central.sync.gcpause import collection_paused
from central.users.models import User
from central.users.service import profiles_of
from contracts.errors import ErrorCode
from contracts.sync import (
    Change,
    EpochConflict,
    PullPage,
    PushAck,
    PushBatch,
    RecordType,
    software_release,
)
from sync.protocol.cursor import BadCursor, Cursor
from sync.protocol.records import INTAKE_STATUSES

HUB_STAFF_PROFILES = {p.value for p, scopes in ALLOWED_SCOPES.items() if ScopeKind.SEDE in scopes}


class SyncSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ALEGRA_SYNC_", extra="ignore")

    max_concurrent: int = Field(default=4, ge=0)  # batches applied at once per process
    retry_after_s: int = Field(default=5, ge=1)
    max_batch_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)
    page_limit: int = Field(default=500, ge=1, le=5000)
    # appointments travel for today and the next N days (sede time); past ones are withdrawn
    appointment_days: int = Field(default=7, ge=0, le=90)


class _Gate:
    """Non-blocking admission: a request that finds every slot busy is told to come back."""

    def __init__(self, slots: int) -> None:
        self._sem = threading.BoundedSemaphore(slots) if slots > 0 else None

    def __enter__(self) -> bool:
        return self._sem is not None and self._sem.acquire(blocking=False)

    def release(self) -> None:
        assert self._sem is not None
        self._sem.release()


log = logging.getLogger(__name__)
router = APIRouter(prefix="/sync", tags=["sincronización"], responses=ERROR_RESPONSES)
DeviceDep = Annotated[Device, Depends(current_device)]


def _settings(request: Request) -> SyncSettings:
    return request.app.state.sync_settings


def _busy(request: Request) -> JSONResponse:
    retry = _settings(request).retry_after_s
    return error_response(
        request, 429, ErrorCode.RATE_LIMITED, None, [], {"Retry-After": str(retry)}
    )


def _admitted(request: Request) -> bool:
    gate: _Gate = request.app.state.sync_gate
    return gate.__enter__()


def _area_sedes(auth: Authorized) -> list[str] | None:
    if auth.area.national:
        return None
    return sorted(auth.area.sede_ids)


def _audit(
    session: Session,
    auth: Authorized,
    action: str,
    entity: str,
    row: dict[str, Any],
    after: dict[str, Any],
) -> None:
    """The audit row of a central write through the sync API, in the request's transaction
    (never the texts of an intake: no citizen data in the audit log)."""
    audit.record(
        session=session,
        actor=auth.actor,
        action=action,
        entity=entity,
        entity_id=str(row["id"]),
        sede_id=row.get("sede_id"),
        after={**after, "revision": row.get("revision")},
    )


def _check_sede(auth: Authorized, session: Session, sede_id: str) -> None:
    from central.org.models import Sede

    sede = session.get(Sede, sede_id)
    if sede is None or not auth.area.contains(sede_id=sede.id, district_id=sede.district_id):
        raise NotFound("La sede no existe.")


@router.post(
    "/push",
    response_model=PushAck,
    responses={409: {"model": EpochConflict}, 413: {}, 429: {}},
)
async def push(request: Request, device: DeviceDep, session: SessionDep) -> Any:
    """A hub sends a batch of its outbox; central applies it once and answers with the
    highest contiguous sequence it holds for that epoch."""
    settings = _settings(request)
    try:
        body = await request.body()
    except ClientDisconnect:
        # the hub gave up mid-upload (its timeout, a cut link): nothing was read, nothing is
        # applied, and it sends the batch again; routine on a bad link, not a server error
        log.warning(
            "sync push: the hub disconnected before its batch arrived (sede %s); it will "
            "send it again",
            device.sede_id,
        )
        return Response(status_code=499)  # "client closed request", as proxies log it
    if len(body) > settings.max_batch_bytes:
        return error_response(
            request,
            413,
            ErrorCode.PAYLOAD_TOO_LARGE,
            f"El lote supera {settings.max_batch_bytes} bytes; envíe lotes más pequeños.",
            [],
            {"X-Max-Batch-Bytes": str(settings.max_batch_bytes)},
        )
    with collection_paused():
        batch = parse_batch(body)
    if batch.sede_id != device.sede_id:
        raise PermissionDenied("El dispositivo no pertenece a esa sede.")
    if not _admitted(request):
        session.commit()
        return _busy(request)
    try:
        # an event can only carry a NUL (refused by PostgreSQL text) through its escape
        nul_free = b"\\u0000" not in body
        answer = await run_in_threadpool(_apply, session, device.sede_id, batch, nul_free)
    finally:
        request.app.state.sync_gate.release()
    if any(e.aggregate_type == "case_intake" for e in batch.events):
        # committed: whoever turns intakes into case files (Module 02) may start now, so the
        # counter gets its file number in seconds instead of at the next scheduled round
        for listener in getattr(request.app.state, "intake_listeners", ()):
            listener()
    return answer


def parse_batch(body: bytes) -> PushBatch:
    """The request body as a ``PushBatch``; ``ValidationFailed`` (422) when it is not JSON or
    not a batch. Read by pydantic-core's JSON parser (strict JSON: no NaN or Infinity
    literals), whose cache of short strings makes the ids, keys and codes that repeat across a
    batch's events one object each: measured, about a fifth less CPU per event than
    ``orjson.loads`` once allocating and freeing the batch are counted."""
    try:
        data = from_json(body, allow_inf_nan=False)
    except ValueError:
        raise ValidationFailed("El lote de sincronización no es JSON válido.") from None
    try:
        return PushBatch.model_validate(data)
    except ValidationError as exc:
        raise ValidationFailed(
            "El lote de sincronización no es válido: "
            + "; ".join(e["msg"] for e in exc.errors()[:3])
        ) from None


def _apply(session: Session, sede_id: str, batch: PushBatch, nul_free: bool = False) -> Any:
    try:
        with collection_paused():
            # worked out before the transaction waits for the sede's lock: the agent's next
            # batch is validated while the previous one's statements run
            prepared = service.prepare_batch(sede_id=sede_id, batch=batch, nul_free=nul_free)
            ack = service.apply_batch(
                session.connection(),
                sede_id=sede_id,
                batch=batch,
                nul_free=nul_free,
                prepared=prepared,
            )
    except service.EpochConflictError as exc:
        session.rollback()
        return JSONResponse(
            status_code=409,
            content=EpochConflict(
                message="La sede ya envió otros eventos con esa numeración: abra una época nueva.",
                hub_epoch=exc.hub_epoch,
                held_through=exc.held_through,
            ).model_dump(),
        )
    session.commit()
    return ack


@router.get("/pull", response_model=PullPage)
def pull(
    request: Request,
    device: DeviceDep,
    session: SessionDep,
    cursor: Annotated[str, Query(max_length=80)] = "",
    limit: Annotated[int | None, Query(ge=1, le=5000)] = None,
) -> PullPage:
    """The next page of central-owned changes for the device's sede after ``cursor``."""
    try:
        position = Cursor.decode(cursor)
    except BadCursor as exc:
        raise ValidationFailed(str(exc)) from None
    service.publish_derived(
        session.connection(),
        sede_id=device.sede_id,
        documents=derived_documents(
            session, device.sede_id, appointment_days=_settings(request).appointment_days
        ),
    )
    session.commit()  # logged rows become servable once their transaction is over
    page = service.pull_page(
        session.connection(),
        sede_id=device.sede_id,
        cursor=position,
        limit=limit or _settings(request).page_limit,
    )
    session.commit()
    return page


def derived_documents(
    session: Session, sede_id: str, *, appointment_days: int = 7, now: datetime | None = None
) -> list[Change]:
    """The sede's configuration, the users allowed to sign in at its counters (argon2 hashes
    so the hub signs them in offline; inactive users travel as revoked) and its appointments
    of today and the next ``appointment_days`` days in the sede's time zone (one that leaves
    that window, or is deleted, travels as a tombstone)."""
    from central.cases import catalogues as case_catalogues
    from central.org import service as org

    config = org.hub_config(session=session, sede_id=sede_id).model_dump(mode="json")
    config.pop("staff", None)
    docs = [Change(record_type=RecordType.SEDE_CONFIG, record_id=sede_id, revision=0, body=config)]
    # the matters a counter offers when it opens a case intake (hub.domain.intake)
    docs.append(
        Change(
            record_type=RecordType.CASE_CATALOGUE,
            record_id="matters",
            revision=0,
            body={"matters": [{"code": c, "name": n} for c, n in case_catalogues.MATTERS.items()]},
        )
    )
    docs += service.appointment_documents(
        session.connection(),
        sede_id=sede_id,
        timezone=config.get("timezone") or "America/Lima",
        days=appointment_days,
        now=now,
    )
    users = session.exec(
        select(User).where(User.sede_id == sede_id).order_by(col(User.username))
    ).all()
    for user in users:
        if not set(profiles_of(session, user.id)) & HUB_STAFF_PROFILES:
            continue
        docs.append(
            Change(
                record_type=RecordType.STAFF_USER,
                record_id=user.username,
                revision=0,
                body={
                    "username": user.username,
                    "display_name": user.display_name,
                    "password_hash": user.password_hash,
                    "counters": [],
                    "active": bool(user.active),
                },
            )
        )
    return docs


# ---------------------------------------------------------------------------- administration


class SedeSyncStatus(BaseModel):
    sede_id: str
    last_contact_at: datetime | None
    last_push_at: datetime | None
    last_pull_at: datetime | None
    backlog: int
    lag_s: float | None
    silent: bool
    current_epoch: int | None
    events_total: int
    dead_letters: int
    open_conflicts: int
    hub_release: str | None = Field(description="ALEGRA release the hub reported")
    release_differs: bool = Field(description="the hub runs another release than central")
    clock_skew_s: int | None = Field(
        description="hub clock minus central's at the last push (positive: hub ahead)"
    )
    clock_off: bool = Field(description="the skew is beyond CLOCK_OFF_AFTER_S")


@router.get("/status", response_model=list[SedeSyncStatus])
def status(
    auth: Annotated[Authorized, Depends(require("sync.read"))], session: SessionDep
) -> list[dict[str, Any]]:
    """Per sede: last contact, lag, backlog reported by the hub, silent flag, and the hub's
    release and clock against central's."""
    return service.sede_status(session.connection(), sede_ids=_area_sedes(auth))


@router.get("/dead-letters")
def dead_letters(
    auth: Annotated[Authorized, Depends(require("sync.read"))], session: SessionDep
) -> list[dict[str, Any]]:
    """Events central refused as invalid (poison): kept for an administrator, never blocking."""
    return service.list_dead_letters(session.connection(), sede_ids=_area_sedes(auth))


@router.get("/conflicts")
def conflicts(
    auth: Annotated[Authorized, Depends(require("sync.read"))],
    session: SessionDep,
    status: Annotated[Literal["open", "resolved"], Query()] = "open",
) -> list[dict[str, Any]]:
    """Records edited at a sede and centrally at once: both versions, for a person to decide."""
    return service.list_conflicts(session.connection(), sede_ids=_area_sedes(auth), status=status)


class ResolveConflict(BaseModel):
    model_config = ConfigDict(extra="forbid")
    keep: Literal["current", "other"]


@router.post("/conflicts/{conflict_id}/resolve")
def resolve(
    conflict_id: Annotated[str, Path(max_length=64)],
    body: ResolveConflict,
    auth: Annotated[Authorized, Depends(require("sync.resolve"))],
    session: SessionDep,
) -> dict[str, Any]:
    conn = session.connection()
    found = (
        conn.execute(m.sync_conflict.select().where(m.sync_conflict.c.id == conflict_id))
        .mappings()
        .first()
    )
    if found is None:
        raise NotFound("El conflicto no existe.")
    _check_sede(auth, session, found["sede_id"])
    try:
        row = service.resolve_conflict(
            conn, conflict_id=conflict_id, keep=body.keep, by=auth.actor.username or "?"
        )
    except service.RevisionMismatch:
        raise Conflict("El conflicto ya fue resuelto.") from None
    _audit(
        session,
        auth,
        "sync_conflict.resolve",
        "sync_conflict",
        {"id": conflict_id, "sede_id": found["sede_id"], "revision": row["revision"]},
        {"keep": body.keep, "record_id": row["id"]},
    )
    session.commit()
    return service.intake_body(row) | {"revision": row["revision"]}


class IntakeEdit(BaseModel):
    model_config = ConfigDict(extra="forbid")
    base_revision: int = Field(ge=1)
    summary: Text(max_length=4000) | None = None
    matter: Line(max_length=120) | None = None
    citizen_names: Line(max_length=200) | None = None
    status: str | None = None
    delete: bool = False


@router.get("/case-intakes/{intake_id}")
def get_intake(
    intake_id: Annotated[str, Path(max_length=64)],
    auth: Annotated[Authorized, Depends(require("sync.resolve"))],
    session: SessionDep,
) -> dict[str, Any]:
    row = service._intake_row(session.connection(), intake_id)  # noqa: SLF001
    if row is None:
        raise NotFound("La ficha no existe.")
    _check_sede(auth, session, row["sede_id"])
    return service.intake_body(row) | {"revision": row["revision"]}


@router.patch("/case-intakes/{intake_id}")
def edit_intake(
    intake_id: Annotated[str, Path(max_length=64)],
    body: IntakeEdit,
    auth: Annotated[Authorized, Depends(require("sync.resolve"))],
    session: SessionDep,
) -> dict[str, Any]:
    """Edit (or delete) a case intake centrally, based on the revision the editor saw."""
    conn = session.connection()
    row = service._intake_row(conn, intake_id)  # noqa: SLF001
    if row is None:
        raise NotFound("La ficha no existe.")
    _check_sede(auth, session, row["sede_id"])
    if body.status is not None and body.status not in INTAKE_STATUSES:
        raise ValidationFailed("Estado desconocido.")
    changes = {
        k: v
        for k, v in body.model_dump(exclude={"base_revision", "delete"}).items()
        if v is not None
    }
    try:
        stored = service.edit_intake_centrally(
            conn,
            intake_id=intake_id,
            base_revision=body.base_revision,
            changes=changes,
            delete=body.delete,
            by=auth.actor.username or "?",
        )
    except service.RevisionMismatch:
        raise Conflict("La ficha cambió mientras la editaba; recárguela.") from None
    except ValueError as exc:
        raise ValidationFailed(f"El estado no puede retroceder ({exc}).") from None
    _audit(
        session,
        auth,
        "case_intake.delete" if body.delete else "case_intake.edit",
        "case_intake",
        {**stored, "sede_id": row["sede_id"]},
        {"fields": sorted(changes), "status": changes.get("status")},
    )
    session.commit()
    return service.intake_body(stored) | {"revision": stored["revision"]}


class AppointmentPut(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str | None = Field(default=None, max_length=64)
    sede_id: str = Field(max_length=64)
    code: str = Field(pattern=r"^[A-Za-z0-9-]{4,20}$")
    dni: str | None = Field(default=None, pattern=r"^\d{8}$")
    service_code: str = Field(pattern=r"^[a-z0-9_-]{1,64}$")
    scheduled_at: datetime


@router.put("/appointments")
def put_appointment(
    body: AppointmentPut,
    auth: Annotated[Authorized, Depends(require("sync.publish"))],
    session: SessionDep,
) -> dict[str, Any]:
    """Create or change an appointment; it reaches the sede's hub with the next pull."""
    _check_sede(auth, session, body.sede_id)
    if body.scheduled_at.tzinfo is None:
        raise ValidationFailed("La fecha de la cita debe indicar su zona horaria.")
    row = service.put_central_record(
        session.connection(),
        table=m.sync_appointment,
        record_type=RecordType.APPOINTMENT,
        values={k: v for k, v in body.model_dump().items() if v is not None or k == "dni"},
    )
    _audit(
        session,
        auth,
        "appointment.save",
        "appointment",
        {**row, "sede_id": body.sede_id},
        {"code": body.code, "service_code": body.service_code,
         "scheduled_at": body.scheduled_at.isoformat(), "with_dni": body.dni is not None},
    )  # fmt: skip
    session.commit()
    return {"id": row["id"], "revision": row["revision"]}


@router.delete("/appointments/{appointment_id}")
def delete_appointment(
    appointment_id: Annotated[str, Path(max_length=64)],
    auth: Annotated[Authorized, Depends(require("sync.publish"))],
    session: SessionDep,
) -> dict[str, Any]:
    conn = session.connection()
    found = (
        conn.execute(m.sync_appointment.select().where(m.sync_appointment.c.id == appointment_id))
        .mappings()
        .first()
    )
    if found is None:
        raise NotFound("La cita no existe.")
    _check_sede(auth, session, found["sede_id"])
    row = service.put_central_record(
        conn,
        table=m.sync_appointment,
        record_type=RecordType.APPOINTMENT,
        values={"id": appointment_id},
        delete=True,
    )
    _audit(
        session,
        auth,
        "appointment.delete",
        "appointment",
        {**row, "sede_id": found["sede_id"]},
        {"code": found["code"]},
    )
    session.commit()
    return {"id": row["id"], "revision": row["revision"], "deleted": True}


class DisplayMessagePut(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str | None = Field(default=None, max_length=64)
    sede_id: str = Field(max_length=64)
    text: Line(max_length=280, min_length=1)
    starts_at: datetime | None = None
    ends_at: datetime | None = None


@router.put("/display-messages")
def put_display_message(
    body: DisplayMessagePut,
    auth: Annotated[Authorized, Depends(require("sync.publish"))],
    session: SessionDep,
) -> dict[str, Any]:
    """A message for the sede's waiting-room displays (outreach, ED02)."""
    _check_sede(auth, session, body.sede_id)
    row = service.put_central_record(
        session.connection(),
        table=m.sync_display_message,
        record_type=RecordType.DISPLAY_MESSAGE,
        values={k: v for k, v in body.model_dump().items() if v is not None},
    )
    _audit(
        session,
        auth,
        "display_message.save",
        "display_message",
        {**row, "sede_id": body.sede_id},
        {"text": body.text, "starts_at": body.starts_at and body.starts_at.isoformat(),
         "ends_at": body.ends_at and body.ends_at.isoformat()},
    )  # fmt: skip
    session.commit()
    return {"id": row["id"], "revision": row["revision"]}


# ---------------------------------------------------------------------------- web page

TEMPLATES = FsPath(__file__).resolve().parent / "templates"
page_router = APIRouter(include_in_schema=False)


try:  # the page plugs into the web UI (central/web/) when it is installed
    from central.web.deps import page as _web_page

    _PAGE_ACCESS: Any = _web_page("sync.read")
except ImportError:  # pragma: no cover - API-only deployments
    _PAGE_ACCESS = None


def _page_env() -> Any:
    from jinja2 import ChoiceLoader, FileSystemLoader

    from central.web import rendering

    return rendering.ENV.overlay(
        loader=ChoiceLoader([FileSystemLoader(str(TEMPLATES)), rendering.ENV.loader])
    )


if _PAGE_ACCESS is not None:

    @page_router.get("/sincronizacion")
    def sync_page(
        request: Request, session: SessionDep, web: Annotated[Any, Depends(_PAGE_ACCESS)]
    ) -> Response:
        """Per sede: last contact, backlog, lag, silent flag; open conflicts; dead letters."""
        from fastapi.responses import HTMLResponse

        sedes = None if web.area.national else sorted(web.area.sede_ids)
        conn = session.connection()
        settings = request.app.state.settings
        html = request.app.state.sync_page_env.get_template("sync_status.html").render(
            request=request,
            path=request.url.path,
            system_name=settings.system_name,
            institution_name=settings.institution_name,
            service_name=settings.service_name,
            web=web,
            errors={},
            message=None,
            notice=None,
            rows=service.sede_status(conn, sede_ids=sedes),
            dead=service.list_dead_letters(conn, sede_ids=sedes)[-20:],
            conflicts=service.list_conflicts(conn, sede_ids=sedes),
            silent_minutes=int(service.SILENT_AFTER.total_seconds() // 60),
            central_release=software_release(),
            clock_minutes=service.CLOCK_OFF_AFTER_S // 60,
        )
        return HTMLResponse(html)


def _install_page(app: FastAPI) -> None:
    if _PAGE_ACCESS is None:
        return
    app.state.sync_page_env = _page_env()
    app.include_router(page_router)


def install(app: FastAPI) -> None:
    """Mount the sync API under /api/v1 and the status page (called by central.app)."""
    settings = SyncSettings()
    app.state.sync_settings = settings
    app.state.sync_gate = _Gate(settings.max_concurrent)
    app.include_router(router, prefix="/api/v1")
    _install_page(app)
