"""Push and pull through the real central app (in-process) on SQLite and PostgreSQL."""

from __future__ import annotations

import time
import uuid

from sqlalchemy import select

from central.sync import models as m
from central.sync import service
from contracts.mqtt import Role
from hub.domain import outbox, store
from hub.ports import Actor
from tests.helpers import fingerprints, hub_records

KIOSK = Actor(role=Role.KIOSK, device_id="k1")


def issue(engine, n: int) -> list[str]:
    ids = []
    for _ in range(n):
        out = engine.execute(
            actor=KIOSK,
            action="issue_ticket",
            params={"service_code": "orientacion"},
            request_id=str(uuid.uuid4()),
        )
        assert out.status == "ok", out.error
        ids.append(out.result["ticket"]["ticket_id"])
    return ids


def test_push_applies_each_event_once_and_marks_sent(central, hub_engine, agent):
    issue(hub_engine, 5)
    pending, _ = outbox.backlog(agent.conn)
    assert pending >= 5
    acked = agent.push_once()
    assert acked == pending
    assert outbox.backlog(agent.conn)[0] == 0
    with central.connect() as conn:
        counts = service.event_counts(conn, sede_id="sede-sync")
        tickets = conn.execute(select(m.sync_ticket)).all()
    assert len(counts) == pending and set(counts.values()) == {1}
    assert len(tickets) == 5
    # a second push sends nothing new and changes nothing
    assert agent.push_once() == 0
    with central.connect() as conn:
        assert service.event_counts(conn, sede_id="sede-sync") == counts
    assert fingerprints.hub(agent.conn, site_only=True) == fingerprints.central(
        central.url, "sede-sync", site_only=True
    )


def test_pull_brings_staff_and_config(central, hub_engine, agent):
    # on PostgreSQL rows are served once every older transaction of the cluster has ended
    applied, deadline = 0, time.monotonic() + 60
    while applied < 4 and time.monotonic() < deadline:
        applied += agent.pull_once()
        time.sleep(0.05)
    assert applied == 4  # sede config + the matter catalogue + two staff users
    user = hub_records.synced_staff_user(agent.conn, "ana")
    assert (
        user is not None and user["active"] is True and user["password_hash"].startswith("$argon2")
    )
    state = store.sync_state(agent.conn)
    assert state["pull_cursor"]
    assert agent.pull_once() == 0
