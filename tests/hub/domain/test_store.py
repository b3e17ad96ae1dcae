"""The SQLite store: WAL + synchronous FULL, migrations on empty files, idempotent on reopen,
upgrades of an existing file, outbox shape and delivery bookkeeping."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from hub.domain import store


def test_fresh_file_is_migrated_in_wal_with_full_sync(engine, db_path):
    conn = store.connect(db_path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert store.schema_version(conn) == store.LATEST_VERSION
    versions = [r[0] for r in conn.execute("SELECT version FROM schema_migrations")]
    assert versions == [v for v, _, _ in store.MIGRATIONS]
    conn.close()


def test_reopen_is_a_no_op_and_keeps_data(engine_factory, make_driver, db_path, clock):
    first = engine_factory()
    make_driver(first).issue()
    epoch = first.hub_epoch
    first.close()
    conn = store.connect(db_path)
    assert store.migrate(conn, now=clock.now) == []
    conn.close()
    again = engine_factory()
    assert again.hub_epoch == epoch
    assert make_driver(again).issue()["number"] == "A002"
    conn = sqlite3.connect(db_path)
    assert conn.execute("SELECT COUNT(*) FROM schema_migrations").fetchone()[0] == len(
        store.MIGRATIONS
    )
    conn.close()


def test_a_file_made_by_the_first_release_is_upgraded_on_open(
    engine_factory, make_driver, db_path, monkeypatch
):
    monkeypatch.setattr(store, "MIGRATIONS", store.MIGRATIONS[:1])
    old = engine_factory()
    make_driver(old).issue()
    old.close()
    monkeypatch.undo()
    engine = engine_factory()
    conn = sqlite3.connect(db_path)
    indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    conn.close()
    assert {"ix_tickets_target", "ix_ticket_events_calls"} <= indexes
    assert engine.status()["schema_version"] == store.LATEST_VERSION >= 2
    assert make_driver(engine).issue()["number"] == "A002"


def test_a_new_migration_upgrades_an_existing_file(engine_factory, db_path, monkeypatch, clock):
    engine_factory().close()
    upgraded = [
        *store.MIGRATIONS,
        (
            store.LATEST_VERSION + 1,
            "test: display messages",
            ("CREATE TABLE display_messages (id TEXT PRIMARY KEY, body TEXT NOT NULL)",),
        ),
    ]
    monkeypatch.setattr(store, "MIGRATIONS", upgraded)
    conn = store.connect(db_path)
    assert store.migrate(conn, now=clock.now) == [store.LATEST_VERSION + 1]
    assert store.schema_version(conn) == store.LATEST_VERSION + 1
    conn.execute("INSERT INTO display_messages VALUES ('m1', 'Bienvenidos')")
    assert store.migrate(conn, now=clock.now) == []
    conn.close()


def test_a_failing_migration_leaves_the_file_at_the_previous_version(
    engine_factory, db_path, monkeypatch, clock
):
    engine_factory().close()
    broken = [
        *store.MIGRATIONS,
        (store.LATEST_VERSION + 1, "broken", ("CREATE TABLE ok_table (x)", "NOT SQL AT ALL")),
    ]
    monkeypatch.setattr(store, "MIGRATIONS", broken)
    conn = store.connect(db_path)
    try:
        store.migrate(conn, now=clock.now)
    except sqlite3.OperationalError:
        pass
    else:
        raise AssertionError("the broken migration should fail")
    assert store.schema_version(conn) == store.LATEST_VERSION
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert "ok_table" not in names
    conn.close()


def test_outbox_rows_are_sequenced_and_carry_what_sync_needs(hub, engine):
    hub.open("v1")
    hub.issue()
    hub.call_next("v1")
    pending = engine.outbox_pending()
    seqs = [row["seq"] for row in pending]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    types = [row["event_type"] for row in pending]
    assert types[:3] == ["counter_session.started", "counter.signed_in", "counter.opened"]
    assert types[-2:] == ["ticket.issued", "ticket.called"]
    called = pending[-1]
    assert called["sede_id"] == "sede-test" and called["hub_epoch"] == engine.hub_epoch
    ticket = called["payload"]["ticket"]
    assert ticket["revision"] == 2 and ticket["status"] == "called"
    assert "dni" not in ticket and ticket["has_dni"] is False
    assert called["payload"]["event"]["event_type"] == "called"
    assert datetime.fromisoformat(ticket["updated_at"]).tzinfo is not None
    event_ids = {row["event_id"] for row in pending}
    assert len(event_ids) == len(pending)


def test_outbox_delivery_bookkeeping(hub, engine):
    for _ in range(5):
        hub.issue()
    pending = engine.outbox_pending()
    assert engine.status()["outbox"]["pending"] == 5
    engine.mark_outbox_sent([pending[0]["seq"], pending[1]["seq"], pending[3]["seq"]])
    left = [row["seq"] for row in engine.outbox_pending()]
    assert left == [pending[2]["seq"], pending[4]["seq"]]
    assert engine.status()["outbox"]["pending"] == 2
    engine.mark_outbox_sent(left)
    assert engine.outbox_pending() == []
    hub.issue()
    assert len(engine.outbox_pending()) == 1


def test_status_reports_queues_counters_and_backlog(hub, engine):
    hub.open("v1")
    hub.issue()
    hub.issue(preference_category="gestante")
    status = engine.status()
    assert status["queues"]["orientacion"]["waiting"] == 2
    assert status["queues"]["orientacion"]["preferential_waiting"] == 1
    assert status["counters"]["v1"]["status"] == "open"
    assert status["counters"]["v1"]["user"] == "Ana Quispe"
    assert status["schema_version"] == store.LATEST_VERSION
    assert status["outbox"]["pending"] >= 5


def test_sede_info_describes_services_counters_and_hours(engine):
    info = engine.sede_info()
    assert [s.letter for s in info.services] == ["A", "P", "V"]
    assert info.counters[1].services == {"orientacion": 3, "penal": 1}
    assert {h.weekday for h in info.hours} == {0, 1, 2, 3, 4}
    assert info.hours[0].opens == "08:00"


def test_the_outbox_has_one_owner():
    """Every write to the hub's outbox (rows, sent marks, the watermark) goes through
    hub/domain/outbox.py: no other runtime module writes the table or moves the watermark."""
    import re
    from pathlib import Path

    repo = Path(__file__).resolve().parents[3]
    writes = re.compile(r"(INSERT INTO|UPDATE|DELETE FROM)\s+outbox\b|outbox_sent_through", re.I)
    writers = sorted(
        str(path.relative_to(repo))
        for package in ("hub", "sync", "central", "contracts")
        for path in (repo / package).rglob("*.py")
        if writes.search(path.read_text("utf-8"))
    )
    assert writers == ["hub/domain/outbox.py"]
