"""Enrollment of sede hubs: an administrator issues a one-time, expiring code for a sede; the hub
exchanges it for a device credential (random 256-bit secret, shown once, stored as a SHA-256
hash: it is not a password, so a slow hash buys nothing). Credentials can be revoked."""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlmodel import Session, col, select

from central.audit import service as audit
from central.auth import tokens
from central.auth.policy import Area
from central.devices.models import Device, EnrollmentCode
from central.devices.schemas import DeviceRead, EnrollmentCodeCreate
from central.domain.actor import Actor
from central.domain.clock import as_utc, utcnow
from central.domain.errors import NotFound, PermissionDenied, Unauthenticated
from central.org.service import get_sede
from contracts.errors import ErrorCode

TOKEN_PREFIX = "dev"  # noqa: S105
_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud or typed on a hub


def _new_code() -> str:
    raw = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(16))
    return "-".join(raw[i : i + 4] for i in range(0, 16, 4))


def _normalise(code: str) -> str:
    return code.strip().upper().replace(" ", "")


def device_read(device: Device) -> DeviceRead:
    return DeviceRead(
        id=device.id,
        sede_id=device.sede_id,
        name=device.name,
        kind=device.kind,
        created_at=as_utc(device.created_at),
        last_seen_at=as_utc(device.last_seen_at),  # type: ignore[arg-type]
        revoked_at=as_utc(device.revoked_at),
        active=device.revoked_at is None,
    )


def issue_enrollment_code(
    *,
    session: Session,
    actor: Actor,
    data: EnrollmentCodeCreate,
    lifetime: timedelta,
    area: Area | None = None,
) -> tuple[EnrollmentCode, str]:
    """A new code for ``data.sede_id``; returns the row and the plain code (shown once)."""
    sede = get_sede(session=session, sede_id=data.sede_id)
    if area is not None and not area.contains(sede_id=sede.id, district_id=sede.district_id):
        raise PermissionDenied("No puede registrar dispositivos en esa sede.")
    code = _new_code()
    row = EnrollmentCode(
        sede_id=data.sede_id,
        device_name=data.device_name,
        code_hash=tokens.sha256_hex(_normalise(code)),
        created_by=actor.user_id,
        expires_at=utcnow() + lifetime,
    )
    session.add(row)
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="device.enrollment_code_issue",
        entity="enrollment_code",
        entity_id=row.id,
        sede_id=row.sede_id,
        after={"device_name": row.device_name, "expires_at": as_utc(row.expires_at).isoformat()},
    )  # type: ignore[union-attr]
    return row, code


def enroll(*, session: Session, actor: Actor, code: str) -> tuple[Device, str]:
    """Exchange a valid, unused, unexpired code for a device and its bearer token (shown once).
    The code is spent in the same transaction: a second use fails."""
    row = session.exec(
        select(EnrollmentCode)
        .where(EnrollmentCode.code_hash == tokens.sha256_hex(_normalise(code)))
        .with_for_update()
    ).first()
    if row is None or row.used_at is not None or as_utc(row.expires_at) <= utcnow():  # type: ignore[operator]
        raise Unauthenticated(code=ErrorCode.ENROLLMENT_CODE_INVALID)
    secret = tokens.random_secret(32)
    device = Device(
        sede_id=row.sede_id, name=row.device_name, secret_hash=tokens.sha256_hex(secret)
    )
    session.add(device)
    session.flush()
    row.used_at = utcnow()
    row.device_id = device.id
    session.add(row)
    session.flush()
    device_actor = Actor(
        user_id=None,
        username=None,
        sede_id=device.sede_id,
        device_id=device.id,
        request_id=actor.request_id,
        ip=actor.ip,
    )
    audit.record(
        session=session,
        actor=device_actor,
        action="device.enroll",
        entity="device",
        entity_id=device.id,
        sede_id=device.sede_id,
        after={"name": device.name, "enrollment_code_id": row.id},
    )
    return device, f"{TOKEN_PREFIX}.{device.id}.{secret}"


def authenticate_device(*, session: Session, token: str) -> Device:
    """The active device behind a bearer token; Unauthenticated otherwise."""
    prefix, _, rest = (token or "").partition(".")
    device_id, _, secret = rest.partition(".")
    device = (
        session.get(Device, device_id) if prefix == TOKEN_PREFIX and device_id and secret else None
    )
    if device is None or not tokens.same_hash(device.secret_hash, secret):
        raise Unauthenticated(code=ErrorCode.TOKEN_INVALID)
    if device.revoked_at is not None:
        raise Unauthenticated(code=ErrorCode.DEVICE_REVOKED)
    now = utcnow()
    last = as_utc(device.last_seen_at)
    if last is None or now - last > timedelta(seconds=60):
        device.last_seen_at = now
        session.add(device)
        session.flush()
    return device


def list_devices(
    *, session: Session, area: Area | None = None, sede_id: str | None = None
) -> list[Device]:
    query = select(Device).order_by(col(Device.sede_id), col(Device.created_at))
    if area is not None:
        query = query.where(area.where(sede_column=Device.sede_id))
    if sede_id:
        query = query.where(Device.sede_id == sede_id)
    return list(session.exec(query).all())


def get_device(*, session: Session, device_id: str, area: Area | None = None) -> Device:
    device = session.get(Device, device_id)
    if device is not None and area is not None:
        sede = get_sede(session=session, sede_id=device.sede_id)
        if not area.contains(sede_id=sede.id, district_id=sede.district_id):
            device = None
    if device is None:
        raise NotFound("El dispositivo no existe.")
    return device


def revoke_device(
    *, session: Session, actor: Actor, device_id: str, area: Area | None = None
) -> Device:
    device = get_device(session=session, device_id=device_id, area=area)
    if device.revoked_at is None:
        device.revoked_at = utcnow()
        session.add(device)
        session.flush()
        audit.record(
            session=session,
            actor=actor,
            action="device.revoke",
            entity="device",
            entity_id=device.id,
            sede_id=device.sede_id,
            before={"active": True},
            after={"active": False},
        )
    return device


def list_enrollment_codes(
    *, session: Session, area: Area | None = None, pending_only: bool = True
) -> list[EnrollmentCode]:
    query = select(EnrollmentCode).order_by(col(EnrollmentCode.created_at).desc())
    if area is not None:
        query = query.where(area.where(sede_column=EnrollmentCode.sede_id))
    if pending_only:
        query = query.where(
            col(EnrollmentCode.used_at).is_(None), EnrollmentCode.expires_at > utcnow()
        )
    return list(session.exec(query).all())
