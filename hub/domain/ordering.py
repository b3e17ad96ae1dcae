"""Order of service: who is next in a service's line, and which line a counter serves next.

Pure functions over ticket rows (mappings with the ``tickets`` columns); no I/O, so the rules
are tested directly. The line order is written here once: ``sort_key`` for rows in Python, and
the same rule rendered for SQLite (``class_sql``, ``order_sql``, ``key_sql``), which the engine
and its queries use to read a line's head, number a line and count who is ahead;
tests/hub/domain/test_ordering.py checks that both orders agree on the same data. The engine
uses ``choose_next`` to pick across the services a counter attends.

Within one service the line is ordered by (class, original arrival, ticket id):
class 0 preferential (Ley 28683), class 1 appointments due within the window, class 2 the
rest; first come, first served (oldest arrival first) inside each class. Across the services
a counter attends, the counter takes: a ticket transferred to it personally; else a
preferential head (oldest first); else a due appointment head; else a head that has waited
``aging_after_s`` (oldest first, so no service starves); else smooth weighted round robin
over the non-empty services by the counter's weights (state persisted per counter).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from hub.domain.store import iso

PREFERENTIAL, APPOINTMENT_DUE, REGULAR = 0, 1, 2
Row = Mapping[str, Any]


def priority_class(ticket: Row, *, due_limit: str) -> int:
    """``due_limit`` is iso(now + appointment window)."""
    if ticket["preference_category"] != "none":
        return PREFERENTIAL
    due_at = ticket["appointment_due_at"]
    if due_at is not None and due_at <= due_limit:
        return APPOINTMENT_DUE
    return REGULAR


def class_sql(table: str = "", *, due: str = "?") -> str:
    """``priority_class`` as an SQL expression over the ``tickets`` columns of ``table`` (an
    alias; "" for none); ``due`` is the placeholder bound to ``due_limit``."""
    t = f"{table}." if table else ""
    return (
        f"CASE WHEN {t}preference_category != 'none' THEN {PREFERENTIAL} "
        f"WHEN {t}appointment_due_at IS NOT NULL AND {t}appointment_due_at <= {due} "
        f"THEN {APPOINTMENT_DUE} ELSE {REGULAR} END"
    )


def order_sql(table: str = "", *, due: str = "?") -> str:
    """``sort_key`` as an SQL ``ORDER BY`` list (see ``class_sql``)."""
    t = f"{table}." if table else ""
    return f"{class_sql(table, due=due)}, {t}arrived_at, {t}id"


def key_sql(table: str, *, due: str = "?") -> str:
    """``sort_key`` as an SQL row value, for "is ahead of" comparisons between two rows."""
    return f"({order_sql(table, due=due)})"


def due_limit(now: datetime, window_min: int) -> str:
    return iso(now + timedelta(minutes=window_min))


def sort_key(ticket: Row, *, due_limit: str) -> tuple[int, str, str]:
    # arrived_at is fixed-width UTC text, so text order is time order; the UUIDv7 id breaks
    # ties in issue order
    return (priority_class(ticket, due_limit=due_limit), ticket["arrived_at"], ticket["id"])


def order_line(tickets: Iterable[Row], *, due_limit: str) -> list[Row]:
    """The waiting tickets of one service in the order they will be served."""
    return sorted(tickets, key=lambda t: sort_key(t, due_limit=due_limit))


@dataclass(frozen=True)
class Choice:
    ticket: Row
    reason: str  # direct | preferential | appointment | aging | weighted
    wrr_state: dict[str, int]


def choose_next(
    *,
    heads: Mapping[str, Row],
    direct: Iterable[Row],
    weights: Mapping[str, int],
    wrr_state: Mapping[str, int],
    due_limit: str,
    aging_limit: str,
) -> Choice | None:
    """Pick the ticket a counter calls next.

    ``heads``: service code -> first ticket of that service's line as this counter sees it.
    ``direct``: waiting tickets transferred to this counter personally.
    ``aging_limit``: iso(now - aging_after_s); a head that arrived before it has aged.
    """
    state = dict(wrr_state)
    direct_line = order_line(direct, due_limit=due_limit)
    if direct_line:
        return Choice(direct_line[0], "direct", state)
    if not heads:
        return None
    order = list(weights)  # config order breaks ties deterministically
    ranked = {code: priority_class(row, due_limit=due_limit) for code, row in heads.items()}
    for klass, reason in ((PREFERENTIAL, "preferential"), (APPOINTMENT_DUE, "appointment")):
        group = [heads[c] for c in order if c in heads and ranked[c] == klass]
        if group:
            return Choice(min(group, key=lambda t: (t["arrived_at"], t["id"])), reason, state)
    aged = [heads[c] for c in order if c in heads and heads[c]["arrived_at"] <= aging_limit]
    if aged:
        return Choice(min(aged, key=lambda t: (t["arrived_at"], t["id"])), "aging", state)
    # smooth weighted round robin (as nginx): every non-empty line earns its weight, the
    # richest is served and pays back the total; over a round each line gets its weight.
    live = [c for c in order if c in heads]
    total = 0
    for code in live:
        state[code] = state.get(code, 0) + weights[code]
        total += weights[code]
    picked = max(live, key=lambda c: state[c])  # max keeps the first on ties
    state[picked] -= total
    return Choice(heads[picked], "weighted", state)
