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


def _push(
    central, epoch: int, events: list[tuple[int, dict[str, Any]]], event_ids: list[str] = ()
) -> Any:
    ids = list(event_ids) or [str(uuid.uuid4()) for _ in events]
    body = {
        "v": 1,
        "sede_id": SEDE,
        "hub_epoch": epoch,
        "events": [
            {
                "seq": seq,
                "event_id": event_id,
                "event_type": "ticket." + payload["event"]["event_type"],
                "aggregate_type": "ticket",
                "aggregate_id": payload["ticket"]["id"],
                "created_at": "2026-11-27T09:00:00+00:00",
                "payload": payload,
            }
            for (seq, payload), event_id in zip(events, ids, strict=True)
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


def test_a_revision_that_only_coerces_to_an_integer_is_dead_lettered_not_blocking(central):
    """3.0 or "3" pass a lax integer check but are not what a hub writes, and COPY would refuse
    them in the integer column on every retry: they are poison, the rest of the batch goes in."""
    odd = [_ticket_event(f"t-{n}", 1, f"h-{n}", "waiting") for n in range(3)]
    odd[0]["ticket"]["revision"] = 3.0
    odd[1]["ticket"]["revision"] = "3"
    answer = _push(central, 7, [(1, odd[0]), (2, odd[1]), (3, odd[2])])
    assert answer.status_code == 200, answer.text
    assert answer.json()["dead_lettered"] == 2 and answer.json()["held_through"] == 3
    assert _tickets(central) == {"t-2": 1}
    again = _push(central, 7, [(4, _ticket_event("t-4", 1, "h-4", "waiting"))])
    assert again.status_code == 200 and again.json()["held_through"] == 4


def test_one_event_id_under_two_seqs_of_a_batch_is_applied_once(central):
    event = _ticket_event("t-1", 1, "h-1", "waiting")
    answer = _push(
        central,
        7,
        [(1, event), (2, event), (3, _ticket_event("t-2", 1, "h-2", "waiting"))],
        event_ids=["e-1", "e-1", "e-2"],
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["held_through"], body["applied"], body["duplicates"]) == (3, 2, 1)
    assert _event_ids(central) == ["h-1", "h-2"]
    assert _tickets(central) == {"t-1": 1, "t-2": 1}


def test_an_event_id_applied_in_an_earlier_batch_is_a_duplicate_not_an_error(central):
    """A hub restored over its own outbox re-sends an applied event under a later seq."""
    event = _ticket_event("t-1", 1, "h-1", "waiting")
    first = _push(central, 7, [(1, event)], event_ids=["e-1"])
    assert first.status_code == 200 and first.json()["applied"] == 1
    again = _push(
        central,
        7,
        [(2, event), (3, _ticket_event("t-2", 1, "h-2", "waiting"))],
        event_ids=["e-1", "e-2"],
    )
    assert again.status_code == 200, again.text
    body = again.json()
    assert (body["held_through"], body["applied"], body["duplicates"]) == (3, 1, 1)
    assert _event_ids(central) == ["h-1", "h-2"]
    with central.connect() as conn:
        statuses = dict(conn.execute(select(m.sync_inbox.c.seq, m.sync_inbox.c.status)).all())
    assert statuses == {1: "applied", 2: "duplicate", 3: "applied"}


def test_an_event_id_applied_under_an_earlier_epoch_is_a_duplicate_not_an_error(central):
    """A hub restored from a backup starts a new epoch and re-sends what central applied."""
    event = _ticket_event("t-1", 1, "h-1", "waiting")
    first = _push(central, 7, [(1, event)], event_ids=["e-1"])
    assert first.status_code == 200 and first.json()["applied"] == 1
    for _attempt in range(2):  # the retry of the new epoch's batch is idempotent too
        again = _push(
            central,
            8,
            [(1, event), (2, _ticket_event("t-2", 1, "h-2", "waiting"))],
            event_ids=["e-1", "e-2"],
        )
        assert again.status_code == 200, again.text
        assert again.json()["held_through"] == 2
    assert _event_ids(central) == ["h-1", "h-2"]
    assert _tickets(central) == {"t-1": 1, "t-2": 1}
    with central.connect() as conn:
        slots = conn.execute(
            select(m.sync_inbox.c.hub_epoch, m.sync_inbox.c.seq, m.sync_inbox.c.status)
        ).all()
    assert sorted(slots) == [(7, 1, "applied"), (8, 1, "duplicate"), (8, 2, "applied")]
