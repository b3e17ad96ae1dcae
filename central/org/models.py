"""Tables of the organisation: districts, sedes, their service catalogue, counters and hours."""

from __future__ import annotations

from datetime import datetime, time

from sqlalchemy import JSON, Column, DateTime, UniqueConstraint
from sqlmodel import Field, SQLModel

from central.domain.clock import new_id, utcnow


class District(SQLModel, table=True):
    """A Dirección Distrital de Defensa Pública."""

    __tablename__ = "district"

    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=120)
    revision: int = 1
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )


class Sede(SQLModel, table=True):
    """A Centro ALEGRA or Mega ALEGRA; its id is the slug used in MQTT topics."""

    __tablename__ = "sede"

    id: str = Field(primary_key=True, max_length=64)
    district_id: str = Field(foreign_key="district.id", index=True, max_length=64)
    name: str = Field(max_length=120)
    kind: str = Field(max_length=20)  # "ALEGRA" | "Mega ALEGRA"
    ubigeo: str = Field(max_length=6)
    ubigeo_scheme: str = Field(max_length=8)  # "RENIEC" | "INEI"
    address: str = Field(max_length=200)
    timezone: str = Field(default="America/Lima", max_length=64)
    queue_policy: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    active: bool = True
    revision: int = 1  # bumped on every change of anything in the hub configuration
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )


class SedeService(SQLModel, table=True):
    """One entry of a sede's service catalogue (what the kiosk offers)."""

    __tablename__ = "sede_service"
    __table_args__ = (
        UniqueConstraint("sede_id", "code", name="uq_sede_service_code"),
        UniqueConstraint("sede_id", "letter", name="uq_sede_service_letter"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    sede_id: str = Field(foreign_key="sede.id", index=True, max_length=64)
    code: str = Field(max_length=64)
    name: str = Field(max_length=80)
    letter: str = Field(max_length=3)
    position: int = 0


class Counter(SQLModel, table=True):
    """A counter (ventanilla) and, through CounterService, the services it attends."""

    __tablename__ = "counter"
    __table_args__ = (
        UniqueConstraint("sede_id", "code", name="uq_counter_code"),
        UniqueConstraint("sede_id", "number", name="uq_counter_number"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    sede_id: str = Field(foreign_key="sede.id", index=True, max_length=64)
    code: str = Field(max_length=64)
    name: str = Field(max_length=40)
    number: int


class CounterService(SQLModel, table=True):
    __tablename__ = "counter_service"

    counter_id: str = Field(foreign_key="counter.id", primary_key=True, max_length=36)
    service_id: str = Field(foreign_key="sede_service.id", primary_key=True, max_length=36)
    weight: int = 1


class OpeningHours(SQLModel, table=True):
    __tablename__ = "opening_hours"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    sede_id: str = Field(foreign_key="sede.id", index=True, max_length=64)
    weekdays: str = Field(max_length=20)  # "0,1,2,3,4" (0 = Monday)
    opens: time
    closes: time
