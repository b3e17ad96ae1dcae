"""open_case_intake: a case intake taken at a counter at the end of an attention, written with
its audit row and outbox event in the command's transaction; refused input writes nothing;
a retry with the same request id replays; no names or document numbers outside the outbox."""

from __future__ import annotations

import json
import sqlite3
from contextlib import contextmanager

import pytest

from contracts.errors import ErrorCode
from contracts.mqtt import Role
from hub.domain.tx import Tx
from tests.hub.domain.conftest import TABLES, snapshot

DNI = "40718293"
NAMES = ("María Elena", "Condori Huanca")


@pytest.fixture
def served(hub):
    """Counter v1 open with ana signed in and one ticket attended to the end."""
    hub.issue()
    hub.open("v1")
    return hub.serve("v1")


def form(ticket_id: str | None = None, **overrides):
    params = {
        "doc_type": "dni",
        "doc_number": DNI,
        "given_names": NAMES[0],
        "surnames": NAMES[1],
        "service_code": "orientacion",
        "matter": "alimentos",
        "summary": "Pide pensión de alimentos para sus dos hijos.",
    }
    if ticket_id is not None:
        params["ticket_id"] = ticket_id
    params.update(overrides)
    return params


@pytest.fixture
def nothing_written(db_path):
    """Every queue table and the intakes stay exactly as they were."""

    @contextmanager
    def check():
        def state():
            conn = sqlite3.connect(db_path)
            try:
                intakes = sorted(tuple(r) for r in conn.execute("SELECT * FROM case_intakes"))
            finally:
                conn.close()
            return snapshot(db_path), intakes

        before = state()
        yield
        after = state()
        for table in TABLES:
            assert after[0][table] == before[0][table], f"{table} changed"
        assert after[1] == before[1], "case_intakes changed"

    return check


def test_intake_is_written_with_audit_outbox_and_answer_in_one_transaction(hub, served, db_rows):
    before = db_rows("SELECT COALESCE(MAX(seq), 0) AS seq FROM outbox")[0]["seq"]
    outcome = hub.counter("v1", "open_case_intake", **form(served["ticket_id"]))
    result = hub.ok(outcome)["intake"]
    assert result["status"] == "open" and result["ticket_number"] == served["number"]
    assert result["matter"] == "alimentos" and result["service_code"] == "orientacion"

    [intake] = db_rows("SELECT * FROM case_intakes")
    assert intake["id"] == result["intake_id"]
    assert intake["citizen_doc_type"] == "dni" and intake["citizen_doc_number"] == DNI
    assert intake["citizen_names"] == "Condori Huanca, María Elena"
    assert intake["ticket_id"] == served["ticket_id"] and intake["revision"] == 0

    [event] = db_rows("SELECT * FROM outbox WHERE seq > ?", before)
    assert event["event_type"] == "case_intake.saved"
    assert event["aggregate_id"] == intake["id"] and intake["pending_seq"] == event["seq"]
    payload = json.loads(event["payload"])
    assert payload["base_revision"] == 0
    assert payload["intake"]["citizen_doc_number"] == DNI  # central needs it to register
    assert payload["intake"]["sede_id"] == "sede-test"

    [audit] = db_rows("SELECT * FROM audit_log WHERE entity_type = 'case_intake'")
    assert audit["entity_id"] == intake["id"] and audit["username"] == "ana"
    assert audit["actor_device"] == "v1" and audit["action"] == "open_case_intake"
    # the same transaction: one command-log row, audit and outbox stamped with its time
    [logged] = db_rows("SELECT * FROM command_log WHERE action = 'open_case_intake'")
    assert audit["at"] == event["created_at"] == intake["created_at"] == logged["created_at"]
    assert audit["request_id"] == logged["request_id"]
    # no names or document number in the audit row, the stored answer or the counter state
    for text in (
        audit["after"],
        logged["response"],
        hub.engine.counter_state("v1").model_dump_json(),
    ):
        assert DNI not in text and "Condori" not in text and "María" not in text


def test_retry_with_the_same_request_id_replays_and_writes_nothing_more(
    hub, served, db_rows, nothing_written
):
    first = hub.send(Role.COUNTER, "v1", "open_case_intake", "req-intake-0001", **form())
    hub.ok(first)
    with nothing_written():
        again = hub.send(Role.COUNTER, "v1", "open_case_intake", "req-intake-0001", **form())
    assert again.ok and again.replayed and again.result == first.result
    assert len(db_rows("SELECT * FROM case_intakes")) == 1


def test_a_second_intake_for_the_same_attention_is_refused(hub, served, nothing_written):
    hub.ok(hub.counter("v1", "open_case_intake", **form(served["ticket_id"])))
    with nothing_written():
        twice = hub.counter("v1", "open_case_intake", **form(served["ticket_id"]))
    assert twice.error.code == ErrorCode.CONFLICT and twice.error.field == "ticket_id"
    assert twice.error.message == "Ya se abrió un expediente para esta atención."


@pytest.mark.parametrize(
    ("overrides", "code", "field", "message"),
    [
        (
            {"doc_number": "4071829"},
            ErrorCode.INVALID_DNI,
            "doc_number",
            "El DNI debe tener 8 dígitos.",
        ),
        (
            {"doc_number": "4071829X"},
            ErrorCode.INVALID_DNI,
            "doc_number",
            "El DNI debe tener 8 dígitos.",
        ),
        (
            {"doc_number": ""},
            ErrorCode.INVALID_DNI,
            "doc_number",
            "Indique el número de documento.",
        ),
        (
            {"doc_type": "ce", "doc_number": "ABC-1234567890"},
            ErrorCode.INVALID_DOCUMENT,
            "doc_number",
            "El carné de extranjería tiene hasta 12 letras o números.",
        ),
        (
            {"doc_type": "ninguno", "doc_number": "123"},
            ErrorCode.INVALID_DOCUMENT,
            "doc_number",
            "Sin documento: no indique un número.",
        ),
        (
            {"given_names": "   "},
            ErrorCode.MISSING_FIELD,
            "given_names",
            "Ingrese los nombres de la persona.",
        ),
        (
            {"surnames": ""},
            ErrorCode.MISSING_FIELD,
            "surnames",
            "Ingrese los apellidos de la persona.",
        ),
        (
            {"summary": " \n "},
            ErrorCode.MISSING_FIELD,
            "summary",
            "Escriba un breve resumen de la consulta.",
        ),
        (
            {"given_names": "a" * 100, "surnames": "b" * 100},
            ErrorCode.INVALID_PAYLOAD,
            "surnames",
            "Nombres y apellidos no pueden sumar más de 200 caracteres.",
        ),
        ({"service_code": "notarial"}, ErrorCode.UNKNOWN_SERVICE, "service_code", None),
        (
            {"matter": "herencia_magica"},
            ErrorCode.UNKNOWN_MATTER,
            "matter",
            "La materia indicada no está en el catálogo.",
        ),
        ({"ticket_id": "no-such-ticket"}, ErrorCode.UNKNOWN_TICKET, "ticket_id", None),
        ({"doc_type": "libreta"}, ErrorCode.INVALID_PAYLOAD, "doc_type", None),
        ({"summary": "x" * 1001}, ErrorCode.INVALID_PAYLOAD, "summary", None),
        ({"apodo": "Mari"}, ErrorCode.INVALID_PAYLOAD, "apodo", None),
    ],
)
def test_bad_input_gets_a_stable_code_a_spanish_message_and_writes_nothing(
    hub, served, nothing_written, overrides, code, field, message
):
    with nothing_written():
        outcome = hub.counter("v1", "open_case_intake", **form(**overrides))
    assert outcome.status == "error"
    assert outcome.error.code == code and outcome.error.field == field
    if message is not None:
        assert outcome.error.message == message
    assert DNI not in outcome.error.message


def test_documents_are_normalised_and_people_without_documents_are_taken(hub, served, db_rows):
    hub.ok(hub.counter("v1", "open_case_intake", **form(doc_type="ce", doc_number="ab-12.345")))
    hub.ok(
        hub.counter(
            "v1", "open_case_intake", **form(doc_type="ninguno", doc_number=None, matter="otro")
        )
    )
    docs = sorted(
        (r["citizen_doc_type"], r["citizen_doc_number"])
        for r in db_rows("SELECT * FROM case_intakes")
    )
    assert docs == [("ce", "AB12345"), ("ninguno", None)]


def test_only_a_signed_in_counter_for_its_own_finished_attention(
    hub, engine, served, nothing_written
):
    hub.issue()
    with nothing_written():
        kiosk = hub.kiosk("open_case_intake", **form())
        admin = hub.send(Role.ADMIN, "v1", "open_case_intake", **form())
        other_counter = hub.counter("v2", "open_case_intake", **form(served["ticket_id"]))
    assert kiosk.error.code == admin.error.code == ErrorCode.FORBIDDEN
    assert other_counter.error.code == ErrorCode.NOT_SIGNED_IN
    hub.open("v2", user="luis")
    with nothing_written():
        not_its_ticket = hub.counter("v2", "open_case_intake", **form(served["ticket_id"]))
    assert not_its_ticket.error.code == ErrorCode.INVALID_TRANSITION
    # an attention still in progress is not finished yet
    in_progress = hub.call_next("v2")
    hub.ok(hub.counter("v2", "start_attention"))
    with nothing_written():
        early = hub.counter("v2", "open_case_intake", **form(in_progress["ticket_id"]))
    assert early.error.code == ErrorCode.INVALID_TRANSITION
    assert early.error.message.startswith("Solo se abre un expediente")


def test_a_failure_after_the_intake_row_rolls_everything_back(
    hub, engine, served, nothing_written, monkeypatch
):
    def broken_audit(*args, **kwargs):
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(Tx, "audit", broken_audit)  # the intake row is written by then
    with nothing_written(), pytest.raises(sqlite3.OperationalError):
        hub.counter("v1", "open_case_intake", **form(served["ticket_id"]))


def test_matters_come_from_the_pulled_catalogue_once_there_is_one(hub, engine, served, db_path):
    assert "alimentos" in {m.code for m in engine.sede_info().matters}
    conn = sqlite3.connect(db_path)
    with conn:
        conn.execute(
            "INSERT INTO synced_records (record_type, record_id, revision, deleted, body, "
            "generation, pulled_at) VALUES ('case_catalogue', 'matters', 1, 0, ?, 0, 'x')",
            (json.dumps({"matters": [{"code": "tenencia", "name": "Tenencia y custodia"}]}),),
        )
    conn.close()
    # housekeeping (every few seconds) picks it up and has the config republished
    assert engine.sede_info().matters[0].code == "alimentos"
    outcome = engine.housekeeping()
    assert outcome.config_changed
    assert [m.code for m in engine.sede_info().matters] == ["tenencia"]
    assert not engine.housekeeping().config_changed
    refused = hub.counter("v1", "open_case_intake", **form())
    assert refused.error.code == ErrorCode.UNKNOWN_MATTER
    hub.ok(hub.counter("v1", "open_case_intake", **form(matter="tenencia")))


def test_the_sync_records_own_check_never_quotes_the_person(
    hub, served, nothing_written, caplog, monkeypatch
):
    """Should the record still fail sync's validation, the command is refused without a
    traceback or message that would carry the names into the logs."""
    from contracts import cases

    def refuse(record):
        raise ValueError(f"bad record {record}")

    monkeypatch.setattr(cases.IntakeRecord, "model_validate", refuse)
    with nothing_written():
        outcome = hub.counter("v1", "open_case_intake", **form())
    assert outcome.error.code == ErrorCode.INVALID_PAYLOAD and outcome.error.field == "intake"
    assert "Condori" not in caplog.text and DNI not in caplog.text
    assert "Condori" not in outcome.error.message


def test_the_counter_lists_its_intakes_of_today_with_the_file_number_once_pulled(
    hub, engine, served, db_path, clock
):
    assert hub.ok(hub.counter("v1", "list_case_intakes"))["intakes"] == []
    opened = hub.ok(hub.counter("v1", "open_case_intake", **form(served["ticket_id"])))["intake"]
    [listed] = hub.ok(hub.counter("v1", "list_case_intakes"))["intakes"]
    assert listed["intake_id"] == opened["intake_id"]
    assert listed["ticket_number"] == served["number"] and listed["case_number"] is None
    assert DNI not in json.dumps(listed) and "Condori" not in json.dumps(listed)
    # central opened the file and the agent pulled its number
    conn = sqlite3.connect(db_path)
    with conn:
        conn.execute(
            "INSERT INTO synced_records (record_type, record_id, revision, deleted, body, "
            "generation, pulled_at) VALUES ('case_file', ?, 1, 0, ?, 0, 'x')",
            (opened["intake_id"], json.dumps({"case_number": "LIM-2026-000042"})),
        )
    conn.close()
    [listed] = hub.ok(hub.counter("v1", "list_case_intakes"))["intakes"]
    assert listed["case_number"] == "LIM-2026-000042"
    # another counter sees only its own; tomorrow the list starts empty
    hub.open("v2", user="luis")
    assert hub.ok(hub.counter("v2", "list_case_intakes"))["intakes"] == []
    clock.advance(hours=24)
    assert hub.ok(hub.counter("v1", "list_case_intakes"))["intakes"] == []


# --------------------------------------------------------------------------- amend_case_intake


def central_opened_the_file(db_path, intake_id: str, case_number: str) -> None:
    """As the agent's pull leaves it: central's case file for the intake in synced_records."""
    conn = sqlite3.connect(db_path)
    with conn:
        conn.execute(
            "INSERT INTO synced_records (record_type, record_id, revision, deleted, body, "
            "generation, pulled_at) VALUES ('case_file', ?, 1, 0, ?, 0, 'x')",
            (intake_id, json.dumps({"case_number": case_number})),
        )
    conn.close()


@pytest.fixture
def opened(hub, served):
    """An intake counter v1 opened for the attention it just finished."""
    return hub.ok(hub.counter("v1", "open_case_intake", **form(served["ticket_id"])))["intake"]


@pytest.fixture
def intake_state(db_path):
    """What an amendment may change: the intakes, the outbox, the audit log."""

    def state():
        conn = sqlite3.connect(db_path)
        try:
            return {
                table: sorted(tuple(r) for r in conn.execute(f"SELECT * FROM {table}"))  # noqa: S608
                for table in ("case_intakes", "outbox", "audit_log")
            }
        finally:
            conn.close()

    return state


NEW_SUMMARY = "Pide pensión de alimentos y régimen de visitas para sus dos hijos."


def test_amend_corrects_matter_and_summary_as_an_edit_with_audit_and_outbox(
    hub, served, opened, db_rows, nothing_written
):
    before = db_rows("SELECT MAX(seq) AS seq FROM outbox")[0]["seq"]
    answer = hub.send(
        Role.COUNTER,
        "v1",
        "amend_case_intake",
        "req-amend-0001",
        intake_id=opened["intake_id"],
        matter="tenencia",
        summary=f"  {NEW_SUMMARY} \n",
    )
    result = hub.ok(answer)
    assert result["changed"] is True
    assert result["intake"] == {
        "intake_id": opened["intake_id"],
        "ticket_number": served["number"],
        "status": "open",
        "created_at": result["intake"]["created_at"],
        "case_number": None,
        "matter": "tenencia",
        "summary": NEW_SUMMARY,
    }

    [intake] = db_rows("SELECT * FROM case_intakes")
    assert intake["matter"] == "tenencia" and intake["summary"] == NEW_SUMMARY
    assert intake["citizen_doc_number"] == DNI and intake["status"] == "open"  # untouched
    [event] = db_rows("SELECT * FROM outbox WHERE seq > ?", before)
    assert event["event_type"] == "case_intake.saved"
    assert event["aggregate_id"] == opened["intake_id"] and intake["pending_seq"] == event["seq"]
    payload = json.loads(event["payload"])
    assert payload["intake"]["matter"] == "tenencia"
    assert payload["intake"]["summary"] == NEW_SUMMARY
    # based on revision 1, the one central gives the intake's creation still on its way,
    # so central takes it as an edit, not as a conflict with the hub's own first write
    assert payload["base_revision"] == 1 and intake["revision"] == 2

    [audit] = db_rows("SELECT * FROM audit_log WHERE action = 'amend_case_intake'")
    assert audit["entity_type"] == "case_intake" and audit["entity_id"] == opened["intake_id"]
    assert audit["username"] == "ana" and audit["actor_device"] == "v1"
    assert json.loads(audit["before"]) == {"matter": "alimentos"}
    assert json.loads(audit["after"]) == {"matter": "tenencia", "summary_changed": True}
    assert "régimen" not in audit["after"] and "Pide" not in (audit["before"] + audit["after"])
    assert audit["at"] == event["created_at"] == intake["updated_at"]

    # the answer was lost: the same request id replays it and writes nothing more
    with nothing_written():
        again = hub.send(
            Role.COUNTER,
            "v1",
            "amend_case_intake",
            "req-amend-0001",
            intake_id=opened["intake_id"],
            matter="tenencia",
            summary=NEW_SUMMARY,
        )
    assert again.ok and again.replayed and again.result == answer.result


def test_each_correction_is_based_on_the_one_before(hub, opened, db_rows):
    """Corrected twice before any sync: each edit builds on the revision the previous one
    gives at central (1 for the creation, then 2), not on the one last pulled."""
    for summary in ("Primera corrección.", "Segunda corrección."):
        hub.ok(
            hub.counter("v1", "amend_case_intake", intake_id=opened["intake_id"], summary=summary)
        )
    events = db_rows("SELECT payload FROM outbox WHERE event_type = 'case_intake.saved'")
    bases = [json.loads(e["payload"])["base_revision"] for e in events]
    assert bases == [0, 1, 2]
    [intake] = db_rows("SELECT revision, summary, matter FROM case_intakes")
    assert intake["revision"] == 3 and intake["summary"] == "Segunda corrección."
    assert intake["matter"] == "alimentos"  # not given: kept


def test_only_the_matter_or_only_the_summary_may_be_given(hub, opened, db_rows):
    matter_only = hub.ok(
        hub.counter("v1", "amend_case_intake", intake_id=opened["intake_id"], matter="tenencia")
    )["intake"]
    assert matter_only["matter"] == "tenencia" and matter_only["summary"] == form()["summary"]
    [audit] = db_rows("SELECT after FROM audit_log WHERE action = 'amend_case_intake'")
    assert json.loads(audit["after"]) == {"matter": "tenencia", "summary_changed": False}


def test_a_correction_that_changes_nothing_is_accepted_and_writes_nothing(
    hub, opened, intake_state
):
    before = intake_state()
    result = hub.ok(
        hub.counter(
            "v1",
            "amend_case_intake",
            intake_id=opened["intake_id"],
            matter="alimentos",
            summary=f" {form()['summary']} ",
        )
    )
    assert result["changed"] is False and result["intake"]["matter"] == "alimentos"
    assert result["intake"]["summary"] == form()["summary"]
    assert intake_state() == before  # no edit, no outbox event, no audit row


@pytest.mark.parametrize(
    ("overrides", "code", "field", "message"),
    [
        (
            {},
            ErrorCode.MISSING_FIELD,
            "summary",
            "Indique la materia o el resumen a corregir.",
        ),
        (
            {"summary": " \n "},
            ErrorCode.MISSING_FIELD,
            "summary",
            "Escriba un breve resumen de la consulta.",
        ),
        (
            {"matter": "herencia_magica", "summary": "Otra cosa."},
            ErrorCode.UNKNOWN_MATTER,
            "matter",
            "La materia indicada no está en el catálogo.",
        ),
        (
            {"intake_id": "no-such-intake", "summary": "Otra cosa."},
            ErrorCode.NOT_FOUND,
            "intake_id",
            "No se encontró esa ficha entre las abiertas hoy en esta ventanilla.",
        ),
        ({"intake_id": "", "summary": "Otra cosa."}, ErrorCode.INVALID_PAYLOAD, "intake_id", None),
        ({"summary": "x" * 1001}, ErrorCode.INVALID_PAYLOAD, "summary", None),
        ({"matter": "Alimentos!"}, ErrorCode.INVALID_PAYLOAD, "matter", None),
        ({"summary": "Otra.", "citizen_names": "X"}, ErrorCode.INVALID_PAYLOAD, None, None),
    ],
)
def test_bad_corrections_get_a_stable_code_a_spanish_message_and_write_nothing(
    hub, opened, nothing_written, overrides, code, field, message
):
    params = {"intake_id": opened["intake_id"], **overrides}
    with nothing_written():
        outcome = hub.counter("v1", "amend_case_intake", **params)
    assert outcome.status == "error" and outcome.error.code == code
    if field is not None:
        assert outcome.error.field == field
    if message is not None:
        assert outcome.error.message == message


def test_another_counter_or_another_day_cannot_amend(hub, served, opened, clock, nothing_written):
    hub.open("v2", user="luis")
    with nothing_written():
        other = hub.counter("v2", "amend_case_intake", intake_id=opened["intake_id"], summary="X")
        unknown = hub.counter("v2", "amend_case_intake", intake_id="no-such-intake", summary="X")
        admin = hub.send(
            Role.ADMIN, "v1", "amend_case_intake", intake_id=opened["intake_id"], summary="X"
        )
    # the same answer as for an intake that does not exist: nothing to learn about others
    assert other.error.code == unknown.error.code == ErrorCode.NOT_FOUND
    assert other.error.message == unknown.error.message and other.error.field == "intake_id"
    assert admin.error.code == ErrorCode.FORBIDDEN
    hub.ok(hub.counter("v1", "sign_out"))
    with nothing_written():
        signed_out = hub.counter(
            "v1", "amend_case_intake", intake_id=opened["intake_id"], summary="X"
        )
    assert signed_out.error.code == ErrorCode.NOT_SIGNED_IN
    clock.advance(hours=24)
    hub.open("v1")
    with nothing_written():
        next_day = hub.counter(
            "v1", "amend_case_intake", intake_id=opened["intake_id"], summary="X"
        )
    assert next_day.error.code == ErrorCode.NOT_FOUND


def test_once_central_has_opened_the_file_it_is_corrected_there(
    hub, opened, db_path, nothing_written
):
    central_opened_the_file(db_path, opened["intake_id"], "LIM-2026-000042")
    with nothing_written():
        refused = hub.counter(
            "v1", "amend_case_intake", intake_id=opened["intake_id"], matter="tenencia"
        )
    assert refused.error.code == ErrorCode.INVALID_TRANSITION
    assert refused.error.field == "intake_id"
    assert refused.error.message == (
        "La central ya abrió el expediente N.º LIM-2026-000042: corríjalo allí."
    )


def test_a_referred_or_closed_intake_is_not_corrected_at_the_counter(
    hub, opened, db_path, nothing_written
):
    from hub.domain import store
    from tests.helpers import hub_records

    conn = store.open_db(db_path)
    try:  # central's later version, as pulled (the intake moved on)
        hub_records.save_intake(conn, intake_id=opened["intake_id"], changes={"status": "referred"})
    finally:
        conn.close()
    with nothing_written():
        refused = hub.counter("v1", "amend_case_intake", intake_id=opened["intake_id"], summary="X")
    assert refused.error.code == ErrorCode.INVALID_TRANSITION
    assert refused.error.message == "La ficha ya fue derivada o cerrada: corríjala en la central."


def test_a_failure_after_the_edit_rolls_the_correction_back(
    hub, engine, opened, nothing_written, monkeypatch
):
    def broken_audit(*args, **kwargs):
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(Tx, "audit", broken_audit)  # the intake row is written by then
    with nothing_written(), pytest.raises(sqlite3.OperationalError):
        hub.counter("v1", "amend_case_intake", intake_id=opened["intake_id"], summary="Otra.")


def test_the_list_carries_matter_and_summary_for_the_correction_form(hub, opened):
    [listed] = hub.ok(hub.counter("v1", "list_case_intakes"))["intakes"]
    assert listed["matter"] == "alimentos" and listed["summary"] == form()["summary"]
    hub.ok(
        hub.counter(
            "v1",
            "amend_case_intake",
            intake_id=opened["intake_id"],
            matter="tenencia",
            summary=NEW_SUMMARY,
        )
    )
    [listed] = hub.ok(hub.counter("v1", "list_case_intakes"))["intakes"]
    assert (listed["matter"], listed["summary"]) == ("tenencia", NEW_SUMMARY)
    assert DNI not in json.dumps(listed) and "Condori" not in json.dumps(listed)
