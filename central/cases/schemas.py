"""Shapes of the case-file API (rules are in the service)."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from central.cases import catalogues as cat
from central.citizens.schemas import CitizenCreate, DocType
from central.domain.clock import UtcDatetime
from central.domain.text import Line, Text

Service = StrEnum("Service", {k: k for k in cat.SERVICES})  # type: ignore[misc]
Matter = StrEnum("Matter", {k: k for k in cat.MATTERS})  # type: ignore[misc]
AttentionType = StrEnum("AttentionType", {k: k for k in cat.ATTENTION_TYPES})  # type: ignore[misc]
State = StrEnum("State", {k: k for k in cat.STATES})  # type: ignore[misc]
Outcome = StrEnum("Outcome", {k: k for k in cat.OUTCOMES})  # type: ignore[misc]
ActionType = StrEnum("ActionType", {k: k for k in cat.ACTION_TYPES})  # type: ignore[misc]
PartyRole = StrEnum("PartyRole", {k: k for k in cat.PARTY_ROLES if k != "client"})  # type: ignore[misc]
Institution = StrEnum("Institution", {k: k for k in cat.INSTITUTIONS})  # type: ignore[misc]
DocumentCategory = StrEnum("DocumentCategory", {k: k for k in cat.DOCUMENT_CATEGORIES})  # type: ignore[misc]

Id = Annotated[str, StringConstraints(min_length=1, max_length=36)]
SedeId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_-]{1,64}$")]
Notes = Text(max_length=20000)


class PartyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: PartyRole
    citizen_id: Id | None = None
    name: Line(max_length=250) | None = None
    doc_type: DocType | None = None
    doc_number: Line(max_length=20) | None = None


class PartyRemoval(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Text(max_length=400, min_length=3)


class CaseCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sede_id: SedeId
    service: Service
    matter: Matter
    attention_type: AttentionType
    client_citizen_id: Id | None = None
    client: CitizenCreate | None = None  # register the person in the same transaction
    assigned_user_id: Id | None = None
    judicial_number: Line(max_length=40) | None = None
    court: Line(max_length=200) | None = None
    summary: Notes = ""
    parties: list[PartyCreate] = Field(default_factory=list, max_length=30)


class CaseUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    base_revision: int = Field(ge=1)
    matter: Matter | None = None
    attention_type: AttentionType | None = None
    assigned_user_id: Id | None = None
    judicial_number: Line(max_length=40) | None = None
    court: Line(max_length=200) | None = None
    summary: Notes | None = None


class TransitionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to_state: State
    outcome_code: Outcome | None = None
    notes: Text(max_length=1000) = ""


class PartyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    role: str
    citizen_id: str | None
    name: str
    doc_type: str | None
    doc_number: str | None
    restricted: bool
    added_at: UtcDatetime


class CaseSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    number: str
    sede_id: str
    district_id: str
    service: str
    matter: str
    attention_type: str
    state: str
    outcome_code: str | None
    client_citizen_id: str
    assigned_user_id: str | None
    judicial_number: str | None
    source: str
    opened_at: UtcDatetime
    closed_at: UtcDatetime | None
    revision: int


class CaseRead(CaseSummary):
    court: str | None
    summary: str
    intake_id: str | None
    intake_conflict: bool
    updated_at: UtcDatetime
    parties: list[PartyRead] = []
    restricted_items: int = 0  # parties/actions/documents hidden without cases.sensitive


class ActionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action_type: ActionType
    action_date: date
    notes: Notes = ""
    restricted: bool = False
    # optional deadline that starts at the action (e.g. a filing opens a term to answer)
    deadline_title: Line(max_length=200) | None = None
    deadline_business_days: int | None = Field(default=None, ge=1, le=365)
    deadline_due_date: date | None = None


class ActionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    case_id: str
    sede_id: str
    action_type: str
    action_date: date
    author_user_id: str | None
    notes: str
    restricted: bool
    created_at: UtcDatetime


class DeadlineCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Line(max_length=200, min_length=1)
    start_date: date
    business_days: int | None = Field(default=None, ge=1, le=365)
    due_date: date | None = None
    responsible_user_id: Id | None = None
    action_id: Id | None = None


class DeadlineRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    case_id: str
    sede_id: str
    action_id: str | None
    title: str
    start_date: date
    business_days: int | None
    due_date: date
    responsible_user_id: str | None
    status: str
    done_at: UtcDatetime | None
    created_at: UtcDatetime


class AlertRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    deadline_id: str
    case_id: str
    sede_id: str
    user_id: str | None
    kind: str
    due_date: date
    created_at: UtcDatetime
    read_at: UtcDatetime | None


class ReferralCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Annotated[str, StringConstraints(pattern=r"^(internal|external)$")]
    to_sede_id: SedeId | None = None
    to_service: Service | None = None
    institution: Institution | None = None
    institution_detail: Line(max_length=200) | None = None
    reason: Text(max_length=4000, min_length=3)


class ReferralDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    accept: bool
    notes: Text(max_length=1000) | None = None


class ReferralRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    case_id: str
    kind: str
    from_sede_id: str
    to_sede_id: str | None
    to_service: str | None
    institution: str | None
    institution_detail: str | None
    reason: str
    status: str
    created_by: str | None
    created_at: UtcDatetime
    decided_by: str | None
    decided_at: UtcDatetime | None
    decision_notes: str | None


class DocumentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    case_id: str
    action_id: str | None
    category: str
    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    restricted: bool
    uploaded_by: str | None
    uploaded_at: UtcDatetime


class TimelineEntry(BaseModel):
    kind: str
    label: str
    summary: str
    ref_id: str | None
    restricted: bool
    actor_name: str | None
    occurred_at: UtcDatetime


class RestrictedParts(BaseModel):
    parties: list[PartyRead]
    actions: list[ActionRead]
    documents: list[DocumentRead]


class NoteHit(BaseModel):
    action_id: str
    case_id: str
    case_number: str
    action_type: str
    action_date: date
    snippet: str


class IngestReport(BaseModel):
    created: int
    updated: int
    skipped: int
    conflicts: int


class CatalogueEntry(BaseModel):
    code: str
    label: str
