"""The hub side of sync on the hub's own SQLite file: sync tables (own migration track), reading
the outbox, marking it acknowledged, applying pulled pages, and the site-owned records that sync
introduces (case intakes, printer faults).

The sync tables are versioned in ``sync_schema_migrations``, a track separate from the queue
engine's ``schema_migrations`` so neither can collide with the other's numbering. The outbox
itself belongs to the queue engine (``hub.domain.store``); we only read it and set ``sent_at`` /
``hub_meta.outbox_sent_through`` exactly as ``HubEngine.mark_outbox_sent`` does.

Wire numbering: the hub sends outbox row ``seq`` as ``wire_seq = seq - wire_base`` in epoch
``wire_epoch``. Both start as (engine epoch, 0). When central reveals that this file is an
older backup, the agent opens a new epoch whose wire sequence restarts at 1 at the first
unacknowledged row: sequence numbers then never collide at central, and the events central
already had are recognised by their event id.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import uuid6

from contracts.sync import Change, RecordType
from hub.domain import store as hub_store
from sync.protocol.records import INTAKE_FIELDS, forward_status, status_rank

SYNC_MIGRATIONS: list[tuple[int, str, Sequence[str]]] = [
    (
        1,
        "sync: state, central-owned records, case intakes",
        (
            """CREATE TABLE IF NOT EXISTS sync_state (
                key TEXT PRIMARY KEY,
                value TEXT NOT NULL
            ) WITHOUT ROWID""",
            # every central-owned record the hub holds, as last pulled (generic store)
            """CREATE TABLE IF NOT EXISTS synced_records (
                record_type TEXT NOT NULL,
                record_id TEXT NOT NULL,
                revision INTEGER NOT NULL,
                deleted INTEGER NOT NULL DEFAULT 0,
                body TEXT,
                generation INTEGER NOT NULL DEFAULT 0,
                pulled_at TEXT NOT NULL,
                PRIMARY KEY (record_type, record_id)
            ) WITHOUT ROWID""",
            # case intakes taken at the counters; `revision` is central's revision this copy is
            # based on; `pending_seq` is the outbox seq of an edit central has not yet
            # acknowledged (the local copy wins over pulled versions until then)
            """CREATE TABLE IF NOT EXISTS case_intakes (
                id TEXT PRIMARY KEY,
                sede_id TEXT NOT NULL,
                citizen_doc_type TEXT NOT NULL,
                citizen_doc_number TEXT,
                citizen_names TEXT,
                service_code TEXT NOT NULL,
                matter TEXT,
                summary TEXT,
                status TEXT NOT NULL,
                ticket_id TEXT,
                deleted INTEGER NOT NULL DEFAULT 0,
                revision INTEGER NOT NULL DEFAULT 0,
                pending_seq INTEGER,
                has_conflict INTEGER NOT NULL DEFAULT 0,
                created_at TEXT NOT NULL,
                updated_at TEXT NOT NULL
            )""",
        ),
    ),
]

# column lists come from the INTAKE_FIELDS constant, never from input
_UPSERT_PULLED_INTAKE = (
    "INSERT INTO case_intakes (id, sede_id, "  # noqa: S608
    + ", ".join(INTAKE_FIELDS)
    + ", deleted, revision, has_conflict, created_at, updated_at) VALUES (?, ?, "
    + ", ".join("?" for _ in INTAKE_FIELDS)
    + ", ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
    + ", ".join(f"{k} = excluded.{k}" for k in INTAKE_FIELDS)
    + ", deleted = excluded.deleted, revision = excluded.revision, "
    "has_conflict = excluded.has_conflict, updated_at = excluded.updated_at"
)
_UPSERT_LOCAL_INTAKE = (
    "INSERT INTO case_intakes (id, sede_id, "  # noqa: S608
    + ", ".join(INTAKE_FIELDS)
    + ", deleted, revision, pending_seq, created_at, updated_at) VALUES (?, ?, "
    + ", ".join("?" for _ in INTAKE_FIELDS)
    + ", ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
    + ", ".join(f"{k} = excluded.{k}" for k in INTAKE_FIELDS)
    + ", deleted = excluded.deleted, revision = excluded.revision, "
    "pending_seq = excluded.pending_seq, updated_at = excluded.updated_at"
)


def now_iso() -> str:
    return hub_store.iso(datetime.now(UTC))


def migrate(conn: sqlite3.Connection) -> None:
    """Apply the sync tables' missing migrations (idempotent, safe between processes)."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS sync_schema_migrations ("
        "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
    )
    for version, name, statements in SYNC_MIGRATIONS:
        hub_store.begin_immediate(conn)
        try:
            done = conn.execute(
                "SELECT 1 FROM sync_schema_migrations WHERE version = ?", (version,)
            ).fetchone()
            if done is None:
                for statement in statements:
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO sync_schema_migrations (version, name, applied_at) "
                    "VALUES (?, ?, ?)",
                    (version, name, now_iso()),
                )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise


def open_db(db_path: Any) -> sqlite3.Connection:
    """A connection to the hub file with both the engine's and the sync tables migrated."""
    conn = hub_store.connect(db_path)
    hub_store.migrate(conn, now=datetime.now(UTC))
    migrate(conn)
    return conn


# ---------------------------------------------------------------------------- state


def get_state(conn: sqlite3.Connection) -> dict[str, str]:
    return {r[0]: r[1] for r in conn.execute("SELECT key, value FROM sync_state")}


def set_state(conn: sqlite3.Connection, **values: Any) -> None:
    conn.executemany(
        "INSERT INTO sync_state (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [(k, "" if v is None else str(v)) for k, v in values.items()],
    )


def write_state(conn: sqlite3.Connection, **values: Any) -> None:
    """set_state in its own short transaction (status bookkeeping)."""
    hub_store.begin_immediate(conn)
    try:
        set_state(conn, **values)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def hub_meta(conn: sqlite3.Connection) -> dict[str, str]:
    return {r[0]: r[1] for r in conn.execute("SELECT key, value FROM hub_meta")}


def wire_position(conn: sqlite3.Connection) -> tuple[int, int]:
    """(wire_epoch, wire_base): the epoch events travel in and the outbox seq before wire 1."""
    state = get_state(conn)
    if "wire_epoch" in state:
        return int(state["wire_epoch"]), int(state["wire_base"])
    return int(hub_meta(conn)["hub_epoch"]), 0


def sent_through(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT value FROM hub_meta WHERE key = 'outbox_sent_through'").fetchone()
    return int(row[0]) if row else 0


def last_outbox_seq(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT COALESCE(MAX(seq), 0) FROM outbox").fetchone()[0])


def backlog(conn: sqlite3.Connection) -> tuple[int, str | None]:
    count, oldest = conn.execute(
        "SELECT COUNT(*), MIN(created_at) FROM outbox WHERE seq > ? AND sent_at IS NULL",
        (sent_through(conn),),
    ).fetchone()
    return int(count), oldest


# ---------------------------------------------------------------------------- outbox


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


def acknowledge(conn: sqlite3.Connection, *, wire_epoch: int, held_through: int) -> int:
    """Mark sent every row central holds (wire 1..held_through of ``wire_epoch``), in one
    transaction. Returns the number of rows newly marked. A stale answer for an epoch the hub
    has since left is ignored."""
    hub_store.begin_immediate(conn)
    try:
        epoch, base = wire_position(conn)
        if epoch != wire_epoch:
            conn.execute("ROLLBACK")
            return 0
        through = min(base + held_through, last_outbox_seq(conn))
        marked = conn.execute(
            "UPDATE outbox SET sent_at = ? WHERE seq > ? AND seq <= ? AND sent_at IS NULL",
            (now_iso(), max(base, sent_through(conn)), through),
        ).rowcount
        if through > sent_through(conn):
            conn.execute(
                "INSERT INTO hub_meta (key, value) VALUES ('outbox_sent_through', ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (str(through),),
            )
        # local intake edits central has now arbitrated no longer shadow pulled versions
        settled = [
            row[0]
            for row in conn.execute(
                "SELECT id FROM case_intakes WHERE pending_seq <= ?", (through,)
            ).fetchall()
        ]
        conn.execute(
            "UPDATE case_intakes SET pending_seq = NULL WHERE pending_seq <= ?", (through,)
        )
        _apply_held_intakes(conn, settled)
        conn.execute("COMMIT")
        return marked
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _apply_held_intakes(conn: sqlite3.Connection, intake_ids: Sequence[str]) -> None:
    """A pull that arrived while our own edit of an intake was unacknowledged was kept in
    ``synced_records`` but not applied (the edit shadowed it). Once central has acknowledged
    the edit, apply the version held there (when newer), or nothing would ever bring it: the
    change log does not send a record twice."""
    for intake_id in intake_ids:
        held = conn.execute(
            "SELECT revision, deleted, body FROM synced_records "
            "WHERE record_type = ? AND record_id = ?",
            (RecordType.CASE_INTAKE, intake_id),
        ).fetchone()
        if held is None:
            continue
        _apply_intake(
            conn,
            Change(
                record_type=RecordType.CASE_INTAKE,
                record_id=intake_id,
                revision=held[0],
                deleted=bool(held[1]),
                body=json.loads(held[2]) if held[2] is not None else None,
            ),
        )


def rewind(conn: sqlite3.Connection, *, wire_epoch: int, held_through: int) -> int:
    """Central holds less than we believed (restored from an older backup): mark everything
    after ``held_through`` of this epoch unsent again so it is sent again."""
    hub_store.begin_immediate(conn)
    try:
        epoch, base = wire_position(conn)
        if epoch != wire_epoch:
            conn.execute("ROLLBACK")
            return 0
        through = base + held_through
        count = conn.execute(
            "UPDATE outbox SET sent_at = NULL WHERE seq > ? AND sent_at IS NOT NULL", (through,)
        ).rowcount
        conn.execute(
            "INSERT INTO hub_meta (key, value) VALUES ('outbox_sent_through', ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (str(through),),
        )
        conn.execute("COMMIT")
        return count
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def open_new_epoch(conn: sqlite3.Connection, *, left_epoch: int) -> int | None:
    """Leave ``left_epoch`` for a new, larger one starting at the first unacknowledged row.
    Returns the new epoch, or None when another agent already moved on."""
    hub_store.begin_immediate(conn)
    try:
        epoch, _ = wire_position(conn)
        if epoch != left_epoch:
            conn.execute("ROLLBACK")
            return None
        new_epoch = max(int(datetime.now(UTC).timestamp() * 1000), epoch + 1)
        set_state(conn, wire_epoch=new_epoch, wire_base=sent_through(conn))
        conn.execute("COMMIT")
        return new_epoch
    except BaseException:
        conn.execute("ROLLBACK")
        raise


# ---------------------------------------------------------------------------- pull


def apply_page(
    conn: sqlite3.Connection,
    *,
    sent_cursor: str,
    changes: Iterable[Change],
    next_cursor: str,
    has_more: bool,
    reset: bool,
) -> bool:
    """Apply one pulled page and save its cursor in the same transaction. Returns False (and
    applies nothing) when another agent moved the cursor meanwhile."""
    hub_store.begin_immediate(conn)
    try:
        state = get_state(conn)
        if state.get("pull_cursor", "") != sent_cursor:
            conn.execute("ROLLBACK")
            return False
        generation = int(state.get("pull_generation", "0") or 0)
        resync = state.get("pull_resync") == "1"
        if reset:  # central's log is behind our cursor: re-read everything authoritatively
            generation += 1
            resync = True
        stamp = now_iso()
        for change in changes:
            _apply_change(conn, change, generation=generation, force=resync, pulled_at=stamp)
        values: dict[str, Any] = {
            "pull_cursor": next_cursor,
            "pull_generation": generation,
            "pull_resync": "1" if resync else "0",
            "last_pull_ok_at": stamp,
        }
        if resync and not has_more:
            # what central no longer has is gone: drop what the full re-read did not confirm
            conn.execute("DELETE FROM synced_records WHERE generation < ?", (generation,))
            values["pull_resync"] = "0"
        set_state(conn, **values)
        conn.execute("COMMIT")
        return True
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _apply_change(
    conn: sqlite3.Connection, change: Change, *, generation: int, force: bool, pulled_at: str
) -> None:
    row = conn.execute(
        "SELECT revision FROM synced_records WHERE record_type = ? AND record_id = ?",
        (change.record_type, change.record_id),
    ).fetchone()
    if row is not None and row[0] > change.revision and not force:
        return  # an older version arriving late (re-read after a reset)
    conn.execute(
        "INSERT INTO synced_records (record_type, record_id, revision, deleted, body, "
        "generation, pulled_at) VALUES (?,?,?,?,?,?,?) ON CONFLICT (record_type, record_id) "
        "DO UPDATE SET revision = excluded.revision, deleted = excluded.deleted, "
        "body = excluded.body, generation = excluded.generation, pulled_at = excluded.pulled_at",
        (
            change.record_type,
            change.record_id,
            change.revision,
            int(change.deleted),
            json.dumps(change.body, ensure_ascii=False) if change.body is not None else None,
            generation,
            pulled_at,
        ),
    )
    if change.record_type == RecordType.APPOINTMENT:
        _apply_appointment(conn, change, pulled_at)
    elif change.record_type == RecordType.CASE_INTAKE:
        _apply_intake(conn, change)


def appointment_window_start(conn: sqlite3.Connection) -> str:
    """Start of today in the sede's time zone (from the pulled configuration, else Lima), as
    the hub's ISO UTC text: the hub keeps no appointment scheduled before it."""
    tz = "America/Lima"
    row = conn.execute(
        "SELECT body FROM synced_records WHERE record_type = ? AND deleted = 0",
        (RecordType.SEDE_CONFIG,),
    ).fetchone()
    if row is not None and row[0]:
        tz = json.loads(row[0]).get("timezone") or tz
    zone = ZoneInfo(tz)
    local_day = datetime.now(UTC).astimezone(zone).date()
    return hub_store.iso(datetime.combine(local_day, time(0), zone))


def _apply_appointment(conn: sqlite3.Connection, change: Change, now: str) -> None:
    """Central serves today's and the coming days' appointments (docs/sync.md); one that
    leaves that window (or is deleted) arrives as a tombstone and is dropped here."""
    body = change.body or {}
    existing = conn.execute(
        "SELECT status FROM appointments WHERE id = ?", (change.record_id,)
    ).fetchone()
    if change.deleted:
        # withdrawn (deleted centrally, or past its day): a pending one is dropped, with its
        # DNI; one already checked in stays, since its ticket refers to it
        conn.execute(
            "DELETE FROM appointments WHERE id = ? AND status = 'pending' AND NOT EXISTS "
            "(SELECT 1 FROM tickets t WHERE t.appointment_id = appointments.id)",
            (change.record_id,),
        )
        return
    scheduled_at = hub_store.iso(_aware(datetime.fromisoformat(str(body["scheduled_at"]))))
    if existing is None:
        if scheduled_at < appointment_window_start(conn):
            return  # already past: nothing to check in
        conn.execute(
            "INSERT INTO appointments (id, sede_id, code, dni, service_code, scheduled_at, "
            "status, revision, updated_at) VALUES (?,?,?,?,?,?,?,?,?) "
            "ON CONFLICT (code) DO NOTHING",
            (
                change.record_id,
                body["sede_id"],
                str(body["code"]).upper(),
                body.get("dni"),
                body["service_code"],
                scheduled_at,
                "pending",
                change.revision,
                now,
            ),
        )
    elif existing["status"] == "pending":  # the sede owns the status once checked in
        conn.execute(
            "UPDATE appointments SET code = ?, dni = ?, service_code = ?, scheduled_at = ?, "
            "revision = ?, updated_at = ? WHERE id = ?",
            (
                str(body["code"]).upper(),
                body.get("dni"),
                body["service_code"],
                scheduled_at,
                change.revision,
                now,
                change.record_id,
            ),
        )


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _apply_intake(conn: sqlite3.Connection, change: Change) -> None:
    body = change.body or {}
    local = conn.execute(
        "SELECT revision, pending_seq, status FROM case_intakes WHERE id = ?", (change.record_id,)
    ).fetchone()
    if local is not None and local["pending_seq"] is not None:
        return  # our own edit is on its way; central arbitrates it and sends the result back
    if local is not None and local["revision"] > change.revision:
        return
    values = [body.get(k) for k in INTAKE_FIELDS]
    conn.execute(
        _UPSERT_PULLED_INTAKE,
        (
            change.record_id,
            body.get("sede_id"),
            *values,
            int(change.deleted or body.get("deleted", False)),
            change.revision,
            int(bool(body.get("has_conflict"))),
            body.get("created_at") or now_iso(),
            body.get("updated_at") or now_iso(),
        ),
    )


# ---------------------------------------------------------------------------- site records


def _outbox(
    conn: sqlite3.Connection,
    *,
    event_type: str,
    aggregate_type: str,
    aggregate_id: str,
    payload: dict[str, Any],
    at: str,
) -> int:
    meta = hub_meta(conn)
    cursor = conn.execute(
        "INSERT INTO outbox (event_id, sede_id, hub_epoch, event_type, aggregate_type, "
        "aggregate_id, payload, created_at) VALUES (?,?,?,?,?,?,?,?)",
        (
            str(uuid6.uuid7()),
            meta["sede_id"],
            int(meta["hub_epoch"]),
            event_type,
            aggregate_type,
            aggregate_id,
            json.dumps(payload, separators=(",", ":"), ensure_ascii=False, default=str),
            at,
        ),
    )
    return int(cursor.lastrowid or 0)


INTAKE_DEFAULTS = {
    "citizen_doc_number": None,
    "citizen_names": None,
    "matter": None,
    "summary": None,
    "ticket_id": None,
    "status": "open",
}


def save_intake(
    conn: sqlite3.Connection,
    *,
    intake_id: str | None = None,
    changes: dict[str, Any],
    delete: bool = False,
) -> dict[str, Any]:
    """Create or edit (or delete, as a tombstone) a case intake at the sede in a transaction of
    its own (tools, tests). Commands write intakes with ``write_intake`` inside theirs."""
    hub_store.begin_immediate(conn)
    try:
        record = write_intake(conn, intake_id=intake_id, changes=changes, delete=delete)
        conn.execute("COMMIT")
        return record
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def write_intake(
    conn: sqlite3.Connection,
    *,
    intake_id: str | None = None,
    changes: dict[str, Any],
    delete: bool = False,
    at: str | None = None,
) -> dict[str, Any]:
    """Create or edit (or delete, as a tombstone) a case intake: the row and its outbox event,
    inside the CALLER's open transaction (the hub engine's command transaction, with its audit
    row and stored answer), so they commit or roll back together. Status only moves forward.
    Raises ValueError (pydantic's ValidationError) before writing anything on bad input."""
    from sync.protocol.events import IntakeRecord

    if not conn.in_transaction:
        raise RuntimeError("write_intake needs the caller's open transaction")
    meta = hub_meta(conn)
    at = at or now_iso()
    current = None
    if intake_id is not None:
        current = conn.execute("SELECT * FROM case_intakes WHERE id = ?", (intake_id,)).fetchone()
    if current is None:
        record = {
            **INTAKE_DEFAULTS,
            **changes,
            "id": intake_id or str(uuid6.uuid7()),
            "sede_id": meta["sede_id"],
            "created_at": at,
        }
        base_revision = local_revision = 0
    else:
        record = {k: current[k] for k in (*INTAKE_FIELDS, "id", "sede_id", "created_at")}
        record.update(changes)
        status_rank(record["status"])
        record["status"] = forward_status(current["status"], record["status"])
        # based on the revision central holds once it has applied what this hub already
        # sent, not only on what it last pulled: a copy born here (revision 0) is revision 1
        # at central, and an edit that changes something moves central one revision on.
        # Otherwise an edit made before the pull came back (offline, or the pull not yet
        # due) would meet the hub's own earlier write as a conflict (docs/sync.md).
        base_revision = max(int(current["revision"]), 1)
        changed = bool(current["deleted"]) != bool(delete) or any(
            record.get(k) != current[k] for k in INTAKE_FIELDS
        )
        local_revision = base_revision + 1 if changed else int(current["revision"])
    record["deleted"] = bool(delete)
    record["updated_at"] = at
    IntakeRecord.model_validate(record)  # bad input changes nothing
    seq = _outbox(
        conn,
        event_type="case_intake.deleted" if delete else "case_intake.saved",
        aggregate_type="case_intake",
        aggregate_id=record["id"],
        payload={"intake": record, "base_revision": base_revision},
        at=at,
    )
    conn.execute(
        _UPSERT_LOCAL_INTAKE,
        (
            record["id"],
            record["sede_id"],
            *[record.get(k) for k in INTAKE_FIELDS],
            int(delete),
            local_revision,
            seq,
            record["created_at"],
            at,
        ),
    )
    return record


def case_file_for_intake(conn: sqlite3.Connection, intake_id: str) -> dict[str, Any] | None:
    """The case file central opened from an intake (``case_number``, ``case_id``), as pulled;
    None until central has ingested it and the hub has pulled since."""
    row = conn.execute(
        "SELECT deleted, body FROM synced_records WHERE record_type = ? AND record_id = ?",
        (RecordType.CASE_FILE, intake_id),
    ).fetchone()
    if row is None or row["deleted"] or not row["body"]:
        return None
    return json.loads(row["body"])


def record_printer_fault(
    conn: sqlite3.Connection, *, device_id: str, code: str, message: str = ""
) -> str:
    """A printer fault reported by a kiosk, queued for central (no citizen data)."""
    hub_store.begin_immediate(conn)
    try:
        fault_id = str(uuid6.uuid7())
        at = now_iso()
        _outbox(
            conn,
            event_type="printer_fault.reported",
            aggregate_type="printer_fault",
            aggregate_id=fault_id,
            payload={
                "id": fault_id,
                "device_id": device_id,
                "code": code,
                "message": message,
                "at": at,
            },
            at=at,
        )
        conn.execute("COMMIT")
        return fault_id
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def synced_staff_user(conn: sqlite3.Connection, username: str) -> dict[str, Any] | None:
    """The user central says may sign in at this sede (``active`` False when revoked), or None
    when central never sent one by that name."""
    row = conn.execute(
        "SELECT deleted, body FROM synced_records WHERE record_type = ? AND record_id = ?",
        (RecordType.STAFF_USER, username),
    ).fetchone()
    if row is None:
        return None
    body = json.loads(row["body"]) if row["body"] else {}
    if row["deleted"]:
        body["active"] = False
    return body
