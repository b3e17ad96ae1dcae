"""Tables of enrollment codes and enrolled devices (sede hubs)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime
from sqlmodel import Field, SQLModel

from central.domain.clock import new_id, utcnow


class EnrollmentCode(SQLModel, table=True):
    __tablename__ = "enrollment_code"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    sede_id: str = Field(foreign_key="sede.id", index=True, max_length=64)
    device_name: str = Field(max_length=80)
    code_hash: str = Field(unique=True, max_length=64)  # sha256 of the code
    created_by: str | None = Field(default=None, max_length=36)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    used_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    device_id: str | None = Field(default=None, max_length=36)


class Device(SQLModel, table=True):
    __tablename__ = "device"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    sede_id: str = Field(foreign_key="sede.id", index=True, max_length=64)
    name: str = Field(max_length=80)
    kind: str = Field(default="hub", max_length=20)
    secret_hash: str = Field(max_length=64)  # sha256 of a 256-bit random secret
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    last_seen_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    revoked_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
