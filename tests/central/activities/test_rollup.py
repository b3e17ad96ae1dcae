"""The daily roll-up of attentions is kept by the sync apply path, incrementally, and always
equals a full recomputation from the synced ticket events, however the events were batched,
re-sent or delayed; the supervision report only reads it."""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import event, select

from central.activities import rollup, service
from central.activities.models import QueueDay
from central.activities.schemas import GroupBy, SupervisionQuery
from central.auth.policy import EVERYWHERE
from contracts.sync import PushBatch

from .conftest import lima


def _rows(conn, sede_id):
    q = QueueDay.__table__.c
    return sorted(
        # seconds to the millisecond: SQLite's julianday arithmetic is not exact
        (r.day, r.username, r.attentions, r.timed_attentions, round(r.serving_seconds, 3))
        for r in conn.execute(select(QueueDay.__table__).where(q.sede_id == sede_id))
    )


def _push(engine, feed, sizes, *, resend_every=0):
    from central.sync.service import apply_batch

    pending, feed.events = feed.events, []
    start, sent = 0, 0
    while start < len(pending):
        size = sizes[sent % len(sizes)]
        batch = PushBatch(
            sede_id=feed.sede_id, hub_epoch=feed.epoch, events=pending[start : start + size]
        )
        for _ in range(2 if resend_every and sent % resend_every == 0 else 1):
            with engine.begin() as conn:  # a re-sent batch is all duplicates: nothing moves
                ack = apply_batch(conn, sede_id=feed.sede_id, batch=batch)
            assert ack.dead_lettered == 0
        start += size
        sent += 1


def test_incremental_rollup_equals_a_full_recomputation(engine, world, staff, hub_feed):
    rng = random.Random(7)
    feed = hub_feed(world.sede_a1)
    one, two = staff.defensor_a1.username, staff.defensor2_a1.username
    open_tickets = []
    for i in range(40):
        called = lima(2026, 5, 4 + i % 3, 9 + i % 7, (i * 7) % 60)
        kind = rng.choice(["finished", "finished", "transferred", "serving"])
        ticket = feed.attention(
            username=rng.choice([one, two]),
            counter_id="v1",
            called_at=called,
            minutes=rng.randint(1, 30),
            finish=kind,
            second_username=two if kind == "transferred" else None,
            second_minutes=rng.randint(1, 9),
        )
        if kind == "serving":
            open_tickets.append((ticket, called))
    _push(engine, feed, sizes=[1, 3, 7, 2, 11], resend_every=4)
    # attentions still open end later, in batches of their own
    for ticket, called in open_tickets:
        ended = called + timedelta(minutes=45)
        feed._event(
            "ticket.finished",
            "ticket",
            ticket,
            {
                "ticket": {"id": ticket, "sede_id": world.sede_a1,
                           "business_date": called.date().isoformat(),
                           "service_code": "orientacion", "number": "A900", "status": "done",
                           "revision": 20, "updated_at": ended.isoformat()},
                "event": {"id": f"late-{ticket}", "ticket_id": ticket, "event_type": "finished",
                          "from_status": "serving", "to_status": "done", "username": one,
                          "at": ended.isoformat()},
            },
        )  # fmt: skip
    _push(engine, feed, sizes=[2, 1])
    with engine.connect() as conn:
        incremental = _rows(conn, world.sede_a1)
        assert sum(r[2] for r in incremental) >= 40  # transfers count once per professional
        conn.rollback()
        with conn.begin() as transaction:
            rollup.rebuild(conn, sede_ids=[world.sede_a1])
            rebuilt = _rows(conn, world.sede_a1)
            transaction.rollback()
    assert incremental == rebuilt


def test_the_supervision_report_writes_nothing(engine, db, world, staff, hub_feed):
    feed = hub_feed(world.sede_a1)
    feed.attention(
        username=staff.defensor_a1.username, counter_id="v1", called_at=lima(2026, 5, 4), minutes=5
    )
    feed.push(engine)
    writes = []

    def spy(conn, cursor, statement, *args):  # noqa: ANN001
        if statement.lstrip().split()[0].upper() in {"INSERT", "UPDATE", "DELETE"}:
            writes.append(statement)

    event.listen(engine, "before_cursor_execute", spy)
    try:
        report = service.supervision_report(
            session=db,
            area=EVERYWHERE,
            query=SupervisionQuery(
                month_from="2026-05", sede_id=world.sede_a1, group_by=GroupBy.PROFESSIONAL
            ),
        )
    finally:
        event.remove(engine, "before_cursor_execute", spy)
        db.rollback()
    assert report.totals.attentions == 1
    assert writes == []


def test_a_ticket_event_without_a_readable_time_is_dead_lettered_not_blocking(
    engine, world, staff, hub_feed
):
    from central.sync.service import apply_batch

    feed = hub_feed(world.sede_a1)
    feed.attention(
        username=staff.defensor_a1.username, counter_id="v1", called_at=lima(2026, 5, 4), minutes=5
    )
    events = feed.events
    events[2].payload["event"]["at"] = "ayer a las 9"  # the start of the attention
    with engine.begin() as conn:
        ack = apply_batch(
            conn,
            sede_id=world.sede_a1,
            batch=PushBatch(sede_id=world.sede_a1, hub_epoch=1, events=events),
        )
    assert (ack.dead_lettered, ack.applied, ack.held_through) == (1, 3, 4)
    with engine.connect() as conn:
        assert _rows(conn, world.sede_a1) == []  # no attention without its start
