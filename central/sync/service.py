"""Central's sync rules: apply a hub's batch idempotently, keep the change log, serve pages,
arbitrate case intakes, and report per-sede status.

Services take a SQLAlchemy ``Connection`` inside a transaction opened by the caller (one
request = one transaction) and never commit. Writes of one batch are bulk statements: the
inbox slots, the effects and the epoch's acknowledgement all commit together or not at all.
"""

from __future__ import annotations

import hashlib
import json
import logging
import operator
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import psycopg
import uuid6
from pydantic import ValidationError
from sqlalchemy import Connection, and_, func, or_, select, text
from sqlalchemy.dialects import postgresql, sqlite

from central.sync import models as m
from contracts.sync import (
    Change,
    PullPage,
    PushAck,
    PushBatch,
    RecordType,
    SyncEvent,
    software_release,
)
from sync.protocol.ack import contiguous_through
from sync.protocol.cursor import START, Cursor, row_check
from sync.protocol.events import certainly_valid, instant, validate_payload
from sync.protocol.fingerprint import canonical, fingerprint
from sync.protocol.records import (
    INTAKE_FIELDS,
    arbitrate_site_edit,
    check_central_edit,
    forward_status,
)

log = logging.getLogger(__name__)

SILENT_AFTER = timedelta(minutes=30)
# a hub clock this far from central's is flagged (appointments, business day, audit times)
CLOCK_OFF_AFTER_S = 120


@dataclass(frozen=True)
class TicketWrites:
    """The ticket rows a batch is about to write: ``tickets`` (upserted, newest revision wins),
    ``events`` (inserted unless their id is held) and each event's payload as the hub sent it
    (``histories``, parallel to ``events``)."""

    tickets: list[dict[str, Any]]
    events: list[dict[str, Any]]
    histories: list[dict[str, Any]]
    # the batch's tickets central already holds, read in this transaction before the writes:
    # id -> (sede_id, business_date, revision); tickets absent here are new to central
    held: Mapping[str, tuple[str, str, int]] | None = None


# Figures other modules derive from the synced tickets, kept in the apply transaction: a hook
# sees the writes before they happen and returns what to run right after them (or None).
# Registered by those modules (central.activities.rollup.install).
TicketHook = Callable[[Connection, TicketWrites], Callable[[], None] | None]
TICKET_HOOKS: list[TicketHook] = []


class EpochConflictError(Exception):
    def __init__(self, hub_epoch: int, held_through: int, seq: int) -> None:
        super().__init__(f"epoch {hub_epoch}: slot {seq} already holds another event")
        self.hub_epoch = hub_epoch
        self.held_through = held_through
        self.seq = seq


class RevisionMismatch(Exception):
    """A central edit was based on an older revision than the current one."""


def _now() -> datetime:
    return datetime.now(UTC)


def _dumps(value: Any) -> str:
    return orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS).decode()


def _storable(text: str) -> str:
    """A serialised body PostgreSQL can store: NUL is refused by its text type, so an event
    carrying one is poison (dead-lettered) rather than a batch that fails forever."""
    if "\\u0000" in text:
        raise ValueError("el evento contiene un carácter NUL")
    return text


def _insert(conn: Connection, table: Any) -> Any:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def _pg_copy(cursor: Any, target: str, columns: list[str], rows: list[dict[str, Any]]) -> None:
    """COPY the rows into ``target``: psycopg formats each row in C and the server parses the
    COPY text stream far more cheaply than JSON or per-column arrays built in Python."""
    pick = operator.itemgetter(*columns)
    names = ", ".join(f'"{c}"' for c in columns)
    with cursor.copy(f"COPY {target} ({names}) FROM STDIN") as copy:
        if len(columns) == 1:
            for row in rows:
                copy.write_row((pick(row),))
        else:
            for row in rows:
                copy.write_row(pick(row))


def _pg_bulk(
    conn: Connection,
    table: Any,
    rows: list[dict[str, Any]],
    *,
    keys: list[str] | None = None,
    newer_only: bool = False,
) -> None:
    """Bulk write on PostgreSQL with COPY: straight into the table for a plain insert; with
    ``keys``, into a session-local staging table (``LIKE`` the target, emptied at commit) and
    then one INSERT ... SELECT ... ON CONFLICT DO NOTHING, or with ``newer_only`` DO UPDATE when
    the incoming revision is newer. Rows must not repeat a key when ``newer_only`` (callers keep
    the newest per key). Table and column names come from the table definitions, never from
    input."""
    columns = list(rows[0])
    raw = conn.connection.dbapi_connection
    with raw.cursor() as cursor:  # type: ignore[union-attr]
        if not keys:
            _pg_copy(cursor, table.name, columns, rows)
            return
        stage = f"sync_stage_{table.name}"
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {stage} "
            f"(LIKE {table.name} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
        )
        _pg_copy(cursor, stage, columns, rows)
        names = ", ".join(f'"{c}"' for c in columns)
        conflict = ", ".join(keys)
        # the staging rows are consumed by the same statement (DELETE ... RETURNING)
        sql = (
            f"WITH staged AS (DELETE FROM {stage} RETURNING {names}) "  # noqa: S608
            f"INSERT INTO {table.name} ({names}) SELECT {names} FROM staged"
        )
        if newer_only:
            updates = ", ".join(f'"{c}" = EXCLUDED."{c}"' for c in columns if c not in keys)
            sql += (
                f" ON CONFLICT ({conflict}) DO UPDATE SET {updates}"
                f" WHERE {table.name}.revision < EXCLUDED.revision"
            )
        else:
            sql += f" ON CONFLICT ({conflict}) DO NOTHING"
        cursor.execute(sql)


def _pg_copy_fresh(conn: Connection, writes: list[tuple[Any, list[dict[str, Any]]]]) -> bool:
    """COPY rows whose keys are expected to be new straight into their tables (no staging),
    all in one savepoint. True when written; False, with nothing written, when a key turned
    out to be held (unique violation): the caller then takes the staging path with ON
    CONFLICT for all of them."""
    raw = conn.connection.dbapi_connection
    with raw.cursor() as cursor:  # type: ignore[union-attr]
        cursor.execute("SAVEPOINT sync_copy_fresh")
        try:
            for table, rows in writes:
                if rows:
                    _pg_copy(cursor, table.name, list(rows[0]), rows)
        except psycopg.errors.UniqueViolation:
            cursor.execute("ROLLBACK TO SAVEPOINT sync_copy_fresh")
            return False
        cursor.execute("RELEASE SAVEPOINT sync_copy_fresh")
    return True


def bulk_insert(conn: Connection, table: Any, rows: list[dict[str, Any]]) -> None:
    """Plain batched insert (fresh inbox slots, dead letters)."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        _pg_bulk(conn, table, rows)
    else:
        conn.execute(table.insert(), rows)


def _upsert_newer(
    conn: Connection, table: Any, rows: list[dict[str, Any]], keys: list[str]
) -> None:
    """Insert rows, or replace the stored one when the incoming revision is newer."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        _pg_bulk(conn, table, rows, keys=keys, newer_only=True)
        return
    stmt = _insert(conn, table)
    stmt = stmt.on_conflict_do_update(
        index_elements=keys,
        set_={c: stmt.excluded[c] for c in rows[0] if c not in keys},
        where=table.c.revision < stmt.excluded.revision,
    )
    conn.execute(stmt, rows)


def _insert_ignore(conn: Connection, table: Any, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    if conn.dialect.name == "postgresql" and len(rows) > 1:
        _pg_bulk(conn, table, rows, keys=[c.name for c in table.primary_key.columns])
        return
    conn.execute(_insert(conn, table).on_conflict_do_nothing(), rows)


def _held_tickets(conn: Connection, ticket_ids: list[str]) -> dict[str, tuple[str, str, int]]:
    """Which of these tickets central holds: id -> (sede_id, business_date, revision)."""
    t = m.sync_ticket
    found: dict[str, tuple[str, str, int]] = {}
    if conn.dialect.name == "postgresql":
        # one array parameter instead of thousands of bind parameters
        raw = conn.connection.dbapi_connection
        with raw.cursor() as cursor:  # type: ignore[union-attr]
            cursor.execute(
                "SELECT id, sede_id, business_date, revision FROM sync_ticket "
                "WHERE id = ANY(%b::text[])",
                (ticket_ids,),
            )
            for row in cursor.fetchall():
                found[row[0]] = (row[1], row[2], row[3])
        return found
    for start in range(0, len(ticket_ids), 500):
        chunk = ticket_ids[start : start + 500]
        for row in conn.execute(
            select(t.c.id, t.c.sede_id, t.c.business_date, t.c.revision).where(t.c.id.in_(chunk))
        ):
            found[row[0]] = (row[1], row[2], row[3])
    return found


def _write_tickets(
    conn: Connection,
    tickets: list[dict[str, Any]],
    events: list[dict[str, Any]],
    held: Mapping[str, tuple[str, str, int]],
) -> None:
    """Ticket rows (newest revision wins) and ticket event rows (insert-or-ignore). On
    PostgreSQL the rows expected to be new go straight in by COPY: the tickets central did not
    hold (``held``, read earlier in this transaction) and the events (one is held only if the
    hub re-sent it under another event id). Should any of them turn out to be held, none is
    kept and all take the staging path with ON CONFLICT. A held ticket whose stored revision
    is already as new is left out (revisions only grow, so the upsert would not touch it)."""
    if conn.dialect.name != "postgresql":
        _upsert_newer(conn, m.sync_ticket, tickets, ["id"])
        _insert_ignore(conn, m.sync_ticket_event, events)
        return
    fresh = [r for r in tickets if r["id"] not in held]
    known = [r for r in tickets if r["id"] in held and r["revision"] > held[r["id"]][2]]
    if (fresh or events) and not _pg_copy_fresh(
        conn, [(m.sync_ticket, fresh), (m.sync_ticket_event, events)]
    ):
        _upsert_newer(conn, m.sync_ticket, known + fresh, ["id"])
        _insert_ignore(conn, m.sync_ticket_event, events)
        return
    _upsert_newer(conn, m.sync_ticket, known, ["id"])


def _lock_sede(conn: Connection, sede_id: str) -> Mapping[str, Any]:
    """The sede's sync state row, locked for this transaction (serialises two agents of the
    same hub; SQLite already serialises writers with BEGIN IMMEDIATE). Created on first
    contact; read first, so a known sede costs one statement."""
    stmt = select(m.sync_sede_state).where(m.sync_sede_state.c.sede_id == sede_id)
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    row = conn.execute(stmt).mappings().first()
    if row is None:
        _insert_ignore(conn, m.sync_sede_state, [{"sede_id": sede_id}])
        row = conn.execute(stmt).mappings().one()
    return row


# ---------------------------------------------------------------------------- push


@dataclass
class _Counts:
    applied: int = 0
    duplicates: int = 0
    dead: int = 0
    conflicts: int = 0


@dataclass(frozen=True)
class PreparedBatch:
    """A batch worked out before its transaction takes the sede's lock (``prepare_batch``):
    its events (one per seq, in order) and the effects of all of them, every one validated.
    Used as is when all of them turn out to be new, which is the rule; otherwise the effects
    of the new ones are worked out again under the lock."""

    batch: PushBatch
    sede_id: str
    events: list[SyncEvent]
    now: datetime
    nul_free: bool
    effects: _Effects


def prepare_batch(*, sede_id: str, batch: PushBatch, nul_free: bool = False) -> PreparedBatch:
    """The pure part of applying ``batch`` (validation, rows, serialised bodies): no database,
    so a second batch is worked out while the first one's statements run (another agent of
    the hub, or the agent's next request in flight), instead of after them, behind the lock."""
    now = _now()
    events = _unique_by_seq(batch.events)
    effects = _collect_effects(
        sede_id=sede_id, epoch=batch.hub_epoch, events=events, now=now, nul_free=nul_free
    )
    return PreparedBatch(batch, sede_id, events, now, nul_free, effects)


def apply_batch(
    conn: Connection,
    *,
    sede_id: str,
    batch: PushBatch,
    nul_free: bool = False,
    prepared: PreparedBatch | None = None,
) -> PushAck:
    """Apply a hub's batch exactly once and answer with the contiguous acknowledgement.
    ``nul_free``: the caller saw no ``\\u0000`` escape anywhere in the batch as received (one
    search over the request body), so no stored text needs checking for NUL event by event.
    ``prepared``: ``prepare_batch`` of this very batch, done before the transaction."""
    if prepared is None or prepared.batch is not batch or prepared.sede_id != sede_id:
        prepared = prepare_batch(sede_id=sede_id, batch=batch, nul_free=nul_free)
    nul_free = prepared.nul_free
    now = prepared.now
    sede = _lock_sede(conn, sede_id)
    epoch = batch.hub_epoch
    position = select(m.sync_epoch.c.held_through, m.sync_epoch.c.max_seq).where(
        m.sync_epoch.c.sede_id == sede_id, m.sync_epoch.c.hub_epoch == epoch
    )
    found = conn.execute(position).first()
    if found is None:  # first batch of this epoch (the sede lock serialises its creation)
        _insert_ignore(
            conn,
            m.sync_epoch,
            [
                {
                    "sede_id": sede_id,
                    "hub_epoch": epoch,
                    "held_through": 0,
                    "max_seq": 0,
                    "first_contact_at": now,
                    "last_contact_at": now,
                }
            ],
        )
        found = conn.execute(position).one()
    held, max_seq = found
    counts = _Counts()
    events = prepared.events
    new_slots: list[dict[str, Any]] = []
    if events:
        low, high = events[0].seq, events[-1].seq
        existing, known = _slots_and_held_ids(
            conn, sede_id, epoch, low, high, [e.event_id for e in events]
        )
        fresh: list[SyncEvent] = []
        for event in events:
            held_id = existing.get(event.seq)
            if held_id is None:
                fresh.append(event)
            elif held_id == event.event_id:
                counts.duplicates += 1
            else:
                raise EpochConflictError(epoch, held, event.seq)
        to_apply: list[SyncEvent] = []
        for event in fresh:
            # an event id met again, at central or earlier in this very batch (under another
            # seq: a hub restored over its own outbox), is the same event: applied once
            status = "duplicate" if event.event_id in known else "applied"
            if status == "duplicate":
                counts.duplicates += 1
            else:
                to_apply.append(event)
                known.add(event.event_id)
            new_slots.append(
                {
                    "sede_id": sede_id,
                    "hub_epoch": epoch,
                    "seq": event.seq,
                    "event_id": event.event_id,
                    "status": status,
                    "received_at": now,
                }
            )
        if len(to_apply) == len(events):  # all new: the effects worked out beforehand
            effects = prepared.effects
        else:
            effects = _collect_effects(
                sede_id=sede_id, epoch=epoch, events=to_apply, now=now, nul_free=nul_free
            )
        dead_ids = _write_effects(
            conn, sede_id=sede_id, effects=effects, applied=len(to_apply), now=now, counts=counts
        )
        for slot in new_slots:
            if slot["event_id"] in dead_ids:
                slot["status"] = "dead"
        bulk_insert(conn, m.sync_inbox, new_slots)
        seqs = [s["seq"] for s in new_slots]
        if seqs and seqs == list(range(held + 1, held + 1 + len(seqs))):
            held_new = held + len(seqs)
            held_new = _walk(conn, sede_id, epoch, held_new) if max_seq > held_new else held_new
        else:
            held_new = _walk(conn, sede_id, epoch, held)
        held = held_new
        max_seq = max(max_seq, high)
    conn.execute(
        m.sync_epoch.update()
        .where(m.sync_epoch.c.sede_id == sede_id, m.sync_epoch.c.hub_epoch == epoch)
        .values(held_through=held, max_seq=max_seq, last_contact_at=now)
    )
    health = batch.health
    values: dict[str, Any] = {
        "current_epoch": max(epoch, sede["current_epoch"] or 0),
        "last_contact_at": now,
        "last_push_at": now,
        "backlog": health.backlog,
        "health": _dumps(health.model_dump(mode="json")),
        "events_total": (sede["events_total"] or 0) + counts.applied,
    }
    if counts.applied:
        values["last_applied_at"] = now
        values["last_event_created_at"] = max(e.created_at for e in events).isoformat()
    conn.execute(
        m.sync_sede_state.update().where(m.sync_sede_state.c.sede_id == sede_id).values(**values)
    )
    return PushAck(
        hub_epoch=epoch,
        held_through=held,
        applied=counts.applied,
        duplicates=counts.duplicates,
        dead_lettered=counts.dead,
        conflicts=counts.conflicts,
    )


def _slots_and_held_ids(
    conn: Connection, sede_id: str, epoch: int, low: int, high: int, event_ids: list[str]
) -> tuple[dict[int, str], set[str]]:
    """The epoch's slots already held in ``low..high`` (seq -> event id), and which of these
    event ids central already holds under any slot (not as a duplicate). One statement on
    PostgreSQL."""
    if conn.dialect.name == "postgresql":
        # one array parameter instead of thousands of bind parameters
        raw = conn.connection.dbapi_connection
        with raw.cursor() as cursor:  # type: ignore[union-attr]
            cursor.execute(
                "SELECT seq, event_id FROM sync_inbox WHERE sede_id = %s AND hub_epoch = %s "
                "AND seq BETWEEN %s AND %s UNION ALL "
                "SELECT NULL, event_id FROM sync_inbox WHERE event_id = ANY(%b::text[]) "
                "AND status <> 'duplicate'",
                (sede_id, epoch, low, high, event_ids),
            )
            existing: dict[int, str] = {}
            known: set[str] = set()
            for seq, event_id in cursor.fetchall():
                if seq is None:
                    known.add(event_id)
                else:
                    existing[seq] = event_id
            return existing, known
    existing = dict(
        conn.execute(
            select(m.sync_inbox.c.seq, m.sync_inbox.c.event_id).where(
                m.sync_inbox.c.sede_id == sede_id,
                m.sync_inbox.c.hub_epoch == epoch,
                m.sync_inbox.c.seq.between(low, high),
            )
        ).all()
    )
    known = set()
    for start in range(0, len(event_ids), 500):
        known.update(
            conn.execute(
                select(m.sync_inbox.c.event_id).where(
                    m.sync_inbox.c.event_id.in_(event_ids[start : start + 500]),
                    m.sync_inbox.c.status != "duplicate",
                )
            ).scalars()
        )
    return existing, known


def _unique_by_seq(events: list[SyncEvent]) -> list[SyncEvent]:
    by_seq: dict[int, SyncEvent] = {}
    for event in events:
        by_seq.setdefault(event.seq, event)
    return [by_seq[s] for s in sorted(by_seq)]


def _walk(conn: Connection, sede_id: str, epoch: int, held: int) -> int:
    """Contiguous acknowledgement from the stored slots (after out-of-order arrivals)."""
    while True:
        seqs = list(
            conn.execute(
                select(m.sync_inbox.c.seq)
                .where(
                    m.sync_inbox.c.sede_id == sede_id,
                    m.sync_inbox.c.hub_epoch == epoch,
                    m.sync_inbox.c.seq > held,
                )
                .order_by(m.sync_inbox.c.seq)
                .limit(5000)
            ).scalars()
        )
        advanced = contiguous_through(held, seqs)
        if advanced == held or advanced < held + len(seqs):
            return advanced
        held = advanced


@dataclass
class _Effects:
    """What a batch's events do, worked out from the events alone (no database): the rows to
    write (newest revision per record), the intakes to arbitrate, the appointments checked
    in, and the poison events' dead letters."""

    tickets: dict[str, dict[str, Any]]
    ticket_events: list[dict[str, Any]]
    histories: list[dict[str, Any]]
    sessions: dict[str, dict[str, Any]]
    pauses: dict[str, dict[str, Any]]
    counters: dict[str, dict[str, Any]]
    site_events: list[dict[str, Any]]
    appointments: list[Mapping[str, Any]]
    intakes: list[tuple[SyncEvent, Any]]
    dead: list[dict[str, Any]]


def _collect_effects(
    *, sede_id: str, epoch: int, events: list[SyncEvent], now: datetime, nul_free: bool
) -> _Effects:
    """Validate every event and build the rows its effects write (pure: no database)."""

    def checked(value: Any) -> str:
        return _storable(_dumps(value))

    body = _dumps if nul_free else checked

    tickets: dict[str, dict[str, Any]] = {}
    ticket_events: list[dict[str, Any]] = []
    histories: list[dict[str, Any]] = []
    sessions: dict[str, dict[str, Any]] = {}
    pauses: dict[str, dict[str, Any]] = {}
    counters: dict[str, dict[str, Any]] = {}
    site_events: list[dict[str, Any]] = []
    appointments: list[Mapping[str, Any]] = []
    intakes: list[tuple[SyncEvent, Any]] = []
    dead: list[dict[str, Any]] = []

    def keep_newer(bucket: dict[str, dict[str, Any]], key: str, row: dict[str, Any]) -> None:
        old = bucket.get(key)
        if old is None or old["revision"] < row["revision"]:
            bucket[key] = row

    for event in events:
        try:
            if event.oversized:
                raise ValueError("evento demasiado grande para el lote")
            if event.payload is not None and not isinstance(event.payload, dict):
                raise ValueError("el contenido del evento debe ser un objeto JSON")
            kind = event.aggregate_type
            if certainly_valid(kind, event.payload):
                parsed = None
            else:
                parsed = validate_payload(kind, event.payload)
            payload = event.payload or {}
            if kind == "ticket":
                record, history = payload["ticket"], payload["event"]
                if record.get("sede_id") != sede_id:
                    raise ValueError("el turno pertenece a otra sede")
                instant(history["at"])  # figures derived from the history compute with it
                # a batch carries the ticket's record with each of its events: serialise only
                # the one kept (the newest), unless every one must be checked for NUL
                ticket_body = record if nul_free else body(record)
                event_body = body(history)
                keep_newer(
                    tickets,
                    record["id"],
                    {
                        "id": record["id"],
                        "sede_id": sede_id,
                        "business_date": record["business_date"],
                        "service_code": record["service_code"],
                        "number": record["number"],
                        "status": record["status"],
                        "counter_id": record.get("counter_id"),
                        "revision": record["revision"],
                        "updated_at": record["updated_at"],
                        "body": ticket_body,
                        "received_at": now,
                    },
                )
                ticket_events.append(
                    {
                        "id": history["id"],
                        "ticket_id": history["ticket_id"],
                        "sede_id": sede_id,
                        "event_type": history["event_type"],
                        "from_status": history.get("from_status"),
                        "to_status": history["to_status"],
                        "at": history["at"],
                        "body": event_body,
                    }
                )
                histories.append(history)
            elif kind == "counter_session":
                keep_newer(
                    sessions,
                    payload["id"],
                    {
                        "id": payload["id"],
                        "sede_id": sede_id,
                        "counter_id": payload["counter_id"],
                        "username": payload["username"],
                        "signed_in_at": payload["signed_in_at"],
                        "signed_out_at": payload.get("signed_out_at"),
                        "revision": payload["revision"],
                        "updated_at": payload["updated_at"],
                        "body": body(payload),
                    },
                )
            elif kind == "counter_pause":
                keep_newer(
                    pauses,
                    payload["id"],
                    {
                        "id": payload["id"],
                        "sede_id": sede_id,
                        "counter_id": payload["counter_id"],
                        "reason": payload["reason"],
                        "started_at": payload["started_at"],
                        "ended_at": payload.get("ended_at"),
                        "revision": payload["revision"],
                        "updated_at": payload["updated_at"],
                        "body": body(payload),
                    },
                )
            elif kind == "counter":
                keep_newer(
                    counters,
                    payload["counter_id"],
                    {
                        "sede_id": sede_id,
                        "counter_id": payload["counter_id"],
                        "status": payload["status"],
                        "username": payload.get("username"),
                        "revision": payload["revision"],
                        "updated_at": payload["updated_at"],
                        "body": body(payload),
                    },
                )
            elif kind == "case_intake":
                if parsed.intake.sede_id != sede_id:  # type: ignore[union-attr]
                    raise ValueError("la ficha pertenece a otra sede")
                _storable(_dumps(payload))
                intakes.append((event, parsed))
            else:
                site_events.append(
                    {
                        "event_id": event.event_id,
                        "sede_id": sede_id,
                        "event_type": event.event_type,
                        "aggregate_type": event.aggregate_type,
                        "aggregate_id": event.aggregate_id,
                        "created_at": event.created_at.isoformat(),
                        "payload": body(payload),
                    }
                )
                if kind == "appointment":
                    appointments.append(payload)
        except (ValidationError, ValueError, KeyError, TypeError) as exc:
            dead.append(
                {
                    "sede_id": sede_id,
                    "hub_epoch": epoch,
                    "seq": event.seq,
                    "event_id": event.event_id,
                    "event_type": event.event_type,
                    "payload": _dumps(event.payload) if event.payload is not None else None,
                    "error": _describe(exc),
                    "received_at": now,
                }
            )
    if nul_free:
        for row in tickets.values():
            row["body"] = _dumps(row["body"])
    return _Effects(
        tickets,
        ticket_events,
        histories,
        sessions,
        pauses,
        counters,
        site_events,
        appointments,
        intakes,
        dead,
    )


def _write_effects(
    conn: Connection,
    *,
    sede_id: str,
    effects: _Effects,
    applied: int,
    now: datetime,
    counts: _Counts,
) -> set[str]:
    """Write the effects of the ``applied`` events in bulk; return the ids of poison events
    (dead-lettered)."""
    tickets, ticket_events, dead = effects.tickets, effects.ticket_events, effects.dead
    for payload in effects.appointments:
        _appointment_checked_in(conn, sede_id=sede_id, payload=payload, now=now)
    # modules keeping figures derived from ticket events look before and after the writes
    held = _held_tickets(conn, list(tickets)) if tickets else {}
    writes = TicketWrites(list(tickets.values()), ticket_events, effects.histories, held)
    finishers = [f for hook in TICKET_HOOKS if (f := hook(conn, writes)) is not None]
    _write_tickets(conn, writes.tickets, ticket_events, held)
    for finish in finishers:
        finish()
    _upsert_newer(conn, m.sync_counter_session, list(effects.sessions.values()), ["id"])
    _upsert_newer(conn, m.sync_counter_pause, list(effects.pauses.values()), ["id"])
    _upsert_newer(
        conn, m.sync_counter_state, list(effects.counters.values()), ["sede_id", "counter_id"]
    )
    _insert_ignore(conn, m.sync_site_event, effects.site_events)
    for event, parsed in effects.intakes:
        counts.conflicts += _apply_site_intake(
            conn, sede_id=sede_id, event=event, parsed=parsed, now=now
        )
    if dead:
        conn.execute(m.sync_dead_letter.insert(), dead)
        for row in dead:
            log.warning(
                "sync event dead-lettered",
                extra={"sede": sede_id, "seq": row["seq"], "event_type": row["event_type"]},
            )
    counts.dead += len(dead)
    counts.applied += applied - len(dead)
    return {row["event_id"] for row in dead}


def _describe(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(
            f"{'.'.join(str(x) for x in e['loc'])}: {e['msg']}" for e in exc.errors()[:5]
        )
    return f"{type(exc).__name__}: {exc}"[:500]


def _appointment_checked_in(
    conn: Connection, *, sede_id: str, payload: Mapping[str, Any], now: datetime
) -> None:
    """The sede owns an appointment's status once the citizen arrives (forward only)."""
    if payload.get("status") != "checked_in" or not payload.get("id"):
        return
    conn.execute(
        m.sync_appointment.update()
        .where(
            m.sync_appointment.c.id == payload["id"],
            m.sync_appointment.c.sede_id == sede_id,
            m.sync_appointment.c.status == "pending",
        )
        .values(status="checked_in", updated_at=now)
    )


# ---------------------------------------------------------------------------- case intakes


def _intake_row(conn: Connection, intake_id: str) -> dict[str, Any] | None:
    row = (
        conn.execute(select(m.sync_case_intake).where(m.sync_case_intake.c.id == intake_id))
        .mappings()
        .first()
    )
    return dict(row) if row else None


def intake_body(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "sede_id": row["sede_id"],
        **{k: row[k] for k in INTAKE_FIELDS},
        "deleted": bool(row["deleted"]),
        "has_conflict": bool(row["has_conflict"]),
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


def _apply_site_intake(
    conn: Connection, *, sede_id: str, event: SyncEvent, parsed: Any, now: datetime
) -> int:
    incoming = parsed.intake.model_dump()
    current = _intake_row(conn, incoming["id"])
    decision = arbitrate_site_edit(
        central=current, incoming=incoming, base_revision=parsed.base_revision
    )
    if decision.outcome == "noop":
        return 0
    kept = decision.current or {}
    revision = (current["revision"] if current else 0) + 1
    conflict = decision.outcome == "conflict"
    row = {
        "id": incoming["id"],
        "sede_id": sede_id,
        **{k: kept.get(k) for k in INTAKE_FIELDS},
        "deleted": bool(kept.get("deleted")),
        "has_conflict": conflict or bool(current and current["has_conflict"]),
        "revision": revision,
        "created_at": (current or incoming)["created_at"],
        "updated_at": incoming["updated_at"] if not conflict else now.isoformat(),
        "updated_by": f"sede:{sede_id}",
    }
    if current is None:
        conn.execute(m.sync_case_intake.insert().values(**row))
    else:
        conn.execute(
            m.sync_case_intake.update().where(m.sync_case_intake.c.id == row["id"]).values(**row)
        )
    if conflict:
        losing = decision.losing or {}
        other_side = (
            "site"
            if losing.get("deleted") == incoming["deleted"]
            and all(losing.get(k) == incoming.get(k) for k in INTAKE_FIELDS)
            else "central"
        )
        conn.execute(
            m.sync_conflict.insert().values(
                id=str(uuid6.uuid7()),
                sede_id=sede_id,
                record_type=RecordType.CASE_INTAKE,
                record_id=row["id"],
                kind=decision.conflict_kind,
                current_version=_dumps(intake_body(row)),
                other_version=_dumps(losing),
                other_side=other_side,
                site_event_id=event.event_id,
                status="open",
                created_at=now,
            )
        )
    log_change(
        conn,
        sede_id=sede_id,
        record_type=RecordType.CASE_INTAKE,
        record_id=row["id"],
        revision=revision,
        deleted=row["deleted"],
        body=intake_body(row),
    )
    return int(conflict)


def edit_intake_centrally(
    conn: Connection,
    *,
    intake_id: str,
    base_revision: int,
    changes: Mapping[str, Any],
    delete: bool = False,
    by: str,
) -> dict[str, Any]:
    """A central edit (or delete, as a tombstone) of an intake, based on ``base_revision``."""
    current = _intake_row(conn, intake_id)
    if current is None:
        raise LookupError(intake_id)
    if current["revision"] != base_revision:
        raise RevisionMismatch(current["revision"])
    proposed = {**{k: current[k] for k in INTAKE_FIELDS}, **changes}
    check_central_edit(current=current, proposed=proposed)
    row = {
        **proposed,
        "deleted": delete,
        "revision": current["revision"] + 1,
        "updated_at": _now().isoformat(),
        "updated_by": by,
    }
    conn.execute(
        m.sync_case_intake.update().where(m.sync_case_intake.c.id == intake_id).values(**row)
    )
    stored = {**current, **row}
    log_change(
        conn,
        sede_id=current["sede_id"],
        record_type=RecordType.CASE_INTAKE,
        record_id=intake_id,
        revision=stored["revision"],
        deleted=delete,
        body=intake_body(stored),
    )
    return stored


def resolve_conflict(conn: Connection, *, conflict_id: str, keep: str, by: str) -> dict[str, Any]:
    """A person decides: ``keep="current"`` confirms the current version, ``keep="other"``
    makes the other version current (status still only moves forward)."""
    conflict = (
        conn.execute(select(m.sync_conflict).where(m.sync_conflict.c.id == conflict_id))
        .mappings()
        .first()
    )
    if conflict is None:
        raise LookupError(conflict_id)
    if conflict["status"] != "open":
        raise RevisionMismatch(0)
    current = _intake_row(conn, conflict["record_id"])
    assert current is not None
    now = _now()
    row = dict(current)
    if keep == "other":
        other = json.loads(conflict["other_version"])
        for k in INTAKE_FIELDS:
            row[k] = other.get(k)
        row["status"] = forward_status(current["status"], other["status"])
        row["deleted"] = bool(other.get("deleted"))
    conn.execute(
        m.sync_conflict.update()
        .where(m.sync_conflict.c.id == conflict_id)
        .values(status="resolved", resolution=keep, resolved_by=by, resolved_at=now)
    )
    still_open = conn.execute(
        select(func.count())
        .select_from(m.sync_conflict)
        .where(m.sync_conflict.c.record_id == current["id"], m.sync_conflict.c.status == "open")
    ).scalar_one()
    row.update(
        has_conflict=bool(still_open),
        revision=current["revision"] + 1,
        updated_at=now.isoformat(),
        updated_by=by,
    )
    conn.execute(
        m.sync_case_intake.update().where(m.sync_case_intake.c.id == row["id"]).values(**row)
    )
    log_change(
        conn,
        sede_id=row["sede_id"],
        record_type=RecordType.CASE_INTAKE,
        record_id=row["id"],
        revision=row["revision"],
        deleted=bool(row["deleted"]),
        body=intake_body(row),
    )
    return row


def list_conflicts(
    conn: Connection, *, sede_ids: Iterable[str] | None, status: str = "open"
) -> list[dict[str, Any]]:
    stmt = select(m.sync_conflict).where(m.sync_conflict.c.status == status)
    if sede_ids is not None:
        stmt = stmt.where(m.sync_conflict.c.sede_id.in_(list(sede_ids)))
    rows = conn.execute(stmt.order_by(m.sync_conflict.c.created_at)).mappings().all()
    return [
        {
            **dict(r),
            "current_version": json.loads(r["current_version"]),
            "other_version": json.loads(r["other_version"]),
        }
        for r in rows
    ]


def list_dead_letters(conn: Connection, *, sede_ids: Iterable[str] | None) -> list[dict[str, Any]]:
    stmt = select(m.sync_dead_letter)
    if sede_ids is not None:
        stmt = stmt.where(m.sync_dead_letter.c.sede_id.in_(list(sede_ids)))
    return [dict(r) for r in conn.execute(stmt.order_by(m.sync_dead_letter.c.id)).mappings()]


# ---------------------------------------------------------------------------- change log


def _txid_expr(conn: Connection) -> Any:
    if conn.dialect.name == "postgresql":
        return text("pg_current_xact_id()::text::bigint")
    return 0


def log_change(
    conn: Connection,
    *,
    sede_id: str,
    record_type: str,
    record_id: str,
    revision: int,
    deleted: bool,
    body: Mapping[str, Any] | None,
) -> None:
    conn.execute(
        m.sync_change_log.insert().values(
            txid=_txid_expr(conn),
            sede_id=sede_id,
            record_type=record_type,
            record_id=record_id,
            revision=revision,
            deleted=deleted,
            body=_dumps(body) if body is not None else None,
            created_at=_now(),
        )
    )


def put_central_record(
    conn: Connection,
    *,
    table: Any,
    record_type: str,
    values: dict[str, Any],
    delete: bool = False,
) -> dict[str, Any]:
    """Create, update or delete (tombstone) an appointment or display message. A display
    message is logged for its sede in the same transaction; appointments are published at
    pull time within their date window (``appointment_documents``), so one scheduled weeks
    ahead travels once it enters the window and a past one is withdrawn."""
    record_id = values.get("id") or str(uuid6.uuid7())
    current = conn.execute(select(table).where(table.c.id == record_id)).mappings().first()
    now = _now()
    if current is None:
        if delete:
            raise LookupError(record_id)
        row = {**values, "id": record_id, "revision": 1, "deleted": False, "updated_at": now}
        conn.execute(table.insert().values(**row))
    else:
        row = {**dict(current), **values, "revision": current["revision"] + 1, "updated_at": now}
        row["deleted"] = delete or bool(current["deleted"]) and not values
        conn.execute(table.update().where(table.c.id == record_id).values(**row))
    if record_type == RecordType.APPOINTMENT:
        return row
    body = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in row.items()}
    log_change(
        conn,
        sede_id=row["sede_id"],
        record_type=record_type,
        record_id=record_id,
        revision=row["revision"],
        deleted=bool(row["deleted"]),
        body=body,
    )
    return row


APPOINTMENT_BODY = ("id", "sede_id", "code", "dni", "service_code", "scheduled_at")


def appointment_window(
    *, timezone: str, days: int, now: datetime | None = None
) -> tuple[datetime, datetime]:
    """[start of today, start of today + days + 1) in the sede's time zone, as UTC."""
    zone = ZoneInfo(timezone)
    local = (now or _now()).astimezone(zone)
    start = datetime.combine(local.date(), time(0), zone)
    return start.astimezone(UTC), (start + timedelta(days=days + 1)).astimezone(UTC)


def appointment_documents(
    conn: Connection, *, sede_id: str, timezone: str, days: int, now: datetime | None = None
) -> list[Change]:
    """The sede's live appointments of today and the next ``days`` days, as derived records
    (what the hub needs to check a citizen in; no status: the sede owns it once checked in)."""
    start, end = appointment_window(timezone=timezone, days=days, now=now)
    table = m.sync_appointment
    rows = conn.execute(
        select(*[table.c[k] for k in APPOINTMENT_BODY])
        .where(
            table.c.sede_id == sede_id,
            table.c.deleted.is_(False),
            table.c.scheduled_at >= start,
            table.c.scheduled_at < end,
        )
        .order_by(table.c.scheduled_at, table.c.id)
    ).mappings()
    docs = []
    for row in rows:
        body = dict(row)
        scheduled = body["scheduled_at"]
        if scheduled.tzinfo is None:  # SQLite hands back naive UTC
            scheduled = scheduled.replace(tzinfo=UTC)
        body["scheduled_at"] = scheduled.astimezone(UTC).isoformat()
        docs.append(
            Change(record_type=RecordType.APPOINTMENT, record_id=row["id"], revision=0, body=body)
        )
    return docs


def publish_derived(conn: Connection, *, sede_id: str, documents: list[Change]) -> int:
    """Log the records derived from other modules' tables (sede configuration, staff users)
    whose content changed since last published, and tombstones for those that disappeared.
    ``documents`` is the complete current set for the sede (revision ignored)."""
    _lock_sede(conn, sede_id)
    published = {
        (r.record_type, r.record_id): r
        for r in conn.execute(select(m.sync_published).where(m.sync_published.c.sede_id == sede_id))
    }
    logged = 0
    seen = set()
    for doc in documents:
        key = (doc.record_type, doc.record_id)
        seen.add(key)
        digest = hashlib.sha256(canonical(doc.body).encode()).hexdigest()
        old = published.get(key)
        if old is not None and old.content_hash == digest and not old.deleted:
            continue
        revision = (old.revision if old else 0) + 1
        _upsert_published(conn, sede_id, doc.record_type, doc.record_id, digest, revision, False)
        log_change(
            conn,
            sede_id=sede_id,
            record_type=doc.record_type,
            record_id=doc.record_id,
            revision=revision,
            deleted=False,
            body=doc.body,
        )
        logged += 1
    for key, old in published.items():
        if key in seen or old.deleted:
            continue
        revision = old.revision + 1
        _upsert_published(conn, sede_id, key[0], key[1], old.content_hash, revision, True)
        log_change(
            conn,
            sede_id=sede_id,
            record_type=key[0],
            record_id=key[1],
            revision=revision,
            deleted=True,
            body=None,
        )
        logged += 1
    return logged


def _upsert_published(
    conn: Connection,
    sede_id: str,
    record_type: str,
    record_id: str,
    digest: str,
    revision: int,
    deleted: bool,
) -> None:
    stmt = _insert(conn, m.sync_published).values(
        sede_id=sede_id,
        record_type=record_type,
        record_id=record_id,
        content_hash=digest,
        revision=revision,
        deleted=deleted,
    )
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["sede_id", "record_type", "record_id"],
            set_={"content_hash": digest, "revision": revision, "deleted": deleted},
        )
    )


# The first txid that may still commit a change-log row, evaluated in the same statement (same
# snapshot) as the rows served: the smallest in-progress xid of the snapshot that is not known
# to belong to another database of the cluster, else the snapshot's xmax. This is
# pg_snapshot_xmin() narrowed to this database, so a long transaction elsewhere on the cluster
# (another application, a reporting job) does not hold the hubs' pulls back. Unknown xids
# (e.g. a backend that ended meanwhile, or one hidden by privileges) count as ours: safe.
# backend_xid is 32-bit, snapshot xids are 64-bit: compared modulo 2^32.
SAFE_TXID_CUTOFF = """(
    SELECT LEAST(
        pg_snapshot_xmax(s.snap)::text::bigint,
        COALESCE(
            (SELECT MIN(x::text::bigint) FROM pg_snapshot_xip(s.snap) AS x
             WHERE (x::text::bigint % 4294967296) NOT IN (
                 SELECT a.backend_xid::text::bigint FROM pg_stat_activity a
                 WHERE a.backend_xid IS NOT NULL
                   AND a.datname IS DISTINCT FROM current_database())),
            9223372036854775807))
    FROM (SELECT pg_current_snapshot() AS snap) AS s
)"""


def pull_page(conn: Connection, *, sede_id: str, cursor: Cursor, limit: int) -> PullPage:
    """The next page of the sede's change log after ``cursor``: only rows of transactions that
    can no longer commit (txid below the snapshot's xmin), in (txid, id) order."""
    log_ = m.sync_change_log
    reset = False
    if cursor != START:
        row = conn.execute(
            select(log_.c.record_type, log_.c.record_id, log_.c.revision).where(
                log_.c.sede_id == sede_id, log_.c.txid == cursor.txid, log_.c.id == cursor.row_id
            )
        ).first()
        if row is None or row_check(row[0], row[1], row[2]) != cursor.check:
            reset, cursor = True, START  # central's log lost our position: re-read everything
    conditions = [
        log_.c.sede_id == sede_id,
        or_(
            log_.c.txid > cursor.txid,
            and_(log_.c.txid == cursor.txid, log_.c.id > cursor.row_id),
        ),
    ]
    if conn.dialect.name == "postgresql":
        conditions.append(log_.c.txid < text(SAFE_TXID_CUTOFF))
    rows = (
        conn.execute(
            select(log_).where(*conditions).order_by(log_.c.txid, log_.c.id).limit(limit + 1)
        )
        .mappings()
        .all()
    )
    has_more = len(rows) > limit
    rows = rows[:limit]
    changes = [
        Change(
            record_type=r["record_type"],
            record_id=r["record_id"],
            revision=r["revision"],
            deleted=r["deleted"],
            body=json.loads(r["body"]) if r["body"] else None,
        )
        for r in rows
    ]
    if rows:
        last = rows[-1]
        cursor = Cursor(
            last["txid"],
            last["id"],
            row_check(last["record_type"], last["record_id"], last["revision"]),
        )
    conn.execute(
        m.sync_sede_state.update()
        .where(m.sync_sede_state.c.sede_id == sede_id)
        .values(last_pull_at=_now(), last_contact_at=_now())
    )
    return PullPage(
        sede_id=sede_id,
        changes=changes,
        next_cursor=cursor.encode(),
        has_more=has_more,
        reset=reset,
    )


# ---------------------------------------------------------------------------- status


def sede_status(conn: Connection, *, sede_ids: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """Per sede: contact, backlog and lag, dead letters and conflicts, and what its hub said
    about itself: its release against central's (``release_differs``) and its clock against
    central's at its last push (``clock_skew_s``, positive when the hub is ahead)."""
    now = _now()
    release = software_release()
    stmt = select(m.sync_sede_state)
    if sede_ids is not None:
        stmt = stmt.where(m.sync_sede_state.c.sede_id.in_(list(sede_ids)))
    out = []
    for r in conn.execute(stmt.order_by(m.sync_sede_state.c.sede_id)).mappings():
        health = json.loads(r["health"]) if r["health"] else {}
        last = r["last_contact_at"]
        if last is not None and last.tzinfo is None:
            last = last.replace(tzinfo=UTC)
        lag_s = None
        if health.get("oldest_pending_at") and health.get("hub_time"):
            # both hub clock readings: their difference does not depend on the hub's skew
            lag_s = max(
                0.0,
                (
                    datetime.fromisoformat(health["hub_time"])
                    - datetime.fromisoformat(health["oldest_pending_at"])
                ).total_seconds(),
            )
        pushed = r["last_push_at"]
        if pushed is not None and pushed.tzinfo is None:
            pushed = pushed.replace(tzinfo=UTC)
        skew_s = None
        if health.get("hub_time") and pushed is not None:
            # the hub's clock when it built its last push, against central's when applying it
            skew_s = round((datetime.fromisoformat(health["hub_time"]) - pushed).total_seconds())
        hub_release = health.get("agent_version")
        dead = conn.execute(
            select(func.count())
            .select_from(m.sync_dead_letter)
            .where(
                m.sync_dead_letter.c.sede_id == r["sede_id"],
                m.sync_dead_letter.c.resolved_at.is_(None),
            )
        ).scalar_one()
        conflicts = conn.execute(
            select(func.count())
            .select_from(m.sync_conflict)
            .where(m.sync_conflict.c.sede_id == r["sede_id"], m.sync_conflict.c.status == "open")
        ).scalar_one()
        out.append(
            {
                "sede_id": r["sede_id"],
                "last_contact_at": last,
                "last_push_at": r["last_push_at"],
                "last_pull_at": r["last_pull_at"],
                "backlog": r["backlog"],
                "lag_s": lag_s,
                "silent": last is None or now - last > SILENT_AFTER,
                "current_epoch": r["current_epoch"],
                "events_total": r["events_total"],
                "dead_letters": dead,
                "open_conflicts": conflicts,
                "hub_release": hub_release,
                "release_differs": hub_release is not None and hub_release != release,
                "clock_skew_s": skew_s,
                "clock_off": skew_s is not None and abs(skew_s) >= CLOCK_OFF_AFTER_S,
            }
        )
    return out


# ---------------------------------------------------------------------------- fingerprints


SITE_FINGERPRINTS: dict[str, tuple[Any, tuple[str, ...]]] = {
    "tickets": (
        m.sync_ticket,
        ("id", "revision", "status", "number", "service_code", "counter_id", "updated_at"),
    ),
    "ticket_events": (m.sync_ticket_event, ("id", "ticket_id", "event_type", "to_status", "at")),
    "counter_sessions": (
        m.sync_counter_session,
        ("id", "revision", "counter_id", "username", "signed_out_at"),
    ),
    "counter_pauses": (m.sync_counter_pause, ("id", "revision", "reason", "ended_at")),
    "case_intakes": (
        m.sync_case_intake,
        ("id", "revision", "status", "deleted", "summary", "matter", "citizen_names"),
    ),
}


def fingerprints(conn: Connection, *, sede_id: str) -> dict[str, Any]:
    """Per-table fingerprints of what central holds for a sede (compare with the hub's)."""
    out: dict[str, Any] = {}
    for name, (table, columns) in SITE_FINGERPRINTS.items():
        rows = conn.execute(
            select(*[table.c[c] for c in columns]).where(table.c.sede_id == sede_id)
        ).mappings()
        out[name] = fingerprint(
            [{k: (bool(v) if k == "deleted" else v) for k, v in r.items()} for r in rows]
        )
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for r in conn.execute(
        select(
            m.sync_change_log.c.record_type,
            m.sync_change_log.c.record_id,
            m.sync_change_log.c.revision,
            m.sync_change_log.c.deleted,
        ).where(m.sync_change_log.c.sede_id == sede_id)
    ).mappings():
        key = (r["record_type"], r["record_id"])
        if key not in latest or latest[key]["revision"] <= r["revision"]:
            latest[key] = {**dict(r), "deleted": bool(r["deleted"])}
    out["central_records"] = fingerprint(latest.values())
    return out


def event_counts(conn: Connection, *, sede_id: str) -> dict[str, int]:
    """How many times each event id is held as applied (exactly-once check)."""
    rows = conn.execute(
        select(m.sync_inbox.c.event_id, func.count())
        .where(m.sync_inbox.c.sede_id == sede_id, m.sync_inbox.c.status != "duplicate")
        .group_by(m.sync_inbox.c.event_id)
    ).all()
    return {event_id: count for event_id, count in rows}
