"""Vocabulary of Module 05: service types, which professional profile serves each, and the
structured report template of each type (sections, their kind and whether signing needs them)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ServiceType(StrEnum):
    EVALUACION_SOCIOECONOMICA = "evaluacion_socioeconomica"
    EVALUACION_PSICOLOGICA = "evaluacion_psicologica"
    PERICIA_PSICOLOGICA = "pericia_psicologica"
    RECONOCIMIENTO_MEDICO_LEGAL = "reconocimiento_medico_legal"
    PERICIA_CRIMINALISTICA = "pericia_criminalistica"
    INFORME_SOCIAL = "informe_social"


SERVICE_LABELS_ES: dict[str, str] = {
    ServiceType.EVALUACION_SOCIOECONOMICA: "Evaluación socioeconómica",
    ServiceType.EVALUACION_PSICOLOGICA: "Evaluación psicológica",
    ServiceType.PERICIA_PSICOLOGICA: "Pericia psicológica",
    ServiceType.RECONOCIMIENTO_MEDICO_LEGAL: "Reconocimiento médico legal (certificado médico legal)",
    ServiceType.PERICIA_CRIMINALISTICA: "Pericia criminalística",
    ServiceType.INFORME_SOCIAL: "Informe social",
}

REPORT_TITLES_ES: dict[str, str] = {
    ServiceType.EVALUACION_SOCIOECONOMICA: "Informe de evaluación socioeconómica",
    ServiceType.EVALUACION_PSICOLOGICA: "Informe psicológico",
    ServiceType.PERICIA_PSICOLOGICA: "Informe pericial psicológico",
    ServiceType.RECONOCIMIENTO_MEDICO_LEGAL: "Certificado médico legal",
    ServiceType.PERICIA_CRIMINALISTICA: "Informe pericial criminalístico",
    ServiceType.INFORME_SOCIAL: "Informe social",
}

# the profile (central.auth.policy.Profile value) that serves each type
PROFILE_FOR: dict[str, str] = {
    ServiceType.EVALUACION_SOCIOECONOMICA: "trabajador_social",
    ServiceType.INFORME_SOCIAL: "trabajador_social",
    ServiceType.EVALUACION_PSICOLOGICA: "psicologo",
    ServiceType.PERICIA_PSICOLOGICA: "psicologo",
    ServiceType.RECONOCIMIENTO_MEDICO_LEGAL: "medico_legista",
    ServiceType.PERICIA_CRIMINALISTICA: "perito",
}

STATE_LABELS_ES = {
    "requested": "Solicitado",
    "assigned": "Asignado",
    "derived": "Derivado a otra sede",
    "in_progress": "En atención",
    "reported": "Informe firmado",
    "delivered": "Entregado",
    "cancelled": "Anulado",
}
REPORT_STATE_LABELS_ES = {
    "draft": "Borrador",
    "in_review": "En revisión",
    "approved": "Revisado",
    "signed": "Firmado",
    "delivered": "Entregado",
}
SESSION_STATUS_LABELS_ES = {
    "scheduled": "Programada",
    "held": "Realizada",
    "no_show": "No asistió",
    "cancelled": "Anulada",
}
URGENCY_LABELS_ES = {"normal": "Normal", "urgente": "Urgente"}
AUTHORITY_LABELS_ES = {"fiscalia": "Fiscalía", "juzgado": "Juzgado"}


class SectionKind(StrEnum):
    TEXT = "text"
    INTEGER = "integer"  # a whole number >= 0 (e.g. días de incapacidad médico legal)
    INJURIES = "injuries"  # list of {location, description}
    ITEMS = "items"  # list of {description, custody}


@dataclass(frozen=True)
class Section:
    key: str
    label: str
    kind: SectionKind = SectionKind.TEXT
    required: bool = True


_PSYCHOLOGY = (
    Section("reason", "Motivo de la evaluación"),
    Section("method", "Metodología e instrumentos"),
    Section("history", "Antecedentes"),
    Section("observation", "Observación de conducta"),
    Section("results", "Resultados"),
    Section("conclusions", "Conclusiones"),
    Section("recommendations", "Recomendaciones"),
)
_MEDICAL = (
    Section("data", "Datos del examinado y de la diligencia"),
    Section("history", "Antecedentes / data"),
    Section("examination", "Examen médico"),
    Section("injuries", "Lesiones", SectionKind.INJURIES),
    Section("conclusions", "Conclusiones"),
    Section("care_days", "Días de atención facultativa", SectionKind.INTEGER),
    Section("incapacity_days", "Días de incapacidad médico legal", SectionKind.INTEGER),
)
_CRIMINALISTICS = (
    Section("items", "Indicios y muestras recibidos (cadena de custodia)", SectionKind.ITEMS),
    Section("methods", "Métodos y técnicas"),
    Section("results", "Resultados"),
    Section("conclusions", "Conclusiones"),
)
_SOCIAL = (
    Section("reason", "Motivo"),
    Section("family", "Situación familiar"),
    Section("housing", "Vivienda y entorno"),
    Section("economy", "Situación económica"),
    Section("health", "Salud", required=False),
    Section("conclusions", "Conclusiones"),
    Section("recommendations", "Recomendaciones"),
)

TEMPLATES: dict[str, tuple[Section, ...]] = {
    ServiceType.EVALUACION_PSICOLOGICA: _PSYCHOLOGY,
    ServiceType.PERICIA_PSICOLOGICA: _PSYCHOLOGY,
    ServiceType.RECONOCIMIENTO_MEDICO_LEGAL: _MEDICAL,
    ServiceType.PERICIA_CRIMINALISTICA: _CRIMINALISTICS,
    ServiceType.INFORME_SOCIAL: _SOCIAL,
    ServiceType.EVALUACION_SOCIOECONOMICA: _SOCIAL,
}
