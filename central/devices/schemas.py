"""Request and response shapes for device enrollment."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

from central.domain.clock import UtcDatetime
from central.domain.text import Line

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_-]{1,64}$")]
DeviceName = Line(max_length=80, min_length=1)


class EnrollmentCodeCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sede_id: Slug
    device_name: DeviceName


class EnrollmentCodeIssued(BaseModel):
    """The code is shown once; only its hash is stored."""

    id: str
    sede_id: str
    device_name: str
    code: str
    expires_at: UtcDatetime


class EnrollRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: Line(max_length=64, min_length=1)


class DeviceCredential(BaseModel):
    """Shown once to the hub: it sends ``Authorization: Bearer <token>`` from then on."""

    device_id: str
    sede_id: str
    token: str


class DeviceRead(BaseModel):
    id: str
    sede_id: str
    name: str
    kind: str
    created_at: UtcDatetime
    last_seen_at: UtcDatetime | None
    revoked_at: UtcDatetime | None
    active: bool
