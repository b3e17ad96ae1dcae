"""Records edited on both sides (case intakes): revisions, forward-only status, and how central
arbitrates an edit that the hub made against an older revision.

Central is the single arbiter. A hub edit carries the revision it was based on; central accepts
it when that is still the current revision, and otherwise keeps both versions: the current one
stays, the other is stored in a conflict for a person to resolve. Status only moves forward,
whichever version wins. A delete racing an edit never loses the edit: the record stays alive
and the conflict asks a person to confirm the deletion.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

# the intake record's vocabulary is the contract's (the hub writes intakes with it too)
from contracts.cases import INTAKE_FIELDS as INTAKE_FIELDS
from contracts.cases import INTAKE_STATUSES as INTAKE_STATUSES
from contracts.cases import forward_status as forward_status
from contracts.cases import status_rank as status_rank


def same_content(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    return all(a.get(k) == b.get(k) for k in INTAKE_FIELDS)


Outcome = Literal["create", "accept", "noop", "conflict"]


@dataclass
class Decision:
    outcome: Outcome
    # the record central keeps as current (fields + deleted), None for "noop"
    current: dict[str, Any] | None = None
    conflict_kind: Literal["edit_edit", "delete_edit"] | None = None
    # the version that did not become current, kept for the person resolving the conflict
    losing: dict[str, Any] | None = field(default=None)


def arbitrate_site_edit(
    *,
    central: Mapping[str, Any] | None,
    incoming: Mapping[str, Any],
    base_revision: int,
) -> Decision:
    """Decide what central keeps when a hub sends ``incoming`` (fields + ``deleted``) edited
    from ``base_revision``. ``central`` is central's current row (fields, ``deleted``,
    ``revision``) or None."""
    proposed = {k: incoming.get(k) for k in (*INTAKE_FIELDS, "deleted")}
    proposed["deleted"] = bool(proposed.get("deleted"))
    status_rank(proposed["status"])  # unknown status: poison, raised before any effect
    if central is None:
        return Decision("create", current=proposed)
    current = {k: central.get(k) for k in (*INTAKE_FIELDS, "deleted")}
    current["deleted"] = bool(current.get("deleted"))
    if same_content(current, proposed) and current["deleted"] == proposed["deleted"]:
        return Decision("noop")
    merged_status = forward_status(current["status"], proposed["status"])
    if int(central["revision"]) == base_revision:
        return Decision("accept", current={**proposed, "status": merged_status})
    # concurrent: central moved on since the hub's base revision
    if proposed["deleted"] and not current["deleted"]:
        kept = {**current, "status": merged_status}
        return Decision("conflict", current=kept, conflict_kind="delete_edit", losing=proposed)
    if current["deleted"] and not proposed["deleted"]:
        kept = {**proposed, "status": merged_status, "deleted": False}
        return Decision("conflict", current=kept, conflict_kind="delete_edit", losing=current)
    kept = {**current, "status": merged_status}
    return Decision("conflict", current=kept, conflict_kind="edit_edit", losing=proposed)


def check_central_edit(*, current: Mapping[str, Any], proposed: Mapping[str, Any]) -> None:
    """A central edit may not move the status back."""
    if status_rank(proposed["status"]) < status_rank(current["status"]):
        raise ValueError("el estado no puede retroceder")
