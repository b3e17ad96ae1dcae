"""Work of Module 04 that spans domains or has side effects: sessions that become appointments
at the sede (they travel to the hub like any appointment, so the party checks in at the kiosk
with their DNI), the acta rendered, signed by the centre and stored, and the invitation letter."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from central.auth.policy import Area
from central.citizens.models import Citizen
from central.conciliation import catalogues as cat
from central.conciliation import documents, service
from central.conciliation.models import ConcActa, ConcClaim, ConcFile, ConcInvitation, ConcSession
from central.conciliation.schemas import SessionCreate
from central.conciliation.settings import ConciliationSettings
from central.core import signed
from central.core.signing import SigningIdentity, sign_pdf
from central.documents.storage import DocumentStorage, read_verified
from central.domain.actor import Actor
from central.org.models import Sede
from central.sync import models as sync_tables
from central.sync.service import put_central_record
from contracts.cases import DEFAULT_MATTERS
from contracts.sync import RecordType

MAX_PDF_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True)
class Paper:
    """What printing and signing need: the signing identity, where PDFs are kept, the public
    base URL of the verification page and the institution's name."""

    identity: SigningIdentity
    storage: DocumentStorage
    base_url: str
    institution: str


def publish_appointments(
    *, session: Session, settings: ConciliationSettings, hearing: ConcSession
) -> int:
    """One appointment per party with a DNI (the kiosk checks people in by DNI)."""
    if not settings.hearings_as_appointments:
        return 0
    count = 0
    conn = session.connection()
    for party in service.parties(session=session, file_id=hearing.file_id):
        citizen = session.get(Citizen, party.representative_citizen_id or party.citizen_id)
        if citizen is None or citizen.doc_type != "dni" or not citizen.doc_number:
            continue
        put_central_record(
            conn,
            table=sync_tables.sync_appointment,
            record_type=RecordType.APPOINTMENT,
            values={
                "id": f"conc-{hearing.id}-{party.id[-8:]}",
                "sede_id": hearing.sede_id,
                "code": f"CE{hearing.id.replace('-', '')[-12:]}{party.ordinal}{party.role[0].upper()}"[
                    :20
                ],
                "dni": citizen.doc_number,
                "service_code": settings.appointment_service_code,
                "scheduled_at": hearing.scheduled_at,
            },
        )
        count += 1
    return count


def schedule_session(
    *,
    session: Session,
    actor: Actor,
    area: Area,
    settings: ConciliationSettings,
    file_id: str,
    data: SessionCreate,
    now: datetime | None = None,
) -> ConcSession:
    hearing = service.schedule_session(
        session=session,
        actor=actor,
        area=area,
        settings=settings,
        file_id=file_id,
        data=data,
        now=now,
    )
    publish_appointments(session=session, settings=settings, hearing=hearing)
    return hearing


def start_replacement(
    *,
    session: Session,
    actor: Actor,
    area: Area,
    settings: ConciliationSettings,
    acta_id: str,
    reason: str,
    data: SessionCreate,
    now: datetime | None = None,
) -> ConcSession:
    hearing = service.start_replacement(
        session=session,
        actor=actor,
        area=area,
        settings=settings,
        acta_id=acta_id,
        reason=reason,
        data=data,
        now=now,
    )
    publish_appointments(session=session, settings=settings, hearing=hearing)
    return hearing


def _sign(pdf: bytes, paper: Paper, centre: str) -> bytes:
    return sign_pdf(
        pdf, paper.identity, reason="Acta de conciliación emitida por el centro", location=centre
    )


def issue_acta(
    *,
    session: Session,
    actor: Actor,
    area: Area,
    settings: ConciliationSettings,
    file_id: str,
    paper: Paper,
    now: datetime | None = None,
) -> ConcActa:
    """Check (Art. 16), number, render, sign (PAdES) and store the acta, in the caller's
    transaction. The PDF is written to storage before the commit: a rolled-back issue leaves an
    unreferenced file, never a referenced missing one."""

    def render(content: dict) -> bytes:
        url = signed.verification_url(paper.base_url, content["verification_code"])
        pdf = documents.render_acta(content, institution=paper.institution, verify_url=url)
        return _sign(pdf, paper, content["centre"])

    def store(key: str, data: bytes) -> str:
        return paper.storage.put(key, io.BytesIO(data), max_bytes=MAX_PDF_BYTES).sha256

    inputs = service.IssueInputs(
        render=render, store=store, issuer=f"{paper.institution} — Centro de Conciliación"
    )
    return service.issue_acta(
        session=session,
        actor=actor,
        area=area,
        settings=settings,
        file_id=file_id,
        inputs=inputs,
        now=now,
    )


def acta_pdf(*, acta: ConcActa, paper: Paper) -> bytes:
    return read_verified(paper.storage, acta.pdf_key, acta.pdf_sha256)


def acta_preview(*, session: Session, area: Area, file_id: str, paper: Paper) -> bytes:
    file = service.get_file(session=session, file_id=file_id, area=area)
    content = service.acta_content(session=session, file=file)
    return documents.render_acta(content, institution=paper.institution, verify_url="", draft=True)


def invitation_pdf(
    *, session: Session, area: Area, file_id: str, invitation_id: str, paper: Paper
) -> bytes:
    file: ConcFile = service.get_file(session=session, file_id=file_id, area=area)
    invitation = session.get(ConcInvitation, invitation_id)
    if invitation is None or invitation.file_id != file.id:
        from central.domain.errors import NotFound

        raise NotFound("La invitación no existe.")
    hearing = session.get(ConcSession, invitation.session_id)
    assert hearing is not None
    content = service.acta_content(session=session, file=file)
    party = next(p for p in content["parties"] if p["id"] == invitation.party_id)
    sede = session.get(Sede, file.sede_id)
    claims = session.exec(select(ConcClaim).where(ConcClaim.file_id == file.id)).all()
    conciliator = content["conciliator"].get("name", "") if content["conciliator"] else ""
    data = {
        "centre": sede.name if sede else "",
        "centre_city": sede.address if sede else "",
        "issued_on": invitation.issued_on,
        "file_number": file.number,
        "name": party["name"],
        "address": party["address"],
        "requesters": ", ".join(
            p["name"] for p in content["parties"] if p["role"] == "solicitante"
        ),
        "matter": DEFAULT_MATTERS.get(file.matter, file.matter),
        "when": service.as_utc(hearing.scheduled_at)
        .astimezone(service.LIMA)
        .strftime("%d/%m/%Y a las %H:%M"),  # type: ignore[union-attr]
        "virtual": hearing.mode == "virtual",
        "means": hearing.virtual_means,
        "link": hearing.virtual_link,
        "place": f"{hearing.place} — {sede.name if sede else ''}, {sede.address if sede else ''}",
        "claims": "; ".join(c.description for c in claims),
        "conciliator": conciliator,
    }
    return documents.render_invitation(data, institution=paper.institution)


def registry(
    *, session: Session, area: Area, sede_id: str, year: int, fmt: str, paper: Paper
) -> tuple[bytes, str]:
    rows = service.registry_rows(session=session, area=area, sede_id=sede_id, year=year)
    sede = session.get(Sede, sede_id)
    centre = sede.name if sede else sede_id
    if fmt == "xlsx":
        return documents.render_registry_xlsx(
            rows, centre=centre, year=year
        ), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return documents.render_registry_pdf(
        rows, centre=centre, year=year, institution=paper.institution
    ), "application/pdf"


__all__ = ["Paper", "cat"]
