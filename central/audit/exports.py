"""The audit log as a file (CSV or JSON), written the same way by the API, the auditor's web
page and ``alegra audit export``: every row with its UTC time exactly as hashed
(``occurred_at``, ending in Z) and the same instant in Lima (``occurred_at_lima``, with its
offset); file names stamped in Lima time; CSV cells through the spreadsheet-safe writer."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from central.audit.models import AuditEvent
from central.audit.service import EXPORT_COLUMNS, export_row
from central.core.spreadsheet import write_csv
from central.domain.clock import as_utc

LIMA = ZoneInfo("America/Lima")
COLUMNS = (*EXPORT_COLUMNS[:3], "occurred_at_lima", *EXPORT_COLUMNS[3:])
MEDIA_TYPES = {"csv": "text/csv", "json": "application/json"}


def file_row(event: AuditEvent) -> dict[str, Any]:
    row = export_row(event)
    lima = as_utc(event.occurred_at).astimezone(LIMA)  # type: ignore[union-attr]
    row["occurred_at_lima"] = lima.isoformat(timespec="seconds")
    return {name: row[name] for name in COLUMNS}


def write(handle: TextIO, events: Iterable[AuditEvent], fmt: str) -> int:
    """Write the events to an open text handle as ``csv`` or ``json``; returns the row count."""
    rows = (file_row(event) for event in events)
    if fmt == "json":
        items = list(rows)
        json.dump(items, handle, ensure_ascii=False, indent=1)
        return len(items)
    return write_csv(handle, COLUMNS, rows)


def filename(fmt: str, now: datetime | None = None) -> str:
    stamp = (now or datetime.now(UTC)).astimezone(LIMA).strftime("%Y%m%d-%H%M%S")
    return f"auditoria-{stamp}.{fmt}"


def media_type(fmt: str) -> str:
    return f"{MEDIA_TYPES[fmt]}; charset=utf-8"
