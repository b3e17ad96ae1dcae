"""Tables of case files. Actions carry date, author, type and sede so Module 01 can count them;
every change also lands on the file's timeline (``case_event``)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, DateTime, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from central.domain.clock import new_id, utcnow


def _ts(nullable: bool = False) -> Column:
    return Column(DateTime(timezone=True), nullable=nullable)


class CaseSequence(SQLModel, table=True):
    """The last number used per district and year; bumped in the opening transaction."""

    __tablename__ = "case_sequence"

    district_id: str = Field(primary_key=True, max_length=64)
    year: int = Field(primary_key=True)
    last_value: int = 0


class CaseFile(SQLModel, table=True):
    __tablename__ = "case_file"
    __table_args__ = (
        Index("ix_case_file_sede_state", "sede_id", "state"),
        Index("ix_case_file_district_opened", "district_id", "opened_at"),
        Index("ix_case_file_client", "client_citizen_id"),
        Index("ix_case_file_judicial", "judicial_number"),
        Index("ix_case_file_assigned", "assigned_user_id", "state"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    number: str = Field(max_length=60, unique=True)
    district_id: str = Field(foreign_key="district.id", max_length=64)
    sede_id: str = Field(foreign_key="sede.id", max_length=64)
    year: int
    seq: int
    service: str = Field(max_length=30)
    matter: str = Field(max_length=40)
    attention_type: str = Field(max_length=20)  # orientacion | asistencia | patrocinio
    state: str = Field(default="open", max_length=16)
    outcome_code: str | None = Field(default=None, max_length=40)
    client_citizen_id: str = Field(foreign_key="citizen.id", max_length=36)
    assigned_user_id: str | None = Field(default=None, max_length=36)
    judicial_number: str | None = Field(default=None, max_length=40)
    court: str | None = Field(default=None, max_length=200)
    summary: str = Field(default="", sa_column=Column(Text, nullable=False))
    source: str = Field(default="central", max_length=10)  # central | counter
    intake_id: str | None = Field(default=None, max_length=64, unique=True)
    intake_revision: int | None = None
    intake_conflict: bool = False
    revision: int = 1
    created_by: str | None = Field(default=None, max_length=36)
    opened_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    closed_at: datetime | None = Field(default=None, sa_column=_ts(True))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class CaseParty(SQLModel, table=True):
    """A person in the file. Victims and minors are restricted (``cases.sensitive``)."""

    __tablename__ = "case_party"
    __table_args__ = (
        Index("ix_case_party_case", "case_id"),
        Index("ix_case_party_doc", "doc_type", "doc_number"),
        Index("ix_case_party_citizen", "citizen_id"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    case_id: str = Field(foreign_key="case_file.id", max_length=36)
    role: str = Field(max_length=16)  # client | counterpart | victim | minor | other
    citizen_id: str | None = Field(default=None, foreign_key="citizen.id", max_length=36)
    name: str = Field(max_length=250)
    doc_type: str | None = Field(default=None, max_length=12)
    doc_number: str | None = Field(default=None, max_length=20)
    restricted: bool = False
    added_by: str | None = Field(default=None, max_length=36)
    added_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    # withdrawn parties stay (history); every live-party query filters on removed_at
    removed_at: datetime | None = Field(default=None, sa_column=_ts(True))
    removed_by: str | None = Field(default=None, max_length=36)
    removal_reason: str | None = Field(default=None, max_length=400)


class CaseAction(SQLModel, table=True):
    """An actuación: filing, hearing, visit, diligence... (countable by Module 01)."""

    __tablename__ = "case_action"
    __table_args__ = (
        Index("ix_case_action_case", "case_id", "action_date"),
        Index("ix_case_action_sede_date", "sede_id", "action_date"),
        Index("ix_case_action_author_date", "author_user_id", "action_date"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    case_id: str = Field(foreign_key="case_file.id", max_length=36)
    sede_id: str = Field(max_length=64)  # the file's sede when the action was done
    case_sede_id: str | None = Field(default=None, max_length=64)  # the file's sede now
    action_type: str = Field(max_length=20)
    action_date: date
    author_user_id: str | None = Field(default=None, max_length=36)
    notes: str = Field(default="", sa_column=Column(Text, nullable=False))
    restricted: bool = False
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class CaseDeadline(SQLModel, table=True):
    __tablename__ = "case_deadline"
    __table_args__ = (
        Index("ix_case_deadline_open_due", "status", "due_date"),
        Index("ix_case_deadline_case", "case_id"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    case_id: str = Field(foreign_key="case_file.id", max_length=36)
    sede_id: str = Field(max_length=64)
    action_id: str | None = Field(default=None, max_length=36)
    title: str = Field(max_length=200)
    start_date: date
    business_days: int | None = None
    due_date: date
    responsible_user_id: str | None = Field(default=None, max_length=36)
    status: str = Field(default="pending", max_length=10)  # pending | done | cancelled
    done_at: datetime | None = Field(default=None, sa_column=_ts(True))
    created_by: str | None = Field(default=None, max_length=36)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class CaseAlert(SQLModel, table=True):
    """Stored alert for the responsible person (made by the scheduler job, once per kind)."""

    __tablename__ = "case_alert"
    __table_args__ = (
        UniqueConstraint("deadline_id", "kind", name="uq_case_alert_deadline_kind"),
        Index("ix_case_alert_user", "user_id", "read_at"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    deadline_id: str = Field(foreign_key="case_deadline.id", max_length=36)
    case_id: str = Field(max_length=36)
    sede_id: str = Field(max_length=64)
    user_id: str | None = Field(default=None, max_length=36)
    kind: str = Field(max_length=10)  # due_soon | overdue
    due_date: date
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    read_at: datetime | None = Field(default=None, sa_column=_ts(True))


class CaseReferral(SQLModel, table=True):
    __tablename__ = "case_referral"
    __table_args__ = (Index("ix_case_referral_case", "case_id"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    case_id: str = Field(foreign_key="case_file.id", max_length=36)
    kind: str = Field(max_length=10)  # internal | external
    from_sede_id: str = Field(max_length=64)
    to_sede_id: str | None = Field(default=None, max_length=64)
    to_service: str | None = Field(default=None, max_length=30)
    institution: str | None = Field(default=None, max_length=30)
    institution_detail: str | None = Field(default=None, max_length=200)
    reason: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(default="pending", max_length=10)  # pending | accepted | rejected | sent
    state_before: str = Field(max_length=16)  # the file's state to go back to on rejection
    created_by: str | None = Field(default=None, max_length=36)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    decided_by: str | None = Field(default=None, max_length=36)
    decided_at: datetime | None = Field(default=None, sa_column=_ts(True))
    decision_notes: str | None = Field(default=None, max_length=1000)


class CaseDocument(SQLModel, table=True):
    __tablename__ = "case_document"
    __table_args__ = (Index("ix_case_document_case", "case_id"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    case_id: str = Field(foreign_key="case_file.id", max_length=36)
    action_id: str | None = Field(default=None, max_length=36)
    category: str = Field(max_length=30)
    filename: str = Field(max_length=200)
    content_type: str = Field(max_length=100)
    size_bytes: int
    sha256: str = Field(max_length=64)
    storage_key: str = Field(max_length=200)
    restricted: bool = False
    uploaded_by: str | None = Field(default=None, max_length=36)
    uploaded_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class CaseEvent(SQLModel, table=True):
    """The file's timeline: one row per thing that happened (kind, who, when, a short summary
    without personal data, and whether it belongs to a restricted part)."""

    __tablename__ = "case_event"
    __table_args__ = (Index("ix_case_event_case_at", "case_id", "occurred_at"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    case_id: str = Field(foreign_key="case_file.id", max_length=36)
    kind: str = Field(max_length=30)
    summary: str = Field(max_length=400)
    ref_id: str | None = Field(default=None, max_length=36)
    restricted: bool = False
    actor_user_id: str | None = Field(default=None, max_length=36)
    actor_name: str | None = Field(default=None, max_length=80)
    occurred_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
