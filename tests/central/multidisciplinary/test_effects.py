"""The socio-economic evaluation has an effect (sworn statement settled, resolución signed,
open files flagged with a notice to their defender), Module 01 counts the executed work,
turnaround alerts, and documents at rest survive a key rotation."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlmodel import select

from central.activities import service as activities
from central.activities.schemas import SupervisionQuery
from central.auth.policy import Area
from central.cases.models import CaseEvent
from central.citizens import service as citizens
from central.citizens.models import EligibilityStatement
from central.citizens.schemas import EligibilityCreate
from central.documents.storage import (
    EncryptedStorage,
    IntegrityFailure,
    LocalDirectoryStorage,
    new_key,
    parse_keys,
    read_verified,
    stored_keys,
)
from central.multidisciplinary import service
from central.multidisciplinary.models import MdAlert, MdCaseNotice
from central.multidisciplinary.settings import MultidisciplinarySettings
from tests.central.conftest import SYSTEM

from .conftest import PSYCH_CONTENT

FICHA = {
    "members": [
        {"relationship": "titular", "age": 41, "occupation": "Comerciante"},
        {"relationship": "cónyuge", "age": 43, "occupation": "Ingeniero"},
    ],
    "incomes": [{"concept": "Sueldo", "monthly_soles": "9500.00"}],
    "expenses": [{"concept": "Alquiler", "monthly_soles": "1500.00"}],
    "housing": "propia",
    "health": "Sin enfermedades crónicas.",
    "health_insurance": "essalud",
    "vulnerability": [],
}


def _statement(centre) -> str:
    statement = citizens.create_statement(
        session=centre.db,
        actor=SYSTEM,
        citizen_id=centre.citizen_id,
        data=EligibilityCreate(household_size=2, monthly_income_soles=Decimal("800.00")),
        area=Area(national=True),
    )
    centre.db.commit()
    return statement.id


def test_no_gratuidad_settles_the_statement_and_flags_open_files(centre, app, db):
    statement_id = _statement(centre)
    request = centre.request(
        service_type="evaluacion_socioeconomica",
        authority_kind=None,
        authority_name=None,
        authority_file_number=None,
    )
    centre.assign(request, "social")
    url = f"/api/v1/md/requests/{request['id']}"
    saved = centre.call(
        "PUT", f"{url}/ficha", "social", 200, json=FICHA | {"statement_id": statement_id}
    ).json()
    assert saved["recommendation"] == "no_gratuito" and saved["score"] < 50
    unknown = centre.call(
        "PUT", f"{url}/ficha", "social", 422, json=FICHA | {"vulnerability": ["inventado"]}
    )
    assert "no configurado" in unknown.json()["message"]
    decided = centre.call(
        "POST",
        f"{url}/decision",
        "social",
        200,
        json={
            "decision": "no_gratuito",
            "reasons": "Ingresos familiares de S/ 9 500 muy por encima de la línea de pobreza.",
        },
    ).json()
    assert decided["resolution_number"].startswith("RNG-") and decided["notices"] == 1
    assert decided["ficha"] is None  # the decision's answer carries no income data
    # the sworn statement is settled by the decision
    statement = db.get(EligibilityStatement, statement_id)
    assert (
        statement.status == "no_gratuidad"
        and statement.resolution_number == decided["resolution_number"]
    )
    notice = db.exec(select(MdCaseNotice)).one()
    assert notice.case_id == centre.case_id and notice.user_id == centre.ids["defender"]
    assert "no gratuidad" in notice.next_steps
    event = db.exec(select(CaseEvent).where(CaseEvent.kind == "no_gratuidad")).one()
    assert event.restricted and decided["resolution_number"] in event.summary
    db.rollback()
    # the resolución is a signed PDF with its public verification page
    page = centre.client.get(f"/verificar/{decided['resolution_code']}")
    assert page.status_code == 200 and "Resolución de no gratuidad" in page.text
    # deciding twice is refused
    again = centre.call(
        "POST",
        f"{url}/decision",
        "social",
        409,
        json={"decision": "gratuito", "reasons": "Cambio de opinión sin sustento."},
    )
    assert again.json()["code"] == "conflict"


def test_gratuito_with_vulnerability(centre, db):
    request = centre.request(
        service_type="evaluacion_socioeconomica",
        authority_kind=None,
        authority_name=None,
        authority_file_number=None,
    )
    centre.assign(request, "social")
    url = f"/api/v1/md/requests/{request['id']}"
    ficha = FICHA | {
        "incomes": [{"concept": "Ventas", "monthly_soles": "600.00"}],
        "vulnerability": ["victima_violencia"],
        "housing": "precaria",
    }
    saved = centre.call("PUT", f"{url}/ficha", "social", 200, json=ficha).json()
    assert saved["recommendation"] == "gratuito" and saved["score"] >= 80
    decided = centre.call(
        "POST",
        f"{url}/decision",
        "social",
        200,
        json={"decision": "gratuito", "reasons": "Víctima de violencia sin recursos."},
    ).json()
    assert decided["resolution_number"] is None and decided["notices"] == 0
    # the ficha is sensitive: the other defender cannot read it
    centre.call("GET", f"{url}/ficha", "other_defender", 403, params={"purpose": "defensa"})
    assert centre.call(
        "GET", f"{url}/ficha", "defender", 200, params={"purpose": "defensa"}
    ).json()["ficha"]


def test_reports_and_sessions_count_in_module_01(centre, db):
    request = centre.request()
    centre.assign(request)
    at = datetime.now(UTC) + timedelta(minutes=1)
    booked = centre.session(request, at=at).json()
    from central.multidisciplinary.models import MdSession

    row = db.get(MdSession, booked["id"])
    row.starts_at = datetime.now(UTC) - timedelta(hours=1)
    row.ends_at = datetime.now(UTC)
    db.add(row)
    db.commit()
    centre.call(
        "POST",
        f"/api/v1/md/sessions/{booked['id']}/outcome",
        "psych",
        200,
        json={"outcome": "held"},
    )
    centre.draft(request, PSYCH_CONTENT)
    centre.sign(request)
    month = service.lima_today().strftime("%Y-%m")
    report = activities.supervision_report(
        session=db,
        area=Area(national=True),
        query=SupervisionQuery(month_from=month, sede_id=centre.sede, group_by="professional"),
    )
    db.rollback()
    assert report.sources["multidisciplinary"]
    row = next(r for r in report.rows if r.key.endswith(centre.ids["psych"]))
    executed = {f.activity_type.value: f.executed for f in row.figures}
    assert executed["evaluations"] == 1 and executed["attentions"] == 1


def test_turnaround_alerts_once_per_kind(centre, db):
    request = centre.request(urgency="urgente")
    centre.assign(request)
    settings = MultidisciplinarySettings()
    due = date.fromisoformat(request["due_date"])
    assert service.make_alerts(session=db, settings=settings, today=due - timedelta(days=1)) == 1
    assert service.make_alerts(session=db, settings=settings, today=due - timedelta(days=1)) == 0
    assert service.make_alerts(session=db, settings=settings, today=due + timedelta(days=1)) == 1
    db.commit()
    kinds = sorted(a.kind for a in db.exec(select(MdAlert)).all())
    assert kinds == ["due_soon", "overdue"]
    assert all(a.user_id == centre.ids["psych"] for a in db.exec(select(MdAlert)).all())
    db.rollback()


@pytest.mark.parametrize("backend", ["sqlite"])
def test_document_key_rotation(tmp_path, backend):
    old, new = new_key(), new_key()
    inner = LocalDirectoryStorage(tmp_path)
    before = EncryptedStorage(inner, parse_keys(old))
    first = before.put("md/a/1.pdf", io.BytesIO(b"%PDF-1.7 informe"), max_bytes=1000)
    before.put("md/a/2.pdf", io.BytesIO(b"%PDF-1.7 otro"), max_bytes=1000)
    assert b"informe" not in inner.get("md/a/1.pdf")
    rotated = EncryptedStorage(inner, parse_keys(f"{new},{old}"))
    assert rotated.rotate(stored_keys(tmp_path)) == 2
    assert rotated.rotate(stored_keys(tmp_path)) == 0  # resumable: nothing left to do
    after = EncryptedStorage(inner, parse_keys(new))  # the old key removed
    assert read_verified(after, "md/a/1.pdf", first.sha256) == b"%PDF-1.7 informe"
    with pytest.raises(IntegrityFailure):
        EncryptedStorage(inner, parse_keys(old)).get("md/a/1.pdf")
    # a tampered blob is refused, not returned
    blob = bytearray(inner.get("md/a/2.pdf"))
    blob[-1] ^= 1
    inner.put("md/a/2.pdf", io.BytesIO(bytes(blob)), max_bytes=1000)
    with pytest.raises(IntegrityFailure):
        after.get("md/a/2.pdf")


def test_rotate_keys_command(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from central.cli import app as cli

    old, new = new_key(), new_key()
    root = tmp_path / "md-documents"
    EncryptedStorage(LocalDirectoryStorage(root), parse_keys(old)).put(
        "md/x/1.pdf", io.BytesIO(b"%PDF-1.7 x"), max_bytes=100
    )
    monkeypatch.setenv("ALEGRA_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ALEGRA_MD_DOCUMENT_KEYS", f"{new},{old}")
    result = CliRunner().invoke(cli, ["md-rotate-keys"])
    assert result.exit_code == 0 and "recifrados" in result.output and ": 1." in result.output
    assert EncryptedStorage(LocalDirectoryStorage(root), parse_keys(new)).get("md/x/1.pdf") == (
        b"%PDF-1.7 x"
    )
