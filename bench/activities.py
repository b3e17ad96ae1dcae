"""Benchmark of Module 01: the supervision report (planned against executed, productivity) of one
district for one month, over synced queue data, against the bare SQL that only reads the same
ticket events (the floor), measured in the same run on PostgreSQL. The report only reads the
daily roll-up of attentions, which the sync apply transaction keeps current.

    .venv/bin/python bench/activities.py [--sedes 10] [--tickets-per-day 300] [--days 22]
                                         [--staff-per-sede 8] [--samples 7]

The month arrives as the hubs send it: outbox events (tickets with issued/called/started/
finished events, one counter session and one pause per professional and day) applied through
central's sync path (``central.sync.service.apply_batch``) in batches of 2,000; plans for every
professional. Prints ONE JSON object: ``supervision_ms`` (median), ``first_report_with_rollup_ms``
(the first report right after that large sync), ``sync_apply_events_per_s`` (the apply with its
roll-up upkeep, in process), ``supervision_bare_sql_ms``, the ratio, row counts, and pass/fail
against the 500 ms target of a district-month dashboard.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from zoneinfo import ZoneInfo

import uuid6

REPO = Path(__file__).resolve().parent.parent
# first, even when PYTHONPATH already names the repository: bench/ (the script's directory) comes
# before it, and bench/hub.py or bench/central.py would shadow those packages
sys.path.insert(0, str(REPO))

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
LIMA = ZoneInfo("America/Lima")
TARGET_MS = 500.0


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sedes", type=int, default=10)
    parser.add_argument("--tickets-per-day", type=int, default=300)
    parser.add_argument("--days", type=int, default=22)
    parser.add_argument("--staff-per-sede", type=int, default=8)
    parser.add_argument("--samples", type=int, default=7)
    args = parser.parse_args()

    from sqlalchemy import create_engine, func, insert, select, text

    from central.activities import service
    from central.activities.models import ActivityPlan, ActivityPlanTarget
    from central.activities.schemas import ActivityType, GroupBy, SupervisionQuery
    from central.auth.policy import EVERYWHERE
    from central.core.db import make_engine, migrate, new_session
    from central.org.models import District, Sede
    from central.sync import models as m
    from central.sync.service import apply_batch
    from central.users.models import User, UserProfile
    from contracts.sync import PushBatch, SyncEvent

    name = f"alegra_bench_act_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    try:
        migrate(url)
        engine = make_engine(url)
        now = datetime.now(UTC)
        district = "dd-bench"
        month = "2026-03"
        first = date(2026, 3, 2)
        business_days = [
            first + timedelta(days=i)
            for i in range(31)
            if (first + timedelta(days=i)).weekday() < 5
        ][: args.days]
        with engine.begin() as conn:
            conn.execute(
                insert(District.__table__),
                [
                    {
                        "id": district,
                        "name": "Bench",
                        "revision": 1,
                        "created_at": now,
                        "updated_at": now,
                    }
                ],
            )  # type: ignore[attr-defined]
            sedes = [f"sede-{i:02d}" for i in range(args.sedes)]
            conn.execute(
                insert(Sede.__table__),  # type: ignore[attr-defined]
                [
                    {"id": s, "district_id": district, "name": s, "kind": "ALEGRA", "ubigeo": "150101",
                     "ubigeo_scheme": "INEI", "address": "x", "timezone": "America/Lima",
                     "queue_policy": {}, "active": True, "revision": 1, "created_at": now, "updated_at": now}
                    for s in sedes
                ],
            )  # fmt: skip
            people: dict[str, list[tuple[str, str]]] = {}
            users, profiles, plans, targets = [], [], [], []
            for s in sedes:
                people[s] = []
                for k in range(args.staff_per_sede):
                    uid, username = str(uuid.uuid4()), f"{s}-u{k}"
                    people[s].append((uid, username))
                    users.append({"id": uid, "username": username, "display_name": username,
                                  "password_hash": "x", "scope_kind": "sede", "sede_id": s,
                                  "active": True, "failed_attempts": 0, "must_change_password": False,
                                  "password_changed_at": now, "revision": 1, "created_at": now,
                                  "updated_at": now})  # fmt: skip
                    profiles.append({"user_id": uid, "profile": "defensor_publico"})
                    pid = str(uuid.uuid4())
                    plans.append({"id": pid, "sede_id": s, "professional_id": uid, "month": month,
                                  "revision": 1, "created_at": now, "updated_at": now})  # fmt: skip
                    targets += [
                        {"plan_id": pid, "activity_type": t.value, "target": 100}
                        for t in ActivityType
                    ]
            conn.execute(insert(User.__table__), users)  # type: ignore[attr-defined]
            conn.execute(insert(UserProfile.__table__), profiles)  # type: ignore[attr-defined]
            conn.execute(insert(ActivityPlan.__table__), plans)  # type: ignore[attr-defined]
            conn.execute(insert(ActivityPlanTarget.__table__), targets)  # type: ignore[attr-defined]

        # the month arrives as the hubs send it: outbox events (tickets with their history,
        # counter sessions and pauses) applied by central's sync path in batches of 2,000, which
        # also keeps the daily roll-up of attentions
        n_tickets = n_events = 0
        apply_s = 0.0
        for s in sedes:
            outbox: list[tuple[str, str, str, dict]] = []
            for day in business_days:
                opening = datetime.combine(day, dtime(8), LIMA)
                for _uid, username in people[s]:
                    sid = str(uuid6.uuid7())
                    outbox.append(("counter_session.ended", "counter_session", sid, {
                        "id": sid, "sede_id": s, "counter_id": username, "username": username,
                        "signed_in_at": iso(opening), "signed_out_at": iso(opening + timedelta(hours=8)),
                        "revision": 2, "updated_at": iso(opening + timedelta(hours=8))}))  # fmt: skip
                    pid = str(uuid6.uuid7())
                    outbox.append(("counter_pause.ended", "counter_pause", pid, {
                        "id": pid, "sede_id": s, "counter_id": username, "session_id": sid,
                        "reason": "refrigerio", "started_at": iso(opening + timedelta(hours=5)),
                        "ended_at": iso(opening + timedelta(hours=6)), "revision": 2,
                        "updated_at": iso(opening + timedelta(hours=6))}))  # fmt: skip
                for i in range(args.tickets_per_day):
                    tid = str(uuid6.uuid7())
                    _, username = people[s][i % len(people[s])]
                    issued = opening + timedelta(seconds=i * 90)
                    steps = (("issued", None, "waiting", 0, None), ("called", "waiting", "called", 300, username),
                             ("started", "called", "serving", 360, username), ("finished", "serving", "done", 360 + 600 + i % 600, username))  # fmt: skip
                    for revision, (event_type, before, after, offset, who) in enumerate(steps, 1):
                        at = iso(issued + timedelta(seconds=offset))
                        ticket = {"id": tid, "sede_id": s, "business_date": day.isoformat(),
                                  "service_code": "orientacion", "number": f"A{i:03d}", "status": after,
                                  "counter_id": username if who else None, "served_by": who,
                                  "revision": revision, "updated_at": at}  # fmt: skip
                        history = {"ticket_id": tid, "id": str(uuid6.uuid7()), "sede_id": s,
                                   "event_type": event_type, "from_status": before, "to_status": after,
                                   "counter_id": username if who else None, "username": who, "at": at}  # fmt: skip
                        outbox.append(
                            (
                                f"ticket.{event_type}",
                                "ticket",
                                tid,
                                {"ticket": ticket, "event": history},
                            )
                        )
                    n_tickets += 1
            for start in range(0, len(outbox), 2000):
                events = [
                    SyncEvent(seq=start + k + 1, event_id=str(uuid6.uuid7()), event_type=kind,
                              aggregate_type=aggregate, aggregate_id=aggregate_id, created_at=now,
                              payload=payload)
                    for k, (kind, aggregate, aggregate_id, payload) in enumerate(outbox[start : start + 2000])
                ]  # fmt: skip
                batch = PushBatch(sede_id=s, hub_epoch=1, events=events)
                started = time.perf_counter()
                with engine.begin() as conn:
                    ack = apply_batch(conn, sede_id=s, batch=batch)
                apply_s += time.perf_counter() - started
                assert ack.applied == len(events), ack
            n_events += sum(1 for e in outbox if e[1] == "ticket")
        applied = n_events + len(sedes) * len(business_days) * args.staff_per_sede * 2
        with engine.connect() as conn:
            conn.execute(text("ANALYZE"))
            conn.commit()

        query = SupervisionQuery(
            month_from=month, district_id=district, group_by=GroupBy.PROFESSIONAL
        )

        def report() -> float:
            session = new_session(engine)
            try:
                started = time.perf_counter()
                result = service.supervision_report(session=session, area=EVERYWHERE, query=query)
                session.rollback()  # a report only reads (the roll-up is kept by the sync)
                elapsed = (time.perf_counter() - started) * 1000
                assert result.totals.attentions == n_tickets, (result.totals.attentions, n_tickets)
                return elapsed
            finally:
                session.close()

        t, e = m.sync_ticket, m.sync_ticket_event
        bare = (
            select(func.count(), func.count(func.distinct(e.c.ticket_id)))
            .select_from(e.join(t, t.c.id == e.c.ticket_id))
            .where(
                t.c.sede_id.in_(sedes),
                t.c.business_date >= "2026-03-01",
                t.c.business_date <= "2026-03-31",
            )
        )

        def bare_sql() -> float:
            with engine.connect() as conn:
                started = time.perf_counter()
                conn.execute(bare).one()
                return (time.perf_counter() - started) * 1000

        first_report_ms = report()  # the first report right after the sync
        bare_sql()  # warm-up
        service_ms, bare_ms = [], []
        for _ in range(args.samples):
            service_ms.append(report())
            bare_ms.append(bare_sql())
        engine.dispose()
        supervision = round(statistics.median(service_ms), 1)
        floor = round(statistics.median(bare_ms), 1)
        print(json.dumps({
            "database": "postgresql",
            "sedes": args.sedes,
            "professionals": args.sedes * args.staff_per_sede,
            "tickets": n_tickets,
            "ticket_events": n_events,
            "supervision_ms": supervision,
            "first_report_with_rollup_ms": round(first_report_ms, 1),
            "sync_apply_events_per_s": round(applied / apply_s, 1),
            "sync_apply_s": round(apply_s, 2),
            "supervision_p_max_ms": round(max(service_ms), 1),
            "supervision_bare_sql_ms": floor,
            "ratio_to_bare": round(supervision / floor, 2) if floor else None,
            "target_ms": TARGET_MS,
            "pass": supervision < TARGET_MS,
            "note": "district-month supervision report (plans, attentions with durations, days worked, pauses) vs a bare count of the same ticket events",
        }))  # fmt: skip
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
