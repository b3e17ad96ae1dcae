"""Module 01 over HTTP (SQLite and PostgreSQL): bad input gets a Spanish message and a stable
code and writes nothing; supervision JSON and its exports (a real XLSX opened with openpyxl, a
real PDF rasterised with pdftoppm)."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlmodel import select

from central.activities.models import ActivityPlan, ManualActivity
from central.audit.models import AuditChainHead, AuditEvent
from central.auth.policy import Profile, ScopeKind
from tests.central.conftest import sign_in
from tests.conftest import REPO_ROOT

from .conftest import lima

ARTIFACTS = REPO_ROOT / "test-artifacts" / "activities"


def _rows(db, model) -> int:
    db.expire_all()
    value = db.exec(select(func.count()).select_from(model)).one()
    db.rollback()
    return value


def _head(db) -> int:
    db.expire_all()
    value = db.exec(select(AuditChainHead.last_seq)).one()
    db.rollback()
    return value


@pytest.fixture
def coordinator(client, factory, world):
    account = factory.user(Profile.COORDINADOR_SEDE, sede=world.sede_a1)
    return sign_in(client, account)


def test_plan_bad_input_is_refused_with_code_and_spanish_message(
    client, db, world, staff, coordinator
):
    url = "/api/v1/activity-plans"
    good = {
        "sede_id": world.sede_a1,
        "professional_id": staff.defensor_a1.id,
        "month": "2026-03",
        "targets": {"attentions": 90, "patrocinios": 4, "hearings": 8},
    }
    before = (_rows(db, ActivityPlan), _head(db))
    cases = [
        ({**good, "month": "2026-13"}, 422, "invalid_payload", "AAAA-MM"),
        ({**good, "month": "03-2026"}, 422, "invalid_payload", "AAAA-MM"),
        ({**good, "targets": {"attentions": -5}}, 422, "invalid_payload", "mayor o igual"),
        ({**good, "targets": {"charlas": 3}}, 422, "invalid_payload", "no permitido"),
        ({**good, "professional_id": staff.defensor_a2.id}, 422, "invalid_payload", "no pertenece"),
        ({**good, "sede_id": world.sede_a2}, 404, "not_found", "sede no existe"),
    ]
    for body, status, code, text in cases:
        response = client.post(url, json=body, headers=coordinator)
        assert response.status_code == status, (body, response.text)
        assert response.json()["code"] == code
        assert text in response.text, response.text
    assert (_rows(db, ActivityPlan), _head(db)) == before

    created = client.post(url, json=good, headers=coordinator)
    assert created.status_code == 201, created.text
    plan = created.json()
    assert plan["targets"]["attentions"] == 90 and plan["targets"]["visits"] == 0
    assert plan["district_id"] == world.district_a
    duplicate = client.post(url, json={**good, "targets": {}}, headers=coordinator)
    assert duplicate.status_code == 409 and duplicate.json()["code"] == "duplicate"
    assert "Ya existe una programación" in duplicate.json()["message"]

    patched = client.patch(
        f"{url}/{plan['id']}",
        json={"targets": {"attentions": 100}, "expected_revision": 1},
        headers=coordinator,
    )
    assert patched.status_code == 200 and patched.json()["revision"] == 2
    stale = client.patch(
        f"{url}/{plan['id']}",
        json={"targets": {"attentions": 1}, "expected_revision": 1},
        headers=coordinator,
    )
    assert stale.status_code == 409 and stale.json()["code"] == "conflict"
    listed = client.get(url, params={"month_from": "2026-03"}, headers=coordinator).json()
    assert [p["id"] for p in listed] == [plan["id"]]
    bad_filter = client.get(url, params={"month_from": "2026-3"}, headers=coordinator)
    assert bad_filter.status_code == 422 and bad_filter.json()["code"] == "invalid_payload"


def test_manual_activity_api(client, db, world, staff, factory):
    defender = sign_in(client, staff.defensor_a1)
    url = "/api/v1/activities"
    before = _rows(db, ManualActivity)
    future = client.post(
        url,
        json={
            "sede_id": world.sede_a1,
            "kind": "charla",
            "activity_date": "2099-01-01",
            "title": "Charla",
        },  # fmt: skip
        headers=defender,
    )
    assert future.status_code == 422 and "posterior a hoy" in future.json()["message"]
    impossible = client.post(
        url,
        json={
            "sede_id": world.sede_a1,
            "kind": "charla",
            "activity_date": "2026-02-30",
            "title": "Charla",
        },  # fmt: skip
        headers=defender,
    )
    assert impossible.status_code == 422 and impossible.json()["code"] == "invalid_payload"
    for_other = client.post(
        url,
        json={
            "sede_id": world.sede_a1,
            "kind": "visita",
            "activity_date": "2026-01-05",
            "title": "Visita",
            "professional_id": staff.defensor2_a1.id,
        },  # fmt: skip
        headers=defender,
    )
    assert for_other.status_code == 403 and for_other.json()["code"] == "forbidden"
    unknown_kind = client.post(
        url,
        json={
            "sede_id": world.sede_a1,
            "kind": "fiesta",
            "activity_date": "2026-01-05",
            "title": "X",
        },  # fmt: skip
        headers=defender,
    )
    assert unknown_kind.status_code == 422
    assert _rows(db, ManualActivity) == before
    ok = client.post(
        url,
        json={
            "sede_id": world.sede_a1,
            "kind": "charla",
            "activity_date": "2026-01-05",
            "title": "Charla sobre tenencia",
            "participants": 40,
        },  # fmt: skip
        headers=defender,
    )
    assert ok.status_code == 201, ok.text
    assert ok.json()["counts_as"] == "talks"
    assert client.get(f"{url}/{ok.json()['id']}", headers=defender).status_code == 200
    outsider = sign_in(client, staff.defensor_b1)
    assert client.get(f"{url}/{ok.json()['id']}", headers=outsider).status_code == 404
    assert client.get(url, headers=outsider).json() == []


def _seed_month(db, engine, world, staff, hub_feed) -> None:
    from central.activities import service
    from central.activities.schemas import PlanCreate, PlanTargets
    from central.auth.policy import EVERYWHERE
    from tests.central.conftest import SYSTEM

    for account, sede, target in (
        (staff.defensor_a1, world.sede_a1, 12),
        (staff.defensor2_a1, world.sede_a1, 8),
        (staff.psicologo_a1, world.sede_a1, 0),
        (staff.defensor_a2, world.sede_a2, 10),
    ):
        service.create_plan(
            session=db,
            actor=SYSTEM,
            area=EVERYWHERE,
            data=PlanCreate(
                sede_id=sede,
                professional_id=account.id,
                month="2026-03",
                targets=PlanTargets(
                    attentions=target, talks=1, evaluations=4 if target == 0 else 0
                ),
            ),
        )
    db.commit()
    for sede, people in (
        (world.sede_a1, ((staff.defensor_a1, 9, 14), (staff.defensor2_a1, 10, 22))),
        (world.sede_a2, ((staff.defensor_a2, 4, 18),)),
    ):
        feed = hub_feed(sede)
        for account, count, minutes in people:
            for i in range(count):
                feed.attention(
                    username=account.username,
                    counter_id="v1",
                    called_at=lima(2026, 3, 2 + i % 3, 9 + i // 3),
                    minutes=minutes + i % 4,
                )
        feed.push(engine)


def test_supervision_json_and_exports(client, db, engine, world, staff, hub_feed, factory):
    _seed_month(db, engine, world, staff, hub_feed)
    director = factory.user(
        Profile.DIRECTOR_DISTRITAL, ScopeKind.DISTRICT, district=world.district_a
    )
    headers = sign_in(client, director)
    params = {"month_from": "2026-03", "group_by": "professional"}
    body = client.get("/api/v1/supervision", params=params, headers=headers).json()
    assert body["totals"]["attentions"] == 23
    labels = {row["key"].split("/")[0] for row in body["rows"]}
    assert labels == {world.sede_a1, world.sede_a2}
    bad = client.get("/api/v1/supervision", params={"month_from": "2026-3"}, headers=headers)
    assert bad.status_code == 422 and "AAAA-MM" in bad.json()["message"]
    outside = client.get(
        "/api/v1/supervision",
        params={"month_from": "2026-03", "sede_id": world.sede_b1},
        headers=headers,
    )
    assert outside.status_code == 404

    before = _head(db)
    xlsx = client.get(
        "/api/v1/supervision/export", params={**params, "format": "xlsx"}, headers=headers
    )
    assert xlsx.status_code == 200
    assert xlsx.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in xlsx.headers["content-disposition"]
    assert _head(db) == before + 1  # exports are audited
    event = db.exec(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
    assert event.action == "supervision.export"
    db.rollback()

    from openpyxl import load_workbook

    workbook = load_workbook(io.BytesIO(xlsx.content))
    assert workbook.sheetnames == ["Supervisión", "Por tipo", "Parámetros"]
    sheet = workbook["Supervisión"]
    header = [cell.value for cell in sheet[6]]
    assert header[0] == "Profesional" and header[1] == "Atenciones prog."
    rows = [[cell.value for cell in row] for row in sheet.iter_rows(min_row=7)]
    total = rows[-1]
    assert total[0] == "Total" and total[1] == 30 and total[2] == 23
    assert total[3] == pytest.approx(76.7)
    by_type = workbook["Por tipo"]
    assert by_type["A2"].value == "Atenciones" and by_type["C2"].value == 23
    assert len(by_type._charts) == 1

    pdf = client.get(
        "/api/v1/supervision/export", params={**params, "format": "pdf"}, headers=headers
    )
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    dialect = engine.dialect.name
    target = ARTIFACTS / f"supervision-{dialect}.pdf"
    target.write_bytes(pdf.content)
    (ARTIFACTS / f"supervision-{dialect}.xlsx").write_bytes(xlsx.content)
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (poppler-utils) not installed")
    subprocess.run(
        ["pdftoppm", "-png", "-r", "70", str(target), str(ARTIFACTS / f"supervision-{dialect}")],
        check=True,
    )
    pages = sorted(ARTIFACTS.glob(f"supervision-{dialect}-*.png"))
    assert pages and Path(pages[0]).stat().st_size > 10_000
    text = subprocess.run(
        ["pdftotext", "-layout", str(target), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "Supervisión de actividades" in text and "marzo de 2026" in text
    assert "Total" in text and "30 / 23 (77%)" in text


def test_xlsx_export_writes_user_text_as_text_never_as_a_formula(
    client, db, engine, world, staff, hub_feed, factory
):
    """A user named '=HYPERLINK(...)' must not become a live formula in the workbook, and a
    control character stored before input refused them must not crash the export (500)."""
    from central.org.models import Sede
    from central.users.models import User

    payload = '=HYPERLINK("http://example.invalid/x","Abrir")'
    _seed_month(db, engine, world, staff, hub_feed)
    for account, name in (
        (staff.defensor_a1, payload),
        (staff.defensor2_a1, "Ana\x07 Beltrán\x1b"),
        (staff.defensor_a2, "@SUM(A1:A9)"),
    ):
        user = db.get(User, account.id)
        user.display_name = name
        db.add(user)
    sede = db.get(Sede, world.sede_a2)
    sede.name = "+Sede\x0b dos"
    db.add(sede)
    db.commit()
    director = factory.user(
        Profile.DIRECTOR_DISTRITAL, ScopeKind.DISTRICT, district=world.district_a
    )
    headers = sign_in(client, director)
    from openpyxl import load_workbook

    for group_by in ("professional", "sede"):
        xlsx = client.get(
            "/api/v1/supervision/export",
            params={"month_from": "2026-03", "group_by": group_by, "format": "xlsx"},
            headers=headers,
        )
        assert xlsx.status_code == 200, xlsx.text
        workbook = load_workbook(io.BytesIO(xlsx.content))
        cells = [cell for sheet in workbook for row in sheet.iter_rows() for cell in row]
        assert not [c.coordinate for c in cells if c.data_type == "f"]
        texts = {c.value for c in cells if isinstance(c.value, str)}
        if group_by == "professional":
            assert "'" + payload in texts
            assert "Ana Beltrán" in texts
            assert "'@SUM(A1:A9)" in texts
        else:
            assert "'+Sede dos" in texts
        assert not [t for t in texts if any(ord(ch) < 32 for ch in t)]
    pdf = client.get(
        "/api/v1/supervision/export",
        params={"month_from": "2026-03", "group_by": "professional", "format": "pdf"},
        headers=headers,
    )
    assert pdf.status_code == 200
