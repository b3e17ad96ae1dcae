"""Change-log cursors. A row is ordered by (txid, id): ``txid`` is the writing transaction's id
(PostgreSQL ``pg_current_xact_id()``; 0 on SQLite where writers are serialised) and ``id`` the
row's serial. Central serves only rows whose txid is below the current snapshot's xmin, i.e.
rows of transactions that can no longer commit, so a row that commits late always sorts after
the cursor of any page already served: nothing is skipped."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

_SEP = "."


class BadCursor(ValueError):
    """The cursor text is not one central could have issued."""


@dataclass(frozen=True, order=True)
class Cursor:
    """Position after the row (txid, row_id). ``check`` is a short digest of that row's record
    and revision: central verifies the row still exists as served, which exposes a central
    restored from an older backup (its log no longer holds, or holds something else at, the
    hub's position) so the hub re-reads everything instead of silently skipping."""

    txid: int = 0
    row_id: int = 0
    check: str = ""

    def encode(self) -> str:
        if self == START:
            return ""
        return _SEP.join((str(self.txid), str(self.row_id), self.check))

    @classmethod
    def decode(cls, text: str | None) -> Cursor:
        if not text:
            return START
        parts = text.split(_SEP)
        if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit():
            raise BadCursor(f"cursor inválido: {text[:40]!r}")
        if not re.fullmatch(r"[0-9a-f]{8}", parts[2]):
            raise BadCursor(f"cursor inválido: {text[:40]!r}")
        return cls(int(parts[0]), int(parts[1]), parts[2])

    @property
    def position(self) -> tuple[int, int]:
        return (self.txid, self.row_id)


START = Cursor(0, 0, "")


def row_check(record_type: str, record_id: str, revision: int) -> str:
    return hashlib.sha256(f"{record_type}:{record_id}:{revision}".encode()).hexdigest()[:8]


def after(cursor: Cursor, position: tuple[int, int]) -> bool:
    """Whether a row at ``position`` comes after ``cursor`` (is not yet served)."""
    return position > cursor.position
