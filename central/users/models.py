"""Tables of staff accounts and their profiles."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime
from sqlmodel import Field, SQLModel

from central.domain.clock import new_id, utcnow


class User(SQLModel, table=True):
    __tablename__ = "app_user"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    username: str = Field(unique=True, index=True, max_length=64)
    display_name: str = Field(max_length=120)
    email: str | None = Field(default=None, max_length=200)
    password_hash: str = Field(max_length=255)
    scope_kind: str = Field(max_length=10)  # "sede" | "district" | "national"
    sede_id: str | None = Field(default=None, foreign_key="sede.id", index=True, max_length=64)
    district_id: str | None = Field(
        default=None, foreign_key="district.id", index=True, max_length=64
    )
    active: bool = True
    failed_attempts: int = 0
    locked_until: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    totp_secret: str | None = Field(default=None, max_length=64)
    totp_pending_secret: str | None = Field(default=None, max_length=64)
    totp_last_step: int | None = None  # last accepted TOTP time step (no code replay)
    must_change_password: bool = False
    password_changed_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    last_signin_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    revision: int = 1
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )


class UserProfile(SQLModel, table=True):
    __tablename__ = "user_profile"

    user_id: str = Field(foreign_key="app_user.id", primary_key=True, max_length=36)
    profile: str = Field(primary_key=True, max_length=40)
