"""Tables of extrajudicial conciliation (Module 04): the file (expediente de conciliación) from
the solicitud to its acta, its parties, claims, sessions of the audiencia única with attendance,
invitations with their delivery, structured obligations and the issued actas.

An issued acta (``conc_acta``), its voiding notes and certified copies are append-only: database
triggers (migration k001) refuse UPDATE and DELETE, as on the audit table."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, DateTime, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from central.domain.clock import new_id, utcnow


def _ts(nullable: bool = False) -> Column:
    return Column(DateTime(timezone=True), nullable=nullable)


def _text(nullable: bool = False) -> Column:
    return Column(Text, nullable=nullable)


class ConcSequence(SQLModel, table=True):
    """Last number used per kind (``file`` | ``acta``), centre (sede) and year; bumped inside
    the transaction that uses it, so a rolled-back issue leaves no gap."""

    __tablename__ = "conc_sequence"

    kind: str = Field(primary_key=True, max_length=8)
    sede_id: str = Field(primary_key=True, max_length=64)
    year: int = Field(primary_key=True)
    last_value: int = 0


class ConcProfessional(SQLModel, table=True):
    """Registration data the acta needs of a conciliator or verifying lawyer."""

    __tablename__ = "conc_professional"

    user_id: str = Field(primary_key=True, max_length=36)
    full_name: str = Field(max_length=200)
    doc_number: str = Field(max_length=20)
    conciliator_registration: str | None = Field(default=None, max_length=40)
    family_specialty_registration: str | None = Field(default=None, max_length=40)
    bar_registration: str | None = Field(default=None, max_length=40)  # colegio de abogados
    updated_by: str | None = Field(default=None, max_length=36)
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class ConcFile(SQLModel, table=True):
    __tablename__ = "conc_file"
    __table_args__ = (
        Index("ix_conc_file_sede_state", "sede_id", "state"),
        # the tray: a conciliator's files by stage within their sede, from the index alone
        Index("ix_conc_file_conciliator_state_sede", "conciliator_user_id", "state", "sede_id"),
        UniqueConstraint("sede_id", "year", "seq", name="uq_conc_file_seq"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    number: str = Field(max_length=60, unique=True)
    sede_id: str = Field(foreign_key="sede.id", max_length=64)
    district_id: str = Field(max_length=64)
    year: int
    seq: int
    matter: str = Field(max_length=40)
    state: str = Field(default="solicitud", max_length=16)
    source: str = Field(default="central", max_length=10)  # central | case | intake
    case_id: str | None = Field(default=None, max_length=36)
    intake_id: str | None = Field(default=None, max_length=64)
    facts: str = Field(sa_column=_text())
    controversy: str = Field(sa_column=_text())
    violence_declared: bool = False
    protective_measures: bool = False
    requested_on: date
    conciliator_user_id: str | None = Field(default=None, max_length=36)
    verifier_user_id: str | None = Field(default=None, max_length=36)
    designated_at: datetime | None = Field(default=None, sa_column=_ts(True))
    first_session_on: date | None = None  # the first session actually held
    extension_until: date | None = None
    extension_note: str | None = Field(default=None, max_length=1000)
    conclusion_way: str | None = Field(default=None, max_length=30)
    conclusion_reason: str | None = Field(default=None, sa_column=_text(True))
    no_agreement_points: str | None = Field(default=None, sa_column=_text(True))
    concluded_session_id: str | None = Field(default=None, max_length=36)
    concluded_at: datetime | None = Field(default=None, sa_column=_ts(True))
    approved_digest: str | None = Field(default=None, max_length=64)  # verifier's approval
    approved_by: str | None = Field(default=None, max_length=36)
    replaces_acta_id: str | None = Field(default=None, max_length=36)  # a replacement underway
    revision: int = 1
    created_by: str | None = Field(default=None, max_length=36)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class ConcParty(SQLModel, table=True):
    __tablename__ = "conc_party"
    __table_args__ = (Index("ix_conc_party_file", "file_id"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    file_id: str = Field(foreign_key="conc_file.id", max_length=36)
    role: str = Field(max_length=12)  # solicitante | invitado
    ordinal: int
    citizen_id: str = Field(foreign_key="citizen.id", max_length=36)
    notice_address: str | None = Field(default=None, max_length=200)
    representative_citizen_id: str | None = Field(default=None, max_length=36)
    representative_powers: str | None = Field(default=None, max_length=1000)
    witness_citizen_id: str | None = Field(default=None, max_length=36)  # testigo a ruego


class ConcClaim(SQLModel, table=True):
    """A pretensión (or a counter-claim, ``counterclaim``) of one party."""

    __tablename__ = "conc_claim"
    __table_args__ = (Index("ix_conc_claim_file", "file_id"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    file_id: str = Field(foreign_key="conc_file.id", max_length=36)
    party_id: str = Field(max_length=36)
    ordinal: int
    description: str = Field(sa_column=_text())
    counterclaim: bool = False


class ConcSession(SQLModel, table=True):
    """One session of the audiencia única."""

    __tablename__ = "conc_session"
    __table_args__ = (
        Index("ix_conc_session_file", "file_id"),
        Index("ix_conc_session_sede_at", "sede_id", "scheduled_at"),
        UniqueConstraint("file_id", "ordinal", name="uq_conc_session_ordinal"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    file_id: str = Field(foreign_key="conc_file.id", max_length=36)
    sede_id: str = Field(max_length=64)
    ordinal: int
    scheduled_at: datetime = Field(sa_column=_ts())
    mode: str = Field(max_length=10)  # presencial | virtual
    place: str | None = Field(default=None, max_length=200)
    virtual_means: str | None = Field(default=None, max_length=200)  # platform
    virtual_link: str | None = Field(default=None, max_length=300)
    status: str = Field(default="scheduled", max_length=10)  # scheduled | held
    held_on: date | None = None
    for_replacement: bool = False
    notes: str | None = Field(default=None, sa_column=_text(True))
    created_by: str | None = Field(default=None, max_length=36)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class ConcAttendance(SQLModel, table=True):
    __tablename__ = "conc_attendance"
    __table_args__ = (UniqueConstraint("session_id", "party_id", name="uq_conc_attendance"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    session_id: str = Field(foreign_key="conc_session.id", max_length=36)
    party_id: str = Field(foreign_key="conc_party.id", max_length=36)
    present: bool
    virtual_consent: bool = False  # Ley 31165: consent to the electronic means
    recorded_by: str | None = Field(default=None, max_length=36)
    recorded_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class ConcInvitation(SQLModel, table=True):
    __tablename__ = "conc_invitation"
    __table_args__ = (Index("ix_conc_invitation_file_status", "file_id", "status"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    file_id: str = Field(foreign_key="conc_file.id", max_length=36)
    party_id: str = Field(foreign_key="conc_party.id", max_length=36)
    session_id: str = Field(foreign_key="conc_session.id", max_length=36)
    issued_on: date
    delivery_due: date
    status: str = Field(default="pending", max_length=12)  # pending | delivered | undelivered
    delivered_on: date | None = None
    delivery_mode: str | None = Field(default=None, max_length=20)
    received_by: str | None = Field(default=None, max_length=200)
    undelivered_reason: str | None = Field(default=None, max_length=400)
    recorded_by: str | None = Field(default=None, max_length=36)
    created_by: str | None = Field(default=None, max_length=36)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class ConcObligation(SQLModel, table=True):
    """One obligation of an agreement: who owes what to whom, how much, when. Frozen into the
    acta's content when the acta is issued; later compliance is recorded against its id."""

    __tablename__ = "conc_obligation"
    __table_args__ = (Index("ix_conc_obligation_file", "file_id"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    file_id: str = Field(foreign_key="conc_file.id", max_length=36)
    ordinal: int
    kind: str = Field(max_length=20)
    debtor_party_id: str = Field(max_length=36)
    creditor_party_id: str = Field(max_length=36)
    description: str = Field(sa_column=_text())
    amount: str | None = Field(default=None, max_length=20)  # decimal as text
    currency: str = Field(default="PEN", max_length=3)
    due_date: date | None = None
    periodicity: str | None = Field(default=None, max_length=12)
    start_date: date | None = None
    end_date: date | None = None
    payment_method: str | None = Field(default=None, max_length=300)


class ConcActa(SQLModel, table=True):
    """An issued acta (append-only). ``content`` is the JSON of everything it says, as issued."""

    __tablename__ = "conc_acta"
    __table_args__ = (
        UniqueConstraint("sede_id", "year", "number", name="uq_conc_acta_number"),
        Index("ix_conc_acta_file", "file_id"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    file_id: str = Field(foreign_key="conc_file.id", max_length=36)
    sede_id: str = Field(max_length=64)
    year: int
    number: int
    number_text: str = Field(max_length=40)
    conclusion_way: str = Field(max_length=30)
    session_id: str | None = Field(default=None, max_length=36)
    replaces_acta_id: str | None = Field(default=None, max_length=36)
    content: str = Field(sa_column=_text())
    pdf_key: str = Field(max_length=200)
    pdf_sha256: str = Field(max_length=64)
    verification_code: str = Field(max_length=40, unique=True)
    issued_by: str | None = Field(default=None, max_length=36)
    issued_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class ConcActaVoid(SQLModel, table=True):
    """A number of the registry voided, with why (append-only)."""

    __tablename__ = "conc_acta_void"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    acta_id: str = Field(foreign_key="conc_acta.id", max_length=36, unique=True)
    reason: str = Field(max_length=1000)
    voided_by: str | None = Field(default=None, max_length=36)
    voided_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class ConcCertifiedCopy(SQLModel, table=True):
    """Who received which certified copy of an acta, when (append-only)."""

    __tablename__ = "conc_certified_copy"
    __table_args__ = (UniqueConstraint("acta_id", "copy_number", name="uq_conc_copy_number"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    acta_id: str = Field(foreign_key="conc_acta.id", max_length=36)
    copy_number: int
    recipient_party_id: str | None = Field(default=None, max_length=36)
    recipient_name: str = Field(max_length=200)
    recipient_doc: str | None = Field(default=None, max_length=20)
    issued_by: str | None = Field(default=None, max_length=36)
    issued_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class ConcEvent(SQLModel, table=True):
    """The file's timeline (no personal data in ``summary``)."""

    __tablename__ = "conc_event"
    __table_args__ = (Index("ix_conc_event_file_at", "file_id", "occurred_at"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    file_id: str = Field(foreign_key="conc_file.id", max_length=36)
    kind: str = Field(max_length=30)
    summary: str = Field(max_length=400)
    actor_user_id: str | None = Field(default=None, max_length=36)
    actor_name: str | None = Field(default=None, max_length=80)
    occurred_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
