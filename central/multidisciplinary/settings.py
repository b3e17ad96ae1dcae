"""Configuration of Module 05 (``ALEGRA_MD_*``): turnaround deadlines per service type in
business days, alerts, which sedes ask for a second professional's review, the criteria of
the socio-economic evaluation (Ley 29360 / DL 1407) and what a no-gratuidad decision does."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _turnaround() -> dict[str, int]:
    return {
        "evaluacion_socioeconomica": 5,
        "evaluacion_psicologica": 10,
        "pericia_psicologica": 15,
        "reconocimiento_medico_legal": 3,
        "pericia_criminalistica": 15,
        "informe_social": 7,
    }


def _urgent() -> dict[str, int]:
    return {
        "evaluacion_socioeconomica": 2,
        "evaluacion_psicologica": 5,
        "pericia_psicologica": 7,
        "reconocimiento_medico_legal": 1,
        "pericia_criminalistica": 7,
        "informe_social": 3,
    }


def _vulnerability() -> dict[str, int]:
    # factor code -> points added to the need score (criteria of Ley 29360 Art. 4 / DL 1407)
    return {
        "victima_violencia": 30,
        "nna": 20,  # niña, niño o adolescente
        "adulto_mayor": 15,
        "discapacidad": 20,
        "gestante": 15,
        "pobreza_extrema": 30,
        "pueblo_indigena": 10,
        "migrante": 10,
        "privado_libertad": 15,
        "enfermedad_grave": 15,
    }


class MultidisciplinarySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ALEGRA_MD_", extra="ignore")

    turnaround_business_days: dict[str, int] = Field(default_factory=_turnaround)
    urgent_turnaround_business_days: dict[str, int] = Field(default_factory=_urgent)
    alert_business_days_before: int = Field(default=2, ge=0, le=30)
    # sedes whose reports a second professional reviews before signing ("*": every sede)
    review_required_sedes: list[str] = Field(default_factory=list)
    session_minutes_default: int = Field(default=60, ge=10, le=480)
    # sessions become appointments at the sede (the person checks in at the kiosk with the DNI)
    sessions_as_appointments: bool = True
    appointment_service_code: str = "multidisciplinario"
    request_number_format: str = "{sede}-MD-{year}-{seq:05d}"
    resolution_number_format: str = "RNG-{sede}-{year}-{seq:05d}"
    # socio-economic evaluation: monthly income per household member under which need scores
    # full points (soles; INEI's monetary poverty line as the default), and the score from which
    # free service is recommended
    poverty_line_per_capita_soles: float = Field(default=446.0, gt=0)
    gratuity_score_threshold: int = Field(default=50, ge=0, le=1000)
    vulnerability_factors: dict[str, int] = Field(default_factory=_vulnerability)
    vulnerability_labels: dict[str, str] = Field(
        default_factory=lambda: {
            "victima_violencia": "Víctima de violencia",
            "nna": "Niña, niño o adolescente",
            "adulto_mayor": "Adulto mayor",
            "discapacidad": "Persona con discapacidad",
            "gestante": "Gestante",
            "pobreza_extrema": "Pobreza extrema",
            "pueblo_indigena": "Pueblo indígena u originario",
            "migrante": "Persona migrante",
            "privado_libertad": "Persona privada de libertad",
            "enfermedad_grave": "Enfermedad grave",
        }
    )
    # what a no-gratuidad decision does on each of the person's open files
    no_gratuidad_flag: str = "no_gratuidad"
    no_gratuidad_next_steps: str = (
        "Se emitió resolución de no gratuidad. Informe a la persona que el patrocinio gratuito "
        "concluye; puede impugnar la resolución dentro del plazo de ley o continuar con "
        "abogado particular. Registre la actuación en el expediente."
    )
    open_case_states: list[str] = Field(
        default_factory=lambda: ["open", "in_progress", "suspended", "referred"]
    )
    # run the deadline-alert job (APScheduler) inside the server process
    run_jobs: bool = True
    evidence_max_bytes: int = Field(default=25 * 1024 * 1024, ge=1024)
    days_off: list[date] = Field(default_factory=list)
    working_days: list[date] = Field(default_factory=list)
    signing_dir: Path | None = None  # default: <ALEGRA_DATA_DIR>/signing
    documents_dir: Path | None = None  # default: <ALEGRA_DATA_DIR>/md-documents
    # documents at rest: AES-256-GCM keys (urlsafe base64 of 32 bytes), comma-separated, the
    # first one encrypts, all of them decrypt (rotation: put the new key first, run
    # `alegra central md-rotate-keys`, then drop the old one). Default: generated once into
    # <data dir>/md-documents.keys (mode 0600).
    document_keys: str | None = None

    def calendar(self):  # noqa: ANN201 - BusinessCalendar
        from central.calendar.business_days import BusinessCalendar

        return BusinessCalendar.peru(self.days_off, self.working_days)

    def turnaround(self, service_type: str, urgency: str) -> int:
        table = (
            self.urgent_turnaround_business_days
            if urgency == "urgente"
            else self.turnaround_business_days
        )
        return int(table.get(service_type, 10))

    def review_required(self, sede_id: str) -> bool:
        return "*" in self.review_required_sedes or sede_id in self.review_required_sedes
