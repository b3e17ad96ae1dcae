"""Request and response shapes of Module 01 (API and web forms): plans, manual activities and
the supervision report."""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from central.domain.clock import UtcDatetime
from central.domain.text import Line, Text

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_-]{1,64}$")]
UserId = Annotated[str, StringConstraints(min_length=1, max_length=36)]
Notes = Text(max_length=1000)
Title = Line(max_length=200, min_length=1)
Target = Annotated[int, Field(ge=0, le=10_000)]

MONTH_RE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
MONTH_MESSAGE = "Use el formato AAAA-MM con un mes de 01 a 12 (por ejemplo, 2026-03)."


def check_month(value: str) -> str:
    """'YYYY-MM' with a real month and a plausible year (2000-2100)."""
    match = MONTH_RE.match(value or "")
    if not match or not 2000 <= int(match.group(1)) <= 2100:
        raise ValueError(MONTH_MESSAGE)
    return value


class ActivityType(StrEnum):
    """What a plan programmes and supervision counts."""

    ATTENTIONS = "attentions"
    PATROCINIOS = "patrocinios"
    HEARINGS = "hearings"
    VISITS = "visits"
    TALKS = "talks"
    EVALUATIONS = "evaluations"


ACTIVITY_TYPE_LABELS_ES: dict[ActivityType, str] = {
    ActivityType.ATTENTIONS: "Atenciones",
    ActivityType.PATROCINIOS: "Patrocinios",
    ActivityType.HEARINGS: "Audiencias",
    ActivityType.VISITS: "Visitas",
    ActivityType.TALKS: "Charlas de difusión",
    ActivityType.EVALUATIONS: "Evaluaciones",
}


class ManualKind(StrEnum):
    """Activities entered by hand (they do not come from the queue or a case file)."""

    CHARLA = "charla"
    CAMPANA = "campana"
    FERIA = "feria"
    CAPACITACION = "capacitacion"
    VISITA = "visita"
    EVALUACION = "evaluacion"
    OTRA = "otra"


MANUAL_KIND_LABELS_ES: dict[ManualKind, str] = {
    ManualKind.CHARLA: "Charla de difusión",
    ManualKind.CAMPANA: "Campaña",
    ManualKind.FERIA: "Feria informativa",
    ManualKind.CAPACITACION: "Capacitación",
    ManualKind.VISITA: "Visita (carcelaria, domiciliaria, de campo)",
    ManualKind.EVALUACION: "Evaluación (socioeconómica, psicológica, pericial)",
    ManualKind.OTRA: "Otra actividad",
}

# Which planned type a manual activity counts towards (None: recorded, shown, not targeted).
MANUAL_COUNTS_AS: dict[ManualKind, ActivityType | None] = {
    ManualKind.CHARLA: ActivityType.TALKS,
    ManualKind.CAMPANA: ActivityType.TALKS,
    ManualKind.FERIA: ActivityType.TALKS,
    ManualKind.CAPACITACION: None,
    ManualKind.VISITA: ActivityType.VISITS,
    ManualKind.EVALUACION: ActivityType.EVALUATIONS,
    ManualKind.OTRA: None,
}


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PlanTargets(_In):
    """Monthly targets by activity type (whole numbers, none negative)."""

    attentions: Target = 0
    patrocinios: Target = 0
    hearings: Target = 0
    visits: Target = 0
    talks: Target = 0
    evaluations: Target = 0

    def as_dict(self) -> dict[str, int]:
        return {t.value: int(getattr(self, t.value)) for t in ActivityType}


class PlanCreate(_In):
    sede_id: Slug
    professional_id: UserId
    month: str = Field(examples=["2026-03"], max_length=7)
    targets: PlanTargets = PlanTargets()
    notes: Notes | None = None

    _month = field_validator("month")(check_month)


class PlanUpdate(_In):
    targets: PlanTargets | None = None
    notes: Notes | None = None
    # optimistic concurrency: when given, the update is refused if the plan changed meanwhile
    expected_revision: int | None = Field(default=None, ge=1)


class PlanRead(BaseModel):
    id: str
    sede_id: str
    district_id: str
    professional_id: str
    professional_name: str
    month: str
    targets: dict[str, int]
    notes: str | None
    revision: int
    created_at: UtcDatetime
    updated_at: UtcDatetime


class ManualActivityCreate(_In):
    sede_id: Slug
    # who carried it out; by default the person recording it
    professional_id: UserId | None = None
    kind: ManualKind
    activity_date: date
    title: Title
    participants: int = Field(default=0, ge=0, le=100_000)
    notes: Text(max_length=2000) | None = None


class ManualActivityRead(BaseModel):
    id: str
    sede_id: str
    district_id: str
    professional_id: str
    professional_name: str
    kind: ManualKind
    counts_as: ActivityType | None
    activity_date: date
    title: str
    participants: int
    notes: str | None
    created_at: UtcDatetime


class GroupBy(StrEnum):
    PROFESSIONAL = "professional"
    SEDE = "sede"
    DISTRICT = "district"


GROUP_LABELS_ES = {
    GroupBy.PROFESSIONAL: "Profesional",
    GroupBy.SEDE: "Sede",
    GroupBy.DISTRICT: "Dirección distrital",
}


class SupervisionQuery(_In):
    """A month (``month_from`` alone) or a range of months, optionally narrowed to a district or
    a sede, grouped by professional, sede or district."""

    month_from: str = Field(max_length=7)
    month_to: str | None = Field(default=None, max_length=7)
    district_id: Slug | None = None
    sede_id: Slug | None = None
    group_by: GroupBy = GroupBy.PROFESSIONAL

    _months = field_validator("month_from", "month_to")(
        lambda v: v if v is None else check_month(v)
    )

    @property
    def last_month(self) -> str:
        return self.month_to or self.month_from


class TypeFigures(BaseModel):
    activity_type: ActivityType
    label: str
    planned: int
    executed: int
    compliance_pct: float | None  # executed / planned × 100 (None when nothing was planned)


class SupervisionRow(BaseModel):
    key: str
    label: str
    sede_id: str | None = None
    district_id: str | None = None
    figures: list[TypeFigures]
    other_activities: int  # manual activities that count towards no target (trainings, ...)
    attentions: int
    days_worked: int
    attentions_per_day: float | None
    avg_attention_minutes: float | None
    pause_minutes: float
    open_cases: int  # case files still open, assigned to the row's professionals
    workload_ceiling: int
    # average open files per professional carrying files, as a % of the ceiling
    workload_pct: float | None
    over_ceiling_count: int  # professionals carrying more open files than the ceiling


class SupervisionReport(BaseModel):
    month_from: str
    month_to: str
    group_by: GroupBy
    district_id: str | None
    sede_id: str | None
    workload_ceiling: int
    rows: list[SupervisionRow]
    totals: SupervisionRow
    sources: dict[str, bool]  # which sources of executed activity were available
