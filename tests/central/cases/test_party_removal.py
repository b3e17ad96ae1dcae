"""Withdrawing a party: the row stays with who/when/why, the timeline and audit say so, a
withdrawn counterpart no longer blocks serving that person, the client and restricted parties
are protected, and a closed file refuses it."""

from __future__ import annotations

from sqlmodel import select

from central.audit.models import AuditEvent
from central.auth.policy import Profile
from central.cases.models import CaseParty
from tests.central.cases.conftest import case_body, citizen_body, next_dni, open_case

API = "/api/v1/cases"


def _add(client, headers, case_id, **body):
    return client.post(f"{API}/{case_id}/parties", json=body, headers=headers)


def test_withdrawn_counterpart_is_kept_and_stops_blocking(client, world, defender, db):
    case = open_case(client, defender, world.sede_a1)
    dni = next_dni()
    party = _add(
        client,
        defender,
        case["id"],
        role="counterpart",
        name="Juan Pérez Ríos",
        doc_type="dni",
        doc_number=dni,
    ).json()
    # while the counterpart is live, serving that person is a conflict of interest
    body = case_body(
        world.sede_a1,
        client=citizen_body(world.sede_a1, doc_number=dni, given_names="Juan", surnames="Pérez"),
    )
    assert client.post(API, json=body, headers=defender).json()["code"] == "conflict_of_interest"

    short = client.post(
        f"{API}/{case['id']}/parties/{party['id']}/removal", json={"reason": "x"}, headers=defender
    )
    assert short.status_code == 422
    removed = client.post(
        f"{API}/{case['id']}/parties/{party['id']}/removal",
        json={"reason": "Registrado por error: es el testigo"},
        headers=defender,
    )
    assert removed.status_code == 200, removed.text
    detail = client.get(f"{API}/{case['id']}", headers=defender).json()
    assert [p["role"] for p in detail["parties"]] == ["client"]
    db.expire_all()
    row = db.get(CaseParty, party["id"])
    assert row.removed_at is not None and row.removal_reason.startswith("Registrado por error")
    event = db.exec(select(AuditEvent).where(AuditEvent.action == "case.party_remove")).one()
    assert "Juan" not in (event.after_json or "") + (event.before_json or "")
    db.rollback()  # SQLite sessions begin IMMEDIATE: end the read before the server writes
    timeline = client.get(f"{API}/{case['id']}/timeline", headers=defender).json()
    assert any(e["kind"] == "party_removed" and "Juan Pérez" in e["summary"] for e in timeline)
    # once withdrawn, the person can be served
    assert client.post(API, json=body, headers=defender).status_code == 201
    again = client.post(
        f"{API}/{case['id']}/parties/{party['id']}/removal",
        json={"reason": "otra vez"},
        headers=defender,
    )
    assert again.status_code == 404


def test_client_and_restricted_parties_and_closed_files(client, world, people, defender, db):
    case = open_case(client, defender, world.sede_a1)
    client_party_id = db.exec(
        select(CaseParty.id).where(CaseParty.case_id == case["id"], CaseParty.role == "client")
    ).one()
    db.rollback()
    refused = client.post(
        f"{API}/{case['id']}/parties/{client_party_id}/removal",
        json={"reason": "no corresponde"},
        headers=defender,
    )
    assert refused.status_code == 422 and "usuaria" in refused.json()["message"]

    minor = _add(client, defender, case["id"], role="minor", name="Niña A. Q.").json()
    # an orientador (no cases.sensitive) cannot even find a minor to withdraw
    orientador = people.headers(Profile.ORIENTADOR, sede=world.sede_a1)
    hidden = client.post(
        f"{API}/{case['id']}/parties/{minor['id']}/removal",
        json={"reason": "registro duplicado"},
        headers=orientador,
    )
    assert hidden.status_code == 404
    assert client.post(
        f"{API}/{case['id']}/transitions",
        json={"to_state": "closed", "outcome_code": "desistimiento"},
        headers=defender,
    ).is_success
    closed = client.post(
        f"{API}/{case['id']}/parties/{minor['id']}/removal",
        json={"reason": "registro duplicado"},
        headers=defender,
    )
    assert closed.status_code == 409 and closed.json()["code"] == "case_closed"
    db.expire_all()
    assert db.get(CaseParty, minor["id"]).removed_at is None
