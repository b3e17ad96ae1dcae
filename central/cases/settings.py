"""Configuration of Module 02 (``ALEGRA_CASES_*``): file-number formats, legal day counts,
document limits. Day counts of legal deadlines are configuration, never constants."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class CasesSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ALEGRA_CASES_", extra="ignore")

    # Case file number: {district} (district id, upper case), {year}, {seq}; per-district override.
    number_format: str = "{district}-{year}-{seq:06d}"
    number_formats: dict[str, str] = Field(default_factory=dict)
    # Ley 29360: the sworn statement is verified within this many days while service continues.
    eligibility_verification_days: int = Field(default=20, ge=1, le=365)
    eligibility_business_days: bool = False  # the law counts calendar days
    # Alerts to the responsible person this many business days before a deadline expires.
    alert_business_days_before: int = Field(default=2, ge=0, le=30)
    # Extra non-working days (e.g. decreed days off) and recovered working days.
    days_off: list[date] = Field(default_factory=list)
    working_days: list[date] = Field(default_factory=list)
    # Run the deadline-alert and intake jobs (APScheduler) inside the server process.
    run_jobs: bool = True
    # Documents
    documents_dir: Path | None = None  # default: <ALEGRA_DATA_DIR>/documents
    max_upload_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    # Similarity (0..1) above which a person with the same birth date is a possible duplicate.
    duplicate_name_threshold: float = Field(default=0.85, ge=0.5, le=1.0)
    # Hub service code -> service of the case file, for intakes opened at a counter.
    intake_service_map: dict[str, str] = Field(
        default_factory=lambda: {
            "orientacion": "asistencia_legal",
            "asistencia": "asistencia_legal",
            "victimas": "defensa_victimas",
            "penal": "defensa_penal",
            "conciliacion": "conciliacion",
        }
    )

    def format_for(self, district_id: str) -> str:
        return self.number_formats.get(district_id, self.number_format)

    def calendar(self):  # noqa: ANN201 - BusinessCalendar
        from central.calendar.business_days import BusinessCalendar

        return BusinessCalendar.peru(self.days_off, self.working_days)
