"""The hub's transactional outbox, its one owner: every record that must travel to central is
written here inside the caller's open transaction (a command's, with its audit row and stored
answer), read here by the sync agent in sequence order, and acknowledged here once central
holds it.

Delivery bookkeeping: ``sent_at`` per row and a watermark, ``hub_meta.outbox_sent_through``,
past the contiguous run of sent rows, so finding what is pending never rescans history (no
index on ``sent_at`` to keep the issuing transaction small).

Wire numbering: the hub sends outbox row ``seq`` as ``wire_seq = seq - wire_base`` in epoch
``wire_epoch``. Both start as (engine epoch, 0). When central reveals that this file is an
older backup, the agent opens a new epoch whose wire sequence restarts at 1 at the first
unacknowledged row: sequence numbers then never collide at central, and the events central
already had are recognised by their event id (docs/sync.md).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import uuid6

from hub.domain import central_records, store

_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=str)


def encode(value: Any) -> str:
    """Compact JSON as the outbox (and the engine's answers and audit rows) store it."""
    return _ENCODER.encode(value)


# ---------------------------------------------------------------------------- write


def write(
    conn: sqlite3.Connection,
    *,
    event_type: str,
    aggregate_type: str,
    aggregate_id: str,
    payload: Mapping[str, Any],
    at: str,
    sede_id: str | None = None,
    hub_epoch: int | None = None,
) -> int:
    """One outbox row in the caller's open transaction; returns its ``seq``. ``sede_id`` and
    ``hub_epoch`` are read from ``hub_meta`` unless the caller (the engine) knows them."""
    if sede_id is None or hub_epoch is None:
        meta = store.hub_meta(conn)
        sede_id, hub_epoch = meta["sede_id"], int(meta["hub_epoch"])
    cursor = conn.execute(
        "INSERT INTO outbox (event_id, sede_id, hub_epoch, event_type, aggregate_type, "
        "aggregate_id, payload, created_at) VALUES (?,?,?,?,?,?,?,?)",
        (
            str(uuid6.uuid7()),
            sede_id,
            hub_epoch,
            event_type,
            aggregate_type,
            aggregate_id,
            encode(payload),
            at,
        ),
    )
    return int(cursor.lastrowid or 0)


# ---------------------------------------------------------------------------- read


def sent_through(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT value FROM hub_meta WHERE key = 'outbox_sent_through'").fetchone()
    return int(row[0]) if row else 0


def last_seq(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT COALESCE(MAX(seq), 0) FROM outbox").fetchone()[0])


def backlog(conn: sqlite3.Connection) -> tuple[int, str | None]:
    """(unsent rows, creation time of the oldest)."""
    count, oldest = conn.execute(
        "SELECT COUNT(*), MIN(created_at) FROM outbox WHERE seq > ? AND sent_at IS NULL",
        (sent_through(conn),),
    ).fetchone()
    return int(count), oldest


def pending_rows(conn: sqlite3.Connection, limit: int = 500) -> list[dict[str, Any]]:
    """Unsent rows in sequence order, whole, with their payload parsed."""
    rows = conn.execute(
        "SELECT * FROM outbox WHERE seq > ? AND sent_at IS NULL ORDER BY seq LIMIT ?",
        (sent_through(conn), limit),
    ).fetchall()
    return [{**dict(r), "payload": json.loads(r["payload"])} for r in rows]


def wire_position(conn: sqlite3.Connection) -> tuple[int, int]:
    """(wire_epoch, wire_base): the epoch events travel in and the outbox seq before wire 1."""
    state = store.sync_state(conn)
    if "wire_epoch" in state:
        return int(state["wire_epoch"]), int(state["wire_base"])
    return int(store.hub_meta(conn)["hub_epoch"]), 0


def pending_events(
    conn: sqlite3.Connection, limit: int, *, after_wire: int = 0
) -> list[dict[str, Any]]:
    """Unacknowledged outbox rows in order (after wire seq ``after_wire``, i.e. beyond what is
    already in flight), as wire events of the current wire epoch."""
    _, base = wire_position(conn)
    start = max(sent_through(conn), base, base + after_wire)
    cursor = conn.cursor()
    cursor.row_factory = None  # plain tuples: thousands of rows per batch
    rows = cursor.execute(
        "SELECT seq, event_id, event_type, aggregate_type, aggregate_id, created_at, payload "
        "FROM outbox WHERE seq > ? AND sent_at IS NULL ORDER BY seq LIMIT ?",
        (start, limit),
    ).fetchall()
    return [
        {
            "seq": seq - base,
            "event_id": event_id,
            "event_type": event_type,
            "aggregate_type": aggregate_type,
            "aggregate_id": aggregate_id,
            "created_at": created_at,
            # kept as the stored JSON text: the agent splices it into the request unparsed
            "payload_json": payload,
        }
        for seq, event_id, event_type, aggregate_type, aggregate_id, created_at, payload in rows
    ]


# ---------------------------------------------------------------------------- acknowledge


def _set_sent_through(conn: sqlite3.Connection, through: int) -> None:
    store.set_hub_meta(conn, "outbox_sent_through", str(through))


def acknowledge(conn: sqlite3.Connection, *, wire_epoch: int, held_through: int) -> int:
    """Mark sent every row central holds (wire 1..held_through of ``wire_epoch``), in one
    transaction. Returns the number of rows newly marked. A stale answer for an epoch the hub
    has since left is ignored. Intake edits central has now arbitrated stop shadowing the
    versions pulled meanwhile (``central_records.settle_intakes``)."""
    store.begin_immediate(conn)
    try:
        epoch, base = wire_position(conn)
        if epoch != wire_epoch:
            conn.execute("ROLLBACK")
            return 0
        through = min(base + held_through, last_seq(conn))
        marked = conn.execute(
            "UPDATE outbox SET sent_at = ? WHERE seq > ? AND seq <= ? AND sent_at IS NULL",
            (store.now_iso(), max(base, sent_through(conn)), through),
        ).rowcount
        if through > sent_through(conn):
            _set_sent_through(conn, through)
        central_records.settle_intakes(conn, through)
        conn.execute("COMMIT")
        return marked
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def mark_sent(conn: sqlite3.Connection, seqs: Sequence[int], *, at: str) -> None:
    """Mark the given rows sent, in one transaction, and move the watermark past the
    contiguous run of sent rows (for a sender that acknowledges rows one by one)."""
    store.begin_immediate(conn)
    try:
        conn.executemany(
            "UPDATE outbox SET sent_at = ? WHERE seq = ? AND sent_at IS NULL",
            [(at, seq) for seq in seqs],
        )
        first_unsent = conn.execute(
            "SELECT MIN(seq) FROM outbox WHERE seq > ? AND sent_at IS NULL",
            (sent_through(conn),),
        ).fetchone()[0]
        if first_unsent is None:
            first_unsent = last_seq(conn) + 1
        _set_sent_through(conn, first_unsent - 1)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def rewind(conn: sqlite3.Connection, *, wire_epoch: int, held_through: int) -> int:
    """Central holds less than we believed (restored from an older backup): mark everything
    after ``held_through`` of this epoch unsent again so it is sent again."""
    store.begin_immediate(conn)
    try:
        epoch, base = wire_position(conn)
        if epoch != wire_epoch:
            conn.execute("ROLLBACK")
            return 0
        through = base + held_through
        count = conn.execute(
            "UPDATE outbox SET sent_at = NULL WHERE seq > ? AND sent_at IS NOT NULL", (through,)
        ).rowcount
        _set_sent_through(conn, through)
        conn.execute("COMMIT")
        return count
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def open_new_epoch(conn: sqlite3.Connection, *, left_epoch: int) -> int | None:
    """Leave ``left_epoch`` for a new, larger one starting at the first unacknowledged row.
    Returns the new epoch, or None when another agent already moved on."""
    store.begin_immediate(conn)
    try:
        epoch, _ = wire_position(conn)
        if epoch != left_epoch:
            conn.execute("ROLLBACK")
            return None
        new_epoch = max(int(datetime.now(UTC).timestamp() * 1000), epoch + 1)
        store.set_sync_state(conn, wire_epoch=new_epoch, wire_base=sent_through(conn))
        conn.execute("COMMIT")
        return new_epoch
    except BaseException:
        conn.execute("ROLLBACK")
        raise
