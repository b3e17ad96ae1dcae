"""Per-table fingerprints of the synced data on the hub and at central, computed with the same
projections so that "identical on both sides" is one equality (used by the fault tests)."""

from __future__ import annotations

import sqlite3
from typing import Any

from sync.protocol.fingerprint import fingerprint

# table name at the hub -> (columns); central.sync.service.SITE_FINGERPRINTS mirrors these
SITE_TABLES: dict[str, tuple[str, tuple[str, ...]]] = {
    "tickets": (
        "tickets",
        ("id", "revision", "status", "number", "service_code", "counter_id", "updated_at"),
    ),
    "ticket_events": ("ticket_events", ("id", "ticket_id", "event_type", "to_status", "at")),
    "counter_sessions": (
        "counter_sessions",
        ("id", "revision", "counter_id", "username", "signed_out_at"),
    ),
    "counter_pauses": ("counter_pauses", ("id", "revision", "reason", "ended_at")),
    "case_intakes": (
        "case_intakes",
        ("id", "revision", "status", "deleted", "summary", "matter", "citizen_names"),
    ),
}


def hub(conn: sqlite3.Connection, *, site_only: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, (table, columns) in SITE_TABLES.items():
        rows = conn.execute(f"SELECT {', '.join(columns)} FROM {table}").fetchall()  # noqa: S608
        out[name] = fingerprint(
            [{c: (bool(r[c]) if c == "deleted" else r[c]) for c in columns} for r in rows]
        )
    if not site_only:
        rows = conn.execute(
            "SELECT record_type, record_id, revision, deleted FROM synced_records"
        ).fetchall()
        out["central_records"] = fingerprint(
            [
                {
                    "record_type": r[0],
                    "record_id": r[1],
                    "revision": r[2],
                    "deleted": bool(r[3]),
                }
                for r in rows
            ]
        )
    return out


def central(url: str, sede_id: str, *, site_only: bool = False) -> dict[str, Any]:
    from central.core.db import make_engine
    from central.sync import service

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            out = service.fingerprints(conn, sede_id=sede_id)
    finally:
        engine.dispose()
    if site_only:
        out.pop("central_records", None)
    return out
