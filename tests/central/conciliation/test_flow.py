"""The conciliation flow through the API, from the solicitud to a signed acta, and each of the
six ways a file ends."""

from __future__ import annotations

import subprocess

from sqlmodel import select

from central.audit.models import AuditEvent
from central.core.signing import validate
from central.sync import models as sync_tables


def pdf_text(pdf: bytes) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()


def test_solicitud_to_signed_acta(centre, client, app, db):
    file, hearing = centre.to_audiencia()
    assert file["state"] == "audiencia"
    assert file["first_session_on"] is not None
    centre.agree(file, hearing)
    response = centre.issue(file)
    acta = response.json()
    assert acta["number_text"].startswith("000001-")
    pdf = client.get(f"/api/v1/conciliation/actas/{acta['id']}/pdf", headers=centre.conciliator)
    assert pdf.status_code == 200
    check = validate(pdf.content, app.state.signing_identity)
    assert check.intact and check.valid and check.trusted
    text = pdf_text(pdf.content)
    assert f"ACTA DE CONCILIACIÓN N° {acta['number_text']}" in text
    assert "Pensión de alimentos" in text or "pensión de alimentos" in text
    # the public verification page, without signing in
    page = client.get(f"/verificar/{acta['verification_code']}")
    assert page.status_code == 200
    assert acta["pdf_sha256"] in page.text and "vigente" in page.text
    assert "Quispe" not in page.text  # nothing personal
    # every step audited
    actions = set(
        db.exec(
            select(AuditEvent.action).where(AuditEvent.entity_id.in_([file["id"], acta["id"]]))
        ).all()
    )
    assert {
        "conciliation.solicitud",
        "conciliation.designate",
        "conciliation.conclude",
        "conciliation.acta_issue",
    } <= actions
    # hearings became appointments at the sede, one per party with a DNI
    rows = db.connection().execute(select(sync_tables.sync_appointment)).mappings().all()
    assert len(rows) == 2 and {r["service_code"] for r in rows} == {"conciliacion"}
    db.rollback()


def test_issued_acta_is_never_edited(centre, client, db):
    file, hearing = centre.to_audiencia()
    centre.agree(file, hearing)
    acta = centre.issue(file).json()
    for method, url, body in (
        ("PATCH", f"/api/v1/conciliation/actas/{acta['id']}", {"number_text": "x"}),
        ("PUT", f"/api/v1/conciliation/files/{file['id']}/obligations", {"obligations": []}),
        (
            "POST",
            f"/api/v1/conciliation/files/{file['id']}/conclusion",
            {"way": "falta_acuerdo", "session_id": hearing["id"]},
        ),
        ("POST", f"/api/v1/conciliation/files/{file['id']}/acta", None),
    ):
        response = client.request(method, url, json=body, headers=centre.conciliator)
        assert response.status_code == 409, (url, response.text)
        assert response.json()["code"] == "acta_issued"


def test_art16_contents_are_on_the_pdf_itself(centre, client, app, db):
    """Every Art. 16 item read back from the signed PDF's own text (pdftotext)."""
    from central.citizens.models import Citizen

    file, hearing = centre.to_audiencia()
    centre.agree(file, hearing)
    acta = centre.issue(file).json()
    pdf = client.get(
        f"/api/v1/conciliation/actas/{acta['id']}/pdf", headers=centre.conciliator
    ).content
    text = " ".join(pdf_text(pdf).split())
    ana, luis = db.get(Citizen, centre.people["ana"]), db.get(Citizen, centre.people["luis"])
    expected = {
        "numero": f"N° {acta['number_text']}",
        "expediente": f"Expediente N° {file['number']}",
        "lugar": "Sala de audiencias 1",
        "partes": f"Solicitante 1: Ana María Quispe Huamán, DNI {ana.doc_number}, con domicilio en Jr. Las Flores 123",
        "invitado": f"Invitado 1: Luis Alberto Rojas Pérez, DNI {luis.doc_number}",
        "conciliador": "Registro de Conciliador N° 31245",
        "especialidad": "Registro de Especialidad en Familia N° 8812",
        "hechos": "padres de una niña de 6 años",
        "controversia": "no aporta regularmente",
        "pretension": "Pretensión 1 (Solicitante 1)",
        "acuerdo": "se obliga a pagar a favor de Ana María Quispe Huamán, por concepto de pensión de alimentos, la suma de S/ 600.00 (seiscientos con 00/100 soles) con periodicidad mensual, a partir del 05/01/2027",
        "firmas": "Firma de Solicitante 1",
        "huellas": "Huella digital",
        "firma_conciliador": "Firma del conciliador",
        "verificador": "Jorge Luis Paredes Salas, registro en el colegio de abogados: CAL 45678",
        "qr": f"Código de verificación: {acta['verification_code']}",
    }
    missing = {k: v for k, v in expected.items() if v not in text}
    assert not missing, (missing, text[:3000])
    assert validate(pdf, app.state.signing_identity).covers_whole_document
    # one byte changed: the signature no longer holds
    tampered = bytearray(pdf)
    position = pdf.index(b"/Title") + 8
    tampered[position] = ord("X") if tampered[position] != ord("X") else ord("Y")
    check = validate(bytes(tampered), app.state.signing_identity)
    assert not (check.intact and check.valid)


def test_held_sessions_count_as_hearings_of_the_conciliator(centre, engine):
    """Module 01 counts each conciliation session held as an executed hearing."""
    from datetime import date

    from central.activities import sources

    file, _ = centre.to_audiencia()
    held = date.fromisoformat(file["first_session_on"])
    with engine.connect() as conn:
        counts = sources.case_counts(
            conn, sede_ids=[centre.sede], first_day=held.replace(day=1), last_day=held
        )
    assert any(
        c.user_id == centre.conciliator_id and c.activity_type == "hearings" and c.count == 1
        for c in counts
    ), counts


def test_tray_shows_todays_sessions_and_deliveries_due(centre, client):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    file = centre.open_file()
    centre.designate(file)
    hearing = centre.session(file, minutes=2)
    centre.invite_all(file, hearing)
    tray = client.get("/api/v1/conciliation/tray", headers=centre.conciliator).json()
    lima = ZoneInfo("America/Lima")
    if (
        datetime.fromisoformat(hearing["scheduled_at"]).astimezone(lima).date()
        == datetime.now(lima).date()
    ):
        assert [h["session_id"] for h in tray["hearings"]] == [hearing["id"]]
    assert [d["file_id"] for d in tray["deadlines"]] == [file["id"]]
    assert tray["stages"]["invitado"] == 1
    other = client.get("/api/v1/conciliation/tray", headers=centre.other_conciliator).json()
    assert other["hearings"] == [] and other["deadlines"] == [] and other["stages"]["invitado"] == 0
