# ruff: noqa: F811 - fixtures imported by name and then requested by name
"""The Module 02 pages over HTTP (no browser), on SQLite and PostgreSQL: every new form refuses a
post without its CSRF token and writes nothing; income is shown only with ``income.read`` and
each read is audited; a bad income is refused with a Spanish field error and nothing written;
the RENIEC prefill answers JSON and is audited; pages keep the area of the policy."""

from __future__ import annotations

from sqlmodel import func, select

from central.auth.policy import Profile
from central.cases.models import CaseParty, CaseReferral
from central.citizens.models import CitizenMerge, EligibilityStatement
from central.citizens.web import parse_soles
from tests.central.cases.conftest import open_case
from tests.central.conftest import sign_in
from tests.central.web.conftest import app  # noqa: F401 - the app with the web UI
from tests.central.web.test_pages import audit_rows, web_sign_in


def _count(db, model) -> int:  # noqa: ANN001
    value = db.exec(select(func.count()).select_from(model)).one()
    db.rollback()
    return value


def test_parse_soles_as_clerks_type_it():
    assert str(parse_soles("1250")) == "1250"
    assert str(parse_soles("S/ 1,250.50")) == "1250.50"
    assert str(parse_soles(" 930.5 ")) == "930.5"
    for bad in ("mil soles", "1,5", "12,50", "-10", "1.234.567", "", "1e5", "12.345"):
        assert parse_soles(bad) is None, bad


def test_new_forms_refuse_posts_without_csrf(client, world, factory, people, db):
    defender = factory.user(Profile.DEFENSOR_PUBLICO, sede=world.sede_a1)
    case = open_case(client, sign_in(client, defender), world.sede_a1)
    web_sign_in(client, defender)
    posts = {
        f"/expedientes/{case['id']}/partes": {"party_role": "counterpart", "party_name": "X Y"},
        f"/expedientes/{case['id']}/derivaciones": {
            "ref_kind": "external",
            "institution": "pnp",
            "ref_reason": "Denuncia",
        },
        f"/personas/{case['client_citizen_id']}/declaracion": {
            "household_size": "3",
            "monthly_income_soles": "900",
        },
    }
    parties, referrals = _count(db, CaseParty), _count(db, CaseReferral)
    for url, form in posts.items():
        response = client.post(url, data=form, follow_redirects=False)
        assert response.status_code == 403, url
        assert "Formulario no válido" in response.text
    assert (_count(db, CaseParty), _count(db, CaseReferral)) == (parties, referrals)
    assert _count(db, EligibilityStatement) == 0


def test_income_needs_permission_and_every_read_is_audited(client, world, factory, db):
    verifier = factory.user(Profile.ABOGADO_VERIFICADOR, sede=world.sede_a1)
    case = open_case(client, sign_in(client, verifier), world.sede_a1)
    person = case["client_citizen_id"]
    csrf = web_sign_in(client, verifier)
    bad = client.post(
        f"/personas/{person}/declaracion",
        data={"csrf_token": csrf, "household_size": "3", "monthly_income_soles": "novecientos"},
    )
    assert bad.status_code == 422
    assert "No es un monto válido" in bad.text
    assert _count(db, EligibilityStatement) == 0
    good = client.post(
        f"/personas/{person}/declaracion",
        data={"csrf_token": csrf, "household_size": "3", "monthly_income_soles": "987.65"},
        follow_redirects=False,
    )
    assert good.status_code == 303, good.text
    detail = client.get(f"/personas/{person}")
    assert "Pendiente de verificación" in detail.text
    assert "987.65" not in detail.text  # the person page never shows income
    assert audit_rows(db, "eligibility.read") == []
    for _ in range(2):
        page = client.get(f"/personas/{person}/declaraciones")
        assert page.status_code == 200 and "S/ 987.65" in page.text
    rows = audit_rows(db, "eligibility.read")
    assert len(rows) == 2 and all("987" not in (r.after_json or "") for r in rows)

    defender = factory.user(Profile.DEFENSOR_PUBLICO, sede=world.sede_a1)
    client.cookies.clear()
    web_sign_in(client, defender)
    assert client.get(f"/personas/{person}").status_code == 200
    denied = client.get(f"/personas/{person}/declaraciones")
    assert denied.status_code == 403 and "987.65" not in denied.text
    assert len(audit_rows(db, "eligibility.read")) == 2


def test_reniec_prefill_json_is_audited_and_scoped_pages(client, world, factory, db):
    defender = factory.user(Profile.DEFENSOR_PUBLICO, sede=world.sede_a1)
    web_sign_in(client, defender)
    found = client.get("/personas-reniec?dni=70000001").json()
    assert found["status"] == "found" and found["given_names"] == "Rosa Elena"
    bad = client.get("/personas-reniec?dni=12")
    assert bad.status_code == 422 and "8 dígitos" in bad.json()["message"]
    assert len(audit_rows(db, "citizen.identity_lookup")) == 1

    # a person registered in another district is not reachable from this sede's pages
    other = factory.user(Profile.DEFENSOR_PUBLICO, sede=world.sede_b1)
    elsewhere = open_case(client, sign_in(client, other), world.sede_b1)
    assert client.get(f"/personas/{elsewhere['client_citizen_id']}").status_code == 404
    assert client.get(f"/expedientes/{elsewhere['id']}").status_code == 404
    # merging needs citizens.merge
    assert (
        client.get(
            f"/personas/{elsewhere['client_citizen_id']}/fusionar?con=x", follow_redirects=False
        ).status_code
        == 403
    )
    assert _count(db, CitizenMerge) == 0


def test_register_person_form_lists_duplicates_and_needs_confirmation(client, world, factory, db):
    from central.citizens.models import Citizen

    defender = factory.user(Profile.DEFENSOR_PUBLICO, sede=world.sede_a1)
    existing = open_case(
        client,
        sign_in(client, defender),
        world.sede_a1,
        client={
            "sede_id": world.sede_a1,
            "doc_type": "dni",
            "doc_number": "41234567",
            "given_names": "Teófila",
            "surnames": "Ccahuana Quispe",
            "birth_date": "1961-01-20",
        },
    )
    csrf = web_sign_in(client, defender)
    form = {
        "csrf_token": csrf,
        "sede_id": world.sede_a1,
        "doc_type": "dni",
        "doc_number": "41234567",
        "given_names": "Teofila",
        "surnames": "Ccahuana",
    }
    same_document = client.post("/personas/nueva", data=form)
    assert same_document.status_code == 422
    assert "Esta persona ya está registrada" in same_document.text
    assert f'href="/personas/{existing["client_citizen_id"]}"' in same_document.text
    similar = {**form, "doc_type": "ninguno", "doc_number": "", "birth_date": "1961-01-20"}
    similar["surnames"] = "Ccahuana Quispe"
    refused = client.post("/personas/nueva", data=similar)
    assert refused.status_code == 422
    assert "datos muy parecidos" in refused.text and "confirm_not_duplicate" in refused.text
    people_before = _count(db, Citizen)
    created = client.post(
        "/personas/nueva", data={**similar, "confirm_not_duplicate": "1"}, follow_redirects=False
    )
    assert created.status_code == 303, created.text
    assert _count(db, Citizen) == people_before + 1


def test_overdue_page_lists_late_ley_29360_verifications(client, world, factory, db):
    from datetime import timedelta

    from central.citizens.service import lima_today

    verifier = factory.user(Profile.ABOGADO_VERIFICADOR, sede=world.sede_a1)
    headers = sign_in(client, verifier)
    late = open_case(client, headers, world.sede_a1)
    recent = open_case(client, headers, world.sede_a1)
    for case, days_ago in ((late, 30), (recent, 2)):
        response = client.post(
            f"/api/v1/citizens/{case['client_citizen_id']}/eligibility",
            json={
                "household_size": 2,
                "monthly_income_soles": "600",
                "declared_on": (lima_today() - timedelta(days=days_ago)).isoformat(),
            },
            headers=headers,
        )
        assert response.status_code == 201, response.text
    coordinator = factory.user(Profile.COORDINADOR_SEDE, sede=world.sede_a1)
    web_sign_in(client, coordinator)
    page = client.get("/plazos-vencidos")
    assert page.status_code == 200
    section = page.text.split('id="verificaciones"')[1]
    assert f"/personas/{late['client_citizen_id']}#declaracion" in section
    assert f"/personas/{recent['client_citizen_id']}#declaracion" not in section
    assert "600" not in section  # no income on the supervisors' list


def test_side_menu_links_people_and_received_referrals(client, world, factory):
    defender = factory.user(Profile.DEFENSOR_PUBLICO, sede=world.sede_a1)
    web_sign_in(client, defender)
    page = client.get("/expedientes").text
    assert 'href="/personas"' in page and 'href="/derivaciones"' in page
    assert 'href="/auditoria"' not in page  # the menu still follows the policy
