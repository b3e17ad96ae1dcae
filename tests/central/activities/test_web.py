"""Module 01's web pages through HTTP (no browser), on SQLite and PostgreSQL: policy and area on
every page, CSRF on every form post, Spanish field errors that write nothing, escaping, audited
writes, exports."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func
from sqlmodel import select

from central.activities.models import ActivityPlan, ManualActivity
from central.activities.web import router as activities_pages
from central.audit.models import AuditEvent
from central.auth.deps import route_permission
from central.auth.policy import Profile, ScopeKind
from tests.central.conftest import next_totp

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@pytest.fixture
def web_client(settings) -> Iterator[TestClient]:
    from central.app import create_app

    application = create_app(settings, run_migrations=False, web=True)
    with TestClient(application) as client:
        yield client
    application.state.engine.dispose()


def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    assert match, "no CSRF field on the page"
    return match.group(1)


def web_sign_in(client, account) -> str:  # noqa: ANN001
    form = {"csrf_token": csrf_of(client.get("/ingresar").text),
            "username": account.username, "password": account.password}  # fmt: skip
    if account.totp_secret:
        form["totp_code"] = next_totp(account)
    response = client.post("/ingresar", data=form, follow_redirects=False)
    assert response.status_code == 303, response.text
    return csrf_of(client.get("/").text)


def count(db, model, **where) -> int:  # noqa: ANN001
    db.expire_all()
    value = db.exec(select(func.count()).select_from(model).filter_by(**where)).one()
    db.rollback()
    return value


def test_every_page_declares_an_access_rule():
    for route in activities_pages.routes:
        assert route_permission(route.dependant) is not None, route.path


def test_programming_pages(web_client, db, world, staff, factory):
    coordinator = factory.user(Profile.COORDINADOR_SEDE, sede=world.sede_a1)
    csrf = web_sign_in(web_client, coordinator)
    home = web_client.get("/").text
    assert 'href="/programacion"' in home and 'href="/supervision"' in home
    form = web_client.get("/programacion/nueva")
    assert form.status_code == 200
    # only the coordinator's sede and its professionals are offered
    assert staff.defensor_a1.id in form.text and staff.defensor_a2.id not in form.text
    data = {
        "sede_id": world.sede_a1,
        "professional_id": staff.defensor_a1.id,
        "month": "2026-13",
        "target_attentions": "70",
        "target_hearings": "-2",
        "notes": XSS,
    }
    before = count(db, ActivityPlan)
    no_csrf = web_client.post("/programacion/nueva", data=data)
    assert no_csrf.status_code == 403
    refused = web_client.post("/programacion/nueva", data={**data, "csrf_token": csrf})
    assert refused.status_code == 422
    assert "AAAA-MM" in refused.text and "entre 0 y 10 000" in refused.text
    assert XSS not in refused.text  # echoed back escaped
    other_sede = web_client.post(
        "/programacion/nueva",
        data={
            **data,
            "csrf_token": csrf,
            "month": "2026-03",
            "target_hearings": "2",
            "professional_id": staff.defensor_a2.id,
        },  # fmt: skip
    )
    assert other_sede.status_code == 422 and "no pertenece a la sede" in other_sede.text
    assert count(db, ActivityPlan) == before
    created = web_client.post(
        "/programacion/nueva",
        data={**data, "csrf_token": csrf, "month": "2026-03", "target_hearings": "2"},
        follow_redirects=False,
    )
    assert created.status_code == 303
    location = created.headers["location"]
    detail = web_client.get(location)
    assert "Programación registrada" in detail.text and 'value="70"' in detail.text
    assert XSS not in detail.text and "&lt;script&gt;" in detail.text
    plan_id = location.split("/")[2].split("?")[0]
    edited = web_client.post(
        f"/programacion/{plan_id}",
        data={"csrf_token": csrf, "revision": "1", "target_attentions": "75", "notes": ""},
        follow_redirects=False,
    )
    assert edited.status_code == 303
    stale = web_client.post(
        f"/programacion/{plan_id}",
        data={"csrf_token": csrf, "revision": "1", "target_attentions": "76"},
    )
    assert stale.status_code == 409 and "modificada por otra persona" in stale.text
    db.expire_all()
    actions = db.exec(
        select(AuditEvent.action).where(AuditEvent.entity_id == plan_id).order_by(AuditEvent.seq)
    ).all()
    db.rollback()
    assert actions == ["activity_plan.create", "activity_plan.update"]
    listing = web_client.get("/programacion?mes=2026-03")
    assert f"/programacion/{plan_id}" in listing.text
    assert "AAAA-MM" in web_client.get("/programacion?mes=2026-3").text


def test_professional_records_own_activity_and_cannot_supervise(web_client, db, world, staff):
    csrf = web_sign_in(web_client, staff.defensor_a1)
    assert web_client.get("/programacion").status_code == 200
    assert web_client.get("/programacion/nueva").status_code == 403
    assert web_client.get("/supervision").status_code == 403
    assert web_client.get("/supervision/exportar?formato=pdf").status_code == 403
    page = web_client.get("/actividades/nueva")
    assert page.status_code == 200 and 'name="professional_id"' not in page.text
    base = {"csrf_token": csrf, "sede_id": world.sede_a1, "kind": "charla",
            "title": XSS, "participants": "25"}  # fmt: skip
    before = count(db, ManualActivity)
    future = web_client.post("/actividades/nueva", data={**base, "activity_date": "2099-05-01"})
    assert future.status_code == 422 and "posterior a hoy" in future.text
    bad = web_client.post("/actividades/nueva", data={**base, "activity_date": "2026-02-30"})
    assert bad.status_code == 422 and "fecha válida" in bad.text
    negative = web_client.post(
        "/actividades/nueva", data={**base, "activity_date": "2026-02-03", "participants": "-1"}
    )
    assert negative.status_code == 422
    assert count(db, ManualActivity) == before
    ok = web_client.post(
        "/actividades/nueva", data={**base, "activity_date": "2026-02-03"}, follow_redirects=False
    )
    assert ok.status_code == 303
    assert count(db, ManualActivity, professional_id=staff.defensor_a1.id) == before + 1
    listing = web_client.get(ok.headers["location"])
    assert "Actividad registrada" in listing.text
    assert XSS not in listing.text and "&lt;script&gt;" in listing.text


def test_supervision_page_and_export_are_scoped(web_client, world, staff, factory):
    director = factory.user(
        Profile.DIRECTOR_DISTRITAL, ScopeKind.DISTRICT, district=world.district_a
    )
    web_sign_in(web_client, director)
    page = web_client.get("/supervision?desde=2026-03&por=sede")
    assert page.status_code == 200
    assert 'id="chart-types"' in page.text and 'id="supervision-table"' in page.text
    assert f"Centro {world.sede_a1}" in page.text and f"Centro {world.sede_b1}" not in page.text
    assert "style=" not in page.text.split('id="chart-types"')[1].split("</svg>")[0]
    assert web_client.get(f"/supervision?desde=2026-03&sede={world.sede_b1}").status_code == 404
    bad = web_client.get("/supervision?desde=2026-03&hasta=2026-01")
    assert bad.status_code == 422 and "anterior al mes inicial" in bad.text
    pdf = web_client.get("/supervision/exportar?formato=pdf&desde=2026-03")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    xlsx = web_client.get("/supervision/exportar?formato=xlsx&desde=2026-03&por=district")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    assert web_client.get("/supervision/exportar?formato=doc&desde=2026-03").status_code in {
        400,
        422,
    }
