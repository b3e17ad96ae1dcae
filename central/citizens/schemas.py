"""Shapes of the citizens API (rules live in the service: documents, dates, duplicates)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from central.domain.clock import UtcDatetime
from central.domain.text import Line, Text

ShortText = Line(max_length=200)
Name = Line(max_length=120, min_length=1)


class DocType(StrEnum):
    DNI = "dni"
    CE = "ce"
    PASAPORTE = "pasaporte"
    CPP = "cpp"
    NINGUNO = "ninguno"


class Language(StrEnum):
    CASTELLANO = "castellano"
    QUECHUA = "quechua"
    AYMARA = "aymara"
    OTRO = "otro"


class Sex(StrEnum):
    F = "F"
    M = "M"
    X = "X"


class UbigeoScheme(StrEnum):
    RENIEC = "reniec"
    INEI = "inei"


class VulnerabilityFlag(StrEnum):
    VICTIMA_VIOLENCIA = "victima_violencia"
    DISCAPACIDAD = "discapacidad"
    ADULTO_MAYOR = "adulto_mayor"
    GESTANTE = "gestante"
    NNA = "nna"  # niña, niño o adolescente
    COMUNIDAD_INDIGENA = "comunidad_indigena"
    PRIVADA_LIBERTAD = "privada_libertad"


FLAG_LABELS_ES = {
    VulnerabilityFlag.VICTIMA_VIOLENCIA: "Víctima de violencia",
    VulnerabilityFlag.DISCAPACIDAD: "Persona con discapacidad",
    VulnerabilityFlag.ADULTO_MAYOR: "Adulto mayor",
    VulnerabilityFlag.GESTANTE: "Gestante",
    VulnerabilityFlag.NNA: "Niña, niño o adolescente",
    VulnerabilityFlag.COMUNIDAD_INDIGENA: "Comunidad indígena o campesina",
    VulnerabilityFlag.PRIVADA_LIBERTAD: "Privada de libertad",
}
LANGUAGE_LABELS_ES = {
    "castellano": "Castellano",
    "quechua": "Quechua",
    "aymara": "Aimara",
    "otro": "Otro",
}


class CitizenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sede_id: Annotated[str, StringConstraints(pattern=r"^[a-z0-9_-]{1,64}$")]
    doc_type: DocType
    doc_number: Line(max_length=20) | None = None
    given_names: Name
    surnames: Line(max_length=120) = ""
    birth_date: date | None = None
    sex: Sex | None = None
    language: Language = Language.CASTELLANO
    phone: (
        Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[0-9 +()-]{6,30}$")]
        | None
    ) = None
    email: (
        Annotated[
            str,
            StringConstraints(
                strip_whitespace=True, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=120
            ),
        ]
        | None
    ) = None
    address: ShortText | None = None
    ubigeo: Annotated[str, StringConstraints(pattern=r"^\d{6}$")] | None = None
    ubigeo_scheme: UbigeoScheme | None = None
    flags: list[VulnerabilityFlag] = Field(default_factory=list, max_length=7)
    # set after a person looked at the possible duplicates and decided this is someone else
    confirm_not_duplicate: bool = False

    @field_validator("flags")
    @classmethod
    def _unique(cls, value: list[VulnerabilityFlag]) -> list[VulnerabilityFlag]:
        return sorted(set(value))


class CitizenUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    base_revision: int = Field(ge=1)
    given_names: Name | None = None
    surnames: Line(max_length=120) | None = None
    birth_date: date | None = None
    sex: Sex | None = None
    language: Language | None = None
    phone: (
        Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[0-9 +()-]{6,30}$")]
        | None
    ) = None
    email: (
        Annotated[
            str,
            StringConstraints(
                strip_whitespace=True, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=120
            ),
        ]
        | None
    ) = None
    address: ShortText | None = None
    ubigeo: Annotated[str, StringConstraints(pattern=r"^\d{6}$")] | None = None
    ubigeo_scheme: UbigeoScheme | None = None
    flags: list[VulnerabilityFlag] | None = Field(default=None, max_length=7)


class CitizenRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    sede_id: str
    doc_type: str
    doc_number: str | None
    given_names: str
    surnames: str
    birth_date: date | None
    sex: str | None
    language: str
    phone: str | None
    email: str | None
    address: str | None
    ubigeo: str | None
    ubigeo_scheme: str | None
    flags: list[str]
    merged_into_id: str | None
    revision: int
    created_at: UtcDatetime
    updated_at: UtcDatetime

    @field_validator("flags", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return [f for f in value.split(",") if f]
        return value


class DuplicateCandidate(BaseModel):
    """What a possible duplicate shows before a merge decision (no contact data)."""

    id: str
    sede_id: str
    doc_type: str
    doc_number_masked: str
    name: str
    birth_date: date | None
    reason: str  # "documento" | "nombre_y_fecha"
    score: float


class MergeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    merged_id: Annotated[str, StringConstraints(min_length=1, max_length=36)]
    reason: Text(max_length=400, min_length=3)


class MergeRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    survivor_id: str
    merged_id: str
    reason: str
    merged_by: str | None
    merged_at: UtcDatetime


class EligibilityCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    household_size: int = Field(ge=1, le=40)
    dependants: int = Field(default=0, ge=0, le=40)
    monthly_income_soles: Decimal = Field(ge=0, le=10_000_000, max_digits=12, decimal_places=2)
    income_sources: Text(max_length=400) = ""
    assets: Text(max_length=400) = ""
    declared_on: date | None = None  # default: today in Lima


class EligibilityDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: Annotated[str, StringConstraints(pattern=r"^(verified|no_gratuidad)$")]
    resolution_number: Line(max_length=60) | None = None
    notes: Text(max_length=2000) | None = None


class EligibilitySummary(BaseModel):
    """Status only (no income): what case pages show without the income permission."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    citizen_id: str
    sede_id: str
    declared_on: date
    verification_due: date
    status: str
    resolution_number: str | None


class EligibilityRead(EligibilitySummary):
    household_size: int
    dependants: int
    monthly_income_soles: Decimal
    income_sources: str
    assets: str
    verification_notes: str | None
    verified_by: str | None
    verified_at: UtcDatetime | None


class IdentityLookupRead(BaseModel):
    """What the identity service (RENIEC adapter) said about a DNI. ``status``: ``found``,
    ``not_found`` or ``unavailable`` (the person's own declaration is used then)."""

    status: Annotated[str, StringConstraints(pattern=r"^(found|not_found|unavailable)$")]
    message: str
    dni: str
    given_names: str | None = None
    surnames: str | None = None
    birth_date: date | None = None
    sex: str | None = None
    ubigeo: str | None = None
    ubigeo_scheme: str | None = None
    # the live registry record with that DNI, when the caller may see it
    registered_citizen_id: str | None = None
