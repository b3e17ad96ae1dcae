"""Tables of credentials in use: token families, refresh tokens and web sessions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime
from sqlmodel import Field, SQLModel

from central.domain.clock import new_id, utcnow


class TokenFamily(SQLModel, table=True):
    """One sign-in of an API client; every access and refresh token it gets belongs to it.
    Revoking the family (sign-out, reuse of a rotated refresh token) kills them all."""

    __tablename__ = "token_family"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    user_id: str = Field(foreign_key="app_user.id", index=True, max_length=36)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    revoked_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    revoked_reason: str | None = Field(default=None, max_length=40)


class RefreshToken(SQLModel, table=True):
    __tablename__ = "refresh_token"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    family_id: str = Field(foreign_key="token_family.id", index=True, max_length=36)
    token_hash: str = Field(max_length=64)  # sha256 of the secret part
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    rotated_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))


class WebSession(SQLModel, table=True):
    """A browser session (cookie); the cookie holds ``id.secret``, the table the secret's hash and
    the synchronizer CSRF token."""

    __tablename__ = "web_session"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    user_id: str = Field(foreign_key="app_user.id", index=True, max_length=36)
    token_hash: str = Field(max_length=64)
    csrf_token: str = Field(max_length=64)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    last_seen_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    revoked_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))


class SignInGuard(SQLModel, table=True):
    """Failed sign-ins counted outside the process (so several API workers agree): per
    username that has no account (``user:<name>``; accounts count on their own row, so an
    unknown name locks exactly like a real one) and per client address (``ip:<address>``,
    failures within a window)."""

    __tablename__ = "signin_guard"

    key: str = Field(primary_key=True, max_length=120)
    failed_attempts: int = Field(default=0)
    window_started_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    locked_until: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
