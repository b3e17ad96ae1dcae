"""Configuration of Module 04 (``ALEGRA_CONCILIATION_*``). Where the law leaves a number to the
reglamento or to the centre (day counts, which matters are conciliable), it is configuration
with the legal default, never a constant."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ConciliationSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ALEGRA_CONCILIATION_", extra="ignore")

    # Matters (catalogue codes of contracts.cases) the centre conciliates, and those it must
    # refuse, with the reason shown (Ley 26872 Art. 7-9; DOMAIN.md). A matter in neither list
    # is refused as "not configured as conciliable".
    conciliable_matters: list[str] = Field(
        default_factory=lambda: [
            "alimentos",
            "tenencia",
            "regimen_visitas",
            "desalojo",
            "obligacion_dar_suma",
            "laboral",
            "otro",
        ]
    )
    non_conciliable_reasons: dict[str, str] = Field(
        default_factory=lambda: {
            "violencia_familiar": "La violencia familiar (Ley 30364) no es materia conciliable.",
            "violencia_sexual": "La violencia sexual no es materia conciliable.",
            "filiacion": "La filiación no es un derecho disponible.",
            "divorcio": "El divorcio y la separación se tramitan judicial o notarialmente.",
            "sucesiones": "La petición de herencia no es materia conciliable.",
            "penal_defensa": "Los procesos penales no son materia conciliable.",
            "penal_victima": "Los procesos penales no son materia conciliable.",
        }
    )
    # What marks family violence (Ley 30364): matters of a linked or related case file, and
    # vulnerability flags of a party (central.citizens).
    violence_matters: list[str] = Field(
        default_factory=lambda: ["violencia_familiar", "violencia_sexual"]
    )
    violence_citizen_flags: list[str] = Field(default_factory=lambda: ["victima_violencia"])
    # Art. 12 of the reglamento (DS 014-2008-JUS as amended), in business days.
    designation_business_days: int = Field(default=1, ge=0, le=30)
    invitation_business_days: int = Field(default=2, ge=0, le=30)
    hearing_business_days: int = Field(default=7, ge=1, le=60)
    min_notice_business_days: int = Field(default=3, ge=0, le=30)
    # Ley 26872 Art. 10: the audiencia única lasts at most this many calendar days from its
    # first session, unless the parties agree to extend it.
    audiencia_max_calendar_days: int = Field(default=30, ge=1, le=365)
    # The verifying lawyer approves the acta's draft before it is issued.
    require_verifier_approval: bool = True
    file_number_format: str = "{sede}-CE-{year}-{seq:05d}"
    acta_number_format: str = "{seq:06d}-{year}"
    # Hearings become appointments at the sede (they travel to the hub like any appointment)
    hearings_as_appointments: bool = True
    appointment_service_code: str = "conciliacion"
    days_off: list[date] = Field(default_factory=list)
    working_days: list[date] = Field(default_factory=list)
    signing_dir: Path | None = None  # default: <ALEGRA_DATA_DIR>/signing
    documents_dir: Path | None = None  # default: <ALEGRA_DATA_DIR>/documents

    def calendar(self):  # noqa: ANN201 - BusinessCalendar
        from central.calendar.business_days import BusinessCalendar

        return BusinessCalendar.peru(self.days_off, self.working_days)
