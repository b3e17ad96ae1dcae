"""What central requires of each site event it knows how to apply. An event of a known type
whose payload fails these checks is poison: dead-lettered for an administrator, never applied,
never blocking the events behind it. Unknown types are kept as generic site events."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Id = Annotated[str, StringConstraints(min_length=1, max_length=80)]
Text = Annotated[str, StringConstraints(max_length=4000)]


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
    revision: int = Field(ge=1)
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
    revision: int = Field(ge=1)
    updated_at: str


class CounterPauseRecord(_Open):
    id: Id
    counter_id: Id
    reason: Annotated[str, StringConstraints(min_length=1, max_length=80)]
    started_at: str
    revision: int = Field(ge=1)
    updated_at: str


class CounterRecord(_Open):
    counter_id: Id
    status: Annotated[str, StringConstraints(min_length=1, max_length=20)]
    revision: int = Field(ge=1)
    updated_at: str


class IntakeRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: Id
    sede_id: Id
    citizen_doc_type: Annotated[str, StringConstraints(pattern=r"^(dni|ce|pasaporte|cpp|ninguno)$")]
    citizen_doc_number: Annotated[str, StringConstraints(max_length=20)] | None = None
    citizen_names: Annotated[str, StringConstraints(max_length=200)] | None = None
    service_code: Id
    matter: Annotated[str, StringConstraints(max_length=120)] | None = None
    summary: Text | None = None
    status: Annotated[str, StringConstraints(pattern=r"^(open|referred|closed)$")]
    ticket_id: Id | None = None
    deleted: bool = False
    created_at: str
    updated_at: str


class IntakePayload(BaseModel):
    model_config = ConfigDict(extra="forbid")
    intake: IntakeRecord
    base_revision: int = Field(ge=0)


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


def validate_payload(aggregate_type: str, payload: dict[str, Any] | None) -> BaseModel | None:
    """The parsed payload, None for types kept generically; raises ValueError for poison."""
    if payload is None:
        raise ValueError("evento sin contenido (demasiado grande para el lote)")
    model = PAYLOADS.get(aggregate_type)
    if model is None:
        return None
    return model.model_validate(payload)
