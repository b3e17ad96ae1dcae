"""The issue's long fault scenarios at full scale, on the rig of ``test_faults.py`` (central as
``alegra central run`` on PostgreSQL, the sede's traffic and sync agent as real processes, the
WAN a TCP proxy the test controls):

- partitions in one and both directions, repeated at random for minutes, with traffic at the
  sede, edits at both sides and the agent killed now and then;
- three days offline (the hub's clock spans them) with a backlog of 50,000 events, then
  reconnect: drained within a bound, exactly once, identical fingerprints.

Full scale by default (CI). For a quick local run: ``ALEGRA_FAULTS_PARTITION_S`` (seconds of
random partitions, default 150) and ``ALEGRA_FAULTS_BACKLOG_EVENTS`` (default 50,000). The
partitions' random choices come from a fresh seed each run, printed with the run's figures
(``-s``) and on failure; ``ALEGRA_FAULTS_SEED`` repeats them (the timing is never the same).
This file runs on a worker of its own under ``--dist loadfile``."""

from __future__ import annotations

import os
import random
import time
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from central.sync import models as m
from central.sync import service
from hub.domain import outbox, store
from sync.agent import AgentSettings
from tests.helpers import hub_records

from .conftest import (
    SEDE,
    Rig,
    central_engine,
    converged,
    hub_backlog,
    hub_conn,
    inbox_count,
    put_appointments,
    settle,
    wait_for,
    wait_traffic,
)

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

PARTITION_S = float(os.environ.get("ALEGRA_FAULTS_PARTITION_S", "150"))
BACKLOG_EVENTS = int(os.environ.get("ALEGRA_FAULTS_BACKLOG_EVENTS", "50000"))
# bench/sync.py drains ~6,000-12,000 events/s on this 2-core machine (docs/sync.md); here the
# bytes also go through the test's Python proxy, and CI runs two other test files at once.
MIN_DRAIN_EVENTS_PER_S = 1_500


def edit_intake_at_central(rig: Rig, rng: random.Random, stats: dict[str, int]) -> None:
    """A coordinator edits one of the sede's intakes at central, on the revision she sees."""
    engine = central_engine(rig)
    try:
        with engine.begin() as conn:
            rows = conn.execute(
                select(m.sync_case_intake.c.id, m.sync_case_intake.c.revision).where(
                    m.sync_case_intake.c.sede_id == SEDE, m.sync_case_intake.c.deleted.is_(False)
                )
            ).all()
            if not rows:
                return
            intake_id, revision = rng.choice(rows)
            try:
                service.edit_intake_centrally(
                    conn,
                    intake_id=intake_id,
                    base_revision=revision,
                    changes={"summary": f"revisada en la central {rng.randint(0, 10**6)}"},
                    by="coordinadora",
                )
            except service.RevisionMismatch:
                stats["central_edit_stale"] += 1  # the agent moved it meanwhile: her 409
                return
        stats["central_edits"] += 1
    finally:
        engine.dispose()


def edit_intake_at_hub(rig: Rig, rng: random.Random, stats: dict[str, int]) -> None:
    conn = hub_conn(rig)
    try:
        ids = [r[0] for r in conn.execute("SELECT id FROM case_intakes WHERE deleted = 0")]
        if ids:
            hub_records.save_intake(
                conn,
                intake_id=rng.choice(ids),
                changes={"summary": f"completada en la sede {rng.randint(0, 10**6)}"},
            )
            stats["hub_edits"] += 1
    finally:
        conn.close()


@pytest.mark.timeout(600)
def test_random_partitions_for_minutes(rig):
    seed = int(os.environ.get("ALEGRA_FAULTS_SEED", "0")) or random.randrange(10**6)
    rng = random.Random(seed)
    stats = dict.fromkeys(
        ("switches", "appointments", "central_edits", "central_edit_stale", "hub_edits", "kills"),
        0,
    )
    modes = ["up", "down", "drop_requests", "drop_responses"]
    seen: set[str] = set()
    put_appointments(rig, 20)
    rig.hub.start_agent()
    rate = 10  # tickets/s, about 45 events/s: a busy sede
    rig.hub.start_traffic(int(rate * PARTITION_S), "--rate", str(rate), "--intakes", "60")
    started = time.monotonic()
    while time.monotonic() - started < PARTITION_S:
        mode = rng.choice(modes)
        rig.proxy.set(mode)
        seen.add(mode)
        stats["switches"] += 1
        roll = rng.random()
        if roll < 0.25:
            put_appointments(rig, 3, start=rng.randint(0, 10**6))
            stats["appointments"] += 3
        elif roll < 0.45:
            edit_intake_at_central(rig, rng, stats)
        elif roll < 0.65:
            edit_intake_at_hub(rig, rng, stats)
        elif roll < 0.70:
            rig.hub.kill_agents()  # kill -9 wherever it was: mid-batch, mid-pull, idle
            rig.hub.start_agent()
            stats["kills"] += 1
        time.sleep(rng.uniform(0.2, 4.0))
    rig.proxy.set("up")
    print(f"\npartitions for {PARTITION_S:.0f} s (ALEGRA_FAULTS_SEED={seed}): {stats}")
    acked = settle(rig, timeout=180, traffic_timeout=120)
    # the traffic kept going through the partitions (about four events a ticket)
    assert acked > 4 * rate * PARTITION_S * 0.9
    conn = hub_conn(rig)
    state = store.sync_state(conn)
    conn.close()
    assert state.get("last_error_at"), "the faults were seen by the agent"
    if PARTITION_S >= 100:  # at full scale every mode and action happened (a short run may not)
        assert seen == set(modes)
        assert stats["central_edits"] and stats["hub_edits"] and stats["kills"], stats
    engine = central_engine(rig)
    with engine.connect() as c:
        conflicts = service.list_conflicts(c, sede_ids=[SEDE])
    engine.dispose()
    print(f"{acked} events acknowledged, {len(conflicts)} intake conflicts recorded")


@pytest.mark.timeout(600)
def test_three_days_offline_with_a_50000_event_backlog(rig):
    rig.proxy.set("down")
    # the agent's own batch size, window and timeout; a short back-off so that the drain starts
    # within seconds of the reconnect (a real hub after three days waits up to its cap, 120 s)
    defaults = AgentSettings.model_fields
    rig.hub.start_agent(
        ALEGRA_SYNC_BATCH_EVENTS=str(defaults["batch_events"].default),
        ALEGRA_SYNC_TIMEOUT_S=str(defaults["timeout_s"].default),
    )
    # two kiosks and both counters, the clock moving from three days ago to now: the hub's own
    # commands (group commit), day roll-overs by its housekeeping, four events a ticket
    generated = time.monotonic()
    rig.hub.start_traffic(
        BACKLOG_EVENTS // 4, "--kiosks", "2", "--clock-span-hours", "72", "--intakes", "100"
    )
    put_appointments(rig, 30)  # central moves on meanwhile
    wait_traffic(rig, timeout=400)
    generated = time.monotonic() - generated
    conn = hub_conn(rig)
    backlog = outbox.backlog(conn)[0]
    first, last = conn.execute(
        "SELECT MIN(created_at), MAX(created_at) FROM outbox WHERE aggregate_type = 'ticket'"
    ).fetchone()
    rollovers = conn.execute(
        "SELECT COUNT(*) FROM outbox WHERE event_type = 'hub.day_rolled_over'"
    ).fetchone()[0]
    conn.close()
    assert inbox_count(rig) == 0, "nothing crossed the cut WAN"
    assert backlog >= BACKLOG_EVENTS
    span = datetime.fromisoformat(last) - datetime.fromisoformat(first)
    assert span > timedelta(hours=71) and rollovers >= 3, (first, last, rollovers)

    rig.proxy.set("up")
    started = time.monotonic()
    wait_for(lambda: hub_backlog(rig) == 0, 300, "the backlog to drain")
    drained = time.monotonic() - started
    wait_for(lambda: converged(rig), 120, "hub and central to converge")
    acked = settle(rig)
    rate = backlog / drained
    print(
        f"\n{backlog} events ({first} .. {last}, {rollovers} roll-overs) written in "
        f"{generated:.1f} s; drained in {drained:.1f} s = {rate:,.0f} events/s"
    )
    assert acked == backlog
    engine = central_engine(rig)
    with engine.connect() as c:
        at_central = c.execute(
            select(func.count())
            .select_from(m.sync_inbox)
            .where(m.sync_inbox.c.sede_id == SEDE, m.sync_inbox.c.status != "duplicate")
        ).scalar_one()
    engine.dispose()
    assert at_central == backlog
    assert rate >= MIN_DRAIN_EVENTS_PER_S, f"drained at {rate:,.0f} events/s"
