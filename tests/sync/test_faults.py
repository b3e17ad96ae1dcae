"""Fault tests: central (``alegra central run``, PostgreSQL) and the sede (traffic and sync
agents, ``python -m sync.cli run``) as real processes, the WAN a TCP proxy the test controls.

After each scenario: every event the hub holds as acknowledged is at central exactly once, and
the per-table fingerprints of the synced data are identical on both sides. Sizes are kept small
for CI (the 50,000-event drain is measured by bench/sync.py)."""

from __future__ import annotations

import random
import shutil
import sqlite3
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from central.core.db import make_engine
from central.sync import models as m
from central.sync import service
from contracts.sync import RecordType
from sync import fingerprints, hub_store

pytestmark = [pytest.mark.slow, pytest.mark.postgres]
SEDE = "sede-sync"


def hub_conn(rig) -> sqlite3.Connection:
    return hub_store.open_db(rig.hub.db_path)


def central_engine(rig):
    return make_engine(rig.central.db_url)


def inbox_count(rig) -> int:
    engine = central_engine(rig)
    try:
        with engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(m.sync_inbox)).scalar_one()
    finally:
        engine.dispose()


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


def wait_traffic(rig, timeout: float = 90) -> None:
    for proc in rig.hub.traffic:
        proc.wait(timeout)
        assert proc.returncode in (0, -9), f"traffic failed ({proc.returncode})"


def converged(rig, *, site_only: bool = False) -> bool:
    conn = hub_conn(rig)
    try:
        if hub_store.backlog(conn)[0]:
            return False
        ours = fingerprints.hub(conn, site_only=site_only)
    finally:
        conn.close()
    theirs = fingerprints.central(rig.central.db_url, SEDE, site_only=site_only)
    # kept for the failure message: which tables still differ when time runs out
    rig.last_difference = sorted(
        k for k in ours.keys() | theirs.keys() if ours.get(k) != theirs.get(k)
    )
    return ours == theirs


def assert_exactly_once(rig, *, all_sent: bool = True) -> int:
    conn = hub_conn(rig)
    try:
        acked = {
            r[0] for r in conn.execute("SELECT event_id FROM outbox WHERE sent_at IS NOT NULL")
        }
        total = conn.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]
    finally:
        conn.close()
    engine = central_engine(rig)
    try:
        with engine.connect() as c:
            counts = service.event_counts(c, sede_id=SEDE)
    finally:
        engine.dispose()
    missing = [e for e in acked if counts.get(e) != 1]
    assert not missing, f"{len(missing)} acknowledged events not at central exactly once"
    assert set(counts.values()) <= {1}
    if all_sent:
        assert len(acked) == total
    return len(acked)


def settle(rig, timeout: float = 90) -> int:
    wait_traffic(rig)
    try:
        wait_for(lambda: converged(rig), timeout, "hub and central to converge")
    except AssertionError as exc:
        differing = rig.last_difference
        raise AssertionError(f"{exc}; tables still different: {differing}") from None
    return assert_exactly_once(rig)


def put_appointments(rig, count: int, start: int = 0) -> None:
    engine = central_engine(rig)
    try:
        with engine.begin() as conn:
            for n in range(start, start + count):
                service.put_central_record(
                    conn,
                    table=m.sync_appointment,
                    record_type=RecordType.APPOINTMENT,
                    values={
                        "sede_id": SEDE,
                        "code": f"CITA-{n:05d}",
                        "service_code": "orientacion",
                        "scheduled_at": datetime.now(UTC) + timedelta(days=1, minutes=n),
                        "dni": None,
                    },
                )
    finally:
        engine.dispose()


def test_hub_killed_after_central_committed_before_the_answer(rig):
    rig.hub.start_traffic(40, "--rate", "8")
    rig.hub.start_agent()
    wait_for(lambda: inbox_count(rig) > 0, 60, "a first batch")
    rig.proxy.set("drop_responses")
    before = inbox_count(rig)
    wait_for(lambda: inbox_count(rig) > before, 30, "central to commit an unanswered batch")
    rig.hub.kill_agents()  # the answer never arrived; the hub still holds those rows unsent
    conn = hub_conn(rig)
    unsent = hub_store.backlog(conn)[0]
    conn.close()
    assert unsent > 0
    rig.proxy.set("up")
    rig.hub.start_agent()
    assert settle(rig) > 150


def test_hub_killed_between_local_commit_and_push(rig):
    rig.proxy.set("down")
    rig.hub.start_agent()
    traffic = rig.hub.start_traffic(400)
    while int((traffic.stdout.readline() or b"0").strip() or 0) < 30:
        pass
    traffic.kill()  # mid-command: whatever committed must travel, nothing else
    traffic.wait(5)
    rig.hub.kill_agents()
    rig.proxy.set("up")
    rig.hub.start_agent()
    settle(rig)


def test_answers_lost_5xx_and_pages_cut_off(rig):
    put_appointments(rig, 40)
    rig.hub.start_agent()
    rig.hub.start_traffic(120, "--rate", "20")
    for mode in ("drop_responses", "error_5xx", "truncate", "up", "drop_requests", "truncate"):
        rig.proxy.set(mode)
        put_appointments(rig, 10, start=1000 + random.randint(0, 10**6))
        time.sleep(2.5)
    rig.proxy.set("up")
    settle(rig)
    conn = hub_conn(rig)
    errors = hub_store.get_state(conn)
    conn.close()
    assert errors.get("last_error_at"), "the faults were seen by the agent"


def test_random_partitions_one_and_both_directions(rig):
    rng = random.Random(20261127)
    rig.hub.start_agent()
    rig.hub.start_traffic(200, "--rate", "12", "--intakes", "5")
    deadline = time.monotonic() + 25
    while time.monotonic() < deadline:
        rig.proxy.set(rng.choice(["up", "down", "drop_requests", "drop_responses", "up"]))
        if rng.random() < 0.3:
            put_appointments(rig, 3, start=rng.randint(0, 10**6))
        time.sleep(rng.uniform(0.2, 2.0))
    rig.proxy.set("up")
    assert settle(rig) > 700


def test_two_agents_at_once_and_clock_jumps(rig):
    rig.hub.start_agent()
    rig.hub.start_agent()
    rig.hub.start_traffic(120, "--clock-jumps", "--intakes", "4")
    put_appointments(rig, 20)
    settle(rig)


def test_large_offline_backlog_then_reconnect(rig):
    rig.proxy.set("down")
    rig.hub.start_agent(ALEGRA_SYNC_BATCH_EVENTS="1000")
    rig.hub.start_traffic(300)  # ~1,200 events written while the WAN is down
    wait_traffic(rig)
    conn = hub_conn(rig)
    backlog = hub_store.backlog(conn)[0]
    conn.close()
    assert backlog > 1000
    rig.proxy.set("up")
    started = time.monotonic()
    settle(rig)
    assert time.monotonic() - started < 60


def test_central_restored_from_an_older_backup(rig):
    put_appointments(rig, 10)
    rig.hub.start_agent()
    rig.hub.start_traffic(40)
    settle(rig)
    backup_url = rig.central.db_url
    rig.central.stop()
    from sync import devtools

    older = devtools.clone_pg_database(backup_url)  # the backup, taken now
    rig.central.start()
    rig.hub.start_traffic(40)
    put_appointments(rig, 10, start=100)
    settle(rig)
    rig.central.stop()
    rig.central.start(db_url=older)  # central restored: the hub's cursor and acks are ahead
    settle(rig, timeout=120)
    devtools.drop_pg_database(backup_url)


def test_hub_restored_from_an_older_backup(rig):
    rig.hub.start_agent()
    rig.hub.start_traffic(30)
    settle(rig)
    backup = rig.tmp_path / "hub-backup.sqlite3"
    conn = hub_conn(rig)
    conn.execute(f"VACUUM INTO '{backup}'")
    conn.close()
    rig.hub.start_traffic(30)
    settle(rig)
    lost = {r[0] for r in sqlite3.connect(rig.hub.db_path).execute("SELECT id FROM tickets")}
    rig.hub.kill_agents()
    for suffix in ("", "-wal", "-shm"):
        path = rig.hub.db_path.with_name(rig.hub.db_path.name + suffix)
        path.unlink(missing_ok=True)
    shutil.copyfile(backup, rig.hub.db_path)
    rig.hub.start_traffic(30)
    rig.hub.start_agent()
    wait_traffic(rig)
    wait_for(lambda: hub_store.backlog(hub_conn(rig))[0] == 0, 60, "the restored hub to drain")
    assert_exactly_once(rig)
    conn = hub_conn(rig)
    epoch = hub_store.wire_position(conn)[0]
    ours = {r[0]: tuple(r[1:]) for r in conn.execute("SELECT id, revision, status FROM tickets")}
    conn.close()
    engine = central_engine(rig)
    with engine.connect() as c:
        epochs = c.execute(select(m.sync_epoch.c.hub_epoch)).scalars().all()
        theirs = {
            r[0]: tuple(r[1:])
            for r in c.execute(
                select(m.sync_ticket.c.id, m.sync_ticket.c.revision, m.sync_ticket.c.status)
            )
        }
    engine.dispose()
    assert len(epochs) == 2 and epoch == max(epochs)
    # central keeps what only the lost copy had; everything the restored hub has is identical
    assert lost - set(ours) <= set(theirs)
    assert {k: theirs[k] for k in ours} == ours
    assert len(theirs) == len(set(ours) | lost)


def test_case_edited_at_both_sides_while_apart_and_delete_against_edit(rig):
    rig.hub.start_agent()
    rig.hub.start_traffic(20, "--intakes", "2")
    settle(rig)
    conn = hub_conn(rig)
    ids = [r[0] for r in conn.execute("SELECT id FROM case_intakes ORDER BY id")]
    assert len(ids) == 2
    rig.proxy.set("down")
    hub_store.save_intake(conn, intake_id=ids[0], changes={"summary": "editada en la sede"})
    hub_store.save_intake(conn, intake_id=ids[1], changes={}, delete=True)
    conn.close()
    engine = central_engine(rig)
    with engine.begin() as c:
        for intake_id in ids:
            service.edit_intake_centrally(
                c,
                intake_id=intake_id,
                base_revision=1,
                changes={"summary": "editada en la central", "status": "referred"},
                by="coordinadora",
            )
    rig.proxy.set("up")
    settle(rig)
    with engine.connect() as c:
        conflicts = service.list_conflicts(c, sede_ids=[SEDE])
    engine.dispose()
    assert sorted(c["kind"] for c in conflicts) == ["delete_edit", "edit_edit"]
    conn = hub_conn(rig)
    rows = {r["id"]: dict(r) for r in conn.execute("SELECT * FROM case_intakes")}
    conn.close()
    assert all(r["deleted"] == 0 and r["status"] == "referred" for r in rows.values())
    assert all(r["has_conflict"] == 1 for r in rows.values())
