"""Shapes of the conciliation API (rules live in the service)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from central.domain.clock import UtcDatetime
from central.domain.text import Line, Text

Id = Line(max_length=36, min_length=1)
LongText = Text(max_length=8000, min_length=3)
ShortText = Line(max_length=200, min_length=1)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class State(StrEnum):
    SOLICITUD = "solicitud"
    DESIGNADO = "designado"
    INVITADO = "invitado"
    AUDIENCIA = "audiencia"
    CONCLUIDO = "concluido"
    ACTA = "acta"
    DERIVADO = "derivado"


class Role(StrEnum):
    SOLICITANTE = "solicitante"
    INVITADO = "invitado"


class Way(StrEnum):
    ACUERDO_TOTAL = "acuerdo_total"
    ACUERDO_PARCIAL = "acuerdo_parcial"
    FALTA_ACUERDO = "falta_acuerdo"
    INASISTENCIA_UNA_PARTE = "inasistencia_una_parte"
    INASISTENCIA_AMBAS = "inasistencia_ambas"
    DECISION_MOTIVADA = "decision_motivada"


class Mode(StrEnum):
    PRESENCIAL = "presencial"
    VIRTUAL = "virtual"


class DeliveryMode(StrEnum):
    PERSONAL = "personal"
    DOMICILIO = "domicilio"
    CORREO_ELECTRONICO = "correo_electronico"
    CASILLA_ELECTRONICA = "casilla_electronica"


class ObligationKind(StrEnum):
    DAR_SUMA = "dar_suma"
    PENSION_ALIMENTOS = "pension_alimentos"
    ENTREGAR_BIEN = "entregar_bien"
    HACER = "hacer"
    NO_HACER = "no_hacer"
    REGIMEN_VISITAS = "regimen_visitas"
    TENENCIA = "tenencia"


class Periodicity(StrEnum):
    UNICA = "unica"
    SEMANAL = "semanal"
    QUINCENAL = "quincenal"
    MENSUAL = "mensual"


class PartyIn(Strict):
    role: Role
    citizen_id: Id
    notice_address: Line(max_length=200) | None = None
    representative_citizen_id: Id | None = None
    representative_powers: Text(max_length=1000) | None = None
    witness_citizen_id: Id | None = None


class ClaimIn(Strict):
    party_index: int = Field(ge=0, le=19, description="índice de la parte en `parties`")
    description: LongText
    counterclaim: bool = False


class SolicitudCreate(Strict):
    sede_id: Annotated[str, StringConstraints(pattern=r"^[a-z0-9_-]{1,64}$")]
    matter: Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{1,40}$")]
    parties: list[PartyIn] = Field(min_length=2, max_length=20)
    facts: LongText
    controversy: LongText
    claims: list[ClaimIn] = Field(min_length=1, max_length=30)
    violence_declared: bool = False
    protective_measures: bool = False
    case_id: Id | None = None
    intake_id: Annotated[str, StringConstraints(max_length=64)] | None = None
    requested_on: date | None = None


class DesignationIn(Strict):
    conciliator_user_id: Id
    verifier_user_id: Id
    base_revision: int | None = Field(default=None, ge=1)


class SessionCreate(Strict):
    scheduled_at: datetime
    mode: Mode = Mode.PRESENCIAL
    place: Line(max_length=200) | None = None
    virtual_means: Line(max_length=200) | None = None
    virtual_link: Line(max_length=300) | None = None


class InvitationCreate(Strict):
    party_id: Id
    session_id: Id


class DeliveryIn(Strict):
    delivered: bool
    delivered_on: date
    mode: DeliveryMode | None = None
    received_by: Line(max_length=200) | None = None
    undelivered_reason: Line(max_length=400) | None = None


class AttendanceEntry(Strict):
    party_id: Id
    present: bool
    virtual_consent: bool = False


class AttendanceIn(Strict):
    entries: list[AttendanceEntry] = Field(min_length=1, max_length=20)
    notes: Text(max_length=4000) | None = None


class ExtensionIn(Strict):
    agreed_on: date
    new_limit: date
    note: Text(max_length=1000, min_length=5)


class ObligationIn(Strict):
    kind: ObligationKind
    debtor_party_id: Id
    creditor_party_id: Id
    description: LongText
    amount: Decimal | None = Field(default=None, gt=0, max_digits=12, decimal_places=2)
    due_date: date | None = None
    periodicity: Periodicity | None = None
    start_date: date | None = None
    end_date: date | None = None
    payment_method: Line(max_length=300) | None = None


class ObligationsIn(Strict):
    obligations: list[ObligationIn] = Field(max_length=30)


class ConclusionIn(Strict):
    way: Way
    session_id: Id
    reason: Text(max_length=4000) | None = None
    no_agreement_points: Text(max_length=4000) | None = None


class VoidIn(Strict):
    reason: Text(max_length=1000, min_length=5)


class ReplacementIn(Strict):
    reason: Text(max_length=1000, min_length=5)
    session: SessionCreate


class CopyIn(Strict):
    recipient_party_id: Id | None = None
    recipient_name: ShortText | None = None
    recipient_doc: Line(max_length=20) | None = None


class DerivationIn(Strict):
    reason: Text(max_length=1000, min_length=5)


class ProfessionalIn(Strict):
    full_name: ShortText
    doc_number: Annotated[
        str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Z0-9]{8,12}$")
    ]
    conciliator_registration: Line(max_length=40) | None = None
    family_specialty_registration: Line(max_length=40) | None = None
    bar_registration: Line(max_length=40) | None = None


# ------------------------------------------------------------------------------- reads


class PartyRead(BaseModel):
    id: str
    role: str
    ordinal: int
    citizen_id: str
    label: str  # "Solicitante 1": displays never show a citizen's name by default
    has_document: bool
    notice_address: str | None
    representative_citizen_id: str | None
    representative_powers: str | None
    witness_citizen_id: str | None


class SessionRead(BaseModel):
    id: str
    ordinal: int
    scheduled_at: UtcDatetime
    mode: str
    place: str | None
    virtual_means: str | None
    virtual_link: str | None
    status: str
    held_on: date | None
    for_replacement: bool
    attendance: dict[str, bool] = {}


class InvitationRead(BaseModel):
    id: str
    party_id: str
    session_id: str
    issued_on: date
    delivery_due: date
    status: str
    delivered_on: date | None
    delivery_mode: str | None
    received_by: str | None
    undelivered_reason: str | None


class ObligationRead(BaseModel):
    id: str
    ordinal: int
    kind: str
    debtor_party_id: str
    creditor_party_id: str
    description: str
    amount: str | None
    currency: str
    due_date: date | None
    periodicity: str | None
    start_date: date | None
    end_date: date | None
    payment_method: str | None


class ActaRead(BaseModel):
    id: str
    file_id: str
    number_text: str
    year: int
    number: int
    conclusion_way: str
    issued_at: UtcDatetime
    pdf_sha256: str
    verification_code: str
    verification_url: str
    replaces_acta_id: str | None
    replaced_by_acta_id: str | None = None
    voided: bool = False
    void_reason: str | None = None


class DeadlineRead(BaseModel):
    code: str
    label: str
    due: date
    done: bool


class FileRead(BaseModel):
    id: str
    number: str
    sede_id: str
    matter: str
    state: str
    state_label: str
    facts: str
    controversy: str
    requested_on: date
    conciliator_user_id: str | None
    verifier_user_id: str | None
    first_session_on: date | None
    audiencia_limit: date | None
    extension_until: date | None
    conclusion_way: str | None
    conclusion_reason: str | None
    revision: int
    parties: list[PartyRead] = []
    claims: list[dict[str, object]] = []
    sessions: list[SessionRead] = []
    invitations: list[InvitationRead] = []
    obligations: list[ObligationRead] = []
    actas: list[ActaRead] = []
    deadlines: list[DeadlineRead] = []


class FileSummary(BaseModel):
    id: str
    number: str
    sede_id: str
    matter: str
    state: str
    conciliator_user_id: str | None
    requested_on: date


class ChecklistItem(BaseModel):
    code: str
    label: str
    ok: bool
    missing: list[str] = []


class Checklist(BaseModel):
    complete: bool
    items: list[ChecklistItem]


class TimelineEntry(BaseModel):
    kind: str
    summary: str
    actor_name: str | None
    occurred_at: UtcDatetime


class CopyRead(BaseModel):
    id: str
    acta_id: str
    copy_number: int
    recipient_name: str
    recipient_doc: str | None
    issued_at: UtcDatetime


class DesignationProposal(BaseModel):
    user_id: str
    display_name: str
    open_files: int
