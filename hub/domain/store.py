"""The hub's SQLite store: connection settings and versioned schema migrations.

Why plain ``sqlite3`` and versioned SQL scripts rather than Alembic + ORM: the hub is one
embedded database file whose hot path (issue a ticket: six rows in one durable transaction)
must stay within 3x of a raw insert, and ``alegra hub`` must start fast. Each migration is a
numbered list of SQL statements applied inside one ``BEGIN IMMEDIATE`` transaction (SQLite DDL
is transactional), recorded in ``schema_migrations`` and mirrored in ``PRAGMA user_version``.
Opening a database runs whatever is missing, so an old file is upgraded in place, a new file
is created from scratch, a re-open is a no-op, and two processes opening the same file at once
serialise on the write lock instead of racing. Migrations are append-only: never edit a
released one, add the next number.

Durability: WAL with ``synchronous=FULL``. Every commit fsyncs the WAL, so an acknowledged
ticket survives a process crash, ``kill -9`` *and* a power cut. ``NORMAL`` would also survive
``kill -9`` (the WAL is in the OS page cache) but could lose the last commits on power loss,
which on a sede box on an unreliable supply is exactly when it happens. FULL costs one fsync
per commit; the engine shares commits between commands that arrive together (group commit,
see docs/queue.md), so we keep it. ``ALEGRA_HUB_SYNCHRONOUS=NORMAL`` is not offered on purpose.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

SYNCHRONOUS = "FULL"
BUSY_TIMEOUT_MS = 10_000
WRITER_AUTOCHECKPOINT_PAGES = 4_000  # safety net; the Checkpointer thread normally does it

# (version, name, statements). Append only.
MIGRATIONS: list[tuple[int, str, Sequence[str]]] = [
    (
        1,
        "queue core: meta, sequences, tickets, events, counters, sessions, audit, outbox",
        (
            """CREATE TABLE hub_meta (
                key TEXT PRIMARY KEY,
                value TEXT NOT NULL
            )""",
            # numbering per service per business day; bumped in the issuing transaction
            """CREATE TABLE ticket_sequences (
                service_code TEXT NOT NULL,
                business_date TEXT NOT NULL,
                last_number INTEGER NOT NULL,
                PRIMARY KEY (service_code, business_date)
            ) WITHOUT ROWID""",
            """CREATE TABLE appointments (
                id TEXT PRIMARY KEY,
                sede_id TEXT NOT NULL,
                code TEXT NOT NULL UNIQUE,
                dni TEXT,
                service_code TEXT NOT NULL,
                scheduled_at TEXT NOT NULL,
                status TEXT NOT NULL DEFAULT 'pending',
                ticket_id TEXT,
                checked_in_at TEXT,
                revision INTEGER NOT NULL DEFAULT 1,
                updated_at TEXT NOT NULL
            )""",
            "CREATE INDEX ix_appointments_dni ON appointments (dni, scheduled_at)",
            """CREATE TABLE tickets (
                id TEXT PRIMARY KEY,
                sede_id TEXT NOT NULL,
                business_date TEXT NOT NULL,
                service_code TEXT NOT NULL,
                number TEXT NOT NULL,
                number_seq INTEGER NOT NULL,
                status TEXT NOT NULL,
                preference_category TEXT NOT NULL DEFAULT 'none',
                origin TEXT NOT NULL DEFAULT 'walk_in',
                appointment_id TEXT REFERENCES appointments (id),
                appointment_due_at TEXT,
                dni TEXT,
                issued_at TEXT NOT NULL,
                arrived_at TEXT NOT NULL,
                first_called_at TEXT,
                called_at TEXT,
                started_at TEXT,
                finished_at TEXT,
                counter_id TEXT,
                target_counter_id TEXT,
                issued_by_role TEXT NOT NULL,
                issued_by_device TEXT NOT NULL,
                served_by TEXT,
                recalls INTEGER NOT NULL DEFAULT 0,
                outcome TEXT,
                note TEXT,
                needs_reprint INTEGER NOT NULL DEFAULT 0,
                revision INTEGER NOT NULL DEFAULT 1,
                updated_at TEXT NOT NULL,
                UNIQUE (business_date, number)
            ) WITHOUT ROWID""",
            # covering index of the lines: heads, positions and counts never touch the table
            """CREATE INDEX ix_tickets_line ON tickets (status, service_code,
                target_counter_id, preference_category, appointment_due_at, arrived_at, id)""",
            # partial indexes: a new ticket has neither, so issuing does not write them
            """CREATE INDEX ix_tickets_counter ON tickets (counter_id, status)
                WHERE counter_id IS NOT NULL""",
            """CREATE INDEX ix_tickets_finished ON tickets (service_code, finished_at)
                WHERE finished_at IS NOT NULL""",
            # running counts of each line, kept in step by every ticket change, so issuing a
            # ticket (people ahead) and the display stay O(1) however long the line is;
            # recomputed from tickets on every open
            """CREATE TABLE service_lines (
                service_code TEXT PRIMARY KEY,
                waiting_total INTEGER NOT NULL DEFAULT 0,
                waiting_in_line INTEGER NOT NULL DEFAULT 0,
                preferential_in_line INTEGER NOT NULL DEFAULT 0
            ) WITHOUT ROWID""",
            # full history of every ticket, append-only (travels to central)
            # keyed (ticket_id, id): a ticket's history is one range scan, no extra index
            """CREATE TABLE ticket_events (
                ticket_id TEXT NOT NULL REFERENCES tickets (id),
                id TEXT NOT NULL,
                sede_id TEXT NOT NULL,
                event_type TEXT NOT NULL,
                from_status TEXT,
                to_status TEXT NOT NULL,
                service_code TEXT NOT NULL,
                counter_id TEXT,
                username TEXT,
                details TEXT NOT NULL DEFAULT '{}',
                request_id TEXT,
                at TEXT NOT NULL,
                PRIMARY KEY (ticket_id, id)
            ) WITHOUT ROWID""",
            """CREATE TABLE counters (
                counter_id TEXT PRIMARY KEY,
                status TEXT NOT NULL DEFAULT 'closed',
                pause_reason TEXT,
                active_services TEXT NOT NULL DEFAULT '[]',
                username TEXT,
                session_id TEXT,
                pause_id TEXT,
                since TEXT,
                wrr_state TEXT NOT NULL DEFAULT '{}',
                revision INTEGER NOT NULL DEFAULT 1,
                updated_at TEXT NOT NULL
            )""",
            # staff activity: who sat at which counter, and each pause (travel to central)
            """CREATE TABLE counter_sessions (
                id TEXT PRIMARY KEY,
                sede_id TEXT NOT NULL,
                counter_id TEXT NOT NULL,
                username TEXT NOT NULL,
                signed_in_at TEXT NOT NULL,
                signed_out_at TEXT,
                end_reason TEXT,
                revision INTEGER NOT NULL DEFAULT 1,
                updated_at TEXT NOT NULL
            )""",
            """CREATE TABLE counter_pauses (
                id TEXT PRIMARY KEY,
                sede_id TEXT NOT NULL,
                counter_id TEXT NOT NULL,
                session_id TEXT,
                reason TEXT NOT NULL,
                started_at TEXT NOT NULL,
                ended_at TEXT,
                revision INTEGER NOT NULL DEFAULT 1,
                updated_at TEXT NOT NULL
            )""",
            """CREATE TABLE audit_log (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                at TEXT NOT NULL,
                actor_role TEXT NOT NULL,
                actor_device TEXT NOT NULL,
                username TEXT,
                action TEXT NOT NULL,
                entity_type TEXT NOT NULL,
                entity_id TEXT NOT NULL,
                before TEXT,
                after TEXT,
                request_id TEXT
            )""",
            # transactional outbox, shipped to central by the sync agent keyed by
            # (sede_id, hub_epoch, seq); event_id is a UUIDv7 for idempotent apply
            """CREATE TABLE outbox (
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
                event_id TEXT NOT NULL,  -- UUIDv7 made here; unique by construction
                sede_id TEXT NOT NULL,
                hub_epoch INTEGER NOT NULL,
                event_type TEXT NOT NULL,
                aggregate_type TEXT NOT NULL,
                aggregate_id TEXT NOT NULL,
                payload TEXT NOT NULL,
                created_at TEXT NOT NULL,
                sent_at TEXT
            )""",
            # idempotency: the first answer to each request id
            """CREATE TABLE command_log (
                request_id TEXT PRIMARY KEY,
                actor_role TEXT NOT NULL,
                actor_device TEXT NOT NULL,
                action TEXT NOT NULL,
                response TEXT NOT NULL,
                created_at TEXT NOT NULL
            ) WITHOUT ROWID""",
        ),
    ),
    (
        2,
        "partial indexes: tickets sent to a counter, recent calls for the display",
        (
            """CREATE INDEX ix_tickets_target ON tickets (target_counter_id, status)
                WHERE target_counter_id IS NOT NULL""",
            """CREATE INDEX ix_ticket_events_calls ON ticket_events (at, id)
                WHERE event_type IN ('called', 'recalled')""",
        ),
    ),
    (
        3,
        "partial index: tickets whose print failed, for the queue states' reprint lists",
        # a new ticket is not flagged, so issuing does not write it; it holds only the few
        # tickets a kiosk could not print (QueueState.reprints, docs/mqtt.md)
        (
            """CREATE INDEX ix_tickets_reprint ON tickets (service_code, status)
                WHERE needs_reprint = 1""",
        ),
    ),
]

LATEST_VERSION = MIGRATIONS[-1][0]

# The tables sync introduced (sync state, central's records as pulled, case intakes): a
# migration track of their own, ``sync_schema_migrations``, so neither track's numbering can
# collide with the other's. Idempotent; a hub that never synced has them too (intakes are
# taken offline). Append only.
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


def iso(moment: datetime) -> str:
    """Fixed-width UTC text so that string order is time order."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def parse_iso(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def connect(db_path: Path) -> sqlite3.Connection:
    db_path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(
        str(db_path),
        isolation_level=None,  # we issue BEGIN IMMEDIATE / COMMIT ourselves
        check_same_thread=False,  # the engine serialises access with its own lock
        timeout=BUSY_TIMEOUT_MS / 1000,
        cached_statements=256,
    )
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if str(mode).lower() != "wal":
        raise RuntimeError(f"SQLite refused WAL mode for {db_path} (got {mode})")
    conn.execute(f"PRAGMA synchronous = {SYNCHRONOUS}")
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


class Checkpointer:
    """Copies the WAL back into the database from a background thread (PASSIVE checkpoints,
    which never block writers), so that a command's commit pays only for its own WAL fsync
    instead of, every few dozen commits, for a checkpoint of a thousand pages. The writer's
    own auto-checkpoint stays on at a higher mark as a safety net if this thread falls behind.
    Durability is unchanged: a commit is durable once its WAL frames are fsynced."""

    def __init__(self, db_path: Path, *, interval_s: float = 0.25) -> None:
        self._conn = connect(db_path)
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            try:
                self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            except sqlite3.Error:
                continue  # busy or locked: the next round (or the writer's safety net) catches up

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._conn.close()


def schema_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection, *, now: datetime) -> list[int]:
    """Apply every missing migration, each in its own write transaction; return the versions
    applied (empty when the file was already up to date)."""
    applied: list[int] = []
    for version, name, statements in MIGRATIONS:
        if schema_version(conn) >= version:
            continue
        _begin_immediate(conn)
        try:
            # re-check under the write lock: another process may have just migrated
            if schema_version(conn) >= version:
                conn.execute("ROLLBACK")
                continue
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
            )
            for statement in statements:
                conn.execute(statement)
            conn.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                (version, name, iso(now)),
            )
            conn.execute(f"PRAGMA user_version = {int(version)}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        applied.append(version)
    return applied


def _begin_immediate(conn: sqlite3.Connection) -> None:
    # busy_timeout covers the usual wait; this loop covers SQLITE_BUSY raised immediately
    # (e.g. while another connection holds the WAL recovery lock).
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            conn.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            if time.monotonic() > deadline:
                raise
            time.sleep(0.005)


begin_immediate = _begin_immediate


def now_iso() -> str:
    return iso(datetime.now(UTC))


def migrate_sync_tables(conn: sqlite3.Connection) -> None:
    """Apply the sync track's missing migrations (idempotent, safe between processes)."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS sync_schema_migrations ("
        "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
    )
    for version, name, statements in SYNC_MIGRATIONS:
        _begin_immediate(conn)
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


def open_db(db_path: Path | str) -> sqlite3.Connection:
    """A connection to the hub file with both migration tracks applied (the sync agent's)."""
    conn = connect(Path(db_path))
    migrate(conn, now=datetime.now(UTC))
    migrate_sync_tables(conn)
    return conn


def hub_meta(conn: sqlite3.Connection) -> dict[str, str]:
    return {r[0]: r[1] for r in conn.execute("SELECT key, value FROM hub_meta")}


def set_hub_meta(conn: sqlite3.Connection, key: str, value: str) -> None:
    conn.execute(
        "INSERT INTO hub_meta (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (key, value),
    )


def sync_state(conn: sqlite3.Connection) -> dict[str, str]:
    """The sync agent's bookkeeping (pull cursor, wire epoch, last errors), key -> text."""
    return {r[0]: r[1] for r in conn.execute("SELECT key, value FROM sync_state")}


def set_sync_state(conn: sqlite3.Connection, **values: object) -> None:
    conn.executemany(
        "INSERT INTO sync_state (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [(k, "" if v is None else str(v)) for k, v in values.items()],
    )


def write_sync_state(conn: sqlite3.Connection, **values: object) -> None:
    """``set_sync_state`` in its own short transaction (status bookkeeping)."""
    _begin_immediate(conn)
    try:
        set_sync_state(conn, **values)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
