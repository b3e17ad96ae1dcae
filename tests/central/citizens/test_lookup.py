"""GET /api/v1/citizens/lookup: the configured RENIEC adapter behind the API, permission-checked
and audited without copying the DNI or the names into the audit trail."""

from __future__ import annotations

from datetime import date

from sqlmodel import select

from central.audit.models import AuditEvent
from central.auth.policy import Profile
from central.reniec import FakeReniec, IdentityRecord
from tests.central.cases.conftest import citizen_body

PERSON = IdentityRecord(
    "45671234", "María Ysabel", "Condori Apaza", date(1990, 5, 1), "F", "150101"
)


def _fake(app) -> FakeReniec:
    fake = FakeReniec({PERSON.dni: PERSON})
    app.state.identity_lookup = fake
    return fake


def _lookup_audits(db) -> list[AuditEvent]:
    db.expire_all()
    return list(db.exec(select(AuditEvent).where(AuditEvent.action == "citizen.identity_lookup")))


def test_found_prefills_and_is_audited_without_personal_data(app, client, defender, db):
    _fake(app)
    response = client.get("/api/v1/citizens/lookup?dni=45671234", headers=defender)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "found"
    assert (body["given_names"], body["surnames"]) == ("María Ysabel", "Condori Apaza")
    assert body["birth_date"] == "1990-05-01"
    assert (body["ubigeo"], body["ubigeo_scheme"]) == ("150101", "reniec")
    assert body["registered_citizen_id"] is None
    [event] = _lookup_audits(db)
    assert '"found"' in event.after_json
    for secret in ("45671234", "Condori", "María"):
        assert secret not in (event.after_json or "")


def test_registered_person_is_pointed_to(app, client, defender, people):
    _fake(app)
    created = client.post(
        "/api/v1/citizens",
        json=citizen_body(people.world.sede_a1, doc_number="45671234"),
        headers=defender,
    )
    assert created.status_code == 201, created.text
    body = client.get("/api/v1/citizens/lookup?dni=4567-1234", headers=defender).json()
    assert body["registered_citizen_id"] == created.json()["id"]


def test_unknown_and_unavailable_are_answers_not_errors(app, client, defender, db):
    fake = _fake(app)
    body = client.get("/api/v1/citizens/lookup?dni=00000001", headers=defender).json()
    assert body["status"] == "not_found" and body["given_names"] is None
    fake.available = False
    body = client.get("/api/v1/citizens/lookup?dni=45671234", headers=defender).json()
    assert body["status"] == "unavailable"
    assert "declara" in body["message"]
    assert body["given_names"] is None
    assert len(_lookup_audits(db)) == 2


def test_malformed_dni_is_422_in_spanish_and_never_reaches_the_adapter(app, client, defender, db):
    fake = _fake(app)
    response = client.get("/api/v1/citizens/lookup?dni=1234", headers=defender)
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid_dni"
    assert "8 dígitos" in body["message"]
    assert fake.calls == 0
    assert _lookup_audits(db) == []


def test_needs_citizens_write(app, client, people, db):
    fake = _fake(app)
    director = people.headers(Profile.DIRECTOR_DISTRITAL, district=people.world.district_a)
    response = client.get("/api/v1/citizens/lookup?dni=45671234", headers=director)
    assert response.status_code == 403
    assert client.get("/api/v1/citizens/lookup?dni=45671234").status_code == 401
    assert fake.calls == 0
