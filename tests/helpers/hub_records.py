"""Hub-side writes and reads that only tests and benches need: an intake saved in a
transaction of its own (the counters' commands write theirs inside the engine's), and central's
pulled user record as stored."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from contracts.sync import RecordType
from hub.domain import store
from hub.domain.intake import write_intake


def save_intake(
    conn: sqlite3.Connection,
    *,
    intake_id: str | None = None,
    changes: dict[str, Any],
    delete: bool = False,
) -> dict[str, Any]:
    """Create or edit (or delete, as a tombstone) a case intake at the sede in a transaction of
    its own: the row and its outbox event, as ``hub.domain.intake.write_intake`` writes them."""
    store.begin_immediate(conn)
    try:
        record = write_intake(conn, intake_id=intake_id, changes=changes, delete=delete)
        conn.execute("COMMIT")
        return record
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def synced_staff_user(conn: sqlite3.Connection, username: str) -> dict[str, Any] | None:
    """The user record central sent (``active`` False when deleted), as pulled, or None."""
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
