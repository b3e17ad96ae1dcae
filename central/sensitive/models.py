"""Table of sensitive notes attached to a person's file at a sede."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime, Text
from sqlmodel import Field, SQLModel

from central.domain.clock import new_id, utcnow


class SensitiveNote(SQLModel, table=True):
    __tablename__ = "sensitive_note"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    sede_id: str = Field(foreign_key="sede.id", index=True, max_length=64)
    category: str = Field(max_length=20)  # psicologico | medico | socioeconomico | victima
    subject_ref: str = Field(max_length=64)  # file/case reference, never a name or DNI
    title: str = Field(max_length=200)
    body: str = Field(sa_column=Column(Text, nullable=False))
    created_by: str | None = Field(default=None, max_length=36)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
