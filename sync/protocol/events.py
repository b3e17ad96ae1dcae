"""What central requires of each site event it knows how to apply. An event of a known type
whose payload fails these checks is poison: dead-lettered for an administrator, never applied,
never blocking the events behind it. Unknown types are kept as generic site events."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from contracts.cases import IntakeRecord as IntakeRecord  # the hub checks intakes with it too

Id = Annotated[str, StringConstraints(min_length=1, max_length=80)]
Text = Annotated[str, StringConstraints(max_length=4000)]
# revisions are stored in 32-bit integer columns at central: a larger one is poison, not a
# batch that fails to store forever
MAX_REVISION = 2**31 - 1


class _Open(BaseModel):
    # the hub may add columns; central keeps them in the record body
    model_config = ConfigDict(extra="allow")


class TicketRecord(_Open):
    id: Id
    sede_id: Id
    business_date: Annotated[str, StringConstraints(min_length=10, max_length=10)]
    service_code: Id
    number: Annotated[str, StringConstraints(min_length=1, max_length=20)]
    status: Annotated[str, StringConstraints(min_length=1, max_length=20)]
    revision: int = Field(ge=1, le=MAX_REVISION, strict=True)
    updated_at: str


class TicketEventRecord(_Open):
    id: Id
    ticket_id: Id
    event_type: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    to_status: Annotated[str, StringConstraints(min_length=1, max_length=20)]
    at: str


class TicketPayload(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ticket: TicketRecord
    event: TicketEventRecord


class CounterSessionRecord(_Open):
    id: Id
    counter_id: Id
    username: Id
    signed_in_at: str
    revision: int = Field(ge=1, le=MAX_REVISION, strict=True)
    updated_at: str


class CounterPauseRecord(_Open):
    id: Id
    counter_id: Id
    reason: Annotated[str, StringConstraints(min_length=1, max_length=80)]
    started_at: str
    revision: int = Field(ge=1, le=MAX_REVISION, strict=True)
    updated_at: str


class CounterRecord(_Open):
    counter_id: Id
    status: Annotated[str, StringConstraints(min_length=1, max_length=20)]
    revision: int = Field(ge=1, le=MAX_REVISION, strict=True)
    updated_at: str


class IntakePayload(BaseModel):
    model_config = ConfigDict(extra="forbid")
    intake: IntakeRecord
    base_revision: int = Field(ge=0, strict=True)


class PrinterFault(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: Id
    device_id: Id
    code: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    message: Annotated[str, StringConstraints(max_length=400)] = ""
    at: str


# aggregate_type -> the model its payload must satisfy
PAYLOADS: dict[str, type[BaseModel]] = {
    "ticket": TicketPayload,
    "counter_session": CounterSessionRecord,
    "counter_pause": CounterPauseRecord,
    "counter": CounterRecord,
    "case_intake": IntakePayload,
    "printer_fault": PrinterFault,
}


# an ISO 8601 instant as the hubs write it (date, time, optional fraction, offset): readable
# alike by Python and by both databases' casts, which central's figures rely on
_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})")


def instant(value: Any) -> datetime:
    """The aware datetime a ticket event's ``at`` names; ValueError when it names none."""
    if type(value) is not str or _INSTANT.fullmatch(value) is None:
        raise ValueError("el momento del evento no es una fecha y hora ISO 8601 con zona")
    return datetime.fromisoformat(value)  # ValueError for an impossible date or time


def _ticket_ok(payload: dict[str, Any]) -> bool:
    """True only when ``TicketPayload`` certainly accepts the payload (exact types, no
    coercion needed). Anything else goes through the model, which decides and explains.
    Written out flat: it runs for every ticket event of every batch."""
    if len(payload) != 2:
        return False
    record, event = payload.get("ticket"), payload.get("event")
    if type(record) is not dict or type(event) is not dict:
        return False
    get, get_event = record.get, event.get
    ticket_id, sede_id, day = get("id"), get("sede_id"), get("business_date")
    service, number, status = get("service_code"), get("number"), get("status")
    revision, updated_at = get("revision"), get("updated_at")
    event_id, of_ticket, event_type = (
        get_event("id"),
        get_event("ticket_id"),
        get_event("event_type"),
    )
    to_status, at = get_event("to_status"), get_event("at")
    return (
        type(ticket_id) is str
        and 0 < len(ticket_id) <= 80
        and type(sede_id) is str
        and 0 < len(sede_id) <= 80
        and type(day) is str
        and len(day) == 10
        and type(service) is str
        and 0 < len(service) <= 80
        and type(number) is str
        and 0 < len(number) <= 20
        and type(status) is str
        and 0 < len(status) <= 20
        and type(revision) is int
        and 1 <= revision <= MAX_REVISION
        and type(updated_at) is str
        and type(event_id) is str
        and 0 < len(event_id) <= 80
        and type(of_ticket) is str
        and 0 < len(of_ticket) <= 80
        and type(event_type) is str
        and 0 < len(event_type) <= 40
        and type(to_status) is str
        and 0 < len(to_status) <= 20
        and type(at) is str
    )


# aggregate_type -> a plain check that accepts only payloads its model accepts (the model,
# with its object construction, costs several times more on the sync hot path)
QUICK_CHECKS = {"ticket": _ticket_ok}


def certainly_valid(aggregate_type: str, payload: Any) -> bool:
    """Whether the payload passes its model without running it: a fast path for the bulk
    types. False means "not known", never "invalid": run ``validate_payload`` then."""
    check = QUICK_CHECKS.get(aggregate_type)
    return check is not None and type(payload) is dict and check(payload)


def validate_payload(aggregate_type: str, payload: dict[str, Any] | None) -> BaseModel | None:
    """The parsed payload, None for types kept generically; raises ValueError for poison."""
    if payload is None:
        raise ValueError("evento sin contenido (demasiado grande para el lote)")
    model = PAYLOADS.get(aggregate_type)
    if model is None:
        return None
    return model.model_validate(payload)
