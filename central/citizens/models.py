"""Tables of the citizens registry."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, DateTime, Index, Text, text
from sqlmodel import Field, SQLModel

from central.domain.clock import new_id, utcnow


def _ts(**kw) -> Column:  # noqa: ANN003
    return Column(DateTime(timezone=True), nullable=kw.get("nullable", False))


class Citizen(SQLModel, table=True):
    """A person served. ``name_norm`` is the accent-folded, lower-case "surnames given names"
    used for search and duplicate detection. A merged record keeps its row and points to the
    survivor (``merged_into_id``) so old references and the history stay readable."""

    __tablename__ = "citizen"
    __table_args__ = (
        Index(
            "uq_citizen_document",
            "doc_type",
            "doc_number",
            unique=True,
            sqlite_where=text("merged_into_id IS NULL AND doc_number IS NOT NULL"),
            postgresql_where=text("merged_into_id IS NULL AND doc_number IS NOT NULL"),
        ),
        Index("ix_citizen_birth_date", "birth_date"),
        Index("ix_citizen_doc_number", "doc_number"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    doc_type: str = Field(max_length=12)  # dni | ce | pasaporte | cpp | ninguno
    doc_number: str | None = Field(default=None, max_length=20)
    given_names: str = Field(max_length=120)
    surnames: str = Field(default="", max_length=120)
    name_norm: str = Field(max_length=250)
    birth_date: date | None = None
    sex: str | None = Field(default=None, max_length=1)  # F | M | X
    language: str = Field(default="castellano", max_length=12)
    phone: str | None = Field(default=None, max_length=30)
    email: str | None = Field(default=None, max_length=120)
    address: str | None = Field(default=None, max_length=200)
    ubigeo: str | None = Field(default=None, max_length=6)
    ubigeo_scheme: str | None = Field(default=None, max_length=6)  # reniec | inei
    flags: str = Field(default="", max_length=200)  # comma-separated vulnerability flags
    sede_id: str = Field(foreign_key="sede.id", index=True, max_length=64)  # where registered
    merged_into_id: str | None = Field(default=None, max_length=36, index=True)
    revision: int = 1
    created_by: str | None = Field(default=None, max_length=36)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class CitizenMerge(SQLModel, table=True):
    """One merge: which record survived, which was merged, what references were moved."""

    __tablename__ = "citizen_merge"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    survivor_id: str = Field(foreign_key="citizen.id", index=True, max_length=36)
    merged_id: str = Field(foreign_key="citizen.id", index=True, max_length=36)
    merged_snapshot: str = Field(sa_column=Column(Text, nullable=False))  # JSON of the record
    moved_references: str = Field(sa_column=Column(Text, nullable=False))  # JSON counts
    reason: str = Field(max_length=400)
    merged_by: str | None = Field(default=None, max_length=36)
    merged_at: datetime = Field(default_factory=utcnow, sa_column=_ts())


class EligibilityStatement(SQLModel, table=True):
    """Ley 29360 sworn statement of economic situation (SENSITIVE: income data). Service
    continues while it is pending; verification is due ``verification_due``."""

    __tablename__ = "eligibility_statement"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    citizen_id: str = Field(foreign_key="citizen.id", index=True, max_length=36)
    sede_id: str = Field(foreign_key="sede.id", index=True, max_length=64)
    household_size: int
    dependants: int = 0
    monthly_income_soles: str = Field(max_length=20)  # decimal as text: exact on both databases
    income_sources: str = Field(default="", max_length=400)
    assets: str = Field(default="", max_length=400)
    declared_on: date
    verification_due: date
    status: str = Field(default="pending", max_length=16)  # pending | verified | no_gratuidad
    resolution_number: str | None = Field(default=None, max_length=60)
    verification_notes: str | None = Field(default=None, max_length=2000)
    verified_by: str | None = Field(default=None, max_length=36)
    verified_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    created_by: str | None = Field(default=None, max_length=36)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts())
