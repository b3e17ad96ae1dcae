"""Read-only interface over the records Module 01 counts but does not own.

- The queue, as the sede hubs sync it into central (central.sync): every ticket's event history
  (``sync_ticket_event``: who moved the ticket to which status, when), counter sessions (who sat
  at which counter) and counter pauses.
- Case files (central.cases): actions (actuaciones) with type, date and author, files opened
  as patrocinio, and the files still open per assigned professional (workload).

Only the columns read here are described (lightweight ``table()`` clauses), so this module
depends on the other packages' table *names and columns*, not on their Python code; which
sources exist in the database is checked at run time (``available``).

Definitions (documented in docs/activities.md):
- an *attention* is a ticket a staff user had in ``serving`` status; its duration is the sum
  of the ticket's serving segments (from the event that entered ``serving`` to the next event
  of the ticket: finished, transferred, parked); it counts on the ticket's business date;
- a *day worked* is a Lima calendar day with a counter session or an attention.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import (
    JSON,
    TIMESTAMP,
    Connection,
    Date,
    DateTime,
    String,
    and_,
    case,
    cast,
    column,
    distinct,
    extract,
    func,
    inspect,
    or_,
    select,
    table,
)

LIMA = ZoneInfo("America/Lima")

# --- central.sync (site-owned records received from the hubs)
sync_ticket = table(
    "sync_ticket",
    column("id", String),
    column("sede_id", String),
    column("business_date", String),
)
sync_ticket_event = table(
    "sync_ticket_event",
    column("id", String),
    column("ticket_id", String),
    column("from_status", String),
    column("to_status", String),
    column("at", String),
    column("body", String),
)
sync_counter_session = table(
    "sync_counter_session",
    column("id", String),
    column("sede_id", String),
    column("counter_id", String),
    column("username", String),
    column("signed_in_at", String),
    column("signed_out_at", String),
)
sync_counter_pause = table(
    "sync_counter_pause",
    column("id", String),
    column("sede_id", String),
    column("counter_id", String),
    column("started_at", String),
    column("ended_at", String),
    column("body", String),
)

# --- central.cases (case files and their actions)
case_file = table(
    "case_file",
    column("id", String),
    column("sede_id", String),
    column("attention_type", String),
    column("state", String),
    column("assigned_user_id", String),
    column("created_by", String),
    column("opened_at", DateTime(timezone=True)),
)
case_action = table(
    "case_action",
    column("id", String),
    column("sede_id", String),
    column("action_type", String),
    column("action_date", Date),
    column("author_user_id", String),
)

# Module 04: sessions of the audiencia única held, counted as hearings of the file's conciliator
conc_session = table(
    "conc_session",
    column("file_id", String),
    column("sede_id", String),
    column("status", String),
    column("held_on", Date),
)
conc_file = table("conc_file", column("id", String), column("conciliator_user_id", String))

# case action type -> planned activity type it counts towards
CASE_ACTION_COUNTS_AS: dict[str, str] = {"audiencia": "hearings", "visita": "visits"}
PATROCINIO = "patrocinio"
# states of a file that still weighs on its professional
OPEN_CASE_STATES: tuple[str, ...] = ("open", "in_progress", "suspended", "referred")


# --- central.multidisciplinary (Module 05): signed report versions and sessions held
md_report_version = table(
    "md_report_version",
    column("report_id", String),
    column("signed_by", String),
    column("signed_at", DateTime(timezone=True)),
)
md_report = table("md_report", column("id", String), column("sede_id", String))
md_session = table(
    "md_session",
    column("sede_id", String),
    column("professional_id", String),
    column("starts_at", DateTime(timezone=True)),
    column("status", String),
)


@dataclass(frozen=True)
class Available:
    queue: bool
    cases: bool
    md: bool = False


def available(conn: Connection) -> Available:
    inspector = inspect(conn)
    return Available(
        queue=all(
            inspector.has_table(name)
            for name in ("sync_ticket", "sync_ticket_event", "sync_counter_session")
        ),
        cases=inspector.has_table("case_file") and inspector.has_table("case_action"),
        md=inspector.has_table("md_report_version") and inspector.has_table("md_session"),
    )


def lima_bounds(first_day: date, last_day: date) -> tuple[datetime, datetime]:
    """[start, end) of Lima calendar days first_day..last_day, as UTC instants."""
    start = datetime.combine(first_day, time(0), LIMA).astimezone(UTC)
    end = datetime.combine(last_day + timedelta(days=1), time(0), LIMA).astimezone(UTC)
    return start, end


def _iso(moment: datetime) -> str:
    # the hubs write "YYYY-MM-DDTHH:MM:SS.ffffff+00:00": same shape, so text order is time order
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _lima_day(text: str) -> date:
    return datetime.fromisoformat(text).astimezone(LIMA).date()


def _json_text(conn: Connection, body, key: str):  # noqa: ANN001, ANN202
    if conn.dialect.name == "postgresql":
        return func.json_extract_path_text(cast(body, JSON), key)
    return func.json_extract(body, f"$.{key}")


def _seconds_between(conn: Connection, start, end):  # noqa: ANN001, ANN202
    if conn.dialect.name == "postgresql":
        ts = TIMESTAMP(timezone=True)
        return extract("epoch", cast(end, ts) - cast(start, ts))
    return (func.julianday(end) - func.julianday(start)) * 86400.0


@dataclass(frozen=True)
class AttentionDay:
    sede_id: str
    username: str
    day: date
    attentions: int
    timed_attentions: int  # attentions whose serving time is known (ended)
    serving_seconds: float


def aggregate_attentions(
    conn: Connection,
    *,
    sede_ids: list[str] | None = None,
    days: list[str] | None = None,
    ticket_ids: list[str] | None = None,
) -> list[dict]:
    """Attentions per sede, staff username and business day, straight from the ticket events
    (of the given sedes and days, or of the given tickets: each ticket's attentions depend on
    its own events only, so any set of tickets can be aggregated on its own)."""
    e, t = sync_ticket_event, sync_ticket
    scope = []
    if sede_ids is not None:
        scope.append(t.c.sede_id.in_(sede_ids))
    if days is not None:
        scope.append(t.c.business_date.in_(days))
    if ticket_ids is not None:
        scope.append(t.c.id.in_(ticket_ids))
    events = (
        select(
            e.c.ticket_id,
            t.c.sede_id,
            t.c.business_date,
            e.c.to_status,
            e.c.at,
            _json_text(conn, e.c.body, "username").label("username"),
            func.lead(e.c.at)
            .over(partition_by=e.c.ticket_id, order_by=(e.c.at, e.c.id))
            .label("next_at"),
        )
        .select_from(e.join(t, t.c.id == e.c.ticket_id))
        .where(
            *scope,
            # only the events entering or leaving "serving" make segments: the event after
            # one entering "serving" is always the one leaving it
            or_(e.c.to_status == "serving", e.c.from_status == "serving"),
        )
        .subquery("events")
    )
    seconds = _seconds_between(conn, events.c.at, events.c.next_at)
    segments = (
        select(
            events.c.sede_id,
            events.c.username,
            events.c.business_date,
            events.c.ticket_id,
            seconds.label("seconds"),
        )
        .where(events.c.to_status == "serving", events.c.username.is_not(None))
        .subquery("segments")
    )
    s = segments.c
    rows = conn.execute(
        select(
            s.sede_id,
            s.username,
            s.business_date,
            func.count(distinct(s.ticket_id)),
            func.count(distinct(case((s.seconds.is_not(None), s.ticket_id)))),
            func.coalesce(func.sum(s.seconds), 0),
        ).group_by(s.sede_id, s.username, s.business_date)
    ).all()
    return [
        {
            "sede_id": row[0],
            "username": str(row[1])[:64],
            "day": row[2],
            "attentions": int(row[3]),
            "timed_attentions": int(row[4]),
            "serving_seconds": float(row[5] or 0),
        }
        for row in rows
    ]


def attention_days(
    conn: Connection, *, sede_ids: Iterable[str], first_day: date, last_day: date
) -> list[AttentionDay]:
    """Attentions per sede, staff username and business day, with their serving time, from the
    roll-up the sync apply keeps current (``central.activities.rollup``): a read, no write."""
    from central.activities.models import QueueDay

    sedes = sorted(set(sede_ids))
    if not sedes:
        return []
    q = QueueDay.__table__.c  # type: ignore[attr-defined]
    rows = conn.execute(
        select(
            q.sede_id, q.username, q.day, q.attentions, q.timed_attentions, q.serving_seconds
        ).where(
            q.sede_id.in_(sedes),
            q.day >= first_day.isoformat(),
            q.day <= last_day.isoformat(),
            q.attentions > 0,
        )
    ).all()
    return [
        AttentionDay(
            sede_id=row[0],
            username=row[1],
            day=date.fromisoformat(row[2]),
            attentions=int(row[3]),
            timed_attentions=int(row[4]),
            serving_seconds=float(row[5] or 0),
        )
        for row in rows
    ]


@dataclass(frozen=True)
class SessionDay:
    sede_id: str
    username: str
    day: date


def session_days(
    conn: Connection, *, sede_ids: Iterable[str], first_day: date, last_day: date
) -> set[SessionDay]:
    """Days on which each staff user signed in at a counter."""
    sedes = sorted(set(sede_ids))
    if not sedes:
        return set()
    start, end = lima_bounds(first_day, last_day)
    c = sync_counter_session.c
    rows = conn.execute(
        select(c.sede_id, c.username, c.signed_in_at).where(
            c.sede_id.in_(sedes), c.signed_in_at >= _iso(start), c.signed_in_at < _iso(end)
        )
    ).all()
    return {SessionDay(row[0], row[1], _lima_day(row[2])) for row in rows}


def pause_minutes(
    conn: Connection,
    *,
    sede_ids: Iterable[str],
    first_day: date,
    last_day: date,
    now: datetime | None = None,
) -> dict[tuple[str, str], float]:
    """Minutes of counter pauses per (sede, staff username), pauses started in the range. A
    pause still open counts until ``now``. The pause's user is its session's (body
    ``session_id``), or whoever was signed in at that counter when it started."""
    sedes = sorted(set(sede_ids))
    if not sedes:
        return {}
    now = now or datetime.now(UTC)
    start, end = lima_bounds(first_day, last_day)
    p, s = sync_counter_pause.c, sync_counter_session.c
    pauses = conn.execute(
        select(p.sede_id, p.counter_id, p.started_at, p.ended_at, p.body).where(
            p.sede_id.in_(sedes), p.started_at >= _iso(start), p.started_at < _iso(end)
        )
    ).all()
    if not pauses:
        return {}
    sessions = conn.execute(
        select(s.id, s.sede_id, s.counter_id, s.username, s.signed_in_at, s.signed_out_at).where(
            s.sede_id.in_(sedes),
            s.signed_in_at < _iso(end),
            # sessions may start before the range (a pause early on the first day)
            s.signed_in_at >= _iso(start - timedelta(days=2)),
        )
    ).all()
    by_id = {row[0]: row for row in sessions}
    by_counter: dict[tuple[str, str], list] = defaultdict(list)
    for row in sessions:
        by_counter[(row[1], row[2])].append(row)
    minutes: dict[tuple[str, str], float] = defaultdict(float)
    for sede_id, counter_id, started_at, ended_at, body in pauses:
        try:
            session_id = json.loads(body or "{}").get("session_id")
        except ValueError:
            session_id = None
        owner = by_id.get(session_id) if session_id else None
        if owner is None:
            candidates = [
                row
                for row in by_counter[(sede_id, counter_id)]
                if row[4] <= started_at and (row[5] is None or row[5] >= started_at)
            ]
            owner = max(candidates, key=lambda row: row[4]) if candidates else None
        if owner is None:
            continue
        begin = datetime.fromisoformat(started_at)
        finish = datetime.fromisoformat(ended_at) if ended_at else now
        minutes[(sede_id, owner[3])] += max(0.0, (finish - begin).total_seconds() / 60)
    return dict(minutes)


@dataclass(frozen=True)
class CaseCount:
    sede_id: str
    user_id: str
    activity_type: str
    count: int


def case_counts(
    conn: Connection, *, sede_ids: Iterable[str], first_day: date, last_day: date
) -> list[CaseCount]:
    """Hearings and visits (case actions, by author; conciliation sessions held, by the file's
    conciliator) and patrocinios (files opened as patrocinio, by assigned professional or,
    unassigned, by who opened them)."""
    sedes = sorted(set(sede_ids))
    if not sedes:
        return []
    a = case_action.c
    result: list[CaseCount] = []
    for row in conn.execute(
        select(a.sede_id, a.author_user_id, a.action_type, func.count())
        .where(
            a.sede_id.in_(sedes),
            a.action_type.in_(sorted(CASE_ACTION_COUNTS_AS)),
            a.action_date >= first_day,
            a.action_date <= last_day,
            a.author_user_id.is_not(None),
        )
        .group_by(a.sede_id, a.author_user_id, a.action_type)
    ):
        result.append(CaseCount(row[0], row[1], CASE_ACTION_COUNTS_AS[row[2]], int(row[3])))
    cs, cf = conc_session.c, conc_file.c
    for row in conn.execute(
        select(cs.sede_id, cf.conciliator_user_id, func.count())
        .select_from(conc_session.join(conc_file, cf.id == cs.file_id))
        .where(
            cs.sede_id.in_(sedes),
            cs.status == "held",
            cs.held_on >= first_day,
            cs.held_on <= last_day,
            cf.conciliator_user_id.is_not(None),
        )
        .group_by(cs.sede_id, cf.conciliator_user_id)
    ):
        result.append(CaseCount(row[0], row[1], "hearings", int(row[2])))
    f = case_file.c
    start, end = lima_bounds(first_day, last_day)
    owner = func.coalesce(f.assigned_user_id, f.created_by)
    for row in conn.execute(
        select(f.sede_id, owner, func.count())
        .where(
            f.sede_id.in_(sedes),
            f.attention_type == PATROCINIO,
            f.opened_at >= start,
            f.opened_at < end,
            owner.is_not(None),
        )
        .group_by(f.sede_id, owner)
    ):
        result.append(CaseCount(row[0], row[1], "patrocinios", int(row[2])))
    return result


def open_case_loads(conn: Connection, *, sede_ids: Iterable[str]) -> dict[tuple[str, str], int]:
    """Files still open today per (sede, assigned professional)."""
    sedes = sorted(set(sede_ids))
    if not sedes:
        return {}
    f = case_file.c
    rows = conn.execute(
        select(f.sede_id, f.assigned_user_id, func.count())
        .where(
            and_(
                f.sede_id.in_(sedes),
                f.state.in_(OPEN_CASE_STATES),
                f.assigned_user_id.is_not(None),
            )
        )
        .group_by(f.sede_id, f.assigned_user_id)
    ).all()
    return {(row[0], row[1]): int(row[2]) for row in rows}


def md_counts(
    conn: Connection, *, sede_ids: Iterable[str], first_day: date, last_day: date
) -> list[CaseCount]:
    """Module 05's executed work: each report version signed counts as an evaluation of its
    signer (an amendment is new work), each session held as an attention of the professional."""
    sedes = sorted(set(sede_ids))
    if not sedes:
        return []
    start, end = lima_bounds(first_day, last_day)
    v, r, s = md_report_version.c, md_report.c, md_session.c
    result: list[CaseCount] = []
    for row in conn.execute(
        select(r.sede_id, v.signed_by, func.count())
        .select_from(md_report_version.join(md_report, r.id == v.report_id))
        .where(r.sede_id.in_(sedes), v.signed_at >= start, v.signed_at < end)
        .group_by(r.sede_id, v.signed_by)
    ):
        result.append(CaseCount(row[0], row[1], "evaluations", int(row[2])))
    for row in conn.execute(
        select(s.sede_id, s.professional_id, func.count())
        .where(s.sede_id.in_(sedes), s.status == "held", s.starts_at >= start, s.starts_at < end)
        .group_by(s.sede_id, s.professional_id)
    ):
        result.append(CaseCount(row[0], row[1], "attentions", int(row[2])))
    return result
