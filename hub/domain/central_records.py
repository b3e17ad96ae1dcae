"""Central's records held at the hub: what the sync agent pulls from central (users, the sede
configuration, catalogues, appointments, display messages, case files, intakes as central
holds them) is stored here, in ``synced_records`` with the pull cursor saved in the same
transaction, and read here for the queue engine and the intake handlers.

Reads are pure statements on the hub's SQLite connection, inside the caller's transaction; the
engine (``hub.domain.central_config``) decides and writes the consequences (audit and outbox
rows). Precedence and timing are documented in docs/sync.md.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from contracts.cases import DEFAULT_MATTERS, INTAKE_FIELDS
from contracts.sync import Change, RecordType
from hub.config import SedeConfig, ServiceConfig, StaffUserConfig
from hub.domain import store
from hub.domain.store import parse_iso

MATTER_CATALOGUE_ID = "matters"

#: Most display messages the hub hands to the displays at once (newest first beyond that).
MAX_DISPLAY_MESSAGES = 10


@dataclass(frozen=True)
class PulledConfig:
    """What ``synced_records`` says about the sede configuration.

    ``config`` is None when central sent none (or withdrew it): the TOML applies. ``marker``
    changes whenever the stored record changes, so the engine re-reads only then. ``error``
    is set when central's document is not a valid hub configuration (kept out, logged).
    ``ignored`` names fields of central's document this hub does not know (a newer central):
    the configuration applies without them, and the hub logs that it needs upgrading."""

    config: SedeConfig | None
    marker: str
    error: str | None = None
    ignored: tuple[str, ...] = ()


def _config_known_fields(data: dict) -> tuple[SedeConfig, tuple[str, ...]]:
    """``data`` as a ``SedeConfig``, leaving out fields it does not declare. The TOML is read
    strictly (a typo there is the operator's to fix), but central's document may carry fields
    added after this hub was built: hubs are upgraded after central, sede by sede, and must
    keep applying what they understand meanwhile (docs/sync.md, Versioning)."""
    try:
        return SedeConfig.model_validate(data), ()
    except ValidationError as exc:
        errors = exc.errors()
        if not errors or any(error["type"] != "extra_forbidden" for error in errors):
            raise
    ignored = []
    for error in errors:
        *path, name = error["loc"]
        holder: Any = data
        for step in path:
            holder = holder[step]
        holder.pop(name, None)
        ignored.append(".".join(str(step) for step in error["loc"]))
    return SedeConfig.model_validate(data), tuple(ignored)


def _table_missing(exc: sqlite3.OperationalError) -> bool:
    return "no such table" in str(exc)


def pulled_config(conn: sqlite3.Connection, bootstrap: SedeConfig) -> PulledConfig:
    """Central's configuration of this sede as a hub ``SedeConfig``. Staff are not part of it
    (they travel as ``staff_user`` records); the TOML's local staff are kept as the fallback
    for users central never sent."""
    try:
        row = conn.execute(
            "SELECT revision, deleted, body FROM synced_records "
            "WHERE record_type = ? AND record_id = ?",
            (RecordType.SEDE_CONFIG, bootstrap.id),
        ).fetchone()
    except sqlite3.OperationalError as exc:
        if _table_missing(exc):  # sync never ran on this file
            return PulledConfig(None, "")
        raise
    if row is None:
        return PulledConfig(None, "")
    digest = hashlib.sha256((row[2] or "").encode()).hexdigest()[:16]
    marker = f"{row[0]}:{int(row[1])}:{digest}"
    if row[1] or not row[2]:
        return PulledConfig(None, marker)
    try:
        data = json.loads(row[2])
        data["staff"] = [user.model_dump() for user in bootstrap.staff]
        config, ignored = _config_known_fields(data)
    except (ValueError, ValidationError, TypeError) as exc:
        detail = exc.errors()[:2] if isinstance(exc, ValidationError) else str(exc)
        return PulledConfig(None, marker, f"configuración de la central no válida: {detail}")
    if config.id != bootstrap.id:
        return PulledConfig(None, marker, f"la configuración es de otra sede ({config.id})")
    return PulledConfig(config, marker, ignored=ignored)


def config_from_json(text: str | None, bootstrap: SedeConfig) -> SedeConfig | None:
    """A configuration the hub recorded as in effect (``hub_meta.sede_config_in_effect``),
    with the TOML's local staff; None when there is none or it no longer validates."""
    if not text:
        return None
    try:
        data = json.loads(text)
        data["staff"] = [user.model_dump() for user in bootstrap.staff]
        config = SedeConfig.model_validate(data)
    except (ValueError, ValidationError):
        return None
    return config if config.id == bootstrap.id else None


def orphan_services(
    conn: sqlite3.Connection, known: Iterable[str], previous: dict[str, ServiceConfig]
) -> dict[str, ServiceConfig]:
    """Services no longer configured that still have live tickets: they keep working (views,
    calls by number, finishing, reprints) but are not offered for new tickets. Their name and
    letter come from the previous configuration, else from the ticket number."""
    known = set(known)
    out: dict[str, ServiceConfig] = {}
    for code, number in conn.execute(
        "SELECT service_code, MIN(number) FROM tickets "
        "WHERE status IN ('waiting', 'called', 'serving', 'parked') GROUP BY service_code"
    ):
        if code in known:
            continue
        if code in previous:
            out[code] = previous[code]
            continue
        prefix = re.match(r"^[A-Z]{1,3}", number or "")
        letter = prefix[0] if prefix else "X"
        out[code] = ServiceConfig.model_construct(code=code, name=code, letter=letter)
    return out


def revoked_signed_in(conn: sqlite3.Connection) -> list[tuple[str, str]]:
    """(counter id, username) of counters held by a user central disabled or removed."""
    try:
        return [
            (r[0], r[1])
            for r in conn.execute(
                "SELECT c.counter_id, c.username FROM counters c JOIN synced_records s "
                "ON s.record_type = ? AND s.record_id = c.username "
                "WHERE c.username IS NOT NULL AND (s.deleted = 1 OR s.body IS NULL "
                "OR COALESCE(json_extract(s.body, '$.active'), 0) = 0) ORDER BY c.counter_id",
                (RecordType.STAFF_USER,),
            )
        ]
    except sqlite3.OperationalError as exc:
        if _table_missing(exc):
            return []
        raise


@dataclass(frozen=True)
class DisplayMessage:
    message_id: str
    text: str
    starts_at: datetime | None
    ends_at: datetime | None

    def valid_at(self, moment: datetime) -> bool:
        return (self.starts_at is None or self.starts_at <= moment) and (
            self.ends_at is None or moment < self.ends_at
        )


def display_messages(conn: sqlite3.Connection) -> list[DisplayMessage]:
    """Every live display message central sent for this sede (any validity window)."""
    try:
        rows = conn.execute(
            "SELECT record_id, body FROM synced_records WHERE record_type = ? AND deleted = 0",
            (RecordType.DISPLAY_MESSAGE,),
        ).fetchall()
    except sqlite3.OperationalError as exc:
        if _table_missing(exc):
            return []
        raise
    out = []
    for record_id, body in rows:
        data = json.loads(body) if body else {}
        text = str(data.get("text") or "").strip()
        if not text or data.get("deleted"):
            continue
        out.append(
            DisplayMessage(
                message_id=record_id,
                text=text,
                starts_at=_moment(data.get("starts_at")),
                ends_at=_moment(data.get("ends_at")),
            )
        )
    return out


def current_messages(messages: Iterable[DisplayMessage], moment: datetime) -> list[str]:
    """The texts to show now: valid at ``moment``, oldest start first, at most
    ``MAX_DISPLAY_MESSAGES`` (the most recently started ones)."""
    valid = sorted(
        (m for m in messages if m.valid_at(moment)),
        key=lambda m: (m.starts_at.isoformat() if m.starts_at else "", m.message_id),
    )
    return [m.text for m in valid[-MAX_DISPLAY_MESSAGES:]]


def prune_past_appointments(conn: sqlite3.Connection, before: str) -> int:
    """Drop appointments scheduled before ``before`` (ISO UTC, the start of the sede's day)
    that no ticket refers to: the hub keeps only today and the coming days."""
    return conn.execute(
        "DELETE FROM appointments WHERE scheduled_at < ? AND NOT EXISTS "
        "(SELECT 1 FROM tickets t WHERE t.appointment_id = appointments.id)",
        (before,),
    ).rowcount


def _moment(value: object) -> datetime | None:
    if not value:
        return None
    try:
        moment = parse_iso(str(value))
    except ValueError:
        return None
    if moment is not None and moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # central stores UTC
    return moment


# ---------------------------------------------------------------------------- what the hub reads


def staff_user(conn: sqlite3.Connection, username: str) -> StaffUserConfig | None | bool:
    """Central's word on a user: the user, False when central disabled or removed it
    (revocation), None when central never sent one by that name."""
    try:
        row = conn.execute(
            "SELECT deleted, body FROM synced_records WHERE record_type = ? AND record_id = ?",
            (RecordType.STAFF_USER, username),
        ).fetchone()
    except sqlite3.OperationalError:  # sync tables not created on this file yet
        return None
    if row is None:
        return None
    body = json.loads(row["body"]) if row["body"] else {}
    if row["deleted"] or not body.get("active", False):
        return False
    return StaffUserConfig.model_construct(
        username=username,
        display_name=str(body.get("display_name") or username),
        password_hash=str(body.get("password_hash") or ""),
        counters=list(body.get("counters") or []),
    )


def matter_catalogue(conn: sqlite3.Connection) -> dict[str, str]:
    """code -> Spanish name of the matters a counter may choose: central's catalogue as last
    pulled, else the built-in one (a hub that has never reached central)."""
    try:
        row = conn.execute(
            "SELECT deleted, body FROM synced_records WHERE record_type = ? AND record_id = ?",
            (RecordType.CASE_CATALOGUE, MATTER_CATALOGUE_ID),
        ).fetchone()
    except sqlite3.OperationalError:  # sync tables not created on this file yet
        row = None
    if row is not None and not row["deleted"] and row["body"]:
        matters = json.loads(row["body"]).get("matters") or []
        pulled = {str(m["code"]): str(m["name"]) for m in matters if m.get("code")}
        if pulled:
            return pulled
    return dict(DEFAULT_MATTERS)


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


# ---------------------------------------------------------------------------- pull


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
    store.begin_immediate(conn)
    try:
        state = store.sync_state(conn)
        if state.get("pull_cursor", "") != sent_cursor:
            conn.execute("ROLLBACK")
            return False
        generation = int(state.get("pull_generation", "0") or 0)
        resync = state.get("pull_resync") == "1"
        if reset:  # central's log is behind our cursor: re-read everything authoritatively
            generation += 1
            resync = True
        stamp = store.now_iso()
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
        store.set_sync_state(conn, **values)
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
    return store.iso(datetime.combine(local_day, time(0), zone))


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
    scheduled_at = store.iso(_aware(datetime.fromisoformat(str(body["scheduled_at"]))))
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
            body.get("created_at") or store.now_iso(),
            body.get("updated_at") or store.now_iso(),
        ),
    )


def settle_intakes(conn: sqlite3.Connection, through: int) -> None:
    """Central now holds the outbox through ``through``: local intake edits it has
    arbitrated no longer shadow pulled versions (inside the acknowledging transaction)."""
    settled = [
        row[0]
        for row in conn.execute(
            "SELECT id FROM case_intakes WHERE pending_seq <= ?", (through,)
        ).fetchall()
    ]
    conn.execute("UPDATE case_intakes SET pending_seq = NULL WHERE pending_seq <= ?", (through,))
    _apply_held_intakes(conn, settled)


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
