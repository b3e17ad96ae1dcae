"""The hub's read side: the states devices see (``QueueState``, ``CounterState``,
``DisplayState``, ``SedeInfo``) and the ticket as a device sees it, read on a connection inside
a read transaction (the engine's, or a ``projections.StateReader``'s of its own).

The longest part, the waiting tickets of a queue, is rendered to JSON by SQLite itself
(``QUEUE_TICKETS_JSON`` and ``QUEUE_REPRINTS_*``), with the line order rendered from
``hub.domain.ordering``: the bridge publishes these off its command lane, and little Python
work there means little contention with the commands (docs/queue.md).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from contracts.errors import ErrorCode
from contracts.messages import (
    CallView,
    CounterInfo,
    CounterState,
    CounterStatus,
    DisplayState,
    MatterInfo,
    OpeningHours,
    PreferenceCategory,
    QueueState,
    SedeInfo,
    ServiceInfo,
    TicketOrigin,
    TicketStatus,
    TicketView,
)
from hub.config import StaffUserConfig
from hub.domain import central_records, ordering, store
from hub.domain.errors import DomainError
from hub.domain.tx import Catalogue

RECENT_CALLS = 10
#: calls read at most per recent call shown (recalls of the same tickets are skipped)
RECENT_CALLS_SCAN = 10
QUEUE_STATE_MAX_TICKETS = 100  # the head of the line; `waiting` carries the full count
# flagged tickets further back than the head, listed apart so counters can reprint them
QUEUE_STATE_MAX_REPRINTS = 50
STATS_LOOKBACK_DAYS = 7
# the line order in SQL, rendered from hub.domain.ordering (its parameter: ordering.due_limit)
LINE_ORDER = ordering.order_sql()
_LINE_ORDER_NAMED = ordering.order_sql(due=":due")
# One waiting ticket as a TicketView JSON object (see TicketView and _view) from the tickets
# row joined to `line` (line.ticket_id, line.ahead: its place in the line order); the estimate
# is _estimate's twin. Times are stored as fixed-width ISO text with "+00:00"; "Z" as pydantic.
_TICKET_VIEW_JSON = (
    "json_object('ticket_id', id, 'number', number, 'service_code', service_code, "
    "'status', status, 'preference_category', preference_category, 'origin', origin, "
    "'issued_at', replace(issued_at, '+00:00', 'Z'), "
    "'arrived_at', replace(arrived_at, '+00:00', 'Z'), "
    "'called_at', replace(called_at, '+00:00', 'Z'), "
    "'started_at', replace(started_at, '+00:00', 'Z'), "
    "'counter_id', coalesce(counter_id, target_counter_id), 'recalls', recalls, "
    "'people_ahead', line.ahead, "
    "'estimated_wait_s', "
    "CASE WHEN :open > 0 THEN CAST(line.ahead * :per / :open + 0.5 AS INTEGER) END, "
    "'needs_reprint', json(CASE WHEN needs_reprint THEN 'true' ELSE 'false' END))"
)
# The head of a service's line, rendered by SQLite in one statement: the head's ids from the
# covering line index alone, numbered, then only those rows read. Second column: the flag.
QUEUE_TICKETS_JSON = (
    "SELECT " + _TICKET_VIEW_JSON + ", needs_reprint "  # noqa: S608
    "FROM (SELECT id AS ticket_id, row_number() OVER (ORDER BY " + _LINE_ORDER_NAMED + ") - 1 "
    "AS ahead FROM (SELECT id, preference_category, appointment_due_at, arrived_at "
    "FROM tickets WHERE status = 'waiting' AND service_code = :code "
    "ORDER BY " + _LINE_ORDER_NAMED + " LIMIT :limit)) AS line "
    "JOIN tickets ON tickets.id = line.ticket_id ORDER BY line.ahead"
)
# Who is ahead of a ticket in the common line: everyone waiting in a class <= its class.
COUNT_AHEAD_SQL = (
    "SELECT COUNT(*) FROM tickets WHERE status = 'waiting' AND service_code = ? "  # noqa: S608
    f"AND target_counter_id IS NULL AND id != ? AND ({ordering.class_sql()}) <= ?"
)
# How many waiting tickets of a service are flagged for reprint: ix_tickets_reprint alone.
QUEUE_REPRINTS_COUNT = (
    "SELECT COUNT(*) FROM tickets WHERE needs_reprint = 1 AND status = 'waiting' "
    "AND service_code = ?"
)
# The flagged tickets behind the head (place >= :skip), the first :limit of them in line
# order, two ways to the same rows; the engine runs one only when the line is longer than the
# head and someone behind it is flagged. The flagged ids come from the partial index
# ix_tickets_reprint, the places from the covering line index; only the listed rows are read.
# - few flagged: each one's place counted (one pass over the line index each, no sort);
QUEUE_REPRINTS_FEW_JSON = (
    "SELECT " + _TICKET_VIEW_JSON + " "  # noqa: S608
    "FROM (SELECT ticket_id, ahead FROM (SELECT f.id AS ticket_id, (SELECT COUNT(*) FROM "
    "tickets AS t WHERE t.status = 'waiting' AND t.service_code = :code AND "
    + ordering.key_sql("t", due=":due")
    + " < "
    + ordering.key_sql("f", due=":due")
    + ") AS ahead FROM tickets AS f WHERE f.needs_reprint = 1 AND f.status = 'waiting' "
    # LIMIT -1 (none) keeps SQLite from flattening this into the outer query, which would
    # count each place twice (once to filter, once to sort)
    "AND f.service_code = :code LIMIT -1) WHERE ahead >= :skip ORDER BY ahead LIMIT :limit) "
    "AS line "
    "JOIN tickets ON tickets.id = line.ticket_id ORDER BY line.ahead"
)
# - many flagged: the whole line numbered once (one sort), the flagged ones picked from it.
QUEUE_REPRINTS_JSON = (
    "SELECT " + _TICKET_VIEW_JSON + " "  # noqa: S608
    "FROM (SELECT ticket_id, ahead FROM (SELECT id AS ticket_id, row_number() OVER (ORDER BY "
    + _LINE_ORDER_NAMED
    + ") - 1 AS ahead FROM tickets WHERE status = 'waiting' AND service_code = :code) "
    "WHERE ahead >= :skip AND ticket_id IN (SELECT id FROM tickets WHERE needs_reprint = 1 "
    "AND status = 'waiting' AND service_code = :code) ORDER BY ahead LIMIT :limit) AS line "
    "JOIN tickets ON tickets.id = line.ticket_id ORDER BY line.ahead"
)
#: Up to this many flagged tickets in a line, QUEUE_REPRINTS_FEW_JSON: counting one place
#: costs about a sixth of numbering the whole line (300 and 2,000 waiting; a quarter at 130),
#: five about the same.
REPRINTS_COUNTED_MAX = 4


# ---------------------------------------------------------------------- a ticket


def ticket_view(
    ticket: Mapping[str, Any],
    *,
    people_ahead: int | None = None,
    estimated: int | None = None,
) -> TicketView:
    return TicketView(
        ticket_id=ticket["id"],
        number=ticket["number"],
        service_code=ticket["service_code"],
        status=TicketStatus(ticket["status"]),
        preference_category=PreferenceCategory(ticket["preference_category"]),
        origin=TicketOrigin(ticket["origin"]),
        issued_at=store.parse_iso(ticket["issued_at"]),  # type: ignore[arg-type]
        arrived_at=store.parse_iso(ticket["arrived_at"]),  # type: ignore[arg-type]
        called_at=store.parse_iso(ticket["called_at"]),
        started_at=store.parse_iso(ticket["started_at"]),
        counter_id=ticket["counter_id"] or ticket["target_counter_id"],
        recalls=ticket["recalls"],
        people_ahead=people_ahead,
        estimated_wait_s=estimated,
        needs_reprint=bool(ticket["needs_reprint"]),
    )


def estimate(people_ahead: int, per_person_s: float, open_counters: int) -> int | None:
    """Baseline: people ahead x recent average service time / open counters. None when no
    counter attending the service is open (no honest estimate exists)."""
    if open_counters <= 0:
        return None
    # half up (not Python's half-even round): QUEUE_TICKETS_JSON computes the same in SQL
    return int(people_ahead * per_person_s / open_counters + 0.5)


def _round(value: float | None) -> int | None:
    return None if value is None else round(value)


# ---------------------------------------------------------------------- rows


def counter_row(conn: sqlite3.Connection, counter_id: str) -> sqlite3.Row:
    return conn.execute("SELECT * FROM counters WHERE counter_id = ?", (counter_id,)).fetchone()


def in_hand(conn: sqlite3.Connection, counter_id: str) -> sqlite3.Row | None:
    """The ticket a counter has called or is serving."""
    return conn.execute(
        "SELECT * FROM tickets WHERE counter_id = ? AND status IN ('called', 'serving') "
        "ORDER BY called_at DESC LIMIT 1",
        (counter_id,),
    ).fetchone()


def line_counts(conn: sqlite3.Connection, service_code: str) -> tuple[int, int, int]:
    """(waiting, waiting in the common line, preferential in the common line)."""
    row = conn.execute(
        "SELECT waiting_total, waiting_in_line, preferential_in_line FROM service_lines "
        "WHERE service_code = ?",
        (service_code,),
    ).fetchone()
    return (row[0], row[1], row[2]) if row else (0, 0, 0)


# ---------------------------------------------------------------------- states


def sede_info(*, catalogue: Catalogue, now: datetime, matters: Mapping[str, str]) -> SedeInfo:
    config = catalogue.config
    is_open = config.is_open(now)
    hours = [
        OpeningHours(
            weekday=day, opens=h.opens.strftime("%H:%M"), closes=h.closes.strftime("%H:%M")
        )
        for h in config.hours
        for day in h.weekdays
    ]
    return SedeInfo(
        sede_id=config.id,
        name=config.name,
        timezone=config.timezone,
        services=[ServiceInfo(code=s.code, name=s.name, letter=s.letter) for s in config.services],
        counters=[
            CounterInfo(counter_id=c.id, name=c.name, number=c.number, services=dict(c.services))
            for c in config.counters
        ],
        hours=sorted(hours, key=lambda h: (h.weekday, h.opens)),
        is_open_now=is_open,
        accepts_tickets=is_open or catalogue.policy.issue_outside_hours,
        matters=[MatterInfo(code=c, name=n) for c, n in matters.items()],
    )


def queue_state_json(
    conn: sqlite3.Connection, *, catalogue: Catalogue, now: datetime, service_code: str
) -> bytes:
    """The service's ``QueueState`` as published, read on ``conn`` (inside a read
    transaction: the engine's own under ``queue_state``, or a ``StateReader``'s). The
    waiting tickets are rendered to JSON by SQLite itself (``QUEUE_TICKETS_JSON``, and
    ``QUEUE_REPRINTS_*`` for ``reprints``): the bridge publishes this off its command lane,
    and little Python work there means little contention with the commands;
    ``queue_state`` parses it, so the model checks it."""
    service = catalogue.services.get(service_code)
    if service is None:
        raise DomainError(ErrorCode.UNKNOWN_SERVICE, field="service_code")
    due = catalogue.due_limit(now)
    oldest = conn.execute(
        "SELECT MIN(arrived_at) FROM tickets WHERE status = 'waiting' AND service_code = ?",
        (service_code,),
    ).fetchone()[0]
    per_person, open_counters, (waiting, in_line, preferential) = service_pace(
        conn, service_code, catalogue
    )
    line = {"code": service_code, "due": due, "per": per_person, "open": open_counters}
    head = conn.execute(QUEUE_TICKETS_JSON, {**line, "limit": QUEUE_STATE_MAX_TICKETS}).fetchall()
    reprints: list[Any] = []
    # Flagged tickets behind the head: none when the head is the whole line; else the
    # partial index counts the flagged ones, and only when some are not in the head are
    # places worked out (the line is read again: the few rows' places, or all numbered).
    if waiting > QUEUE_STATE_MAX_TICKETS:
        flagged = conn.execute(QUEUE_REPRINTS_COUNT, (service_code,)).fetchone()[0]
        if flagged > sum(row[1] for row in head):
            reprints = conn.execute(
                QUEUE_REPRINTS_FEW_JSON if flagged <= REPRINTS_COUNTED_MAX else QUEUE_REPRINTS_JSON,
                {**line, "skip": QUEUE_STATE_MAX_TICKETS, "limit": QUEUE_STATE_MAX_REPRINTS},
            ).fetchall()
    today = catalogue.business_date(now)
    day_start = catalogue.day_start(today)
    lookback = (date.fromisoformat(today) - timedelta(days=STATS_LOOKBACK_DAYS)).isoformat()
    stats = conn.execute(
        "SELECT "
        "AVG(CASE WHEN first_called_at >= ? THEN "
        "(julianday(first_called_at) - julianday(arrived_at)) * 86400 END), "
        "AVG(CASE WHEN finished_at >= ? AND started_at IS NOT NULL AND status = 'done' "
        "THEN (julianday(finished_at) - julianday(started_at)) * 86400 END), "
        "SUM(CASE WHEN finished_at >= ? AND status = 'done' THEN 1 ELSE 0 END) "
        "FROM tickets WHERE business_date >= ? AND service_code = ?",
        (day_start, day_start, day_start, lookback, service_code),
    ).fetchone()
    state = QueueState(
        service_code=service.code,
        service_name=service.name,
        waiting=waiting,
        preferential_waiting=preferential,
        longest_wait_s=max(0, int((now - store.parse_iso(oldest)).total_seconds()))
        if oldest
        else 0,
        average_wait_s=_round(stats[0]),
        average_service_s=_round(stats[1]),
        served_today=int(stats[2] or 0),
        open_counters=open_counters,
        estimated_wait_s=estimate(in_line, per_person, open_counters),
        tickets=[],
    )
    text = state.model_dump_json()
    empty = '"reprints":[],"tickets":[]}'
    if not text.endswith(empty):  # the two lists must stay QueueState's last fields
        raise RuntimeError("QueueState JSON does not end with its reprints and tickets")
    behind = ",".join(row[0] for row in reprints)
    tickets = ",".join(row[0] for row in head)
    return f'{text[: -len(empty)]}"reprints":[{behind}],"tickets":[{tickets}]}}'.encode()


def service_pace(
    conn: sqlite3.Connection, service_code: str, catalogue: Catalogue
) -> tuple[float, int, tuple[int, int, int]]:
    """(seconds per person over recent attentions, open counters attending the service,
    line counts (waiting, in line, preferential in line)) in one statement: this runs
    in the issuing transaction."""
    row = conn.execute(
        "SELECT "
        "(SELECT AVG(seconds) FROM (SELECT (julianday(finished_at) - julianday(started_at)) "
        "* 86400 AS seconds FROM tickets WHERE service_code = :code AND status = 'done' "
        "AND finished_at IS NOT NULL AND started_at IS NOT NULL "
        "ORDER BY finished_at DESC LIMIT :samples)), "
        "(SELECT COUNT(*) FROM counters, json_each(counters.active_services) AS attended "
        "WHERE counters.status = 'open' AND attended.value = :code), "
        "l.waiting_total, l.waiting_in_line, l.preferential_in_line "
        "FROM (SELECT 1) LEFT JOIN service_lines AS l ON l.service_code = :code",
        {"code": service_code, "samples": catalogue.policy.recent_service_samples},
    ).fetchone()
    per_person = row[0] if row[0] is not None else float(catalogue.policy.default_service_s)
    return per_person, row[1], (row[2] or 0, row[3] or 0, row[4] or 0)


def counter_state(
    conn: sqlite3.Connection, *, catalogue: Catalogue, counter_id: str
) -> CounterState:
    """``CounterState`` read on ``conn`` (inside a read transaction)."""
    config = catalogue.counters.get(counter_id)
    if config is None:
        raise DomainError(ErrorCode.UNKNOWN_COUNTER, field="counter_id")
    row = counter_row(conn, counter_id)
    if row is None:  # added by central's configuration, not committed in this snapshot
        raise DomainError(ErrorCode.UNKNOWN_COUNTER, field="counter_id")
    current = in_hand(conn, counter_id)
    parked = conn.execute(
        "SELECT * FROM tickets WHERE counter_id = ? AND status = 'parked' ORDER BY arrived_at",
        (counter_id,),
    ).fetchall()
    staff = None
    if row["username"]:
        synced = catalogue.staff.get(row["username"]) or central_records.staff_user(
            conn, row["username"]
        )
        staff = synced if isinstance(synced, StaffUserConfig) else None
    status = CounterStatus(row["status"])
    return CounterState(
        counter_id=counter_id,
        name=config.name,
        number=config.number,
        status=status,
        pause_reason=row["pause_reason"],
        services=json.loads(row["active_services"])
        if status is not CounterStatus.CLOSED
        else list(config.services),
        user_display_name=staff.display_name if staff else row["username"],
        current=ticket_view(current) if current is not None else None,
        parked=[ticket_view(t) for t in parked],
        since=store.parse_iso(row["since"]),
    )


def display_state(
    conn: sqlite3.Connection, *, catalogue: Catalogue, messages: Sequence[str]
) -> DisplayState:
    """``DisplayState`` read on ``conn`` (inside a read transaction)."""
    held = conn.execute(
        "SELECT * FROM tickets WHERE status IN ('called', 'serving') "
        "AND counter_id IS NOT NULL ORDER BY called_at DESC"
    ).fetchall()
    # newest call first, one per ticket: a recall moves its ticket to the top instead of
    # repeating it and pushing other calls out (read down the calls index, stop when full)
    recent: list[sqlite3.Row] = []
    seen_tickets: set[str] = set()
    for r in conn.execute(
        "SELECT e.ticket_id, t.number, e.service_code, e.counter_id, e.at, "
        "json_extract(e.details, '$.recalls') AS recalls "
        "FROM ticket_events e JOIN tickets t ON t.id = e.ticket_id "
        "WHERE e.event_type IN ('called', 'recalled') ORDER BY e.at DESC, e.id DESC "
        "LIMIT ?",
        (RECENT_CALLS * RECENT_CALLS_SCAN,),
    ):
        if r["ticket_id"] in seen_tickets or r["counter_id"] not in catalogue.counters:
            continue
        seen_tickets.add(r["ticket_id"])
        recent.append(r)
        if len(recent) == RECENT_CALLS:
            break
    waiting = {code: line_counts(conn, code)[0] for code in catalogue.services}
    current: list[CallView] = []
    seen: set[str] = set()
    for t in held:
        if t["counter_id"] in seen or t["counter_id"] not in catalogue.counters:
            continue
        seen.add(t["counter_id"])
        current.append(
            _call_view(
                catalogue,
                t["number"],
                t["service_code"],
                t["counter_id"],
                t["called_at"],
                t["recalls"],
            )
        )
    return DisplayState(
        current=current,
        recent=[
            _call_view(
                catalogue,
                r["number"],
                r["service_code"],
                r["counter_id"],
                r["at"],
                int(r["recalls"] or 0),
            )
            for r in recent
        ],
        waiting=waiting,
        messages=list(messages),
    )


def _call_view(
    catalogue: Catalogue,
    number: str,
    service_code: str,
    counter_id: str,
    called_at: str,
    recalls: int,
) -> CallView:
    counter = catalogue.counters[counter_id]
    return CallView(
        number=number,
        service_code=service_code,
        counter_id=counter_id,
        counter_name=counter.name,
        counter_number=counter.number,
        called_at=store.parse_iso(called_at),  # type: ignore[arg-type]
        recalls=recalls,
    )
