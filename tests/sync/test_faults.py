"""Fault tests: central (``alegra central run``, PostgreSQL) and the sede (traffic and sync
agents, ``python -m sync.cli run``) as real processes, the WAN a TCP proxy the test controls.

After each scenario: every event the hub holds as acknowledged is at central exactly once, and
the per-table fingerprints of the synced data are identical on both sides. The scenarios here
are single faults on a few hundred events; the issue's long ones (minutes of random partitions
in one and both directions, three days offline with a 50,000-event backlog) run at full scale
in ``test_faults_scale.py``. Rig and checks: ``conftest.py``."""

from __future__ import annotations

import random
import shutil
import sqlite3
import time

import pytest
from sqlalchemy import select

from central.sync import models as m
from central.sync import service
from hub.domain import outbox, store
from tests.helpers import hub_records

from .conftest import (
    SEDE,
    assert_exactly_once,
    central_engine,
    hub_conn,
    inbox_count,
    put_appointments,
    settle,
    wait_for,
    wait_traffic,
)

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def test_hub_killed_after_central_committed_before_the_answer(rig):
    rig.hub.start_traffic(40, "--rate", "8")
    rig.hub.start_agent()
    wait_for(lambda: inbox_count(rig) > 0, 60, "a first batch")
    rig.proxy.set("drop_responses")
    before = inbox_count(rig)
    wait_for(lambda: inbox_count(rig) > before, 30, "central to commit an unanswered batch")
    rig.hub.kill_agents()  # the answer never arrived; the hub still holds those rows unsent
    conn = hub_conn(rig)
    unsent = outbox.backlog(conn)[0]
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
    errors = store.sync_state(conn)
    conn.close()
    assert errors.get("last_error_at"), "the faults were seen by the agent"


def test_two_agents_at_once_and_clock_jumps(rig):
    rig.hub.start_agent()
    rig.hub.start_agent()
    rig.hub.start_traffic(120, "--clock-jumps", "--intakes", "4")
    put_appointments(rig, 20)
    settle(rig)


def test_central_restored_from_an_older_backup(rig):
    put_appointments(rig, 10)
    rig.hub.start_agent()
    rig.hub.start_traffic(40)
    settle(rig)
    backup_url = rig.central.db_url
    rig.central.stop()
    from tests.helpers import devtools

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
    wait_for(lambda: outbox.backlog(hub_conn(rig))[0] == 0, 60, "the restored hub to drain")
    assert_exactly_once(rig)
    conn = hub_conn(rig)
    epoch = outbox.wire_position(conn)[0]
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
    hub_records.save_intake(conn, intake_id=ids[0], changes={"summary": "editada en la sede"})
    hub_records.save_intake(conn, intake_id=ids[1], changes={}, delete=True)
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
