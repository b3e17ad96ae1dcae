"""Ids and time: UUIDv7 ids made where records are born, tz-aware UTC everywhere in storage."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import uuid6
from pydantic import AfterValidator


def new_id() -> str:
    return str(uuid6.uuid7())


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime | None) -> datetime | None:
    """SQLite hands datetimes back naive; they were stored as UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _utc_validator(value: datetime) -> datetime:
    return as_utc(value)  # type: ignore[return-value]


# For response schemas: always serialised as tz-aware UTC, whatever the database handed back.
UtcDatetime = Annotated[datetime, AfterValidator(_utc_validator)]
