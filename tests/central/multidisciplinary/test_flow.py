"""Module 05 end to end through the API: request on a case, assignment, a session that travels
as an appointment, a structured report signed with the professional's identity (PAdES, QR,
public verification), delivery, amendment; and the refusals the issue names."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlmodel import select

from central.audit.models import AuditEvent
from central.core.signing import validate
from central.multidisciplinary.models import MdReportVersion
from central.sync import models as sync_tables

from .conftest import CML_CONTENT, PSYCH_CONTENT


def test_psychological_pericia_from_request_to_delivery(centre, app, db):
    request = centre.request()
    assert request["state"] == "requested"
    assert request["due_date"]  # 15 business days by default
    assert request["number"].startswith(f"{centre.sede}-MD-")
    centre.assign(request)
    booked = centre.session(request).json()
    assert booked["appointment_id"] == f"md-{booked['id']}"
    row = (
        db.execute(
            select(sync_tables.sync_appointment).where(
                sync_tables.sync_appointment.c.id == booked["appointment_id"]
            )
        )
        .mappings()
        .one()
    )
    db.rollback()
    assert row["service_code"] == "multidisciplinario" and row["dni"]

    centre.draft(request, PSYCH_CONTENT)
    signed = centre.sign(request).json()
    assert signed["status"] == "signed" and signed["verification_code"]
    page = centre.client.get(f"/verificar/{signed['verification_code']}")
    assert page.status_code == 200 and "Informe pericial psicológico" in page.text
    assert "vigente" in page.text

    pdf = centre.call(
        "GET",
        f"/api/v1/md/requests/{request['id']}/report.pdf",
        "psych",
        200,
        params={"purpose": "elaboracion"},
    ).content
    identity = app.state.md_paper.professional(
        type("U", (), {"id": centre.ids["psych"], "display_name": "x"})()
    )
    check = validate(pdf, identity)
    assert check.intact and check.valid and check.trusted and check.covers_whole_document
    assert "Usuario" in check.signer  # the professional's name, not the centre's

    # documents at rest are encrypted: the stored bytes are not a PDF
    key = db.exec(select(MdReportVersion.pdf_key).where(MdReportVersion.id == signed["id"])).one()
    db.rollback()
    raw = app.state.md_paper.storage.inner.get(key)
    assert not raw.startswith(b"%PDF") and raw.startswith(b"ALGE1")

    centre.call(
        "POST",
        f"/api/v1/md/requests/{request['id']}/report/delivery",
        "psych",
        201,
        json={"recipient": "authority"},
    )
    status = centre.call("GET", f"/api/v1/md/requests/{request['id']}", "defender", 200).json()
    assert status["state"] == "delivered" and status["report_state"] == "delivered"

    # amendment: a new version with its reason; the first stays signed and is marked replaced
    amended = centre.call(
        "POST",
        f"/api/v1/md/requests/{request['id']}/report/amendment",
        "psych",
        201,
        json={"reason": "Error material en la fecha de los hechos."},
    ).json()
    assert amended["version"] == 2 and amended["status"] == "draft"
    centre.draft(request, PSYCH_CONTENT | {"history": "Convivencia de 9 años."})
    second = centre.sign(request).json()
    first_page = centre.client.get(f"/verificar/{signed['verification_code']}")
    assert "Reemplazado" in first_page.text
    assert second["version"] == 2


def test_signed_report_refuses_edits_in_api_and_database(centre, db):
    request = centre.request()
    centre.assign(request)
    centre.draft(request, PSYCH_CONTENT)
    centre.sign(request)
    response = centre.draft(request, PSYCH_CONTENT | {"results": "otro"}, status=409)
    assert response.json()["code"] == "report_signed"
    version = db.exec(select(MdReportVersion)).first()
    db.rollback()
    import pytest

    for statement in (
        "UPDATE md_report_version SET content_json = '{}'",
        "DELETE FROM md_report_version",
    ):
        with pytest.raises(Exception, match="never edited"):
            db.execute(text(statement))
        db.rollback()
    assert version is not None


def test_sign_with_an_empty_required_section_names_it(centre):
    request = centre.request(
        service_type="reconocimiento_medico_legal",
        authority_kind=None,
        authority_name=None,
        authority_file_number=None,
    )
    centre.assign(request, "doctor")
    content = dict(CML_CONTENT)
    del content["incapacity_days"]
    centre.draft(request, content, who="doctor")
    response = centre.sign(request, who="doctor", status=422)
    body = response.json()
    assert body["code"] == "report_incomplete"
    assert "Días de incapacidad médico legal" in body["message"]
    # nothing half-written: still a draft, no signed document
    status = centre.call(
        "GET", f"/api/v1/md/requests/{request['id']}/report/status", "doctor", 200
    ).json()
    assert status["state"] == "draft" and status["versions"][0]["signed_at"] is None
    # días are integers, not text
    bad = centre.draft(request, CML_CONTENT | {"care_days": "dos"}, who="doctor", status=422)
    assert "Días de atención facultativa" in bad.json()["message"]
    centre.draft(request, CML_CONTENT, who="doctor")
    centre.sign(request, who="doctor")


def test_request_without_a_case_is_refused(centre, db):
    before = db.exec(select(AuditEvent)).all()
    db.rollback()
    response = centre.call(
        "POST",
        "/api/v1/md/requests",
        "defender",
        422,
        json={"service_type": "informe_social", "questions": "¿Situación familiar?"},
    )
    assert response.json()["code"] == "file_required"
    assert "expediente" in response.json()["message"]
    db.rollback()
    assert len(db.exec(select(AuditEvent)).all()) == len(before)


def test_overlapping_session_is_refused_with_the_clash(centre):
    request = centre.request()
    centre.assign(request)
    at = (datetime.now(UTC) + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
    centre.session(request, at=at)
    clash = centre.session(request, at=at + timedelta(minutes=30), status=409).json()
    assert clash["code"] == "session_overlap"
    assert "Ya tiene una sesión" in clash["message"]
    centre.session(request, at=at + timedelta(minutes=60))  # back to back is fine


def test_no_show_is_recorded(centre):
    request = centre.request()
    centre.assign(request)
    at = datetime.now(UTC) + timedelta(minutes=1)
    booked = centre.session(request, at=at).json()
    early = centre.call(
        "POST",
        f"/api/v1/md/sessions/{booked['id']}/outcome",
        "psych",
        409,
        json={"outcome": "no_show"},
    )
    assert early.json()["code"] == "invalid_transition"
    cancelled = centre.call(
        "POST",
        f"/api/v1/md/sessions/{booked['id']}/outcome",
        "psych",
        200,
        json={"outcome": "cancelled"},
    ).json()
    assert cancelled["status"] == "cancelled"


def test_evidence_must_be_what_its_name_says(centre, db):
    request = centre.request(service_type="pericia_criminalistica")
    centre.assign(request, "perito")
    fake = centre.call(
        "POST",
        f"/api/v1/md/requests/{request['id']}/evidence",
        "perito",
        422,
        data={"description": "Fotografía del lugar", "received_from": "Fiscalía"},
        files={"file": ("foto.jpg", b"MZ\x90\x00 this is an exe", "image/jpeg")},
    )
    assert fake.json()["code"] == "content_mismatch"
    assert "foto.jpg" in fake.json()["message"]
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    ok = centre.call(
        "POST",
        f"/api/v1/md/requests/{request['id']}/evidence",
        "perito",
        201,
        data={"description": "Fotografía del lugar", "received_from": "Fiscalía"},
        files={"file": ("foto.png", png, "image/png")},
    ).json()
    chain = centre.call(
        "POST",
        f"/api/v1/md/evidence/{ok['id']}/custody",
        "perito",
        201,
        json={"action": "analizado", "from_party": "Perito", "to_party": "Laboratorio"},
    ).json()
    assert [c["action"] for c in chain] == ["recibido", "analizado"]
    back = centre.call(
        "GET",
        f"/api/v1/md/evidence/{ok['id']}/file",
        "perito",
        200,
        params={"purpose": "elaboracion"},
    )
    assert back.content == png
    with __import__("pytest").raises(Exception, match="append-only"):
        db.execute(text("DELETE FROM md_custody_event"))
    db.rollback()


def test_content_only_for_assigned_supervisor_and_requester(centre, db):
    request = centre.request()
    centre.assign(request)
    centre.draft(request, PSYCH_CONTENT)
    url = f"/api/v1/md/requests/{request['id']}/report"
    for who, purpose in (("psych", "elaboracion"), ("coord", "revision"), ("defender", "defensa")):
        body = centre.call("GET", url, who, 200, params={"purpose": purpose}).json()
        assert body["content"]["conclusions"] == PSYCH_CONTENT["conclusions"]
    # another psychologist of the same sede and another defender: existence and state only
    for who in ("psych2", "other_defender"):
        denied = centre.call("GET", url, who, 403, params={"purpose": "defensa"})
        assert "intento quedó registrado" in denied.json()["message"]
        status = centre.call("GET", f"{url}/status", who, 200).json()
        assert status["state"] == "draft" and status["content"] is None
    # a purpose is required
    centre.call("GET", url, "psych", 422)
    db.rollback()
    events = db.exec(
        select(AuditEvent).where(
            AuditEvent.entity_id == centre.citizen_id, AuditEvent.entity == "citizen"
        )
    ).all()
    kinds = [
        (e.action, json.loads(e.after_json)["purpose"])
        for e in events
        if e.action.startswith("md.content")
    ]
    db.rollback()
    assert kinds.count(("md.content_denied", "defensa")) == 2
    assert ("md.content_read", "revision") in kinds
    # quién vio qué for the person: reads and refused attempts, who and why
    auditor_log = centre.call(
        "GET", f"/api/v1/md/people/{centre.citizen_id}/access-log", "coord", 200
    ).json()
    assert {r["user_id"] for r in auditor_log if not r["allowed"]} == {
        centre.ids["psych2"],
        centre.ids["other_defender"],
    }
    assert all(r["purpose"] for r in auditor_log if r["action"].startswith("md.content"))
