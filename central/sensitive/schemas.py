"""Shapes of sensitive notes."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

from central.domain.clock import UtcDatetime
from central.domain.text import Line, Text


class SensitiveCategory(StrEnum):
    PSICOLOGICO = "psicologico"  # psychological report
    MEDICO = "medico"  # forensic medical report
    SOCIOECONOMICO = "socioeconomico"  # income / socio-economic evaluation
    VICTIMA = "victima"  # victim data


class SensitiveNoteCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sede_id: Annotated[str, StringConstraints(pattern=r"^[a-z0-9_-]{1,64}$")]
    category: SensitiveCategory
    subject_ref: Line(max_length=64, min_length=1)
    title: Line(max_length=200, min_length=1)
    body: Text(max_length=20000, min_length=1, strip=False)


class SensitiveNoteSummary(BaseModel):
    """What a list shows: no content."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    sede_id: str
    category: str
    subject_ref: str
    created_by: str | None
    created_at: UtcDatetime


class SensitiveNoteRead(SensitiveNoteSummary):
    title: str
    body: str
