"""Per-table fingerprints of synced data: the same rows on both sides give the same digest
whatever their storage order or database."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def fingerprint(rows: Iterable[Mapping[str, Any]], *, key: str = "id") -> dict[str, Any]:
    """Count and sha256 of the rows, sorted by ``key``."""
    ordered = sorted((canonical(dict(r)) for r in rows), key=lambda s: s)
    digest = hashlib.sha256()
    for line in ordered:
        digest.update(line.encode())
        digest.update(b"\n")
    return {"count": len(ordered), "sha256": digest.hexdigest()}
