"""Shapes of Module 05's API: requests, sessions, reports, the ficha socioeconómica, evidence,
access-log rows and the production report."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from central.domain.clock import UtcDatetime
from central.multidisciplinary.catalogues import ServiceType

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
Short = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Id = Annotated[str, StringConstraints(min_length=1, max_length=36)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Urgency(StrEnum):
    NORMAL = "normal"
    URGENTE = "urgente"


class AuthorityKind(StrEnum):
    FISCALIA = "fiscalia"
    JUZGADO = "juzgado"


class Purpose(StrEnum):
    """Why sensitive content is read (recorded with every read)."""

    ELABORACION = "elaboracion"  # the assigned professional writing the report
    REVISION = "revision"  # review or supervision
    DEFENSA = "defensa"  # the requesting defender using it in the case
    ENTREGA = "entrega"  # delivering it to the authority


PURPOSE_LABELS_ES = {
    Purpose.ELABORACION: "Elaboración del informe",
    Purpose.REVISION: "Revisión o supervisión",
    Purpose.DEFENSA: "Defensa del caso",
    Purpose.ENTREGA: "Entrega a la autoridad",
}


class RequestCreate(_In):
    service_type: ServiceType
    case_id: Id | None = None
    conc_file_id: Id | None = None
    citizen_id: Id | None = None  # required on a conciliation file: which party
    questions: Text
    urgency: Urgency = Urgency.NORMAL
    authority_kind: AuthorityKind | None = None
    authority_name: Short | None = None
    authority_file_number: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=60)] | None
    ) = None


class AssignIn(_In):
    professional_id: Id
    supervisor_id: Id | None = None  # default: the coordinator who assigns


class DeriveIn(_In):
    to_sede_id: Annotated[str, StringConstraints(pattern=r"^[a-z0-9_-]{1,64}$")]
    reason: Text


class RequestRead(BaseModel):
    """What anyone allowed to see the request sees: existence, type and state, no content."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    number: str
    sede_id: str
    origin_sede_id: str
    service_type: str
    case_id: str | None
    conc_file_id: str | None
    file_number: str
    urgency: str
    authority_kind: str | None
    authority_name: str | None
    authority_file_number: str | None
    state: str
    requested_by: str
    assigned_user_id: str | None
    supervisor_user_id: str | None
    due_date: date | None
    derived_from_sede_id: str | None
    created_at: UtcDatetime
    report_state: str | None = None


class RequestContent(RequestRead):
    """With the content (questions), for those who may read it."""

    citizen_id: str
    questions: str
    derivation_reason: str | None


class SessionCreate(_In):
    starts_at: UtcDatetime
    minutes: int = Field(default=60, ge=10, le=480)
    place: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] = ""


class SessionOutcome(StrEnum):
    HELD = "held"
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"


class SessionOutcomeIn(_In):
    outcome: SessionOutcome


class SessionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    request_id: str
    sede_id: str
    professional_id: str
    starts_at: UtcDatetime
    ends_at: UtcDatetime
    place: str
    status: str
    appointment_id: str | None


class ReportContentIn(_In):
    """The sections of the type's template; checked against it (unknown keys refused)."""

    content: dict[str, Any]


class AmendIn(_In):
    reason: Text


class ReviewIn(_In):
    approve: bool
    notes: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] = ""


class DeliverIn(_In):
    recipient: Annotated[str, StringConstraints(pattern=r"^(requester|authority)$")]
    notes: Annotated[str, StringConstraints(strip_whitespace=True, max_length=400)] = ""


class VersionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    version: int
    status: str
    amendment_reason: str | None
    reviewer_id: str | None
    reviewed_at: UtcDatetime | None
    signed_by: str | None
    signed_at: UtcDatetime | None
    signer_name: str | None
    pdf_sha256: str | None
    verification_code: str | None
    verification_url: str | None = None


class ReportRead(BaseModel):
    id: str
    request_id: str
    service_type: str
    state: str
    current_version: int
    versions: list[VersionRead]
    content: dict[str, Any] | None = None  # only for those who may read it
    template: list[dict[str, Any]] = []


class HouseholdMember(_In):
    relationship: Short
    age: int = Field(ge=0, le=120)
    occupation: Annotated[str, StringConstraints(strip_whitespace=True, max_length=120)] = ""


class Amount(_In):
    concept: Short
    monthly_soles: Decimal = Field(ge=0, le=10_000_000, max_digits=12, decimal_places=2)


class Housing(StrEnum):
    PROPIA = "propia"
    ALQUILADA = "alquilada"
    CEDIDA = "cedida"
    PRECARIA = "precaria"


class FichaIn(_In):
    members: list[HouseholdMember] = Field(min_length=1, max_length=40)
    incomes: list[Amount] = Field(default_factory=list, max_length=40)
    expenses: list[Amount] = Field(default_factory=list, max_length=40)
    housing: Housing
    housing_notes: Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)] = ""
    health: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] = ""
    health_insurance: Annotated[str, StringConstraints(pattern=r"^(sis|essalud|privado|ninguno)$")]
    vulnerability: list[str] = Field(default_factory=list, max_length=20)
    statement_id: Id | None = None  # the sworn statement (Ley 29360) it verifies


class Decision(StrEnum):
    GRATUITO = "gratuito"
    NO_GRATUITO = "no_gratuito"


class DecisionIn(_In):
    decision: Decision
    reasons: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=10, max_length=4000)
    ]


class SocioEvalRead(BaseModel):
    id: str
    request_id: str
    statement_id: str | None
    score: int
    recommendation: str
    decision: str | None
    decided_at: UtcDatetime | None
    resolution_number: str | None
    resolution_code: str | None
    ficha: dict[str, Any] | None = None
    decision_reasons: str | None = None
    notices: int = 0


class CustodyIn(_In):
    action: Annotated[
        str, StringConstraints(pattern=r"^(transferido|analizado|devuelto|almacenado)$")
    ]
    from_party: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] = ""
    to_party: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] = ""
    notes: Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)] = ""


class EvidenceRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    request_id: str
    description: str
    filename: str | None
    content_type: str | None
    size_bytes: int | None
    sha256: str | None
    received_from: str
    received_at: UtcDatetime


class AccessRow(BaseModel):
    """One line of "quién vio qué": who, when, what, why, allowed or refused."""

    at: datetime
    user_id: str | None
    username: str | None
    profiles: str
    action: str
    what: str
    object_id: str | None
    purpose: str | None
    allowed: bool
    read: bool = True  # a read of sensitive data (else a change to the person's records)


class ProductionRow(BaseModel):
    professional_id: str
    professional: str
    service_type: str
    assigned: int = 0
    signed: int = 0
    on_time: int = 0
    sessions_held: int = 0
    no_shows: int = 0


class ProductionQuery(_In):
    sede_id: str | None = None
    date_from: date
    date_to: date

    @model_validator(mode="after")
    def _range(self) -> ProductionQuery:
        if self.date_to < self.date_from:
            raise ValueError("La fecha final no puede ser anterior a la inicial.")
        return self
