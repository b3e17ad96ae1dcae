"""Shapes of the audit API."""

from __future__ import annotations

from pydantic import BaseModel

from central.domain.clock import UtcDatetime


class AuditEventRead(BaseModel):
    seq: int
    id: str
    occurred_at: UtcDatetime
    actor_user_id: str | None
    actor_username: str | None
    actor_profiles: list[str]
    actor_sede_id: str | None
    actor_device_id: str | None
    action: str
    entity: str
    entity_id: str | None
    sede_id: str | None
    before: object | None
    after: object | None
    request_id: str | None
    ip: str | None
    hash: str


class AuditPage(BaseModel):
    items: list[AuditEventRead]
    total: int
    limit: int
    offset: int


class VerifyRead(BaseModel):
    ok: bool
    checked: int
    first_bad_seq: int | None
    reason: str | None
