# ruff: noqa: F811 - the sync fixtures are imported by name and then requested by name
"""The path of a case opened at a counter: the hub records the intake at the end of an
attention (offline: it waits in the hub's outbox), the sync agent pushes it when the WAN is up,
central's sync stores it with its revision, and the case module opens the file from it — then
a later edit at the hub (closing the attention) reaches the same file, never a second one.

Here the intake is written with sync.hub_records.save_intake (the store function the counter's
open_case_intake command uses inside its transaction); the whole path from the counter over
MQTT is tests/sync/test_intake_e2e.py."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from central.cases import service as cases
from central.cases.intake import ingest_intakes
from central.cases.models import CaseEvent, CaseFile
from central.cases.settings import CasesSettings
from central.citizens.models import Citizen
from central.core.db import new_session
from hub.domain import central_records
from tests.helpers import hub_records
from tests.sync.conftest import (  # noqa: F401 - fixtures of the sync tests, reused
    SEDE,
    admin_headers,
    agent,
    central,
    central_db,
    hub_engine,
    seeded_pg,
    seeded_sqlite,
)


@pytest.fixture(autouse=True)
def _manual_ingestion(request, monkeypatch):
    """These tests drive the ingestion step by step: central's scheduler stays off, except in
    the test that checks the scheduler itself."""
    if request.node.originalname != "test_a_push_with_intakes_wakes_the_ingestion_at_once":
        monkeypatch.setenv("ALEGRA_CASES_RUN_JOBS", "false")


def _ingest(central):
    session = new_session(central.app.state.engine)
    try:
        report = ingest_intakes(session=session, settings=CasesSettings())
        session.commit()
        return report
    finally:
        session.close()


def _files(central) -> list[CaseFile]:
    session = new_session(central.app.state.engine)
    try:
        return list(session.execute(select(CaseFile)).scalars())
    finally:
        session.close()


def test_counter_intake_becomes_a_case_file_once(central, agent, admin_headers):
    record = hub_records.save_intake(
        agent.conn,
        changes={
            "citizen_doc_type": "dni",
            "citizen_doc_number": "45671234",
            "citizen_names": "María Ysabel Condori Apaza",
            "service_code": "victimas",
            "matter": "Violencia familiar",
            "summary": "Denuncia por agresiones; requiere patrocinio.",
        },
    )
    # offline: nothing reached central yet
    assert _ingest(central).created == 0
    agent.push_once()
    report = _ingest(central)
    assert (report.created, report.updated) == (1, 0)
    [case] = _files(central)
    assert case.source == "counter" and case.intake_id == record["id"]
    assert case.sede_id == SEDE and case.service == "defensa_victimas"
    assert case.matter == "violencia_familiar" and case.state == "open"
    session = new_session(central.app.state.engine)
    person = session.get(Citizen, case.client_citizen_id)
    assert (person.doc_number, person.given_names, person.surnames) == (
        "45671234",
        "María Ysabel",
        "Condori Apaza",
    )
    session.close()
    # idempotent: running again changes nothing
    assert _ingest(central).created == 0
    # the counter closes the attention later (a new revision of the same intake)
    hub_records.save_intake(agent.conn, intake_id=record["id"], changes={"status": "closed"})
    agent.push_once()
    report = _ingest(central)
    assert (report.created, report.updated) == (0, 1)
    [case] = _files(central)
    assert case.state == "closed" and case.outcome_code == "orientacion_brindada"
    # the file can be read through the API by an administrator
    got = central.client.get(f"/api/v1/cases/{case.id}", headers=admin_headers)
    assert got.status_code == 200 and got.json()["source"] == "counter"
    session = new_session(central.app.state.engine)
    kinds = [
        e.kind
        for e in session.execute(select(CaseEvent).where(CaseEvent.case_id == case.id)).scalars()
    ]
    session.close()
    assert kinds[0] == "opened" and "state" in kinds


def test_known_person_is_reused_and_api_ingest_is_national_only(central, agent, admin_headers):
    for summary in ("Primera consulta", "Segunda consulta"):
        hub_records.save_intake(
            agent.conn,
            changes={
                "citizen_doc_type": "dni",
                "citizen_doc_number": "41112222",
                "citizen_names": "Pedro Quispe",
                "service_code": "orientacion",
                "matter": "cobro de deuda",
                "summary": summary,
            },
        )
    agent.push_once()
    response = central.client.post("/api/v1/cases/ingest-intakes", headers=admin_headers)
    assert response.status_code == 200 and response.json()["created"] == 2
    files = _files(central)
    assert len({f.client_citizen_id for f in files}) == 1  # one person, two files
    assert {f.matter for f in files} == {"otro"}
    assert all("cobro de deuda" in f.summary for f in files)
    assert len({f.number for f in files}) == 2
    session = new_session(central.app.state.engine)
    assert session.execute(select(func.count()).select_from(Citizen)).scalar_one() == 1
    session.close()


@pytest.mark.parametrize("doc", ["123", None])
def test_intake_with_a_bad_or_missing_document_still_opens_a_file(central, agent, doc):
    hub_records.save_intake(
        agent.conn,
        changes={
            "citizen_doc_type": "dni" if doc else "ninguno",
            "citizen_doc_number": doc,
            "citizen_names": "Sin Documento Valido",
            "service_code": "orientacion",
        },
    )
    agent.push_once()
    assert _ingest(central).created == 1
    [case] = _files(central)
    session = new_session(central.app.state.engine)
    person = session.get(Citizen, case.client_citizen_id)
    assert person.doc_type == "ninguno" and person.doc_number is None
    session.close()
    assert cases  # module used by other tests of this package


def test_a_push_with_intakes_wakes_the_ingestion_at_once(central, agent):
    """Central's own scheduler (on in production) files the intake seconds after the push
    that brought it, not at the next minute round, so the counter gets its number soon."""
    import time

    hub_records.save_intake(
        agent.conn,
        changes={
            "citizen_doc_type": "dni",
            "citizen_doc_number": "45671234",
            "citizen_names": "Condori Apaza, María Ysabel",
            "service_code": "victimas",
            "matter": "Violencia familiar",
            "summary": "Denuncia por agresiones; requiere patrocinio.",
        },
    )
    assert _files(central) == []  # the minute round has not come yet (it starts a minute in)
    started = time.monotonic()
    agent.push_once()
    deadline = started + 15
    while not _files(central) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(_files(central)) == 1
    assert time.monotonic() - started < 15  # the minute schedule alone would take up to 60 s


def test_an_intake_corrected_at_the_counter_before_it_synced_reaches_central_as_an_edit(
    central, hub_engine, agent, admin_headers
):
    """The counter opens the intake offline and corrects its matter and summary
    (``amend_case_intake``) before the push: central takes the correction as an edit of the
    intake, no conflict, and opens the file with the corrected data; once the file number is
    back at the hub, the counter can no longer correct it there."""
    import time
    import uuid

    from contracts.mqtt import Role
    from hub.ports import Actor
    from tests.helpers import devtools

    def run(role, device_id, action, **params):
        outcome = hub_engine.execute(
            actor=Actor(role=role, device_id=device_id),
            action=action,
            params=params,
            request_id=str(uuid.uuid4()),
        )
        return outcome

    def ok(outcome):
        assert outcome.ok, outcome.error
        return outcome.result

    ok(run(Role.KIOSK, "k1", "issue_ticket", service_code="victimas"))
    ok(
        run(
            Role.COUNTER,
            "v1",
            "sign_in",
            username=devtools.LOCAL_STAFF,
            password=devtools.LOCAL_PASSWORD,
        )
    )
    for action in ("open_counter", "call_next", "start_attention"):
        ok(run(Role.COUNTER, "v1", action))
    ticket = ok(run(Role.COUNTER, "v1", "finish_attention", outcome="atendido"))["ticket"]
    intake = ok(
        run(
            Role.COUNTER,
            "v1",
            "open_case_intake",
            ticket_id=ticket["ticket_id"],
            doc_type="dni",
            doc_number="45671234",
            given_names="María Ysabel",
            surnames="Condori Apaza",
            service_code="victimas",
            matter="alimentos",
            summary="Pide alimentos.",
        )
    )["intake"]
    corrected = ok(
        run(
            Role.COUNTER,
            "v1",
            "amend_case_intake",
            intake_id=intake["intake_id"],
            matter="violencia_familiar",
            summary="Denuncia agresiones del conviviente; requiere patrocinio.",
        )
    )
    assert corrected["changed"] is True
    agent.push_once()
    assert central.client.get("/api/v1/sync/conflicts", headers=admin_headers).json() == []
    got = central.client.get(
        f"/api/v1/sync/case-intakes/{intake['intake_id']}", headers=admin_headers
    ).json()
    assert got["revision"] == 2 and got["matter"] == "violencia_familiar"
    assert _ingest(central).created == 1
    [case] = _files(central)
    assert case.intake_id == intake["intake_id"] and case.matter == "violencia_familiar"
    assert "agresiones del conviviente" in case.summary and "Pide alimentos" not in case.summary
    # the file number comes back by pull: from then on the correction is central's
    deadline = time.monotonic() + 60
    while central_records.case_file_for_intake(agent.conn, intake["intake_id"]) is None:
        assert time.monotonic() < deadline, "the file number never came back to the hub"
        agent.pull_once()
        time.sleep(0.1)
    local = agent.conn.execute(
        "SELECT revision, pending_seq, matter FROM case_intakes WHERE id = ?",
        (intake["intake_id"],),
    ).fetchone()
    assert (local["revision"], local["pending_seq"], local["matter"]) == (
        2,
        None,
        "violencia_familiar",
    )
    late = run(Role.COUNTER, "v1", "amend_case_intake", intake_id=intake["intake_id"], summary="X")
    assert late.error.code == "invalid_transition"
    assert late.error.message == (
        f"La central ya abrió el expediente N.º {case.number}: corríjalo allí."
    )
