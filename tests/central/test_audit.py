"""Audit log: what is recorded, append-only enforcement, hash-chain verification against altered,
removed and reordered rows (via SQL, as a DBA could), the CLI, concurrency, and auditor-only
search/export that are themselves audited."""

from __future__ import annotations

import csv
import io
import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import select
from typer.testing import CliRunner

from central.audit import service as audit
from central.audit.models import AuditEvent
from central.audit_cli import app as audit_cli
from central.auth.policy import Profile
from central.core.db import new_session
from central.domain.actor import Actor

from .conftest import sign_in


def _events(db) -> list[AuditEvent]:
    """Every audit row, detached (reading through a short session: on SQLite an open read
    transaction would hold the write lock)."""
    with new_session(db.get_bind()) as session:
        return list(session.exec(select(AuditEvent).order_by(AuditEvent.seq)).all())


def _verify(engine) -> audit.VerifyResult:
    with new_session(engine) as session:
        return audit.verify_chain(session=session)


def _disable_guards(engine) -> None:
    """What an attacker with database rights would do first."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_event DISABLE TRIGGER USER"))
        else:
            conn.execute(text("DROP TRIGGER audit_event_no_update"))
            conn.execute(text("DROP TRIGGER audit_event_no_delete"))


def test_rows_carry_who_what_where_and_chain(client, world, factory, db, engine):
    admin = factory.user(Profile.ADMINISTRADOR_NACIONAL)
    headers = sign_in(client, admin)
    response = client.patch(
        f"/api/v1/sedes/{world.sede_a1}",
        headers={**headers, "X-Request-ID": "req-42"},
        json={"address": "Jr. Nuevo 456"},
    )
    assert response.status_code == 200
    event = [e for e in _events(db) if e.action == "sede.update"][-1]
    assert event.actor_user_id == admin.id
    assert event.actor_username == admin.username
    assert event.actor_profiles == "administrador_nacional"
    assert (
        event.entity == "sede"
        and event.entity_id == world.sede_a1
        and event.sede_id == world.sede_a1
    )
    assert '"address":"Av. Prueba 1"' in event.before_json
    assert '"address":"Jr. Nuevo 456"' in event.after_json
    assert event.request_id == "req-42"
    assert event.ip
    assert event.occurred_at is not None
    assert _verify(engine).ok


def test_append_only_triggers_refuse_update_and_delete(world, engine):
    statements = [
        "UPDATE audit_event SET action = 'x' WHERE seq = 1",
        "DELETE FROM audit_event WHERE seq = 1",
    ]
    if engine.dialect.name == "postgresql":
        statements.append("TRUNCATE audit_event")
    for statement in statements:
        with pytest.raises(DBAPIError), engine.begin() as conn:
            conn.execute(text(statement))
    assert _verify(engine).ok


@pytest.mark.parametrize("tamper", ["update", "delete", "swap", "truncate_tail", "forge_rehash"])
def test_verify_detects_tampering(tamper, world, engine, db):
    rows = _events(db)
    assert len(rows) >= 6
    assert _verify(engine).ok
    _disable_guards(engine)
    expected_bad = 3
    with engine.begin() as conn:
        if tamper == "update":
            conn.execute(
                text('UPDATE audit_event SET after_json = \'{"address":"falsa"}\' WHERE seq = 3')
            )
        elif tamper == "delete":
            conn.execute(text("DELETE FROM audit_event WHERE seq = 3"))
        elif tamper == "swap":
            conn.execute(text("UPDATE audit_event SET seq = -1 WHERE seq = 3"))
            conn.execute(text("UPDATE audit_event SET seq = 3 WHERE seq = 4"))
            conn.execute(text("UPDATE audit_event SET seq = 4 WHERE seq = -1"))
        elif tamper == "truncate_tail":
            expected_bad = rows[-1].seq
            conn.execute(text("DELETE FROM audit_event WHERE seq = :seq"), {"seq": rows[-1].seq})
        elif tamper == "forge_rehash":
            # rewriting a row AND recomputing its hash needs the key, which is not in the
            # database: a rehash with any other key is detected at the row itself
            event = rows[2]
            event.actor_username = "otro"
            forged = audit.compute_hash(event.prev_hash, event, b"not-the-key")
            conn.execute(
                text("UPDATE audit_event SET actor_username = 'otro', hash = :h WHERE seq = 3"),
                {"h": forged},
            )
    result = _verify(engine)
    assert not result.ok
    assert result.first_bad_seq == expected_bad, result


def test_cli_verify_exit_codes(world, engine, settings):
    runner = CliRunner()
    url = settings.resolved_database_url()
    key = ["--key-file", str(settings.data_dir / "audit-hmac.key")]
    ok = runner.invoke(audit_cli, ["verify", "--database-url", url, *key])
    assert ok.exit_code == 0, ok.output
    assert "íntegra" in ok.output
    _disable_guards(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_event SET action = 'sede.borrada' WHERE seq = 2"))
    bad = runner.invoke(audit_cli, ["verify", "--database-url", url, *key])
    assert bad.exit_code == 1
    assert "#2" in bad.output


def test_cli_export(world, settings, tmp_path):
    out = tmp_path / "audit.csv"
    result = CliRunner().invoke(
        audit_cli, ["export", "-o", str(out), "--database-url", settings.resolved_database_url()]
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert rows and rows[0]["seq"] == "1" and rows[0]["action"] == "district.create"


def test_concurrent_appends_keep_one_chain(world, engine):
    workers, per_worker = 6, 5
    errors: list[BaseException] = []
    start = threading.Barrier(workers)

    def work(index: int) -> None:
        try:
            start.wait()
            for n in range(per_worker):
                with new_session(engine) as session:
                    audit.record(
                        session=session,
                        actor=Actor.system(f"w{index}"),
                        action="test.concurrent",
                        entity="test",
                        entity_id=f"{index}-{n}",
                    )
                    session.commit()
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    result = _verify(engine)
    assert result.ok, result
    with new_session(engine) as session:
        count = len(
            session.exec(select(AuditEvent).where(AuditEvent.action == "test.concurrent")).all()
        )
    assert count == workers * per_worker


def test_failed_sign_in_and_sensitive_reads_are_audited(client, world, factory, db):
    psych = factory.user(Profile.PSICOLOGO, sede=world.sede_a1)
    client.post(
        "/api/v1/auth/token", json={"username": psych.username, "password": "Equivocada-123"}
    )
    headers = sign_in(client, psych)
    created = client.post(
        "/api/v1/sensitive-notes",
        headers=headers,
        json={
            "sede_id": world.sede_a1,
            "category": "psicologico",
            "subject_ref": "EXP-77",
            "title": "Evaluación",
            "body": "Relato reservado de la víctima",
        },
    )
    assert created.status_code == 201
    note_id = created.json()["id"]
    assert client.get(f"/api/v1/sensitive-notes/{note_id}", headers=headers).status_code == 200
    assert client.get("/api/v1/sensitive-notes", headers=headers).status_code == 200
    events = _events(db)
    actions = [e.action for e in events]
    assert "auth.signin_failed" in actions and "auth.signin" in actions
    read = [e for e in events if e.action == "sensitive_note.read"]
    assert len(read) == 1 and read[0].entity_id == note_id and read[0].actor_user_id == psych.id
    listed = [e for e in events if e.action == "sensitive_note.list"]
    assert note_id in listed[0].after_json
    # the audit trail never copies the sensitive content
    assert all("Relato reservado" not in (e.after_json or "") for e in events)


def test_search_and_export_are_auditor_only_and_audited(client, world, factory, db):
    auditor = factory.user(Profile.AUDITOR)
    admin = factory.user(Profile.ADMINISTRADOR_NACIONAL)
    admin_headers = sign_in(client, admin)
    assert client.get("/api/v1/audit/events", headers=admin_headers).status_code == 403
    assert client.get("/api/v1/audit/export", headers=admin_headers).status_code == 403
    headers = sign_in(client, auditor)
    page = client.get(
        "/api/v1/audit/events", headers=headers, params={"action": "sede.create", "limit": 2}
    )
    assert page.status_code == 200
    body = page.json()
    assert body["total"] == 3 and len(body["items"]) == 2
    assert all(item["action"] == "sede.create" for item in body["items"])
    by_entity = client.get(
        "/api/v1/audit/events",
        headers=headers,
        params={"entity": "sede", "entity_id": world.sede_b1},
    ).json()
    assert {i["entity_id"] for i in by_entity["items"]} == {world.sede_b1}
    by_user = client.get(
        "/api/v1/audit/events", headers=headers, params={"user_id": admin.id}
    ).json()
    assert by_user["total"] >= 1 and all(i["actor_user_id"] == admin.id for i in by_user["items"])
    future = client.get(
        "/api/v1/audit/events", headers=headers, params={"since": "2999-01-01T00:00:00Z"}
    ).json()
    assert future["total"] == 0
    past = client.get(
        "/api/v1/audit/events", headers=headers, params={"until": "2000-01-01T00:00:00Z"}
    ).json()
    assert past["total"] == 0
    exported = client.get(
        "/api/v1/audit/export", headers=headers, params={"format": "csv", "entity": "sede"}
    )
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert rows and {r["entity"] for r in rows} == {"sede"}
    as_json = client.get("/api/v1/audit/export", headers=headers, params={"format": "json"})
    assert as_json.status_code == 200 and isinstance(as_json.json(), list)
    verify = client.get("/api/v1/audit/verify", headers=headers).json()
    assert verify["ok"] is True
    actions = [e.action for e in _events(db)]
    assert actions.count("audit.search") == 5
    assert actions.count("audit.export") == 2


# Every column of audit_event but the row's own hash, written out by hand (not taken from
# central.audit.service.HASHED_FIELDS, the code under test), with a different value to put in
# row 3. Leaving any of them out of the hash lets that column be rewritten undetected.
TAMPERED_VALUES = {
    "id": "00000000-0000-7000-8000-000000000000",
    "occurred_at": datetime(2001, 2, 3, 4, 5, 6, tzinfo=UTC),
    "actor_user_id": "otro-usuario",
    "actor_username": "otro",
    "actor_profiles": "auditor",
    "actor_sede_id": "sede-b1",
    "actor_device_id": "otro-dispositivo",
    "action": "sede.borrada",
    "entity": "otra",
    "entity_id": "otro-id",
    "sede_id": "sede-b1",
    "before_json": '{"x":1}',
    "after_json": '{"address":"falsa"}',
    "request_id": "otra-solicitud",
    "ip": "203.0.113.9",
    "prev_hash": "f" * 64,
    "hash_version": 1,
    "seq": 3000,
}


def test_the_tamper_list_covers_every_column(engine):
    from sqlalchemy import inspect

    columns = {c["name"] for c in inspect(engine).get_columns("audit_event")}
    assert columns - {"hash"} == set(TAMPERED_VALUES)


@pytest.mark.parametrize("column", sorted(TAMPERED_VALUES))
def test_verify_detects_a_change_of_each_hashed_column(column, world, engine):
    assert _verify(engine).ok
    _disable_guards(engine)
    with engine.begin() as conn:
        conn.execute(
            text(f"UPDATE audit_event SET {column} = :value WHERE seq = 3"),
            {"value": TAMPERED_VALUES[column]},
        )
    result = _verify(engine)
    assert not result.ok, column
    assert result.first_bad_seq == 3, result


def _rewrite_chain_unkeyed(conn, rows, start: int, change) -> None:  # noqa: ANN001
    """What someone with write access to the database but not the key can do: change rows
    from ``start`` on and recompute every hash after them as plain SHA-256 (the pre-HMAC
    scheme, which needs no secret), then move the head."""
    prev = rows[start - 2].hash if start > 1 else audit.GENESIS_HASH
    for event in rows[start - 1 :]:
        change(event)
        event.prev_hash = prev
        event.hash_version = audit.UNKEYED
        event.hash = audit.compute_hash(prev, event)
        conn.execute(
            text(
                "UPDATE audit_event SET actor_username = :u, prev_hash = :p, hash_version = 1, "
                "hash = :h WHERE seq = :s"
            ),
            {"u": event.actor_username, "p": prev, "h": event.hash, "s": event.seq},
        )
        prev = event.hash
    conn.execute(text("UPDATE audit_chain_head SET last_hash = :h WHERE id = 1"), {"h": prev})


def test_a_chain_recomputed_without_the_key_does_not_verify(world, engine, db):
    """The chain was an unkeyed SHA-256: rewriting a row and recomputing every later hash and
    the head passed verify. Keyed rows cannot be recomputed without the key, and unkeyed
    (legacy) rows are only accepted before the first keyed one."""
    rows = _events(db)
    _disable_guards(engine)

    def rename(event) -> None:  # noqa: ANN001
        if event.seq == 3:
            event.actor_username = "otro"

    with engine.begin() as conn:
        _rewrite_chain_unkeyed(conn, rows, 3, rename)
    result = _verify(engine)
    assert not result.ok and result.first_bad_seq == 3, result


def test_checkpoints_outside_the_database_catch_a_cut_and_a_whole_rewrite(
    world, engine, db, tmp_path
):
    """A cut at the end (rows deleted, head moved back to a real row) and a chain rewritten
    from the first row need no key; the checkpoint file, with its own MAC, catches both."""
    checkpoints = tmp_path / "checkpoints" / "audit.jsonl"
    with new_session(engine) as session:
        seq = audit.write_checkpoint(session=session, path=checkpoints)
    assert seq == len(_events(db)) and oct(checkpoints.stat().st_mode & 0o777) == "0o600"

    def verify():  # noqa: ANN202
        with new_session(engine) as session:
            return audit.verify_chain(session=session, checkpoint_file=checkpoints)

    assert verify().ok
    rows = _events(db)
    _disable_guards(engine)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_event WHERE seq >= :s"), {"s": rows[-2].seq})
        conn.execute(
            text("UPDATE audit_chain_head SET last_seq = :s, last_hash = :h WHERE id = 1"),
            {"s": rows[-3].seq, "h": rows[-3].hash},
        )
    assert _verify(engine).ok  # without the checkpoints the cut is invisible
    cut = verify()
    assert not cut.ok and "rows removed" in cut.reason, cut
    with engine.begin() as conn:
        _rewrite_chain_unkeyed(conn, rows[:-2], 1, lambda event: None)
    rewritten = verify()
    assert not rewritten.ok and "checkpoint" in rewritten.reason, rewritten
    # a checkpoint line forged without the key is refused as such
    checkpoints.write_text(checkpoints.read_text().replace('"mac":"', '"mac":"0'))
    forged = verify()
    assert not forged.ok and "not written with the audit key" in forged.reason


def test_the_audit_key_lives_outside_the_database_with_mode_0600(app, settings):
    path = settings.data_dir / "audit-hmac.key"
    assert path.exists() and oct(path.stat().st_mode & 0o777) == "0o600"
    assert settings.resolved_audit_key() == path.read_text().strip()
