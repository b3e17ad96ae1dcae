"""Signed documents any domain issues (actas, reports, resolutions, letters) and what their
public verification page may show: kind, number, date, hash and status — nothing personal.
Each carries an unguessable code printed as a QR on the paper."""

from __future__ import annotations

import secrets
from datetime import date, datetime

from sqlalchemy import Column, DateTime
from sqlmodel import Field, Session, SQLModel, select

from central.domain.clock import new_id, utcnow

STATUS_LABELS_ES = {
    "valid": "Vigente",
    "replaced": "Reemplazado",
    "voided": "Anulado",
}


class SignedDocument(SQLModel, table=True):
    __tablename__ = "signed_document"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    code: str = Field(max_length=40, unique=True)
    kind: str = Field(max_length=40)  # e.g. acta_conciliacion
    title: str = Field(max_length=200)  # e.g. "Acta de conciliación"
    number: str = Field(max_length=60)
    issued_on: date
    issuer: str = Field(max_length=200)  # the centre
    sha256: str = Field(max_length=64)
    sede_id: str | None = Field(default=None, max_length=64)
    ref_id: str | None = Field(default=None, max_length=36)
    status: str = Field(default="valid", max_length=10)
    status_note: str | None = Field(default=None, max_length=400)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )


def new_code() -> str:
    """16 characters from an alphabet without look-alikes (~80 bits)."""
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(16))


def verification_url(base_url: str, code: str) -> str:
    return f"{base_url.rstrip('/')}/verificar/{code}"


def register(
    *,
    session: Session,
    code: str,
    kind: str,
    title: str,
    number: str,
    issued_on: date,
    issuer: str,
    sha256: str,
    sede_id: str | None = None,
    ref_id: str | None = None,
) -> SignedDocument:
    row = SignedDocument(
        code=code,
        kind=kind,
        title=title,
        number=number,
        issued_on=issued_on,
        issuer=issuer,
        sha256=sha256,
        sede_id=sede_id,
        ref_id=ref_id,
    )
    session.add(row)
    return row


def set_status(*, session: Session, code: str, status: str, note: str) -> None:
    row = session.exec(select(SignedDocument).where(SignedDocument.code == code)).one()
    row.status = status
    row.status_note = note[:400]
    session.add(row)


def by_code(*, session: Session, code: str) -> SignedDocument | None:
    return session.exec(select(SignedDocument).where(SignedDocument.code == code)).first()
