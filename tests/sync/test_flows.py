"""Sync behaviours through the real central app (in-process, SQLite and PostgreSQL) and a real
hub engine: revocation, appointments, case-intake conflicts, poison records, batch splitting,
load shedding, restored hubs."""

from __future__ import annotations

import contextvars
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from central.sync import models as m
from central.sync import service
from contracts.mqtt import Role
from hub.domain import outbox, store
from hub.ports import Actor
from sync.agent import RetryLater
from tests.helpers import fingerprints, hub_records

SEDE = "sede-sync"
CENTRAL: contextvars.ContextVar = contextvars.ContextVar("central")


@pytest.fixture(autouse=True)
def _current_central(central):
    CENTRAL.set(central)


KIOSK = Actor(role=Role.KIOSK, device_id="k1")
COUNTER = Actor(role=Role.COUNTER, device_id="v1")


def run(engine, actor, action, **params):
    return engine.execute(actor=actor, action=action, params=params, request_id=str(uuid.uuid4()))


def converge(agent, central=None) -> None:
    """Push, then pull until the hub holds central's latest of every record. On PostgreSQL a
    change is served only once no older transaction of the cluster is still running (other
    databases' writers included), so a pull right after a commit may legitimately be empty."""
    agent.push_once()
    deadline = time.monotonic() + 60
    while True:
        agent.pull_once()
        if central is None:
            central = CENTRAL.get()
        ours = fingerprints.hub(agent.conn)["central_records"]
        theirs = fingerprints.central(central.url, SEDE)["central_records"]
        if ours == theirs or time.monotonic() > deadline:
            return
        time.sleep(0.1)


def assert_same(agent, central) -> None:
    assert fingerprints.hub(agent.conn) == fingerprints.central(central.url, SEDE)
    with central.connect() as conn:
        counts = service.event_counts(conn, sede_id=SEDE)
    assert set(counts.values()) <= {1}


def test_disabled_user_is_refused_at_the_counter_after_the_next_pull(central, hub_engine, agent):
    converge(agent)
    ok = run(hub_engine, COUNTER, "sign_in", username="ana", password=central.passwords["ana"])
    assert ok.status == "ok", ok.error
    run(hub_engine, COUNTER, "sign_out")
    from central.core.db import new_session
    from central.domain.actor import Actor as CentralActor
    from central.users import service as users
    from central.users.models import User
    from central.users.schemas import UserUpdate

    session = new_session(central.app.state.engine)
    user = session.get(
        User, session.execute(select(User.id).where(User.username == "ana")).scalar_one()
    )
    users.update_user(
        session=session,
        actor=CentralActor.system("tests"),
        user_id=user.id,
        data=UserUpdate(active=False),
        check_assignable=False,
    )
    session.commit()
    session.close()
    # before the pull the hub still knows her as active
    assert hub_records.synced_staff_user(agent.conn, "ana")["active"] is True
    converge(agent)
    refused = run(hub_engine, COUNTER, "sign_in", username="ana", password=central.passwords["ana"])
    assert refused.status == "error" and refused.error.code == "bad_credentials"
    other = run(hub_engine, COUNTER, "sign_in", username="beto", password=central.passwords["beto"])
    assert other.status == "ok"
    converge(agent)
    assert_same(agent, central)


def test_appointments_reach_the_hub_and_a_check_in_comes_back(
    central, hub_engine, agent, admin_headers
):
    when = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()
    created = central.client.put(
        "/api/v1/sync/appointments",
        json={
            "sede_id": SEDE,
            "code": "CITA-0001",
            "service_code": "orientacion",
            "scheduled_at": when,
            "dni": "12345678",
        },
        headers=admin_headers,
    )
    assert created.status_code == 200, created.text
    converge(agent)
    out = run(hub_engine, KIOSK, "checkin_appointment", appointment_code="CITA-0001")
    assert out.status == "ok", out.error
    agent.push_once()
    with central.connect() as conn:
        status = conn.execute(
            select(m.sync_appointment.c.status).where(m.sync_appointment.c.code == "CITA-0001")
        ).scalar_one()
    assert status == "checked_in"
    # cancelling centrally: a tombstone; the hub no longer offers a checked-in appointment back
    deleted = central.client.delete(
        f"/api/v1/sync/appointments/{created.json()['id']}", headers=admin_headers
    )
    assert deleted.status_code == 200
    converge(agent)
    row = agent.conn.execute(
        "SELECT deleted FROM synced_records WHERE record_type = 'appointment'"
    ).fetchone()
    assert row[0] == 1
    assert_same(agent, central)


def _intake(agent, **changes):
    base = {
        "citizen_doc_type": "dni",
        "citizen_doc_number": "12345678",
        "citizen_names": "Persona de prueba",
        "service_code": "orientacion",
        "matter": "alimentos",
        "summary": "Consulta inicial",
    }
    return hub_records.save_intake(agent.conn, changes={**base, **changes})


def test_intake_edited_on_both_sides_is_kept_twice_and_resolved_by_a_person(
    central, hub_engine, agent, admin_headers
):
    record = _intake(agent)
    converge(agent)
    got = central.client.get(f"/api/v1/sync/case-intakes/{record['id']}", headers=admin_headers)
    assert got.status_code == 200 and got.json()["revision"] == 1
    # apart: central edits, the sede edits
    edited = central.client.patch(
        f"/api/v1/sync/case-intakes/{record['id']}",
        json={"base_revision": 1, "summary": "Versión central", "status": "referred"},
        headers=admin_headers,
    )
    assert edited.status_code == 200, edited.text
    stale = central.client.patch(
        f"/api/v1/sync/case-intakes/{record['id']}",
        json={"base_revision": 1, "summary": "otra"},
        headers=admin_headers,
    )
    assert stale.status_code == 409
    hub_records.save_intake(
        agent.conn, intake_id=record["id"], changes={"summary": "Versión sede", "status": "open"}
    )
    converge(agent)
    conflicts = central.client.get("/api/v1/sync/conflicts", headers=admin_headers).json()
    assert len(conflicts) == 1
    conflict = conflicts[0]
    assert conflict["kind"] == "edit_edit"
    assert conflict["current_version"]["summary"] == "Versión central"
    assert conflict["other_version"]["summary"] == "Versión sede"
    local = agent.conn.execute("SELECT * FROM case_intakes").fetchone()
    assert local["summary"] == "Versión central" and local["has_conflict"] == 1
    assert local["status"] == "referred"  # never back to open
    assert_same(agent, central)
    resolved = central.client.post(
        f"/api/v1/sync/conflicts/{conflict['id']}/resolve",
        json={"keep": "other"},
        headers=admin_headers,
    )
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["summary"] == "Versión sede"
    assert resolved.json()["status"] == "referred"
    converge(agent)
    local = agent.conn.execute("SELECT * FROM case_intakes").fetchone()
    assert local["summary"] == "Versión sede" and local["has_conflict"] == 0
    assert central.client.get("/api/v1/sync/conflicts", headers=admin_headers).json() == []
    assert_same(agent, central)


def test_intake_pulled_while_its_push_answer_was_lost_is_applied_once_acknowledged(
    central, agent, monkeypatch
):
    """Central stored the intake (revision 1) but its answer never reached the hub; the pull
    then brings revision 1 while the hub still holds its own edit as pending, so it is only
    kept aside. When the retried push is acknowledged, the held version must be applied:
    the change log will not send it again."""
    record = _intake(agent)
    with monkeypatch.context() as lost:
        lost.setattr(outbox, "acknowledge", lambda *args, **kwargs: 0)  # the answer is lost
        agent.push_once()
    agent.pull_once()
    local = agent.conn.execute(
        "SELECT revision, pending_seq FROM case_intakes WHERE id = ?", (record["id"],)
    ).fetchone()
    assert local["pending_seq"] is not None and local["revision"] == 0  # shadowed, held aside
    agent.push_once()  # central already holds it: the answer now arrives
    agent.pull_once()  # nothing new in the change log for it
    local = agent.conn.execute(
        "SELECT revision, pending_seq FROM case_intakes WHERE id = ?", (record["id"],)
    ).fetchone()
    assert local["pending_seq"] is None and local["revision"] == 1
    assert_same(agent, central)


def test_delete_against_edit_keeps_the_edit_and_flags_it(central, hub_engine, agent, admin_headers):
    record = _intake(agent)
    converge(agent)
    central.client.patch(
        f"/api/v1/sync/case-intakes/{record['id']}",
        json={"base_revision": 1, "summary": "Completada en central"},
        headers=admin_headers,
    )
    hub_records.save_intake(agent.conn, intake_id=record["id"], changes={}, delete=True)
    converge(agent)
    conflicts = central.client.get("/api/v1/sync/conflicts", headers=admin_headers).json()
    assert [c["kind"] for c in conflicts] == ["delete_edit"]
    local = agent.conn.execute("SELECT deleted, summary FROM case_intakes").fetchone()
    assert local["deleted"] == 0 and local["summary"] == "Completada en central"
    assert_same(agent, central)


def test_poison_event_is_dead_lettered_and_does_not_block(
    central, hub_engine, agent, admin_headers
):
    run(hub_engine, KIOSK, "issue_ticket", service_code="orientacion")
    # a corrupt row (e.g. written by a buggy version): known type, invalid payload
    store.begin_immediate(agent.conn)
    agent.conn.execute(
        "INSERT INTO outbox (event_id, sede_id, hub_epoch, event_type, aggregate_type, "
        "aggregate_id, payload, created_at) SELECT ?, sede_id, hub_epoch, 'ticket.issued', "
        "'ticket', 'x', '{\"ticket\": {\"id\": 1}}', created_at FROM outbox LIMIT 1",
        (str(uuid.uuid4()),),
    )
    agent.conn.execute("COMMIT")
    run(hub_engine, KIOSK, "issue_ticket", service_code="orientacion")
    agent.push_once()
    assert outbox.backlog(agent.conn)[0] == 0
    dead = central.client.get("/api/v1/sync/dead-letters", headers=admin_headers).json()
    assert len(dead) == 1 and dead[0]["event_type"] == "ticket.issued"
    with central.connect() as conn:
        assert conn.execute(select(m.sync_ticket)).all().__len__() == 2
    status = central.client.get("/api/v1/sync/status", headers=admin_headers).json()
    assert status[0]["dead_letters"] == 1 and status[0]["backlog"] == 0


def test_oversized_batches_are_split(central, hub_engine, agent):
    central.app.state.sync_settings.max_batch_bytes = 6000
    for _ in range(30):
        run(hub_engine, KIOSK, "issue_ticket", service_code="orientacion")
    # one event bigger than the limit on its own
    _intake(agent, summary="x" * 3900)
    central.app.state.sync_settings.max_batch_bytes = 3000
    agent.push_once()
    assert outbox.backlog(agent.conn)[0] == 0
    assert agent.batch_events < 1000
    with central.connect() as conn:
        assert len(conn.execute(select(m.sync_ticket)).all()) == 30
        dead = service.list_dead_letters(conn, sede_ids=None)
    assert [d["event_type"] for d in dead] == ["case_intake.saved"]


def test_busy_central_answers_429_and_the_agent_backs_off(central, hub_engine, agent):
    from central.sync.views import _Gate

    central.app.state.sync_gate = _Gate(0)
    run(hub_engine, KIOSK, "issue_ticket", service_code="orientacion")
    with pytest.raises(RetryLater) as caught:
        agent.push_once()
    assert caught.value.retry_after_s == 5
    agent.push_job()  # scheduled run: records the error and waits
    assert store.sync_state(agent.conn)["last_error"].startswith("push: la central respondió 429")
    assert not agent._push_backoff.ready()  # noqa: SLF001
    assert outbox.backlog(agent.conn)[0] > 0
    central.app.state.sync_gate = _Gate(2)
    agent._push_backoff.succeeded()  # noqa: SLF001
    agent.push_job()
    assert outbox.backlog(agent.conn)[0] == 0
    assert store.sync_state(agent.conn)["last_error"] == ""


def test_hub_restored_from_an_older_backup_opens_a_new_epoch(central, hub_engine, agent, tmp_path):
    import shutil

    from hub.domain.engine import HubEngine
    from tests.helpers import devtools

    for _ in range(3):
        run(hub_engine, KIOSK, "issue_ticket", service_code="orientacion")
    agent.push_once()
    backup = tmp_path / "backup.sqlite3"
    agent.conn.execute(f"VACUUM INTO '{backup}'")
    for _ in range(4):
        run(hub_engine, KIOSK, "issue_ticket", service_code="orientacion")
    agent.push_once()
    first_epoch = outbox.wire_position(agent.conn)[0]
    hub_engine.close()
    agent.conn.close()
    restored = tmp_path / "restored.sqlite3"
    shutil.copyfile(backup, restored)
    engine = HubEngine(devtools.hub_sede_config(SEDE), restored)
    for _ in range(2):  # new tickets reuse sequence numbers central already holds
        run(engine, KIOSK, "issue_ticket", service_code="orientacion")
    from sync.agent import SyncAgent

    again = SyncAgent(
        restored, central_url="http://testserver", token=central.token, client=central.client
    )
    try:
        again.push_once()
        assert outbox.wire_position(again.conn)[0] > first_epoch
        assert outbox.backlog(again.conn)[0] == 0
        with central.connect() as conn:
            counts = service.event_counts(conn, sede_id=SEDE)
            tickets = conn.execute(select(func.count()).select_from(m.sync_ticket)).scalar_one()
        assert set(counts.values()) == {1}
        # 3 before the backup, 4 lost with the restore (kept at central), 2 after it
        assert tickets == 9
    finally:
        again.conn.close()
        engine.close()


def test_central_restored_from_an_older_backup_gets_everything_again(central, hub_engine, agent):
    """Central's inbox loses recent batches: the next answer shows it behind the hub's
    acknowledged position and the hub sends those events again."""
    for _ in range(3):
        run(hub_engine, KIOSK, "issue_ticket", service_code="orientacion")
    agent.push_once()
    with central.connect() as conn:  # simulate the restore: forget everything of this sede
        for table in (m.sync_inbox, m.sync_epoch, m.sync_ticket, m.sync_ticket_event):
            conn.execute(table.delete())
    agent.push_once()  # heartbeat reveals central behind -> rewind
    agent.push_once()
    assert outbox.backlog(agent.conn)[0] == 0
    assert_same(agent, central)


def test_corrupt_stored_payload_is_dead_lettered_not_blocking(central, hub_engine, agent):
    run(hub_engine, KIOSK, "issue_ticket", service_code="orientacion")
    store.begin_immediate(agent.conn)
    agent.conn.execute(
        "INSERT INTO outbox (event_id, sede_id, hub_epoch, event_type, aggregate_type, "
        "aggregate_id, payload, created_at) SELECT ?, sede_id, hub_epoch, 'ticket.issued', "
        "'ticket', 'x', '{not json', created_at FROM outbox LIMIT 1",
        (str(uuid.uuid4()),),
    )
    agent.conn.execute("COMMIT")
    run(hub_engine, KIOSK, "issue_ticket", service_code="orientacion")
    agent.push_once()
    assert outbox.backlog(agent.conn)[0] == 0
    with central.connect() as conn:
        dead = service.list_dead_letters(conn, sede_ids=None)
        assert len(conn.execute(select(m.sync_ticket)).all()) == 2
    assert len(dead) == 1 and dead[0]["payload"] is None


def test_event_with_a_nul_character_is_dead_lettered_alone(central, hub_engine, agent):
    """PostgreSQL text cannot hold NUL: such an event must not fail its whole batch forever."""
    run(hub_engine, KIOSK, "issue_ticket", service_code="orientacion")
    store.begin_immediate(agent.conn)
    agent.conn.execute(
        "INSERT INTO outbox (event_id, sede_id, hub_epoch, event_type, aggregate_type, "
        "aggregate_id, payload, created_at) SELECT ?, sede_id, hub_epoch, 'printer_fault.reported', "
        "'printer_fault', 'p1', ?, created_at FROM outbox LIMIT 1",
        (
            str(uuid.uuid4()),
            '{"id":"p1","device_id":"k1","code":"paper_out","message":"sin\\u0000papel","at":"x"}',
        ),
    )
    agent.conn.execute("COMMIT")
    run(hub_engine, KIOSK, "issue_ticket", service_code="orientacion")
    agent.push_once()
    assert outbox.backlog(agent.conn)[0] == 0
    with central.connect() as conn:
        dead = service.list_dead_letters(conn, sede_ids=None)
        assert len(conn.execute(select(m.sync_ticket)).all()) == 2
    assert [d["event_type"] for d in dead] == ["printer_fault.reported"]
    assert "NUL" in dead[0]["error"]
