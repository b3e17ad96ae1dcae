"""Case-intake vocabulary shared by the hub, the counter app and central: identity document
types with their number rules, the matter catalogue a hub offers before it has pulled
central's, and the intake record as it travels between hub and central (its fields, its
forward-only status, the model central checks it against). Pure data and pure functions, no I/O.

Central uses these same definitions (``central/citizens/identifiers.py`` re-exports the
document rules; ``central/cases/catalogues.py`` starts its matter catalogue from
``DEFAULT_MATTERS``).
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

DOC_TYPES: dict[str, str] = {
    "dni": "DNI",
    "ce": "Carné de extranjería",
    "pasaporte": "Pasaporte",
    "cpp": "CPP / PTP",
    "ninguno": "Sin documento",
}
DOC_RULES: dict[str, tuple[re.Pattern[str], str]] = {
    "dni": (re.compile(r"^\d{8}$"), "El DNI debe tener 8 dígitos."),
    "ce": (
        re.compile(r"^[A-Z0-9]{1,12}$"),
        "El carné de extranjería tiene hasta 12 letras o números.",
    ),
    "pasaporte": (
        re.compile(r"^[A-Z0-9]{5,15}$"),
        "El pasaporte tiene de 5 a 15 letras o números.",
    ),
    "cpp": (re.compile(r"^[A-Z0-9]{4,15}$"), "El CPP/PTP tiene de 4 a 15 letras o números."),
}

#: Matters (materias) offered at a counter until the hub has pulled central's catalogue.
DEFAULT_MATTERS: dict[str, str] = {
    "alimentos": "Alimentos",
    "tenencia": "Tenencia y custodia",
    "regimen_visitas": "Régimen de visitas",
    "violencia_familiar": "Violencia familiar",
    "violencia_sexual": "Violencia sexual",
    "filiacion": "Filiación",
    "divorcio": "Divorcio / separación",
    "laboral": "Laboral",
    "desalojo": "Desalojo",
    "obligacion_dar_suma": "Obligación de dar suma de dinero",
    "sucesiones": "Sucesiones",
    "penal_defensa": "Defensa de imputado",
    "penal_victima": "Agraviado en proceso penal",
    "otro": "Otra materia",
}


def normalize_document(doc_type: str, doc_number: str | None) -> tuple[str | None, str | None]:
    """(normalised number, None) or (None, Spanish error). Spaces, dots and dashes are dropped
    and letters upper-cased; ``ninguno`` takes no number."""
    if doc_type not in DOC_TYPES:
        return None, "Tipo de documento no válido."
    number = re.sub(r"[\s.-]", "", doc_number or "").upper()
    if doc_type == "ninguno":
        return (None, None) if not number else (None, "Sin documento: no indique un número.")
    if not number:
        return None, "Indique el número de documento."
    pattern, message = DOC_RULES[doc_type]
    return (number, None) if pattern.match(number) else (None, message)


def intake_names(given_names: str, surnames: str) -> str:
    """The one ``citizen_names`` field an intake carries: "SURNAMES, GIVEN NAMES" (the comma
    tells central which words are which; central splits on it)."""
    given, family = " ".join(given_names.split()), " ".join(surnames.split())
    return f"{family}, {given}" if family else given


# ---------------------------------------------------------------------------- the intake record

#: Forward-only lifecycle of an intake taken at a counter.
INTAKE_STATUSES: tuple[str, ...] = ("open", "referred", "closed")
#: The fields of an intake both sides may edit (sync.protocol.records arbitrates them).
INTAKE_FIELDS: tuple[str, ...] = (
    "citizen_doc_type",
    "citizen_doc_number",
    "citizen_names",
    "service_code",
    "matter",
    "summary",
    "status",
    "ticket_id",
)
MAX_NAMES = 200


def status_rank(status: str) -> int:
    try:
        return INTAKE_STATUSES.index(status)
    except ValueError:
        raise ValueError(f"estado desconocido: {status!r}") from None


def forward_status(current: str, proposed: str) -> str:
    """The later of two statuses: a status never moves back."""
    return proposed if status_rank(proposed) >= status_rank(current) else current


_Id = Annotated[str, StringConstraints(min_length=1, max_length=80)]


class IntakeRecord(BaseModel):
    """A case intake as the hub sends it (``case_intake.saved`` / ``.deleted``) and central
    requires it; the hub checks it before writing, so bad input changes nothing."""

    model_config = ConfigDict(extra="forbid")
    id: _Id
    sede_id: _Id
    citizen_doc_type: Annotated[str, StringConstraints(pattern=r"^(dni|ce|pasaporte|cpp|ninguno)$")]
    citizen_doc_number: Annotated[str, StringConstraints(max_length=20)] | None = None
    citizen_names: Annotated[str, StringConstraints(max_length=MAX_NAMES)] | None = None
    service_code: _Id
    matter: Annotated[str, StringConstraints(max_length=120)] | None = None
    summary: Annotated[str, StringConstraints(max_length=4000)] | None = None
    status: Annotated[str, StringConstraints(pattern=r"^(open|referred|closed)$")]
    ticket_id: _Id | None = None
    deleted: bool = False
    created_at: str
    updated_at: str
