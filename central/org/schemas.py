"""Request and response shapes of the organisation API (and the web UI's forms)."""

from __future__ import annotations

from datetime import time
from enum import StrEnum
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from central.domain.clock import UtcDatetime
from central.domain.text import Line
from contracts.sedeconf import QueuePolicyConf

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_-]{1,64}$")]
Name = Line(max_length=120, min_length=1)
ShortName = Line(max_length=80, min_length=1)
CounterName = Line(max_length=40, min_length=1)
Address = Line(max_length=200, min_length=1)
Letter = Annotated[str, StringConstraints(pattern=r"^[A-Z]{1,3}$")]
Ubigeo = Annotated[str, StringConstraints(pattern=r"^\d{6}$")]
Weight = Annotated[int, Field(ge=1, le=100)]


class SedeKind(StrEnum):
    ALEGRA = "ALEGRA"
    MEGA_ALEGRA = "Mega ALEGRA"


class UbigeoScheme(StrEnum):
    RENIEC = "RENIEC"
    INEI = "INEI"


class QueueReset(StrEnum):
    DAILY = "daily"
    KEEP_OVERNIGHT = "keep_overnight"


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DistrictCreate(_In):
    id: Slug
    name: Name


class DistrictUpdate(_In):
    name: Name | None = None


class DistrictRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    revision: int
    created_at: UtcDatetime
    updated_at: UtcDatetime


class SedeCreate(_In):
    id: Slug
    district_id: Slug
    name: Name
    kind: SedeKind = SedeKind.ALEGRA
    ubigeo: Ubigeo
    ubigeo_scheme: UbigeoScheme = UbigeoScheme.INEI
    address: Address
    timezone: Annotated[str, StringConstraints(pattern=r"^America/Lima$")] = "America/Lima"


class SedeUpdate(_In):
    name: Name | None = None
    kind: SedeKind | None = None
    ubigeo: Ubigeo | None = None
    ubigeo_scheme: UbigeoScheme | None = None
    address: Address | None = None
    active: bool | None = None


class SedeRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    district_id: str
    name: str
    kind: str
    ubigeo: str
    ubigeo_scheme: str
    address: str
    timezone: str
    active: bool
    revision: int
    created_at: UtcDatetime
    updated_at: UtcDatetime


class ServiceCreate(_In):
    code: Slug
    name: ShortName
    letter: Letter


class ServiceUpdate(_In):
    name: ShortName | None = None
    letter: Letter | None = None
    position: Annotated[int, Field(ge=0, le=999)] | None = None


class ServiceRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    letter: str
    position: int


class CounterCreate(_In):
    code: Slug
    name: CounterName
    number: Annotated[int, Field(ge=1, le=999)]
    services: dict[Slug, Weight] = Field(min_length=1)


class CounterUpdate(_In):
    name: CounterName | None = None
    number: Annotated[int, Field(ge=1, le=999)] | None = None
    services: dict[Slug, Weight] | None = Field(default=None, min_length=1)


class CounterRead(BaseModel):
    code: str
    name: str
    number: int
    services: dict[str, int]


class HoursItem(_In):
    weekdays: list[Annotated[int, Field(ge=0, le=6)]] = Field(min_length=1, max_length=7)
    opens: time
    closes: time

    @field_validator("weekdays")
    @classmethod
    def _distinct(cls, value: list[int]) -> list[int]:
        if len(set(value)) != len(value):
            raise ValueError("hay días repetidos")
        return sorted(value)

    @model_validator(mode="after")
    def _order(self) -> HoursItem:
        if self.opens >= self.closes:
            raise ValueError("la hora de apertura debe ser anterior a la de cierre")
        return self


class HoursUpdate(_In):
    hours: list[HoursItem] = Field(max_length=14)


class QueuePolicyUpdate(QueuePolicyConf):
    """Same fields as the hub's [sede.queue] table."""

    reset: QueueReset = QueueReset.DAILY  # type: ignore[assignment]
