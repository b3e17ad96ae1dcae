"""Request and response shapes for staff accounts."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from central.auth.policy import Profile, ScopeKind
from central.domain.clock import UtcDatetime
from central.domain.text import Line

Username = Annotated[
    str, StringConstraints(strip_whitespace=True, to_lower=True, pattern=r"^[A-Za-z0-9_-]{3,64}$")
]
DisplayName = Line(max_length=120, min_length=1)
Email = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[^@\s]{1,100}@[^@\s]{1,99}$")
]
Password = Annotated[str, StringConstraints(min_length=1, max_length=256)]
ScopeRef = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_-]{1,64}$")]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class UserCreate(_In):
    username: Username
    display_name: DisplayName
    email: Email | None = None
    password: Password
    profiles: list[Profile] = Field(min_length=1, max_length=12)
    scope_kind: ScopeKind
    sede_id: ScopeRef | None = None
    district_id: ScopeRef | None = None


class UserUpdate(_In):
    display_name: DisplayName | None = None
    email: Email | None = None
    profiles: list[Profile] | None = Field(default=None, min_length=1, max_length=12)
    scope_kind: ScopeKind | None = None
    sede_id: ScopeRef | None = None
    district_id: ScopeRef | None = None
    active: bool | None = None


class UserRead(BaseModel):
    id: str
    username: str
    display_name: str
    email: str | None
    profiles: list[str]
    scope_kind: str
    sede_id: str | None
    district_id: str | None
    active: bool
    locked: bool
    totp_enabled: bool
    must_change_password: bool
    last_signin_at: UtcDatetime | None
    created_at: UtcDatetime
    updated_at: UtcDatetime


class PasswordChange(_In):
    current_password: Password
    new_password: Password
