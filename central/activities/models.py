"""Tables of Module 01: monthly plans with a target per activity type, and activities entered by
hand (talks, campaigns, trainings). What is executed at the counters and in case files is not
copied here: it is read from the tables of central.sync and central.cases (see sources.py)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, Date, DateTime, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from central.domain.clock import new_id, utcnow


class ActivityPlan(SQLModel, table=True):
    """The programme of one professional at one sede for one calendar month."""

    __tablename__ = "activity_plan"
    __table_args__ = (
        UniqueConstraint("professional_id", "month", name="uq_activity_plan_professional_month"),
        Index("ix_activity_plan_sede_month", "sede_id", "month"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    sede_id: str = Field(foreign_key="sede.id", max_length=64)
    professional_id: str = Field(foreign_key="app_user.id", index=True, max_length=36)
    month: str = Field(max_length=7)  # "YYYY-MM"
    notes: str | None = Field(default=None, max_length=1000)
    revision: int = 1
    created_by: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )


class ActivityPlanTarget(SQLModel, table=True):
    """One target of a plan: how many activities of a type are programmed for the month."""

    __tablename__ = "activity_plan_target"

    plan_id: str = Field(foreign_key="activity_plan.id", primary_key=True, max_length=36)
    activity_type: str = Field(primary_key=True, max_length=20)
    target: int = Field(ge=0)


class ManualActivity(SQLModel, table=True):
    """An activity recorded by hand: outreach talk, campaign, fair, training, visit."""

    __tablename__ = "manual_activity"
    __table_args__ = (Index("ix_manual_activity_sede_date", "sede_id", "activity_date"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    sede_id: str = Field(foreign_key="sede.id", max_length=64)
    professional_id: str = Field(foreign_key="app_user.id", index=True, max_length=36)
    kind: str = Field(max_length=20)
    activity_date: date = Field(sa_column=Column(Date, nullable=False))
    title: str = Field(max_length=200)
    participants: int = Field(default=0, ge=0)
    notes: str | None = Field(default=None, max_length=2000)
    revision: int = 1
    created_by: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )


class QueueDay(SQLModel, table=True):
    """Attentions per sede, staff username and business day, rolled up from the synced ticket
    events so a district's month reads a few thousand rows, not every ticket event. Kept by the
    sync apply transaction (central.activities.rollup), incrementally per ticket."""

    __tablename__ = "activity_queue_day"

    sede_id: str = Field(primary_key=True, max_length=64)
    day: str = Field(primary_key=True, max_length=10)  # the tickets' business date (Lima)
    username: str = Field(primary_key=True, max_length=64)
    attentions: int = 0
    timed_attentions: int = 0
    serving_seconds: float = 0.0
