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

    monkeypatch.setattr(engine, "_audit", broken_audit)
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
    from sync.protocol import events

    def refuse(record):
        raise ValueError(f"bad record {record}")

    monkeypatch.setattr(events.IntakeRecord, "model_validate", refuse)
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
