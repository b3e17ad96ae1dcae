"""Central's word, as pulled by the sync agent into ``synced_records``, read for the queue engine:
the sede configuration (which wins over the TOML once pulled), revoked staff, display messages
within their validity window, and the appointment window.

Pure reads and small statements on the hub's SQLite connection, inside the engine's
transaction; the engine (``HubEngine._apply_central``) decides and writes the consequences
(audit and outbox rows). Precedence and timing are documented in docs/sync.md.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from contracts.sync import RecordType
from hub.config import SedeConfig, ServiceConfig
from hub.domain.store import parse_iso

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
