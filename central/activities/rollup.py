"""Keeps the daily roll-up of attentions (``activity_queue_day``: per sede, staff username and
business day) in step with the ticket events central receives from the hubs, inside the sync
apply transaction, so the supervision report only reads it.

Incremental and exact: a ticket's attentions depend on its own events only, so for the tickets
a batch touches (an event entering or leaving ``serving``) the roll-up receives their
contribution after the batch minus their contribution before it. Tickets seen for the first
time contribute nothing before. Concurrent batches of one sede are serialised by the sync
apply's sede lock, and a sede's rows are keyed by that sede, so the deltas never interleave.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

import orjson
from sqlalchemy import (
    Connection,
    Integer,
    String,
    and_,
    any_,
    bindparam,
    column,
    delete,
    or_,
    select,
    table,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY

from central.activities import sources
from central.activities.models import QueueDay
from sync.protocol.events import instant

sync_ticket = table(
    "sync_ticket",
    column("id", String),
    column("sede_id", String),
    column("business_date", String),
    column("revision", Integer),
)

Key = tuple[str, str, str]  # sede_id, day, username
SERVING = "serving"
CHUNK = 1000  # tickets per aggregate statement (bind parameters)

rollup = QueueDay.__table__  # type: ignore[attr-defined]


Event = tuple[str, str, str | None, str | None, str | None]  # at, id, from, to, username


def _username(value: Any) -> str | None:
    # as the SQL aggregate reads it (JSON text of the body's "username"), cut to the column
    if value is None:
        return None
    return (value if isinstance(value, str) else orjson.dumps(value).decode())[:64]


def _add_ticket(
    totals: dict[Key, list[float]], sede_id: str, day: str, events: list[Event]
) -> None:
    """One ticket's attentions, as ``sources.aggregate_attentions`` counts them: its events
    entering or leaving ``serving`` in (at, id) order; each one entering it opens a segment for
    its user that the next such event closes."""
    events = sorted(e for e in events if e[3] == SERVING or e[2] == SERVING)
    users: dict[str, list[float]] = {}
    for i, (at, _id, _from, to_status, username) in enumerate(events):
        if to_status != SERVING or username is None:
            continue
        mine = users.setdefault(username, [1, 0, 0.0])
        if i + 1 < len(events):
            try:
                seconds = (instant(events[i + 1][0]) - instant(at)).total_seconds()
            except ValueError:  # a stored time from before ``at`` was checked: not timed
                continue
            mine[1] = 1
            mine[2] += seconds
    for username, (attentions, timed, seconds) in users.items():
        total = totals[(sede_id, day, username)]
        total[0] += attentions
        total[1] += timed
        total[2] += seconds


def _among(conn: Connection, column: Any, values: list[str]) -> Any:
    # PostgreSQL: one array parameter rather than hundreds of bind parameters to render
    if conn.dialect.name == "postgresql":
        return column == any_(bindparam(None, values, type_=ARRAY(String)))
    return column.in_(values)


def _held(conn: Connection, ticket_ids: list[str]) -> dict[str, tuple[str, str, int]]:
    """The touched tickets central already holds: id -> (sede, business date, revision)."""
    t = sync_ticket
    found: dict[str, tuple[str, str, int]] = {}
    for start in range(0, len(ticket_ids), CHUNK):
        chunk = ticket_ids[start : start + CHUNK]
        for row in conn.execute(
            select(t.c.id, t.c.sede_id, t.c.business_date, t.c.revision).where(
                _among(conn, t.c.id, chunk)
            )
        ):
            found[row[0]] = (row[1], row[2], row[3])
    return found


def _held_events(conn: Connection, ticket_ids: list[str]) -> dict[str, list[Event]]:
    """Their stored events entering or leaving ``serving``."""
    e = sources.sync_ticket_event
    out: dict[str, list[Event]] = defaultdict(list)
    for start in range(0, len(ticket_ids), CHUNK):
        chunk = ticket_ids[start : start + CHUNK]
        for row in conn.execute(
            select(e.c.ticket_id, e.c.at, e.c.id, e.c.from_status, e.c.to_status, e.c.body).where(
                _among(conn, e.c.ticket_id, chunk),
                or_(e.c.to_status == SERVING, e.c.from_status == SERVING),
            )
        ):
            body = orjson.loads(row[5]) if row[5] else {}
            user = _username(body.get("username") if isinstance(body, dict) else None)
            out[row[0]].append((row[1], row[2], row[3], row[4], user))
    return out


def _add(conn: Connection, deltas: dict[Key, list[float]]) -> None:
    rows = [
        {
            "sede_id": sede_id,
            "day": day,
            "username": username,
            "attentions": int(delta[0]),
            "timed_attentions": int(delta[1]),
            "serving_seconds": float(delta[2]),
        }
        for (sede_id, day, username), delta in sorted(deltas.items())
        if any(delta)
    ]
    if not rows:
        return
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(rollup)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["sede_id", "day", "username"],
            set_={
                "attentions": rollup.c.attentions + stmt.excluded.attentions,
                "timed_attentions": rollup.c.timed_attentions + stmt.excluded.timed_attentions,
                "serving_seconds": rollup.c.serving_seconds + stmt.excluded.serving_seconds,
            },
        ),
        rows,
    )
    shrunk = [r for r in rows if r["attentions"] < 0]
    if shrunk:  # a ticket moved away from a row: drop rows left without attentions
        conn.execute(
            delete(rollup).where(
                rollup.c.attentions <= 0,
                or_(
                    *[
                        and_(
                            rollup.c.sede_id == r["sede_id"],
                            rollup.c.day == r["day"],
                            rollup.c.username == r["username"],
                        )
                        for r in shrunk
                    ]
                ),
            )
        )


def on_ticket_writes(conn: Connection, writes: Any) -> Callable[[], None] | None:
    """Sync apply hook (``central.sync.service.TicketWrites``): the roll-up receives, for each
    ticket with an event entering or leaving ``serving`` in the batch, its attentions after the
    batch minus those before. Computed here from the batch and the ticket's stored events (no
    aggregate query per batch); written right after the ticket rows, same transaction."""
    touched: dict[str, list[Event]] = defaultdict(list)
    for row, history in zip(writes.events, writes.histories, strict=True):
        if row["to_status"] == SERVING or row["from_status"] == SERVING:
            touched[row["ticket_id"]].append(
                (row["at"], row["id"], row["from_status"], row["to_status"],
                 _username(history.get("username")))
            )  # fmt: skip
    if not touched:
        return None
    incoming = {t["id"]: t for t in writes.tickets}
    ids = sorted(touched)
    if writes.held is not None:  # read by the apply path for all of the batch's tickets
        held = {i: writes.held[i] for i in ids if i in writes.held}
    else:
        held = _held(conn, ids)
    stored = _held_events(conn, [i for i in ids if i in held]) if held else {}
    deltas: dict[Key, list[float]] = defaultdict(lambda: [0, 0, 0.0])
    for ticket_id in ids:
        before = stored.get(ticket_id, [])
        known = {event[1] for event in before}
        after = list(before)
        for event in touched[ticket_id]:  # an event id already held is not written again
            if event[1] not in known:
                known.add(event[1])
                after.append(event)
        new = incoming.get(ticket_id)
        old = held.get(ticket_id)
        if old is not None:
            minus: dict[Key, list[float]] = defaultdict(lambda: [0, 0, 0.0])
            _add_ticket(minus, old[0], old[1], before)
            for key, value in minus.items():
                for i in range(3):
                    deltas[key][i] -= value[i]
        if old is not None and (new is None or new["revision"] <= old[2]):
            sede_id, day = old[0], old[1]  # the stored ticket row stays
        elif new is not None:
            sede_id, day = new["sede_id"], new["business_date"]
        else:
            continue  # events of a ticket central never received: not counted (as in SQL)
        _add_ticket(deltas, sede_id, day, after)

    def write() -> None:
        _add(conn, deltas)

    return write


def rebuild(conn: Connection, *, sede_ids: Iterable[str] | None = None) -> int:
    """Recompute the roll-up from every synced ticket event (of the given sedes, or all):
    for databases filled before the roll-up was kept incrementally, and as the reference the
    incremental path is tested against. Returns the number of rows written."""
    t = sources.sync_ticket
    stmt = select(t.c.sede_id).distinct()
    sedes = sorted(sede_ids) if sede_ids is not None else list(conn.execute(stmt).scalars())
    written = 0
    for sede_id in sedes:
        conn.execute(delete(rollup).where(rollup.c.sede_id == sede_id))
        rows = sources.aggregate_attentions(conn, sede_ids=[sede_id])
        if rows:
            conn.execute(rollup.insert(), rows)
        written += len(rows)
    return written


def install() -> None:
    """Register the hook with the sync apply path (idempotent)."""
    from central.sync import service

    if on_ticket_writes not in service.TICKET_HOOKS:
        service.TICKET_HOOKS.append(on_ticket_writes)
