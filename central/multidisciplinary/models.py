"""Tables of the multidisciplinary services (Module 05): service requests on a case or
conciliation file, the professional's sessions, reports and their versions, deliveries,
evidence with its chain of custody, the socio-economic ficha and its effects, and alerts.

A signed report version (``md_report_version`` with ``signed_at`` set), deliveries and custody
events are never edited: database triggers (migration md01) refuse UPDATE and DELETE, as on
the audit table."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, DateTime, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from central.domain.clock import new_id, utcnow


def _ts(nullable: bool = False) -> Column:
    return Column(DateTime(timezone=True), nullable=nullable)


def _text(nullable: bool = False) -> Column:
    return Column(Text, nullable=nullable)


class MdSequence(SQLModel, table=True):
    """Last number used per kind (``request`` | ``resolution``), sede and year."""

    __tablename__ = "md_sequence"

    kind: str = Field(primary_key=True, max_length=12)
    sede_id: str = Field(primary_key=True, max_length=64)
    year: int = Field(primary_key=True)
    last_value: int = 0


class MdRequest(SQLModel, table=True):
    """A service asked for on a case file or a conciliation file."""

    __tablename__ = "md_request"
    __table_args__ = (
        Index("ix_md_request_assigned_state", "assigned_user_id", "state", "due_date"),
        Index("ix_md_request_sede_state", "sede_id", "state", "due_date"),
        Index("ix_md_request_requester", "requested_by", "created_at"),
        Index("ix_md_request_citizen", "citizen_id"),
        Index("ix_md_request_case", "case_id"),
        UniqueConstraint("number", name="uq_md_request_number"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    number: str = Field(max_length=40)
    sede_id: str = Field(foreign_key="sede.id", max_length=64)  # where it is served now
    origin_sede_id: str = Field(max_length=64)  # where it was asked for
    service_type: str = Field(max_length=40)
    case_id: str | None = Field(default=None, foreign_key="case_file.id", max_length=36)
    conc_file_id: str | None = Field(default=None, foreign_key="conc_file.id", max_length=36)
    file_number: str = Field(max_length=60)  # the case or conciliation file's number
    citizen_id: str = Field(foreign_key="citizen.id", max_length=36)  # the person evaluated
    questions: str = Field(sa_column=_text())
    urgency: str = Field(default="normal", max_length=10)  # normal | urgente
    authority_kind: str | None = Field(default=None, max_length=12)  # fiscalia | juzgado
    authority_name: str | None = Field(default=None, max_length=200)
    authority_file_number: str | None = Field(default=None, max_length=60)
    state: str = Field(default="requested", max_length=12)
    requested_by: str = Field(max_length=36)
    assigned_user_id: str | None = Field(default=None, max_length=36)
    supervisor_user_id: str | None = Field(default=None, max_length=36)
    assigned_at: datetime | None = Field(default=None, sa_column=_ts(True))
    due_date: date | None = None
    derived_from_sede_id: str | None = Field(default=None, max_length=64)
    derivation_reason: str | None = Field(default=None, max_length=1000)
    derived_at: datetime | None = Field(default=None, sa_column=_ts(True))
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    closed_at: datetime | None = Field(default=None, sa_column=_ts(True))


class MdSession(SQLModel, table=True):
    """A session of a professional with the person (also an appointment at the sede)."""

    __tablename__ = "md_session"
    __table_args__ = (
        Index("ix_md_session_professional_start", "professional_id", "starts_at"),
        Index("ix_md_session_request", "request_id"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    request_id: str = Field(foreign_key="md_request.id", max_length=36)
    sede_id: str = Field(max_length=64)
    professional_id: str = Field(max_length=36)
    starts_at: datetime = Field(sa_column=_ts())
    ends_at: datetime = Field(sa_column=_ts())
    place: str = Field(default="", max_length=200)
    status: str = Field(default="scheduled", max_length=12)  # scheduled|held|no_show|cancelled
    appointment_id: str | None = Field(default=None, max_length=64)
    outcome_at: datetime | None = Field(default=None, sa_column=_ts(True))
    created_by: str = Field(max_length=36)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class MdReport(SQLModel, table=True):
    """One report of a request; its content lives in versions."""

    __tablename__ = "md_report"
    __table_args__ = (Index("ix_md_report_request", "request_id"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    request_id: str = Field(foreign_key="md_request.id", max_length=36)
    sede_id: str = Field(max_length=64)
    service_type: str = Field(max_length=40)
    author_id: str = Field(max_length=36)
    current_version: int = 1
    state: str = Field(default="draft", max_length=12)  # draft|in_review|signed|delivered
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class MdReportVersion(SQLModel, table=True):
    """A version of a report. Once ``signed_at`` is set the row is frozen (triggers)."""

    __tablename__ = "md_report_version"
    __table_args__ = (
        UniqueConstraint("report_id", "version", name="uq_md_report_version"),
        Index("ix_md_report_version_signed", "signed_by", "signed_at"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    report_id: str = Field(foreign_key="md_report.id", max_length=36)
    version: int
    content_json: str = Field(sa_column=_text())
    amendment_reason: str | None = Field(default=None, max_length=2000)
    status: str = Field(default="draft", max_length=12)  # draft | in_review | approved | signed
    review_requested_at: datetime | None = Field(default=None, sa_column=_ts(True))
    reviewer_id: str | None = Field(default=None, max_length=36)
    reviewed_at: datetime | None = Field(default=None, sa_column=_ts(True))
    review_notes: str | None = Field(default=None, max_length=2000)
    signed_by: str | None = Field(default=None, max_length=36)
    signed_at: datetime | None = Field(default=None, sa_column=_ts(True))
    signer_name: str | None = Field(default=None, max_length=200)
    pdf_key: str | None = Field(default=None, max_length=200)
    pdf_sha256: str | None = Field(default=None, max_length=64)
    verification_code: str | None = Field(default=None, max_length=40)
    updated_by: str = Field(max_length=36)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class MdDelivery(SQLModel, table=True):
    """A signed version handed over (append-only)."""

    __tablename__ = "md_delivery"
    __table_args__ = (Index("ix_md_delivery_version", "version_id"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    version_id: str = Field(foreign_key="md_report_version.id", max_length=36)
    recipient: str = Field(max_length=12)  # requester | authority
    certified_copy: bool = False
    notes: str = Field(default="", max_length=400)
    delivered_by: str = Field(max_length=36)
    delivered_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class MdEvidence(SQLModel, table=True):
    """An item or file received (criminalistics), encrypted at rest when it is a file."""

    __tablename__ = "md_evidence"
    __table_args__ = (Index("ix_md_evidence_request", "request_id"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    request_id: str = Field(foreign_key="md_request.id", max_length=36)
    description: str = Field(max_length=400)
    filename: str | None = Field(default=None, max_length=200)
    content_type: str | None = Field(default=None, max_length=100)
    size_bytes: int | None = None
    sha256: str | None = Field(default=None, max_length=64)
    storage_key: str | None = Field(default=None, max_length=200)
    received_from: str = Field(max_length=200)
    received_by: str = Field(max_length=36)
    received_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class MdCustodyEvent(SQLModel, table=True):
    """One link of an item's chain of custody (append-only)."""

    __tablename__ = "md_custody_event"
    __table_args__ = (Index("ix_md_custody_evidence", "evidence_id", "occurred_at"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    evidence_id: str = Field(foreign_key="md_evidence.id", max_length=36)
    action: str = Field(max_length=20)  # recibido | transferido | analizado | devuelto
    from_party: str = Field(default="", max_length=200)
    to_party: str = Field(default="", max_length=200)
    notes: str = Field(default="", max_length=1000)
    recorded_by: str = Field(max_length=36)
    occurred_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class MdSocioEval(SQLModel, table=True):
    """The ficha socioeconómica of a request, its score and the social worker's decision."""

    __tablename__ = "md_socio_eval"
    __table_args__ = (
        UniqueConstraint("request_id", name="uq_md_socio_eval_request"),
        Index("ix_md_socio_eval_citizen", "citizen_id"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    request_id: str = Field(foreign_key="md_request.id", max_length=36)
    citizen_id: str = Field(max_length=36)
    sede_id: str = Field(max_length=64)
    statement_id: str | None = Field(
        default=None, foreign_key="eligibility_statement.id", max_length=36
    )
    ficha_json: str = Field(sa_column=_text())
    score: int = 0
    recommendation: str = Field(default="", max_length=12)  # gratuito | no_gratuito
    decision: str | None = Field(default=None, max_length=12)
    decision_reasons: str | None = Field(default=None, sa_column=_text(True))
    decided_by: str | None = Field(default=None, max_length=36)
    decided_at: datetime | None = Field(default=None, sa_column=_ts(True))
    resolution_number: str | None = Field(default=None, max_length=60)
    resolution_code: str | None = Field(default=None, max_length=40)
    resolution_pdf_key: str | None = Field(default=None, max_length=200)
    resolution_sha256: str | None = Field(default=None, max_length=64)
    updated_by: str = Field(max_length=36)
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class MdCaseNotice(SQLModel, table=True):
    """The effect of a no-gratuidad decision on one of the person's open files: the flag, the
    notice to its defender and what happens next."""

    __tablename__ = "md_case_notice"
    __table_args__ = (
        UniqueConstraint("eval_id", "case_id", name="uq_md_case_notice"),
        Index("ix_md_case_notice_user", "user_id", "read_at"),
        Index("ix_md_case_notice_case", "case_id"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    eval_id: str = Field(foreign_key="md_socio_eval.id", max_length=36)
    case_id: str = Field(foreign_key="case_file.id", max_length=36)
    sede_id: str = Field(max_length=64)
    user_id: str | None = Field(default=None, max_length=36)  # the file's defender
    flag: str = Field(max_length=30)
    next_steps: str = Field(sa_column=_text())
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    read_at: datetime | None = Field(default=None, sa_column=_ts(True))


class MdAlert(SQLModel, table=True):
    """A turnaround alert for the assigned professional (made once per kind by the job)."""

    __tablename__ = "md_alert"
    __table_args__ = (
        UniqueConstraint("request_id", "kind", name="uq_md_alert_request_kind"),
        Index("ix_md_alert_user", "user_id", "read_at"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    request_id: str = Field(foreign_key="md_request.id", max_length=36)
    sede_id: str = Field(max_length=64)
    user_id: str | None = Field(default=None, max_length=36)
    kind: str = Field(max_length=10)  # due_soon | overdue
    due_date: date
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    read_at: datetime | None = Field(default=None, sa_column=_ts(True))
