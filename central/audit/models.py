"""Tables of the audit log and the head of its hash chain."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, DateTime, SmallInteger, Text
from sqlmodel import Field, SQLModel


class AuditEvent(SQLModel, table=True):
    """One audited fact. ``hash = HMAC-SHA256(key, prev_hash + canonical JSON of every other
    column)`` with the key outside the database (``hash_version`` 2); rows written before the
    key existed keep their unkeyed ``sha256`` (``hash_version`` 1, only ever a prefix of the
    chain)."""

    __tablename__ = "audit_event"

    seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    id: str = Field(unique=True, max_length=36)
    occurred_at: datetime = Field(
        sa_column=Column(DateTime(timezone=True), nullable=False, index=True)
    )
    actor_user_id: str | None = Field(default=None, index=True, max_length=36)
    actor_username: str | None = Field(default=None, max_length=64)
    actor_profiles: str = Field(default="", max_length=400)  # comma-separated
    actor_sede_id: str | None = Field(default=None, max_length=64)
    actor_device_id: str | None = Field(default=None, max_length=36)
    action: str = Field(index=True, max_length=60)
    entity: str = Field(index=True, max_length=40)
    entity_id: str | None = Field(default=None, index=True, max_length=64)
    sede_id: str | None = Field(default=None, index=True, max_length=64)  # sede of the record
    before_json: str | None = Field(default=None, sa_column=Column(Text))
    after_json: str | None = Field(default=None, sa_column=Column(Text))
    request_id: str | None = Field(default=None, max_length=64)
    ip: str | None = Field(default=None, max_length=64)
    prev_hash: str = Field(max_length=64)
    hash_version: int = Field(
        default=2, sa_column=Column(SmallInteger, nullable=False, server_default="1")
    )
    hash: str = Field(max_length=64)


class AuditChainHead(SQLModel, table=True):
    """Single row (id = 1): the last sequence number and hash. Appends lock it (FOR UPDATE on
    PostgreSQL, BEGIN IMMEDIATE on SQLite) so the chain stays linear under concurrency."""

    __tablename__ = "audit_chain_head"

    id: int = Field(default=1, primary_key=True)
    last_seq: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    last_hash: str = Field(max_length=64)
