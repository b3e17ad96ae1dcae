"""Case files through the API: numbering, state machine, parties and the conflict check,
actions and deadlines, referrals, documents, timeline with restricted parts, search, scoping,
alerts and the overdue list — each bad input refused with a stable code and nothing written."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from central.audit.models import AuditChainHead, AuditEvent
from central.auth.policy import Profile
from central.cases import service
from central.cases.models import (
    CaseAction,
    CaseAlert,
    CaseDeadline,
    CaseDocument,
    CaseEvent,
    CaseSequence,
)
from central.cases.settings import CasesSettings
from central.citizens.service import lima_today
from tests.central.cases.conftest import case_body, citizen_body, next_dni, open_case

API = "/api/v1/cases"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _head(db) -> int:
    db.expire_all()
    seq = db.exec(select(AuditChainHead.last_seq)).one()
    db.rollback()
    return seq


def _rows(db, model) -> int:
    db.expire_all()
    n = len(db.exec(select(model)).all())
    db.rollback()
    return n


def test_open_case_numbering_and_read(client, world, defender, db):
    year = lima_today().year
    first = open_case(client, defender, world.sede_a1)
    second = open_case(client, defender, world.sede_a2 if False else world.sede_a1)
    assert first["number"] == f"DD-A-{year}-000001"
    assert second["number"] == f"DD-A-{year}-000002"
    assert first["state"] == "open" and first["source"] == "central"
    assert [p["role"] for p in first["parties"]] == ["client"]
    got = client.get(f"{API}/{first['id']}", headers=defender).json()
    assert got["summary"].startswith("Demanda de alimentos")
    timeline = client.get(f"{API}/{first['id']}/timeline", headers=defender).json()
    assert timeline[0]["kind"] == "opened" and first["number"] in timeline[0]["summary"]
    db.expire_all()
    assert db.exec(select(AuditEvent).where(AuditEvent.action == "case.open")).all()
    db.rollback()


def test_a_failed_opening_never_consumes_or_reuses_a_number(client, world, defender, db):
    ok = open_case(client, defender, world.sede_a1)
    bad = client.post(
        API, json=case_body(world.sede_a1, judicial_number="123-2024"), headers=defender
    )
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_judicial_number"
    after = open_case(client, defender, world.sede_a1)
    assert int(after["number"][-6:]) == int(ok["number"][-6:]) + 1
    db.expire_all()
    seq = db.exec(select(CaseSequence)).one()
    assert seq.last_value == 2
    db.rollback()


def test_number_format_is_configurable_per_district(db, world):
    settings = CasesSettings(number_formats={world.district_b: "EXP-{year}-{district}-{seq:04d}"})
    _, number_b = service.next_number(
        session=db, district_id=world.district_b, year=2026, settings=settings
    )
    _, number_a = service.next_number(
        session=db, district_id=world.district_a, year=2026, settings=settings
    )
    _, number_b2 = service.next_number(
        session=db, district_id=world.district_b, year=2027, settings=settings
    )
    db.rollback()
    assert number_b == "EXP-2026-DD-B-0001"
    assert number_a == "DD-A-2026-000001"
    assert number_b2 == "EXP-2027-DD-B-0001"  # a new year starts its own sequence


def test_state_machine(client, world, defender, db):
    case = open_case(client, defender, world.sede_a1)
    url = f"{API}/{case['id']}/transitions"

    def move(to, **extra):
        return client.post(url, json={"to_state": to, **extra}, headers=defender)

    before = _head(db)
    refused = move("archived")
    assert refused.status_code == 409 and refused.json()["code"] == "invalid_transition"
    assert "Abierto" in refused.json()["message"]
    assert _head(db) == before
    assert move("in_progress").json()["state"] == "in_progress"
    assert move("suspended").json()["state"] == "suspended"
    assert move("suspended").json()["code"] == "invalid_transition"
    no_outcome = move("closed")
    assert (
        no_outcome.status_code == 422 and no_outcome.json()["fields"][0]["field"] == "outcome_code"
    )
    bad_outcome = move("closed", outcome_code="ganamos")
    assert bad_outcome.status_code == 422
    closed = move("closed", outcome_code="sentencia_favorable")
    assert closed.status_code == 200 and closed.json()["outcome_code"] == "sentencia_favorable"
    assert closed.json()["closed_at"]
    assert move("in_progress").json()["code"] == "invalid_transition"
    assert move("archived").json()["state"] == "archived"
    for target in ("open", "in_progress", "suspended", "closed", "archived"):
        assert move(target).status_code == 409
    states = [
        e["summary"]
        for e in client.get(f"{API}/{case['id']}/timeline", headers=defender).json()
        if e["kind"] == "state"
    ]
    assert len(states) == 4
    # referred is only reached through a referral
    other = open_case(client, defender, world.sede_a1)
    assert (
        client.post(
            f"{API}/{other['id']}/transitions", json={"to_state": "referred"}, headers=defender
        ).json()["code"]
        == "invalid_transition"
    )


def test_actions_and_deadlines_in_business_days(client, world, defender, db):
    case = open_case(client, defender, world.sede_a1)
    response = client.post(
        f"{API}/{case['id']}/actions",
        json={
            "action_type": "escrito",
            "action_date": "2024-12-23",
            "notes": "Demanda presentada ante el juzgado de paz letrado.",
            "deadline_title": "Contestación",
            "deadline_business_days": 3,
        },
        headers=defender,
    )
    assert response.status_code == 201, response.text
    deadlines = client.get(f"{API}/{case['id']}/deadlines", headers=defender).json()
    assert deadlines[0]["due_date"] == "2024-12-27"  # Christmas skipped
    assert client.get(f"{API}/{case['id']}", headers=defender).json()["state"] == "in_progress"
    year_end = client.post(
        f"{API}/{case['id']}/deadlines",
        json={"title": "Apelación", "start_date": "2025-12-26", "business_days": 5},
        headers=defender,
    )
    assert year_end.status_code == 201 and year_end.json()["due_date"] == "2026-01-05"
    explicit = client.post(
        f"{API}/{case['id']}/deadlines",
        json={"title": "Audiencia", "start_date": "2025-02-03", "due_date": "2025-02-20"},
        headers=defender,
    )
    assert explicit.json()["due_date"] == "2025-02-20"
    actions = client.get(f"{API}/{case['id']}/actions", headers=defender).json()
    assert actions[0]["author_user_id"] and actions[0]["action_type"] == "escrito"
    done = client.post(
        f"{API}/{case['id']}/deadlines/{explicit.json()['id']}/done", headers=defender
    )
    assert done.status_code == 200 and done.json()["status"] == "done"
    assert (
        client.post(
            f"{API}/{case['id']}/deadlines/{explicit.json()['id']}/done", headers=defender
        ).status_code
        == 409
    )


def test_bad_deadlines_and_dates_write_nothing(client, world, defender, db):
    case = open_case(client, defender, world.sede_a1)
    rows = (_rows(db, CaseAction), _rows(db, CaseDeadline), _rows(db, CaseEvent))
    head = _head(db)
    bad = [
        (
            f"{API}/{case['id']}/deadlines",
            {"title": "x", "start_date": "2025-03-10", "due_date": "2025-03-07"},
            "invalid_date",
        ),
        (
            f"{API}/{case['id']}/deadlines",
            {"title": "x", "start_date": "2025-02-30", "business_days": 3},
            "invalid_payload",
        ),
        (
            f"{API}/{case['id']}/deadlines",
            {"title": "x", "start_date": "2025-03-10"},
            "invalid_payload",
        ),
        (
            f"{API}/{case['id']}/deadlines",
            {"title": "x", "start_date": "2025-03-10", "business_days": 0},
            "invalid_payload",
        ),
        (
            f"{API}/{case['id']}/actions",
            {
                "action_type": "audiencia",
                "action_date": "2025-03-10",
                "deadline_due_date": "2025-03-01",
            },
            "invalid_date",
        ),
        (
            f"{API}/{case['id']}/actions",
            {"action_type": "audiencia", "action_date": "2025-13-01"},
            "invalid_payload",
        ),
        (
            f"{API}/{case['id']}/actions",
            {
                "action_type": "audiencia",
                "action_date": (lima_today() + timedelta(days=800)).isoformat(),
            },
            "invalid_date",
        ),
        (
            f"{API}/{case['id']}/actions",
            {"action_type": "bailar", "action_date": "2025-03-10"},
            "invalid_payload",
        ),
    ]
    for url, body, code in bad:
        response = client.post(url, json=body, headers=defender)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["code"] == code, (body, response.json())
    assert (_rows(db, CaseAction), _rows(db, CaseDeadline), _rows(db, CaseEvent)) == rows
    assert _head(db) == head


def test_conflict_of_interest(client, world, people, defender):
    other_sede = people.headers(Profile.DEFENSOR_PUBLICO, sede=world.sede_b1)
    existing = open_case(client, other_sede, world.sede_b1)
    client_doc = client.get(
        f"/api/v1/citizens/{existing['client_citizen_id']}", headers=other_sede
    ).json()
    mine = open_case(client, defender, world.sede_a1)
    clash = client.post(
        f"{API}/{mine['id']}/parties",
        json={
            "role": "counterpart",
            "name": "Demandado",
            "doc_type": "dni",
            "doc_number": client_doc["doc_number"],
        },
        headers=defender,
    )
    assert clash.status_code == 409 and clash.json()["code"] == "conflict_of_interest"
    assert existing["number"] in clash.json()["message"]
    fine = client.post(
        f"{API}/{mine['id']}/parties",
        json={
            "role": "counterpart",
            "name": "Juan Pérez",
            "doc_type": "dni",
            "doc_number": next_dni(),
        },
        headers=defender,
    )
    assert fine.status_code == 201
    counterpart_doc = fine.json()["doc_number"]
    # the counterpart later comes to be served: opening a file for them is a conflict too
    refused = client.post(
        API,
        json=case_body(
            world.sede_a1,
            client=citizen_body(
                world.sede_a1, doc_number=counterpart_doc, given_names="Juan", surnames="Pérez Ríos"
            ),
        ),
        headers=defender,
    )
    assert refused.status_code == 409 and refused.json()["code"] == "conflict_of_interest"
    bad_doc = client.post(
        f"{API}/{mine['id']}/parties",
        json={"role": "counterpart", "name": "X", "doc_type": "dni", "doc_number": "12"},
        headers=defender,
    )
    assert bad_doc.status_code == 422 and bad_doc.json()["code"] == "invalid_dni"


def test_restricted_parts_need_permission_and_are_audited(client, world, people, db):
    defender = people.headers(Profile.DEFENSOR_PUBLICO, sede=world.sede_a1)
    orientador = people.headers(Profile.ORIENTADOR, sede=world.sede_a1)
    case = open_case(client, defender, world.sede_a1)
    victim = client.post(
        f"{API}/{case['id']}/parties",
        json={
            "role": "victim",
            "name": "Menor Reservada",
            "doc_type": "dni",
            "doc_number": next_dni(),
        },
        headers=defender,
    )
    assert victim.status_code == 201 and victim.json()["restricted"]
    client.post(
        f"{API}/{case['id']}/actions",
        json={
            "action_type": "entrevista",
            "action_date": "2025-03-03",
            "notes": "Relato de la víctima",
            "restricted": True,
        },
        headers=defender,
    )
    seen = client.get(f"{API}/{case['id']}", headers=orientador).json()
    assert [p["role"] for p in seen["parties"]] == ["client"] and seen["restricted_items"] == 2
    timeline = client.get(f"{API}/{case['id']}/timeline", headers=orientador).json()
    masked = [e for e in timeline if e["restricted"]]
    assert masked and all(e["summary"] == "Entrada reservada" for e in masked)
    assert "Menor Reservada" not in str(timeline)
    assert client.get(f"{API}/{case['id']}/actions", headers=orientador).json() == []
    assert client.get(f"{API}/{case['id']}/restricted", headers=orientador).status_code == 403
    before = _head(db)
    full = client.get(f"{API}/{case['id']}/restricted", headers=defender)
    assert full.status_code == 200
    assert full.json()["parties"][0]["name"] == "Menor Reservada"
    assert full.json()["actions"][0]["notes"] == "Relato de la víctima"
    assert _head(db) == before + 1
    db.expire_all()
    assert (
        db.exec(select(AuditEvent).where(AuditEvent.action == "case.restricted_read"))
        .one()
        .entity_id
        == case["id"]
    )
    db.rollback()
    # full-text never returns restricted notes
    assert (
        client.get(f"{API}/notes-search", params={"q": "relato víctima"}, headers=defender).json()
        == []
    )


def test_referrals(client, world, people, db):
    a1 = people.headers(Profile.DEFENSOR_PUBLICO, sede=world.sede_a1)
    a2 = people.headers(Profile.DEFENSOR_PUBLICO, sede=world.sede_a2)
    b1 = people.headers(Profile.DEFENSOR_PUBLICO, sede=world.sede_b1)
    case = open_case(client, a1, world.sede_a1)
    referral = client.post(
        f"{API}/{case['id']}/referrals",
        json={
            "kind": "internal",
            "to_sede_id": world.sede_a2,
            "reason": "Corresponde por domicilio",
        },
        headers=a1,
    )
    assert referral.status_code == 201, referral.text
    assert client.get(f"{API}/{case['id']}", headers=a1).json()["state"] == "referred"
    again = client.post(
        f"{API}/{case['id']}/referrals",
        json={"kind": "internal", "to_sede_id": world.sede_b1, "reason": "otra"},
        headers=a1,
    )
    assert again.status_code == 409
    decision = f"{API}/referrals/{referral.json()['id']}/decision"
    assert (
        client.post(decision, json={"accept": True}, headers=b1).status_code == 404
    )  # not the target
    assert client.post(decision, json={"accept": True}, headers=a1).status_code == 404
    accepted = client.post(decision, json={"accept": True, "notes": "Recibido"}, headers=a2)
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    moved = client.get(f"{API}/{case['id']}", headers=a2).json()
    assert moved["sede_id"] == world.sede_a2 and moved["state"] == "in_progress"
    assert client.get(f"{API}/{case['id']}", headers=a1).status_code == 404  # the file followed
    assert (
        client.post(decision, json={"accept": False}, headers=a2).json()["code"]
        == "invalid_transition"
    )
    # rejected: back to where it was
    other = open_case(client, a1, world.sede_a1)
    ref2 = client.post(
        f"{API}/{other['id']}/referrals",
        json={"kind": "internal", "to_sede_id": world.sede_a2, "reason": "Prueba"},
        headers=a1,
    ).json()
    client.post(
        f"{API}/referrals/{ref2['id']}/decision",
        json={"accept": False, "notes": "No corresponde"},
        headers=a2,
    )
    back = client.get(f"{API}/{other['id']}", headers=a1).json()
    assert back["sede_id"] == world.sede_a1 and back["state"] == "open"
    # external, with its letter
    ext = client.post(
        f"{API}/{other['id']}/referrals",
        json={
            "kind": "external",
            "institution": "cem",
            "institution_detail": "CEM Comisaría Cercado",
            "reason": "Atención psicológica inmediata",
        },
        headers=a1,
    )
    assert ext.status_code == 201 and ext.json()["status"] == "sent"
    letter = client.get(f"{API}/{other['id']}/referrals/{ext.json()['id']}/letter", headers=a1)
    assert letter.status_code == 200 and "text/html" in letter.headers["content-type"]
    assert "Centro Emergencia Mujer" in letter.text and other["number"] in letter.text
    assert "DERIVACIÓN DE CASO" in letter.text
    missing = client.post(
        f"{API}/{other['id']}/referrals",
        json={"kind": "external", "reason": "sin institución"},
        headers=a1,
    )
    assert missing.status_code == 422


def test_referral_to_a_closed_file_is_refused(client, world, people, db):
    a1 = people.headers(Profile.DEFENSOR_PUBLICO, sede=world.sede_a1)
    case = open_case(client, a1, world.sede_a1)
    client.post(
        f"{API}/{case['id']}/transitions",
        json={"to_state": "closed", "outcome_code": "orientacion_brindada"},
        headers=a1,
    )
    head = _head(db)
    refused = client.post(
        f"{API}/{case['id']}/referrals",
        json={"kind": "external", "institution": "pnp", "reason": "Denuncia"},
        headers=a1,
    )
    assert refused.status_code == 409 and refused.json()["code"] == "case_closed"
    assert "concluido" in refused.json()["message"]
    assert _head(db) == head
    action = client.post(
        f"{API}/{case['id']}/actions",
        json={"action_type": "nota", "action_date": "2025-01-06"},
        headers=a1,
    )
    assert action.json()["code"] == "case_closed"


@pytest.mark.slow
def test_referral_letter_as_pdf(client, world, people):
    a1 = people.headers(Profile.DEFENSOR_PUBLICO, sede=world.sede_a1)
    case = open_case(client, a1, world.sede_a1)
    ext = client.post(
        f"{API}/{case['id']}/referrals",
        json={"kind": "external", "institution": "demuna", "reason": "Tenencia"},
        headers=a1,
    ).json()
    pdf = client.get(
        f"{API}/{case['id']}/referrals/{ext['id']}/letter", params={"format": "pdf"}, headers=a1
    )
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def test_referral_letter_html_is_audited_and_belongs_to_its_case(client, world, people, db):
    a1 = people.headers(Profile.DEFENSOR_PUBLICO, sede=world.sede_a1)
    case = open_case(client, a1, world.sede_a1)
    other = open_case(client, a1, world.sede_a1)
    ext = client.post(
        f"{API}/{case['id']}/referrals",
        json={"kind": "external", "institution": "demuna", "reason": "Tenencia"},
        headers=a1,
    ).json()
    head = _head(db)
    letter = client.get(f"{API}/{case['id']}/referrals/{ext['id']}/letter", headers=a1)
    assert letter.status_code == 200
    assert letter.headers["content-type"].startswith("text/html")
    assert case["number"] in letter.text
    assert _head(db) == head + 1
    db.expire_all()
    last = db.exec(
        select(AuditEvent.action, AuditEvent.entity_id).order_by(AuditEvent.seq.desc())
    ).first()
    db.rollback()  # the test's session must not hold SQLite's write lock
    assert tuple(last) == ("case.referral_letter", ext["id"])
    wrong = client.get(f"{API}/{other['id']}/referrals/{ext['id']}/letter", headers=a1)
    assert wrong.status_code == 422
    assert _head(db) == head + 1  # a refused letter leaves no audit row


def test_documents(client, world, people, storage, db):
    a1 = people.headers(Profile.DEFENSOR_PUBLICO, sede=world.sede_a1)
    orientador = people.headers(Profile.ORIENTADOR, sede=world.sede_a1)
    case = open_case(client, a1, world.sede_a1)
    url = f"{API}/{case['id']}/documents"
    uploaded = client.post(
        url,
        files={"file": ("demanda.pdf", PDF, "application/pdf")},
        data={"category": "escrito"},
        headers=a1,
    )
    assert uploaded.status_code == 201, uploaded.text
    doc = uploaded.json()
    import hashlib

    assert doc["sha256"] == hashlib.sha256(PDF).hexdigest() and doc["size_bytes"] == len(PDF)
    assert storage.exists(f"{case['id']}/{doc['id']}")
    head = _head(db)
    download = client.get(f"{url}/{doc['id']}/content", headers=orientador)
    assert download.status_code == 200 and download.content == PDF
    assert _head(db) == head + 1  # every download audited
    rows, stored = _rows(db, CaseDocument), len(storage._blobs)
    for name, content, code in (
        ("virus.exe", b"MZ\x90\x00", "file_type_not_allowed"),
        ("falso.pdf", b"MZ\x90\x00 not a pdf", "file_type_not_allowed"),
        ("grande.pdf", b"%PDF-" + b"0" * (11 * 1024 * 1024), "file_too_large"),
        ("vacio.txt", b"", "invalid_payload"),
    ):
        response = client.post(
            url,
            files={"file": (name, content, "application/octet-stream")},
            data={"category": "prueba"},
            headers=a1,
        )
        assert response.status_code == 422, (name, response.text)
        assert response.json()["code"] == code, (name, response.json())
    assert _rows(db, CaseDocument) == rows and len(storage._blobs) == stored  # nothing kept
    secret = client.post(
        url,
        files={"file": ("informe.txt", b"Informe reservado", "text/plain")},
        data={"category": "informe", "restricted": "true"},
        headers=a1,
    ).json()
    assert [d["id"] for d in client.get(url, headers=orientador).json()] == [doc["id"]]
    assert client.get(f"{url}/{secret['id']}/content", headers=orientador).status_code == 403
    assert client.get(f"{url}/{secret['id']}/content", headers=a1).content == b"Informe reservado"
    # tampered bytes are detected, not served
    storage._blobs[f"{case['id']}/{doc['id']}"] = b"%PDF-tampered"
    tampered = client.get(f"{url}/{doc['id']}/content", headers=a1)
    assert tampered.status_code == 400 and tampered.json()["code"] == "internal"
    assert "SHA-256" in tampered.json()["message"]


def test_search(client, world, people, defender):
    a1 = defender
    b1 = people.headers(Profile.DEFENSOR_PUBLICO, sede=world.sede_b1)
    director_a = people.headers(Profile.DIRECTOR_DISTRITAL, district=world.district_a)
    dni = next_dni()
    target = open_case(
        client,
        a1,
        world.sede_a1,
        matter="tenencia",
        judicial_number="00123-2024-0-1801-jr-fa-01",
        court="1.er Juzgado de Familia",
        client=citizen_body(
            world.sede_a1, doc_number=dni, given_names="Griselda", surnames="Ccahuana Llerena"
        ),
    )
    open_case(client, a1, world.sede_a1)
    open_case(
        client,
        b1,
        world.sede_b1,
        client=citizen_body(
            world.sede_b1,
            given_names="Griselda",
            surnames="Ccahuana Torres",
            birth_date="1970-01-01",
        ),
    )
    client.post(
        f"{API}/{target['id']}/actions",
        json={
            "action_type": "audiencia",
            "action_date": "2025-03-05",
            "notes": "Se realizó la audiencia única; el demandado ofreció pensiones alimenticias.",
        },
        headers=a1,
    )

    def ids(params, headers=a1):
        response = client.get(API, params=params, headers=headers)
        assert response.status_code == 200, response.text
        return [c["id"] for c in response.json()]

    assert ids({"doc_number": dni}) == [target["id"]]
    assert ids({"name": "ccahuana llerena"}) == [target["id"]]
    assert ids({"name": "GRISELDA ccahuana"}) == [target["id"]]  # B1's Griselda is out of scope
    assert len(ids({"name": "griselda"}, director_a)) == 1
    assert ids({"number": target["number"].lower()}) == [target["id"]]
    assert ids({"judicial_number": "00123-2024-0-1801-JR-FA-01"}) == [target["id"]]
    assert ids({"matter": "tenencia"}) == [target["id"]]
    assert target["id"] in ids({"state": "in_progress"}) and target["id"] not in ids(
        {"state": "open"}
    )
    hits = client.get(f"{API}/notes-search", params={"q": "pensión alimenticia"}, headers=a1).json()
    assert [h["case_id"] for h in hits] == [target["id"]]  # stemmed/accent-folded match
    assert "audiencia" in hits[0]["snippet"]
    assert client.get(f"{API}/notes-search", params={"q": "audiencia"}, headers=b1).json() == []
    page = client.get(API, params={"limit": 1}, headers=a1)
    assert len(page.json()) == 1 and page.headers["X-Has-More"] == "true"


def test_scoping_defender_sees_own_sede(client, world, people):
    a1 = people.headers(Profile.DEFENSOR_PUBLICO, sede=world.sede_a1)
    a2 = people.headers(Profile.DEFENSOR_PUBLICO, sede=world.sede_a2)
    director_a = people.headers(Profile.DIRECTOR_DISTRITAL, district=world.district_a)
    admin = people.headers(Profile.ADMINISTRADOR_NACIONAL)
    case = open_case(client, a1, world.sede_a1)
    assert client.get(f"{API}/{case['id']}", headers=a2).status_code == 404
    assert case["id"] not in [c["id"] for c in client.get(API, headers=a2).json()]
    assert (
        client.post(
            f"{API}/{case['id']}/actions",
            json={"action_type": "nota", "action_date": "2025-01-06"},
            headers=a2,
        ).status_code
        == 404
    )
    assert client.get(f"{API}/{case['id']}", headers=director_a).status_code == 200
    assert client.get(f"{API}/{case['id']}", headers=admin).status_code == 200
    assert client.post(API, json=case_body(world.sede_a2), headers=a1).status_code == 403
    assert (
        client.post(API, json=case_body(world.sede_a1), headers=admin).status_code == 403
    )  # no cases.write


def test_alerts_job_and_overdue_list(client, world, people, db):
    a1 = people.headers(Profile.DEFENSOR_PUBLICO, sede=world.sede_a1)
    coordinator = people.headers(Profile.COORDINADOR_SEDE, sede=world.sede_a1)
    coordinator_b = people.headers(Profile.COORDINADOR_SEDE, sede=world.sede_b1)
    case = open_case(client, a1, world.sede_a1)
    today = lima_today()
    late = client.post(
        f"{API}/{case['id']}/deadlines",
        json={
            "title": "Vencido",
            "start_date": (today - timedelta(days=30)).isoformat(),
            "due_date": (today - timedelta(days=2)).isoformat(),
        },
        headers=a1,
    ).json()
    soon = client.post(
        f"{API}/{case['id']}/deadlines",
        json={"title": "Próximo", "start_date": today.isoformat(), "due_date": today.isoformat()},
        headers=a1,
    ).json()
    client.post(
        f"{API}/{case['id']}/deadlines",
        json={
            "title": "Lejano",
            "start_date": today.isoformat(),
            "due_date": (today + timedelta(days=60)).isoformat(),
        },
        headers=a1,
    )
    from central.cases.jobs import deadline_alerts_job

    settings = CasesSettings()
    engine = db.get_bind()
    assert deadline_alerts_job(engine, settings) == 2
    assert deadline_alerts_job(engine, settings) == 0  # idempotent
    alerts = client.get(f"{API}/alerts", headers=a1).json()
    assert {(a["deadline_id"], a["kind"]) for a in alerts} == {
        (late["id"], "overdue"),
        (soon["id"], "due_soon"),
    }
    read = client.post(f"{API}/alerts/{alerts[0]['id']}/read", headers=a1)
    assert read.status_code == 200 and read.json()["read_at"]
    assert len(client.get(f"{API}/alerts", headers=a1).json()) == 1
    assert (
        client.post(f"{API}/alerts/{alerts[1]['id']}/read", headers=coordinator).status_code == 404
    )
    overdue = client.get(f"{API}/overdue", headers=coordinator).json()
    assert [d["id"] for d in overdue] == [late["id"]]
    assert client.get(f"{API}/overdue", headers=coordinator_b).json() == []
    assert client.get(f"{API}/overdue", headers=a1).status_code == 403
    assert _rows(db, CaseAlert) == 2


def test_dashboard(client, world, people):
    a1 = people.headers(Profile.DEFENSOR_PUBLICO, sede=world.sede_a1)
    director_a = people.headers(Profile.DIRECTOR_DISTRITAL, district=world.district_a)
    director_b = people.headers(Profile.DIRECTOR_DISTRITAL, district=world.district_b)
    case = open_case(client, a1, world.sede_a1)
    today = lima_today()
    client.post(
        f"{API}/{case['id']}/actions",
        json={"action_type": "audiencia", "action_date": today.isoformat()},
        headers=a1,
    )
    params = {"district_id": world.district_a, "year": today.year, "month": today.month}
    figures = client.get(f"{API}/dashboard", params=params, headers=director_a)
    assert figures.status_code == 200
    data = figures.json()
    assert sum(row["count"] for row in data["opened"]) == 1
    assert data["actions"] == [{"sede_id": world.sede_a1, "action_type": "audiencia", "count": 1}]
    assert client.get(f"{API}/dashboard", params=params, headers=director_b).status_code == 404


def test_case_update_with_revision(client, world, defender):
    case = open_case(client, defender, world.sede_a1)
    ok = client.patch(
        f"{API}/{case['id']}",
        json={
            "base_revision": case["revision"],
            "court": "2.º Juzgado de Paz Letrado",
            "judicial_number": "00077-2025-0-1801-JP-FC-02",
        },
        headers=defender,
    )
    assert ok.status_code == 200 and ok.json()["court"] == "2.º Juzgado de Paz Letrado"
    stale = client.patch(
        f"{API}/{case['id']}",
        json={"base_revision": case["revision"], "court": "Otro"},
        headers=defender,
    )
    assert stale.status_code == 409 and stale.json()["code"] == "conflict"
    bad = client.patch(
        f"{API}/{case['id']}",
        json={"base_revision": ok.json()["revision"], "judicial_number": "77-2025"},
        headers=defender,
    )
    assert bad.json()["code"] == "invalid_judicial_number"


def test_catalogues(client, defender):
    data = client.get(f"{API}/catalogues", headers=defender).json()
    assert {"code": "violencia_familiar", "label": "Violencia familiar"} in data["matters"]
    assert {"code": "patrocinio", "label": "Patrocinio (MD03)"} in data["attention_types"]


def test_full_text_follows_the_file_after_an_accepted_referral(client, world, people):
    a1 = people.headers(Profile.DEFENSOR_PUBLICO, sede=world.sede_a1)
    a2 = people.headers(Profile.DEFENSOR_PUBLICO, sede=world.sede_a2)
    case = open_case(client, a1, world.sede_a1)
    client.post(
        f"{API}/{case['id']}/actions",
        json={
            "action_type": "nota",
            "action_date": "2025-02-03",
            "notes": "Constancia de reubicación",
        },
        headers=a1,
    )
    referral = client.post(
        f"{API}/{case['id']}/referrals",
        json={"kind": "internal", "to_sede_id": world.sede_a2, "reason": "Domicilio"},
        headers=a1,
    ).json()
    search = {"q": "reubicación"}
    assert client.get(f"{API}/notes-search", params=search, headers=a2).json() == []
    client.post(f"{API}/referrals/{referral['id']}/decision", json={"accept": True}, headers=a2)
    hits = client.get(f"{API}/notes-search", params=search, headers=a2).json()
    assert [h["case_number"] for h in hits] == [case["number"]]
    assert client.get(f"{API}/notes-search", params=search, headers=a1).json() == []
    # the action still counts where it was done (Module 01)
    actions = client.get(f"{API}/{case['id']}/actions", headers=a2).json()
    assert actions[0]["sede_id"] == world.sede_a1
