# ruff: noqa: F811 - fixtures imported by name and then requested by name
"""The Module 04 pages over HTTP (no browser): the tray, the centre view, a solicitud through
its form, each step's form on the file page, refusals shown in Spanish with nothing written."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlmodel import func, select

from central.conciliation.models import ConcActa, ConcFile
from tests.central.web.conftest import app  # noqa: F401 - the app with the web UI
from tests.central.web.test_pages import web_sign_in


def _count(db, model) -> int:
    db.expire_all()
    value = db.exec(select(func.count()).select_from(model)).one()
    db.rollback()
    return value


def test_file_pages_from_solicitud_to_acta(centre, client, db, factory):
    from central.citizens.models import Citizen

    ana_doc = db.get(Citizen, centre.people["ana"]).doc_number
    luis_doc = db.get(Citizen, centre.people["luis"]).doc_number
    db.rollback()
    accounts = centre.accounts
    csrf = web_sign_in(client, accounts["conciliator"])
    tray = client.get("/conciliacion")
    assert tray.status_code == 200 and "Bandeja de conciliación" in tray.text
    refused = client.post(
        "/conciliacion/nueva",
        data={
            "csrf_token": csrf,
            "matter": "alimentos",
            "solicitante_doc": ana_doc,
            "invitado_doc": "99999999",
            "facts": "Hechos del caso",
            "controversy": "Controversia",
            "claim": "Pensión",
        },
    )
    assert refused.status_code == 422 and "regístrela primero" in refused.text
    before = _count(db, ConcFile)
    blocked = client.post(
        "/conciliacion/nueva",
        data={
            "csrf_token": csrf,
            "matter": "alimentos",
            "solicitante_doc": ana_doc,
            "invitado_doc": luis_doc,
            "facts": "Hechos del caso",
            "controversy": "Controversia",
            "claim": "Pensión",
            "violence_declared": "1",
        },
    )
    assert blocked.status_code == 422 and "defensa de víctimas" in blocked.text
    assert _count(db, ConcFile) == before
    created = client.post(
        "/conciliacion/nueva",
        data={
            "csrf_token": csrf,
            "matter": "alimentos",
            "solicitante_doc": ana_doc,
            "invitado_doc": luis_doc,
            "facts": "Hechos del caso de alimentos",
            "controversy": "No hay aporte regular",
            "claim": "Pensión de S/ 500 mensuales",
        },
        follow_redirects=False,
    )
    assert created.status_code == 303, created.text
    url = created.headers["location"].split("?")[0]
    file_id = url.rsplit("/", 1)[1]
    # the coordinator designates (conciliators are listed by workload)
    client.cookies.clear()
    csrf_coord = web_sign_in(client, accounts["coordinator"])
    page = client.get(url)
    assert "Confirmar designación" in page.text
    assert client.get("/conciliacion/centro").status_code == 200
    done = client.post(
        f"{url}/designacion",
        data={
            "csrf_token": csrf_coord,
            "conciliator_user_id": centre.conciliator_id,
            "verifier_user_id": centre.verifier_id,
        },
        follow_redirects=False,
    )
    assert done.status_code == 303
    again = client.post(
        f"{url}/designacion",
        data={
            "csrf_token": csrf_coord,
            "conciliator_user_id": centre.conciliator_id,
            "verifier_user_id": centre.verifier_id,
        },
    )
    assert again.status_code == 409 and "ya tiene conciliador" in again.text
    client.cookies.clear()
    csrf = web_sign_in(client, accounts["conciliator"])
    past = (
        (datetime.now(UTC) - timedelta(hours=2))
        .astimezone(__import__("zoneinfo").ZoneInfo("America/Lima"))
        .strftime("%Y-%m-%dT%H:%M")
    )
    bad = client.post(
        f"{url}/sesiones",
        data={"csrf_token": csrf, "scheduled_at": past, "mode": "presencial", "place": "Sala 1"},
    )
    assert bad.status_code == 422 and "ya pasó" in bad.text
    soon = (
        (datetime.now(UTC) + timedelta(minutes=2))
        .astimezone(__import__("zoneinfo").ZoneInfo("America/Lima"))
        .strftime("%Y-%m-%dT%H:%M")
    )
    assert (
        client.post(
            f"{url}/sesiones",
            data={
                "csrf_token": csrf,
                "scheduled_at": soon,
                "mode": "presencial",
                "place": "Sala 1",
            },
            follow_redirects=False,
        ).status_code
        == 303
    )
    data = centre.get(file_id)
    session_id = data["sessions"][0]["id"]
    invited = next(p for p in data["parties"] if p["role"] == "invitado")
    assert (
        client.post(
            f"{url}/invitaciones",
            data={"csrf_token": csrf, "party_id": invited["id"], "session_id": session_id},
            follow_redirects=False,
        ).status_code
        == 303
    )
    invitation = centre.get(file_id)["invitations"][0]
    letter = client.get(f"{url}/invitaciones/{invitation['id']}.pdf")
    assert letter.status_code == 200 and letter.content.startswith(b"%PDF")
    assert (
        client.post(
            f"{url}/invitaciones/{invitation['id']}/entrega",
            data={
                "csrf_token": csrf,
                "delivered": "si",
                "mode": "personal",
                "received_by": "El invitado",
            },
            follow_redirects=False,
        ).status_code
        == 303
    )
    attendance = {"csrf_token": csrf, **{f"present_{p['id']}": "1" for p in data["parties"]}}
    assert (
        client.post(
            f"{url}/sesiones/{session_id}/asistencia", data=attendance, follow_redirects=False
        ).status_code
        == 303
    )
    obligation = {
        "csrf_token": csrf, "kind": "pension_alimentos", "debtor_party_id": invited["id"],
        "creditor_party_id": next(p["id"] for p in data["parties"] if p["role"] == "solicitante"),
        "amount": "500", "periodicity": "mensual", "start_date": "2027-01-05", "description": "Pensión de alimentos de la menor",
    }  # fmt: skip
    assert (
        client.post(f"{url}/obligaciones", data=obligation, follow_redirects=False).status_code
        == 303
    )
    assert (
        client.post(
            f"{url}/conclusion",
            data={"csrf_token": csrf, "way": "acuerdo_total", "session_id": session_id},
            follow_redirects=False,
        ).status_code
        == 303
    )
    page = client.get(url)
    assert "Acta: contenidos del Art. 16" in page.text
    preview = client.get(f"{url}/borrador.pdf")
    assert preview.content.startswith(b"%PDF")
    not_yet = client.post(f"{url}/acta", data={"csrf_token": csrf})
    assert not_yet.status_code == 409 and "abogado verificador" in not_yet.text
    client.cookies.clear()
    csrf_v = web_sign_in(client, accounts["verifier"])
    assert (
        client.post(
            f"{url}/conformidad", data={"csrf_token": csrf_v}, follow_redirects=False
        ).status_code
        == 303
    )
    client.cookies.clear()
    csrf = web_sign_in(client, accounts["conciliator"])
    assert (
        client.post(f"{url}/acta", data={"csrf_token": csrf}, follow_redirects=False).status_code
        == 303
    )
    page = client.get(url)
    assert "Actas emitidas" in page.text and "Vigente" in page.text
    acta_link = re.search(r'href="(/conciliacion/actas/[^"]+\.pdf)"', page.text).group(1)
    assert client.get(acta_link).content.startswith(b"%PDF")
    assert _count(db, ConcActa) == 1
