"""Citizens registry: document and date validation, duplicate detection on entry, merges that
keep history, Ley 29360 sworn statements (income read audited, explicit permission)."""

from __future__ import annotations

from sqlmodel import select

from central.audit.models import AuditChainHead, AuditEvent
from central.auth.policy import Profile
from central.citizens.identifiers import fold, name_similarity, valid_judicial_number
from central.citizens.models import Citizen, CitizenMerge
from tests.central.cases.conftest import case_body, citizen_body, next_dni, open_case

API = "/api/v1/citizens"


def _count(db, model) -> int:
    db.expire_all()
    n = len(db.exec(select(model)).all())
    db.rollback()
    return n


def _head(db) -> int:
    db.expire_all()
    seq = db.exec(select(AuditChainHead.last_seq)).one()
    db.rollback()
    return seq


def test_register_and_read(client, world, defender):
    body = citizen_body(world.sede_a1, doc_number="4512 3456")
    created = client.post(API, json=body, headers=defender)
    assert created.status_code == 201, created.text
    person = created.json()
    assert person["doc_number"] == "45123456"
    assert person["flags"] == ["victima_violencia"]
    assert person["language"] == "quechua"
    got = client.get(f"{API}/{person['id']}", headers=defender)
    assert got.status_code == 200 and got.json()["surnames"] == "Quispe Mamani"
    by_doc = client.get(API, params={"doc_number": "45123456"}, headers=defender).json()
    assert [p["id"] for p in by_doc] == [person["id"]]
    by_name = client.get(API, params={"q": "quispe mamani ro"}, headers=defender).json()
    assert person["id"] in [p["id"] for p in by_name]
    by_word = client.get(API, params={"q": "ELENA quíspe"}, headers=defender).json()
    assert person["id"] in [p["id"] for p in by_word]


def test_invalid_documents_and_dates_are_refused_and_nothing_is_written(
    client, world, defender, db
):
    before_rows, before_head = _count(db, Citizen), _head(db)
    cases = [
        ({"doc_type": "dni", "doc_number": "1234567"}, "invalid_dni", "doc_number"),
        ({"doc_type": "dni", "doc_number": "1234567A"}, "invalid_dni", "doc_number"),
        ({"doc_type": "ce", "doc_number": "ABC1234567890"}, "invalid_document", "doc_number"),
        ({"doc_type": "pasaporte", "doc_number": "X1"}, "invalid_document", "doc_number"),
        ({"doc_type": "ninguno", "doc_number": "12345678"}, "invalid_document", "doc_number"),
        ({"birth_date": "2999-01-01"}, "invalid_date", "birth_date"),
        ({"birth_date": "1850-01-01"}, "invalid_date", "birth_date"),
        ({"birth_date": "2024-02-30"}, "invalid_payload", "birth_date"),
        ({"ubigeo": "1501"}, "invalid_payload", "ubigeo"),
        ({"ubigeo": "150101"}, "invalid_payload", "ubigeo_scheme"),
    ]
    for changes, code, field in cases:
        response = client.post(API, json=citizen_body(world.sede_a1, **changes), headers=defender)
        assert response.status_code == 422, (changes, response.text)
        body = response.json()
        assert body["code"] == code, (changes, body)
        assert any(f["field"] == field for f in body["fields"]), (changes, body)
        assert body["message"] and body["message"][0].isupper()
    assert _count(db, Citizen) == before_rows
    assert _head(db) == before_head


def test_carne_de_extranjeria_and_no_document(client, world, defender):
    ce = client.post(
        API,
        json=citizen_body(world.sede_a1, doc_type="ce", doc_number="abc123456789"),
        headers=defender,
    )
    assert ce.status_code == 201 and ce.json()["doc_number"] == "ABC123456789"
    none = client.post(
        API,
        json=citizen_body(
            world.sede_a1,
            doc_type="ninguno",
            doc_number=None,
            given_names="Sin",
            surnames="Documento Uno",
        ),
        headers=defender,
    )
    assert none.status_code == 201 and none.json()["doc_number"] is None


def test_duplicate_by_document_anywhere(client, world, people, defender):
    body = citizen_body(world.sede_a1)
    assert client.post(API, json=body, headers=defender).status_code == 201
    other_sede = people.headers(Profile.DEFENSOR_PUBLICO, sede=world.sede_b1)
    again = client.post(
        API, json={**body, "sede_id": world.sede_b1, "given_names": "Otra"}, headers=other_sede
    )
    assert again.status_code == 409
    assert again.json()["code"] == "duplicate"


def test_similar_name_and_same_birth_date_needs_confirmation(client, world, defender, db):
    first = client.post(
        API,
        json=citizen_body(world.sede_a1, given_names="José Luis", surnames="Huamán Ccori"),
        headers=defender,
    ).json()
    lookalike = citizen_body(world.sede_a1, given_names="Jose Luiz", surnames="Huaman Ccori")
    refused = client.post(API, json=lookalike, headers=defender)
    assert refused.status_code == 409
    assert refused.json()["code"] == "possible_duplicate"
    assert first["id"] in [f["message"] for f in refused.json()["fields"]]
    different_birth = client.post(
        API,
        json={
            **citizen_body(world.sede_a1, given_names="José Luis", surnames="Huamán Ccori"),
            "birth_date": "1990-01-01",
        },
        headers=defender,
    )
    assert different_birth.status_code == 201
    confirmed = client.post(
        API, json={**lookalike, "confirm_not_duplicate": True}, headers=defender
    )
    assert confirmed.status_code == 201


def test_name_similarity_is_accent_and_order_insensitive():
    assert fold("  ÑUÑEZ  Peña, María ") == "nunez pena maria"
    assert name_similarity("Quispe Mamani Rosa", "rosa QUISPE mamani") == 1.0
    assert name_similarity("Huamán Ccori José", "Huaman Ccori Jose") == 1.0
    assert name_similarity("Huamán Ccori José", "Torres Vega Ana") < 0.5


def test_judicial_number_format():
    assert valid_judicial_number("00123-2024-0-1801-JR-FA-01")
    assert valid_judicial_number("12345-2019-15-0401-JP-CI-03")
    for bad in (
        "123-2024-0-1801-JR-FA-01",
        "00123-2024-0-1801-JR-FA",
        "00123-24-0-1801-JR-FA-01",
        "00123-2024-0-1801-jr-fa-01",
        "",
    ):
        assert not valid_judicial_number(bad)


def test_merge_moves_references_and_keeps_history(client, world, people, db):
    coordinator = people.headers(Profile.COORDINADOR_SEDE, sede=world.sede_a1)
    defender = people.headers(Profile.DEFENSOR_PUBLICO, sede=world.sede_a1)
    survivor = client.post(API, json=citizen_body(world.sede_a1, flags=[]), headers=defender).json()
    dup_body = citizen_body(
        world.sede_a1,
        doc_type="ninguno",
        doc_number=None,
        flags=["adulto_mayor"],
        confirm_not_duplicate=True,
    )
    duplicate = client.post(API, json=dup_body, headers=defender).json()
    case = open_case(
        client, defender, world.sede_a1, client=None, client_citizen_id=duplicate["id"]
    )
    assert (
        client.post(
            f"{API}/{survivor['id']}/merge",
            json={"merged_id": duplicate["id"], "reason": "Misma persona"},
            headers=defender,
        ).status_code
        == 403
    )
    merged = client.post(
        f"{API}/{survivor['id']}/merge",
        json={"merged_id": duplicate["id"], "reason": "Misma persona (verificado con DNI)"},
        headers=coordinator,
    )
    assert merged.status_code == 201, merged.text
    moved_case = client.get(f"/api/v1/cases/{case['id']}", headers=defender).json()
    assert moved_case["client_citizen_id"] == survivor["id"]
    old = client.get(f"{API}/{duplicate['id']}", headers=defender).json()
    assert old["merged_into_id"] == survivor["id"]  # the merged record stays, pointing on
    new = client.get(f"{API}/{survivor['id']}", headers=defender).json()
    assert set(new["flags"]) == {"adulto_mayor"}
    history = client.get(f"{API}/{survivor['id']}/merges", headers=defender).json()
    assert [h["merged_id"] for h in history] == [duplicate["id"]]
    db.expire_all()
    record = db.exec(select(CitizenMerge)).one()
    assert '"case_file": 1' in record.moved_references
    assert (
        db.exec(select(AuditEvent).where(AuditEvent.action == "citizen.merge")).one().entity_id
        == survivor["id"]
    )
    db.rollback()  # SQLite: a read transaction here would hold the write lock
    again = client.post(
        f"{API}/{survivor['id']}/merge",
        json={"merged_id": duplicate["id"], "reason": "otra vez"},
        headers=coordinator,
    )
    assert again.status_code == 409 and again.json()["code"] == "invalid_transition"
    # the merged record's document (none here) is free; searching hides merged records
    listed = client.get(API, params={"q": "quispe"}, headers=defender).json()
    assert duplicate["id"] not in [p["id"] for p in listed]


def test_sworn_statement_income_is_sensitive(client, world, people, db):
    defender = people.headers(Profile.DEFENSOR_PUBLICO, sede=world.sede_a1)
    verifier = people.headers(Profile.ABOGADO_VERIFICADOR, sede=world.sede_a1)
    person = client.post(API, json=citizen_body(world.sede_a1), headers=defender).json()
    created = client.post(
        f"{API}/{person['id']}/eligibility",
        json={
            "household_size": 4,
            "dependants": 2,
            "monthly_income_soles": "850.50",
            "income_sources": "Venta ambulatoria",
            "declared_on": "2025-03-03",
        },
        headers=defender,
    )
    assert created.status_code == 201, created.text
    statement = created.json()
    assert statement["status"] == "pending"
    assert statement["verification_due"] == "2025-03-23"  # 20 days (configurable)
    assert "monthly_income_soles" not in statement
    # the defender sees the status, not the income
    status = client.get(f"{API}/{person['id']}/eligibility/status", headers=defender).json()
    assert status[0]["status"] == "pending" and "monthly_income_soles" not in status[0]
    assert client.get(f"{API}/{person['id']}/eligibility", headers=defender).status_code == 403
    before = _head(db)
    full = client.get(f"{API}/{person['id']}/eligibility", headers=verifier)
    assert full.status_code == 200 and full.json()[0]["monthly_income_soles"] == "850.50"
    assert _head(db) == before + 1
    db.expire_all()
    event = db.exec(select(AuditEvent).where(AuditEvent.action == "eligibility.read")).one()
    assert "850" not in (event.after_json or "")  # the audit row never copies the income
    create_event = db.exec(
        select(AuditEvent).where(AuditEvent.action == "eligibility.create")
    ).one()
    assert "850" not in (create_event.after_json or "")
    db.rollback()
    # verification: no gratuidad needs the resolution number
    no_number = client.post(
        f"/api/v1/eligibility/{statement['id']}/decision",
        json={"outcome": "no_gratuidad"},
        headers=verifier,
    )
    assert no_number.status_code == 422
    decided = client.post(
        f"/api/v1/eligibility/{statement['id']}/decision",
        json={"outcome": "no_gratuidad", "resolution_number": "RES-0042-2025"},
        headers=verifier,
    )
    assert decided.status_code == 200 and decided.json()["status"] == "no_gratuidad"
    twice = client.post(
        f"/api/v1/eligibility/{statement['id']}/decision",
        json={"outcome": "verified"},
        headers=verifier,
    )
    assert twice.status_code == 409 and twice.json()["code"] == "invalid_transition"


def test_overdue_verifications_for_supervisors(client, world, people):
    defender = people.headers(Profile.DEFENSOR_PUBLICO, sede=world.sede_a1)
    coordinator = people.headers(Profile.COORDINADOR_SEDE, sede=world.sede_a1)
    other = people.headers(Profile.COORDINADOR_SEDE, sede=world.sede_b1)
    person = client.post(API, json=citizen_body(world.sede_a1), headers=defender).json()
    late = client.post(
        f"{API}/{person['id']}/eligibility",
        json={"household_size": 1, "monthly_income_soles": "0", "declared_on": "2024-01-02"},
        headers=defender,
    ).json()
    fresh_person = client.post(
        API, json=citizen_body(world.sede_a1, given_names="Otra Persona"), headers=defender
    ).json()
    client.post(
        f"{API}/{fresh_person['id']}/eligibility",
        json={"household_size": 1, "monthly_income_soles": "0"},
        headers=defender,
    )
    overdue = client.get("/api/v1/eligibility/overdue", headers=coordinator).json()
    assert [s["id"] for s in overdue] == [late["id"]]
    assert client.get("/api/v1/eligibility/overdue", headers=other).json() == []
    future = client.post(
        f"{API}/{person['id']}/eligibility",
        json={"household_size": 1, "monthly_income_soles": "0", "declared_on": "2999-01-01"},
        headers=defender,
    )
    assert future.status_code == 422 and future.json()["code"] == "invalid_date"


def test_scoping_of_people(client, world, people):
    a1 = people.headers(Profile.DEFENSOR_PUBLICO, sede=world.sede_a1)
    b1 = people.headers(Profile.DEFENSOR_PUBLICO, sede=world.sede_b1)
    director_a = people.headers(Profile.DIRECTOR_DISTRITAL, district=world.district_a)
    person = client.post(API, json=citizen_body(world.sede_a1), headers=a1).json()
    assert client.get(f"{API}/{person['id']}", headers=b1).status_code == 404
    assert client.get(f"{API}/{person['id']}", headers=director_a).status_code == 200
    assert person["id"] not in [p["id"] for p in client.get(API, headers=b1).json()]
    refused = client.post(API, json=citizen_body(world.sede_b1), headers=a1)
    assert refused.status_code == 403
    dni = next_dni()
    assert (
        client.post(
            API,
            json=citizen_body(world.sede_a1, doc_number=dni, given_names="Nadie Parecido"),
            headers=a1,
        ).status_code
        == 201
    )


def test_a_duplicate_outside_the_callers_area_is_refused_without_its_id(
    client, world, people, defender
):
    """The duplicate answer of POST /citizens handed out any person's id; a caller who may not
    see the existing record now gets the same refusal without it (and cannot open it)."""
    body = citizen_body(world.sede_a1)
    existing = client.post(API, json=body, headers=defender).json()["id"]
    elsewhere = people.headers(Profile.DEFENSOR_PUBLICO, sede=world.sede_b1)
    same_document = client.post(
        API, json={**body, "sede_id": world.sede_b1, "given_names": "Otra"}, headers=elsewhere
    )
    assert same_document.status_code == 409 and same_document.json()["code"] == "duplicate"
    assert existing not in same_document.text
    assert same_document.json()["fields"] == []
    assert "otra sede" in same_document.json()["message"]
    lookalike = {**body, "sede_id": world.sede_b1, "doc_type": "ninguno", "doc_number": None}
    similar = client.post(API, json=lookalike, headers=elsewhere)
    assert similar.status_code == 409 and similar.json()["code"] == "possible_duplicate"
    assert existing not in similar.text
    # the same sede still sees which record it is
    inside = client.post(API, json={**body, "given_names": "Otra"}, headers=defender)
    assert [f["message"] for f in inside.json()["fields"]] == [existing]
    assert client.get(f"{API}/{existing}", headers=elsewhere).status_code == 404


def test_a_person_outside_the_area_cannot_be_attached_to_a_case_by_id(
    client, world, people, defender
):
    """Attaching someone from another district by id (as client or as a party) would expose
    their record through the case; it is refused as if the id did not exist."""
    stranger = client.post(
        API,
        json=citizen_body(world.sede_b1),
        headers=people.headers(Profile.DEFENSOR_PUBLICO, sede=world.sede_b1),
    ).json()["id"]
    case = open_case(client, defender, world.sede_a1)
    party = client.post(
        f"/api/v1/cases/{case['id']}/parties",
        json={"role": "counterpart", "citizen_id": stranger},
        headers=defender,
    )
    assert party.status_code == 404, party.text
    as_client = client.post(
        "/api/v1/cases",
        json={**case_body(world.sede_a1), "client": None, "client_citizen_id": stranger},
        headers=defender,
    )
    assert as_client.status_code == 404, as_client.text
    assert client.get(f"{API}/{stranger}", headers=defender).status_code == 404
    # a person of the user's own sede is attached as before
    neighbour = client.post(
        API,
        json=citizen_body(world.sede_a1, given_names="Vecina", birth_date=None),
        headers=defender,
    ).json()["id"]
    ok = client.post(
        f"/api/v1/cases/{case['id']}/parties",
        json={"role": "counterpart", "citizen_id": neighbour},
        headers=defender,
    )
    assert ok.status_code == 201, ok.text
