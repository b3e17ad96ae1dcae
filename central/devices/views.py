"""HTTP API of device enrollment, and the device-authenticated endpoints of a sede hub."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response
from sqlmodel import col, select

from central.auth.deps import (
    Authorized,
    SessionDep,
    SettingsDep,
    anonymous_actor,
    current_device,
    public,
    require,
)
from central.auth.policy import ALLOWED_SCOPES, ScopeKind
from central.core.http import ERROR_RESPONSES
from central.devices import service
from central.devices.models import Device
from central.devices.schemas import (
    DeviceCredential,
    DeviceRead,
    EnrollmentCodeCreate,
    EnrollmentCodeIssued,
    EnrollRequest,
)
from central.domain.clock import as_utc
from central.org import service as org
from central.users.models import User
from central.users.service import profiles_of
from contracts.sedeconf import SedeConf, StaffConf

router = APIRouter(prefix="/devices", tags=["dispositivos"], responses=ERROR_RESPONSES)
DeviceDep = Annotated[Device, Depends(current_device)]


@router.post("/enrollment-codes", response_model=EnrollmentCodeIssued, status_code=201)
def issue_code(
    body: EnrollmentCodeCreate,
    auth: Annotated[Authorized, Depends(require("devices.enroll"))],
    session: SessionDep,
    settings: SettingsDep,
) -> EnrollmentCodeIssued:
    """A one-time code (shown once) that a hub of the sede exchanges for its credential."""
    row, code = service.issue_enrollment_code(
        session=session,
        actor=auth.actor,
        data=body,
        lifetime=timedelta(minutes=settings.enrollment_code_minutes),
        area=auth.area,
    )
    session.commit()
    return EnrollmentCodeIssued(
        id=row.id,
        sede_id=row.sede_id,
        device_name=row.device_name,
        code=code,
        expires_at=as_utc(row.expires_at),
    )  # type: ignore[arg-type]


@router.get("", response_model=list[DeviceRead])
def list_devices(
    auth: Annotated[Authorized, Depends(require("devices.read"))], session: SessionDep
) -> list[DeviceRead]:
    return [service.device_read(d) for d in service.list_devices(session=session, area=auth.area)]


@router.post("/{device_id}/revoke", response_model=DeviceRead)
def revoke(
    device_id: Annotated[str, Path(max_length=64)],
    auth: Annotated[Authorized, Depends(require("devices.revoke"))],
    session: SessionDep,
) -> DeviceRead:
    device = service.revoke_device(
        session=session, actor=auth.actor, device_id=device_id, area=auth.area
    )
    session.commit()
    return service.device_read(device)


@router.post(
    "/enroll", response_model=DeviceCredential, status_code=201, dependencies=[Depends(public)]
)
def enroll(body: EnrollRequest, request: Request, session: SessionDep) -> DeviceCredential:
    """Called by the hub: exchanges the enrollment code for its device credential (shown once)."""
    device, token = service.enroll(session=session, actor=anonymous_actor(request), code=body.code)
    session.commit()
    return DeviceCredential(device_id=device.id, sede_id=device.sede_id, token=token)


@router.get("/me", response_model=DeviceRead)
def me(device: DeviceDep, session: SessionDep) -> DeviceRead:
    session.commit()  # last_seen_at
    return service.device_read(device)


# profiles that work at a sede counter and so must be able to sign in at the hub offline
_HUB_STAFF_PROFILES = {p.value for p, scopes in ALLOWED_SCOPES.items() if ScopeKind.SEDE in scopes}


@router.get("/me/hub-config", response_model=SedeConf)
def my_hub_config(device: DeviceDep, session: SessionDep, response: Response) -> SedeConf:
    """The device's own sede configuration, with the sede's active staff and their argon2id
    hashes so that counters can sign in while the WAN is down."""
    users = session.exec(
        select(User)
        .where(User.sede_id == device.sede_id, col(User.active).is_(True))
        .order_by(User.username)
    ).all()  # noqa: E712
    staff = [
        StaffConf(username=u.username, display_name=u.display_name, password_hash=u.password_hash)
        for u in users
        if set(profiles_of(session, u.id)) & _HUB_STAFF_PROFILES
    ]
    config = org.hub_config(session=session, sede_id=device.sede_id, staff=staff)
    response.headers["ETag"] = f'"{org.get_sede(session=session, sede_id=device.sede_id).revision}"'
    session.commit()
    return config
