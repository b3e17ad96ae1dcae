"""Central's bulk apply of pushed batches (SQLite and PostgreSQL): rows expected to be new go
straight in, and the rare ones that are not (a ticket event re-sent under another event id, a
ticket central already holds) still end as insert-or-ignore / newest-revision-wins; values
that cannot be stored are poison, not a batch that fails forever."""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import select

from central.sync import models as m

SEDE = "sede-sync"
MEDIA = "application/vnd.alegra.sync+json"


def _ticket_event(ticket_id: str, revision: int, event_id: str, to_status: str) -> dict[str, Any]:
    at = f"2026-11-27T09:00:{revision % 60:02d}+00:00"
    return {
        "ticket": {
            "id": ticket_id,
            "sede_id": SEDE,
            "business_date": "2026-11-27",
            "service_code": "orientacion",
            "number": "A001",
            "status": to_status,
            "revision": revision,
            "updated_at": at,
            "counter_id": None,
        },
        "event": {
            "id": event_id,
            "ticket_id": ticket_id,
            "event_type": to_status,
            "from_status": None,
            "to_status": to_status,
            "at": at,
            "username": None,
        },
    }


def _push(central, epoch: int, events: list[tuple[int, dict[str, Any]]]) -> Any:
    body = {
        "v": 1,
        "sede_id": SEDE,
        "hub_epoch": epoch,
        "events": [
            {
                "seq": seq,
                "event_id": str(uuid.uuid4()),
                "event_type": "ticket." + payload["event"]["event_type"],
                "aggregate_type": "ticket",
                "aggregate_id": payload["ticket"]["id"],
                "created_at": "2026-11-27T09:00:00+00:00",
                "payload": payload,
            }
            for seq, payload in events
        ],
        "health": {"backlog": 0},
    }
    return central.client.post(
        "/api/v1/sync/push",
        content=json.dumps(body),
        headers={"Authorization": f"Bearer {central.token}", "Content-Type": MEDIA},
    )


def _tickets(central) -> dict[str, int]:
    with central.connect() as conn:
        rows = conn.execute(select(m.sync_ticket.c.id, m.sync_ticket.c.revision)).all()
    return {r[0]: r[1] for r in rows}


def _event_ids(central) -> list[str]:
    with central.connect() as conn:
        return sorted(conn.execute(select(m.sync_ticket_event.c.id)).scalars())


def test_a_ticket_event_held_under_another_event_id_is_not_written_twice(central):
    first = _ticket_event("t-1", 1, "h-1", "waiting")
    answer = _push(central, 7, [(1, first)])
    assert answer.status_code == 200 and answer.json()["applied"] == 1
    # the same ticket event again under a new outbox event id, next to a ticket central has
    # never seen and a newer revision of the held one: all in one batch
    answer = _push(
        central,
        7,
        [
            (2, first),
            (3, _ticket_event("t-2", 1, "h-2", "waiting")),
            (4, _ticket_event("t-1", 2, "h-3", "called")),
        ],
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["held_through"] == 4 and answer.json()["dead_lettered"] == 0
    assert _event_ids(central) == ["h-1", "h-2", "h-3"]
    assert _tickets(central) == {"t-1": 2, "t-2": 1}


def test_an_older_revision_never_overwrites_a_held_ticket(central):
    assert _push(central, 7, [(1, _ticket_event("t-1", 3, "h-3", "serving"))]).status_code == 200
    answer = _push(
        central,
        7,
        [
            (2, _ticket_event("t-1", 2, "h-2", "called")),
            (3, _ticket_event("t-9", 1, "h-9", "waiting")),
        ],
    )
    assert answer.status_code == 200 and answer.json()["held_through"] == 3
    assert _tickets(central) == {"t-1": 3, "t-9": 1}
    assert _event_ids(central) == ["h-2", "h-3", "h-9"]


def test_a_revision_beyond_the_stored_range_is_dead_lettered_not_blocking(central):
    answer = _push(
        central,
        7,
        [
            (1, _ticket_event("t-1", 2**31, "h-1", "waiting")),
            (2, _ticket_event("t-2", 2**31 - 1, "h-2", "waiting")),
        ],
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["dead_lettered"] == 1 and answer.json()["held_through"] == 2
    assert _tickets(central) == {"t-2": 2**31 - 1}


def test_a_body_that_is_not_strict_json_is_refused_whole(central):
    headers = {"Authorization": f"Bearer {central.token}", "Content-Type": MEDIA}
    for body in (
        b'{"v": 1, "sede_id": "sede-sync", "hub_epoch": NaN, "events": []}',
        b'{"v": 1, "sede_id": "sede-sync", "hub_epoch": 1, "events": [}',
        b"\xff",
    ):
        answer = central.client.post("/api/v1/sync/push", content=body, headers=headers)
        assert answer.status_code == 422, body
    with central.connect() as conn:
        assert conn.execute(select(m.sync_inbox)).all() == []
