"""Every table of central, imported in one place so Alembic and tests see the whole schema."""

from __future__ import annotations

from sqlmodel import SQLModel

from central.audit.models import AuditChainHead, AuditEvent
from central.auth.models import RefreshToken, TokenFamily, WebSession
from central.devices.models import Device, EnrollmentCode
from central.org.models import Counter, CounterService, District, OpeningHours, Sede, SedeService
from central.sensitive.models import SensitiveNote
from central.users.models import User, UserProfile

metadata = SQLModel.metadata

__all__ = [
    "AuditChainHead",
    "AuditEvent",
    "Counter",
    "CounterService",
    "Device",
    "District",
    "EnrollmentCode",
    "OpeningHours",
    "RefreshToken",
    "Sede",
    "SedeService",
    "SensitiveNote",
    "TokenFamily",
    "User",
    "UserProfile",
    "WebSession",
    "metadata",
]
