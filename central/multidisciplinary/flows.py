"""Work of Module 05 that spans domains or has side effects: sessions that become appointments
at the sede (they travel to the hub, so the person checks in at the kiosk with their DNI);
reports rendered, signed with the professional's own identity (PAdES, issued by the centre's
certificate) and stored encrypted; the resolución de no gratuidad; evidence files checked
against what their name says and stored encrypted."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session

from central.auth.policy import Area
from central.citizens.models import Citizen
from central.core import signed
from central.core.signing import SigningIdentity, ensure_professional_identity, sign_pdf
from central.documents.storage import (
    DocumentStorage,
    TooLarge,
    content_type_for,
    read_verified,
)
from central.domain.actor import Actor
from central.domain.errors import FieldError, ValidationFailed
from central.multidisciplinary import catalogues as cat
from central.multidisciplinary import documents, service
from central.multidisciplinary.models import MdEvidence, MdReportVersion, MdRequest, MdSession
from central.multidisciplinary.schemas import DecisionIn, SessionCreate
from central.multidisciplinary.settings import MultidisciplinarySettings
from central.org.models import Sede
from central.sync import models as sync_tables
from central.sync.service import put_central_record
from central.users.models import User
from contracts.errors import ErrorCode
from contracts.sync import RecordType

MAX_PDF_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True)
class Paper:
    """What signing and storing need: the centre's identity (issuer of the professionals'),
    where professionals' identities live, the (encrypted) storage, the public base URL and the
    institution's name."""

    identity: SigningIdentity
    professionals_dir: Path
    storage: DocumentStorage
    base_url: str
    institution: str

    def professional(self, user: User) -> SigningIdentity:
        return ensure_professional_identity(
            self.identity,
            self.professionals_dir,
            user_id=user.id,
            common_name=user.display_name,
            organization=self.institution,
        )


def publish_appointment(
    *, session: Session, settings: MultidisciplinarySettings, booked: MdSession
) -> str | None:
    """The session as an appointment of the person at the sede (DNI holders only: the kiosk
    checks people in by DNI)."""
    if not settings.sessions_as_appointments:
        return None
    request = session.get(MdRequest, booked.request_id)
    citizen = session.get(Citizen, request.citizen_id) if request else None
    if citizen is None or citizen.doc_type != "dni" or not citizen.doc_number:
        return None
    appointment_id = f"md-{booked.id}"
    put_central_record(
        session.connection(),
        table=sync_tables.sync_appointment,
        record_type=RecordType.APPOINTMENT,
        values={
            "id": appointment_id,
            "sede_id": booked.sede_id,
            "code": f"MD{booked.id.replace('-', '')[-14:]}".upper()[:20],
            "dni": citizen.doc_number,
            "service_code": settings.appointment_service_code,
            "scheduled_at": booked.starts_at,
        },
    )
    booked.appointment_id = appointment_id
    session.add(booked)
    return appointment_id


def cancel_appointment(*, session: Session, booked: MdSession) -> None:
    if booked.appointment_id:
        put_central_record(
            session.connection(),
            table=sync_tables.sync_appointment,
            record_type=RecordType.APPOINTMENT,
            values={"id": booked.appointment_id},
            delete=True,
        )


def schedule_session(
    *,
    session: Session,
    actor: Actor,
    area: Area,
    settings: MultidisciplinarySettings,
    request_id: str,
    data: SessionCreate,
    now: datetime | None = None,
) -> MdSession:
    booked = service.schedule_session(
        session=session, actor=actor, area=area, request_id=request_id, data=data, now=now
    )
    publish_appointment(session=session, settings=settings, booked=booked)
    session.flush()
    return booked


def _centre(session: Session, sede_id: str) -> str:
    sede = session.get(Sede, sede_id)
    return sede.name if sede else sede_id


def sign_report(
    *,
    session: Session,
    actor: Actor,
    area: Area,
    settings: MultidisciplinarySettings,
    request_id: str,
    paper: Paper,
    now: datetime | None = None,
) -> MdReportVersion:
    """Validate, render, sign with the professional's identity (PAdES) and store encrypted,
    in the caller's transaction (a rolled-back sign leaves an unreferenced file, never a
    referenced missing one)."""
    user = session.get(User, actor.user_id)
    assert user is not None

    def render(content: dict[str, Any]) -> bytes:
        url = signed.verification_url(paper.base_url, content["verification_code"])
        centre = _centre(session, content["sede_id"])
        pdf = documents.render_report(
            content, institution=paper.institution, centre=centre, verify_url=url
        )
        return sign_pdf(
            pdf,
            paper.professional(user),
            reason=f"{content['title']} firmado por el profesional responsable",
            location=centre,
            field_name="FirmaProfesional",
        )

    def store(key: str, data: bytes) -> str:
        return paper.storage.put(key, io.BytesIO(data), max_bytes=MAX_PDF_BYTES).sha256

    return service.sign_report(
        session=session,
        actor=actor,
        area=area,
        settings=settings,
        request_id=request_id,
        inputs=service.SignInputs(render=render, store=store, issuer=paper.institution),
        now=now,
    )


def report_pdf(*, version: MdReportVersion, paper: Paper) -> bytes:
    assert version.pdf_key and version.pdf_sha256
    return read_verified(paper.storage, version.pdf_key, version.pdf_sha256)


def report_preview(
    *, session: Session, request: MdRequest, content: dict[str, Any], paper: Paper
) -> bytes:
    frozen = {
        "title": cat.REPORT_TITLES_ES[request.service_type],
        "service_label": cat.SERVICE_LABELS_ES[request.service_type],
        "number": "",
        "request_number": request.number,
        "file_number": request.file_number,
        "authority": request.authority_name,
        "questions": request.questions,
        "version": 0,
        "amendment_reason": None,
        "sections": [
            {"key": s.key, "label": s.label, "kind": s.kind.value, "value": content.get(s.key)}
            for s in service.template_of(request.service_type)
        ],
        "signer": "",
        "signed_on": None,
        "verification_code": "",
    }
    return documents.render_report(
        frozen,
        institution=paper.institution,
        centre=_centre(session, request.sede_id),
        verify_url="",
        draft=True,
    )


def decide(
    *,
    session: Session,
    actor: Actor,
    area: Area,
    settings: MultidisciplinarySettings,
    request_id: str,
    data: DecisionIn,
    paper: Paper,
    now: datetime | None = None,
):  # noqa: ANN201
    user = session.get(User, actor.user_id)
    assert user is not None

    def resolution(content: dict[str, Any]) -> tuple[str, str]:
        url = signed.verification_url(paper.base_url, content["code"])
        centre = _centre(session, content["sede_id"])
        pdf = documents.render_resolution(
            content,
            institution=paper.institution,
            centre=centre,
            verify_url=url,
            signer=user.display_name,
        )
        pdf = sign_pdf(
            pdf,
            paper.professional(user),
            reason="Resolución de no gratuidad",
            location=centre,
            field_name="FirmaProfesional",
        )
        key = f"md/{content['sede_id']}/resolutions/{content['code']}.pdf"
        return key, paper.storage.put(key, io.BytesIO(pdf), max_bytes=MAX_PDF_BYTES).sha256

    return service.decide(
        session=session,
        actor=actor,
        area=area,
        settings=settings,
        request_id=request_id,
        data=data,
        resolution=resolution,
        now=now,
    )


def receive_evidence(
    *,
    session: Session,
    actor: Actor,
    area: Area,
    settings: MultidisciplinarySettings,
    request_id: str,
    description: str,
    received_from: str,
    filename: str | None,
    data: bytes | None,
    paper: Paper,
) -> MdEvidence:
    """An item received, with its file when there is one: the file must be what its name says
    (extension allowed and magic bytes matching), else nothing is kept."""
    content_type = None
    if data is not None:
        if not filename:
            raise ValidationFailed(
                "Indique el nombre del archivo.", fields=[FieldError("file", "Sin nombre.")]
            )
        if len(data) > settings.evidence_max_bytes:
            raise ValidationFailed(
                code=ErrorCode.FILE_TOO_LARGE, fields=[FieldError("file", "Demasiado grande.")]
            )
        content_type = content_type_for(filename, data[:4096])
        if content_type is None:
            raise ValidationFailed(
                f"El archivo «{filename[:80]}» no es lo que su nombre indica, o su tipo no está "
                "permitido (PDF, JPG, PNG, TXT, ODT, DOCX).",
                code=ErrorCode.CONTENT_MISMATCH,
                fields=[FieldError("file", "Contenido no corresponde al nombre.")],
            )
    keys: list[str] = []

    def stored(key: str) -> tuple[int, str]:
        assert data is not None
        try:
            result = paper.storage.put(key, io.BytesIO(data), max_bytes=settings.evidence_max_bytes)
        except TooLarge:
            raise ValidationFailed(code=ErrorCode.FILE_TOO_LARGE) from None
        keys.append(key)
        return result.size, result.sha256

    try:
        return service.add_evidence(
            session=session,
            actor=actor,
            area=area,
            request_id=request_id,
            description=description,
            received_from=received_from,
            filename=filename,
            content_type=content_type,
            stored=stored if data is not None else None,
        )
    except BaseException:
        for key in keys:
            paper.storage.delete(key)
        raise


def evidence_bytes(*, evidence: MdEvidence, paper: Paper) -> bytes:
    assert evidence.storage_key and evidence.sha256
    return read_verified(paper.storage, evidence.storage_key, evidence.sha256)


def frozen_json(version: MdReportVersion) -> dict[str, Any]:
    return json.loads(version.content_json)
