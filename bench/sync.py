"""Benchmark of hub -> central synchronisation into PostgreSQL, each figure next to its raw limit
measured in the same run on the same machine and database server.

    .venv/bin/python bench/sync.py [--events 50000] [--rounds 3] [--tickets 100] [--rate 5]

Prints ONE JSON object (keys below are an interface, see issue 5):
  drain_events_per_s       a backlog of --events outbox events on the hub drained by the sync
                           agent over HTTP into ``alegra central run`` (a separate process) on
                           PostgreSQL: inbox slot + effects + contiguous ack per batch, hub rows
                           marked sent after each answer
  raw_insert_events_per_s  the same rows inserted straight into the same tables of another
                           fresh database: one COPY per table and batch (the apply path's own
                           bulk statement, without staging, inbox checks, ack or HTTP), one
                           transaction per batch, JSON decoded before timing
  issue_to_central_p99_s   steady state, WAN up: a ticket issued through HubEngine at the hub
                           until its row is visible in central's database (agent running with its
                           scheduler and file watcher, as in ``alegra hub run``)
Both rates are medians over ``--rounds`` paired rounds (each a fresh copy of the backlog into a
fresh database, and the raw insert into another, raw first in even rounds and drain first in
odd ones); ``drain_vs_raw`` is the median of the rounds' paired ratios, each round under ``rounds``.
Plus the ratio, the p50, settings and pass/fail per target (>= 10,000 events/s, >= 30 % of raw,
p99 < 2 s). The backlog is made of the hub's own ticket events (issued, called, started,
finished; four per ticket) cloned from payloads the engine wrote, with fresh UUIDv7 ids as the
engine makes them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
# first, even when PYTHONPATH already names the repository: bench/ (the script's directory) comes
# before it, and bench/sync.py would shadow the sync package
sys.path.insert(0, str(REPO))

SEDE = "sede-bench"


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_central(db_url: str, data_dir: Path) -> tuple[subprocess.Popen, int]:
    import httpx

    port = _port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALEGRA_")}
    env.update(
        ALEGRA_DATABASE_URL=db_url,
        ALEGRA_DATA_DIR=str(data_dir),
        ALEGRA_SECRET_KEY="bench-" + "k" * 40,
        ALEGRA_LOG_LEVEL="WARNING",
        PYTHONPATH=str(REPO),
    )
    log = open(data_dir / "central.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "alegra.cli", "central", "run", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=log,
        cwd=REPO,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1).status_code == 200:
                return proc, port
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError("central did not start: " + (data_dir / "central.log").read_text()[-2000:])


def _sample_ticket_events(tmp: Path) -> list[tuple[str, str, str, dict[str, Any]]]:
    """One ticket's life as the engine writes it to the outbox (issued .. finished)."""
    from contracts.mqtt import Role
    from hub.domain.engine import HubEngine
    from hub.ports import Actor
    from tests.helpers import devtools

    engine = HubEngine(devtools.hub_sede_config(SEDE), tmp / "sample.sqlite3")
    counter = Actor(role=Role.COUNTER, device_id="v1")

    def run(actor: Actor, action: str, **params: Any) -> None:
        out = engine.execute(
            actor=actor, action=action, params=params, request_id=str(uuid.uuid4())
        )
        assert out.status == "ok", out.error

    run(counter, "sign_in", username=devtools.LOCAL_STAFF, password=devtools.LOCAL_PASSWORD)
    run(counter, "open_counter")
    engine._conn.execute("DELETE FROM outbox")  # noqa: SLF001 - keep only the ticket's life
    run(Actor(role=Role.KIOSK, device_id="k1"), "issue_ticket", service_code="orientacion")
    run(counter, "call_next")
    current = engine.counter_state("v1").current
    assert current is not None
    run(counter, "start_attention", ticket_id=current.ticket_id)
    run(counter, "finish_attention", outcome="atendido")
    rows = engine._conn.execute(  # noqa: SLF001
        "SELECT event_type, aggregate_type, payload FROM outbox WHERE aggregate_type = 'ticket' "
        "ORDER BY seq"
    ).fetchall()
    engine.close()
    return [(r[0], r[1], current.ticket_id, json.loads(r[2])) for r in rows]


def _fill_backlog(db_path: Path, sample: list, events: int) -> int:
    """Write ``events`` outbox rows (whole tickets) into a fresh hub file."""
    import uuid6

    from hub.domain.engine import HubEngine
    from hub.domain.store import begin_immediate, iso
    from tests.helpers import devtools

    HubEngine(devtools.hub_sede_config(SEDE), db_path).close()
    from hub.domain import store

    conn = store.open_db(db_path)
    meta = store.hub_meta(conn)
    from datetime import UTC, datetime

    now = iso(datetime.now(UTC))
    rows = []
    tickets = events // len(sample)
    for _ in range(tickets):
        # fresh ids of the kind the engine makes (UUIDv7, time-ordered), so the indexes see
        # what they see in production
        ticket_id = str(uuid6.uuid7())
        for event_type, aggregate_type, _old, payload in sample:
            body = json.loads(json.dumps(payload))
            body["ticket"]["id"] = ticket_id
            body["event"]["id"] = str(uuid6.uuid7())
            body["event"]["ticket_id"] = ticket_id
            rows.append(
                (
                    str(uuid6.uuid7()),
                    meta["sede_id"],
                    int(meta["hub_epoch"]),
                    event_type,
                    aggregate_type,
                    ticket_id,
                    json.dumps(body, separators=(",", ":")),
                    now,
                )
            )
    begin_immediate(conn)
    conn.executemany(
        "INSERT INTO outbox (event_id, sede_id, hub_epoch, event_type, aggregate_type, "
        "aggregate_id, payload, created_at) VALUES (?,?,?,?,?,?,?,?)",
        rows,
    )
    conn.execute("COMMIT")
    conn.close()
    return len(rows)


def _raw_insert(db_url: str, db_path: Path, batch: int) -> float:
    """The same rows straight into the same tables, batched: the floor of any apply path."""
    from datetime import UTC, datetime

    from central.core.db import make_engine
    from central.sync import models as m
    from central.sync.service import bulk_insert
    from hub.domain import store

    conn_hub = store.open_db(db_path)
    rows = conn_hub.execute("SELECT seq, event_id, payload FROM outbox ORDER BY seq").fetchall()
    conn_hub.close()
    engine = make_engine(db_url)
    now = datetime.now(UTC)
    batches = []  # decoded before the clock starts: the raw limit is the database's work only
    for start in range(0, len(rows), batch):
        inbox, events, tickets = [], [], {}
        for seq, event_id, text in rows[start : start + batch]:
            payload = json.loads(text)
            record, history = payload["ticket"], payload["event"]
            inbox.append(
                {
                    "sede_id": SEDE,
                    "hub_epoch": 1,
                    "seq": seq,
                    "event_id": event_id,
                    "status": "applied",
                    "received_at": now,
                }
            )
            events.append(
                {
                    "id": history["id"],
                    "ticket_id": history["ticket_id"],
                    "sede_id": SEDE,
                    "event_type": history["event_type"],
                    "from_status": history.get("from_status"),
                    "to_status": history["to_status"],
                    "at": history["at"],
                    "body": json.dumps(history),
                }
            )
            tickets[record["id"]] = {
                "id": record["id"],
                "sede_id": SEDE,
                "business_date": record["business_date"],
                "service_code": record["service_code"],
                "number": record["number"],
                "status": record["status"],
                "counter_id": record.get("counter_id"),
                "revision": record["revision"],
                "updated_at": record["updated_at"],
                "body": json.dumps(record),
                "received_at": now,
            }
        batches.append((inbox, events, list(tickets.values())))
    started = time.perf_counter()
    with engine.connect() as conn:
        for inbox, events, tickets in batches:
            with conn.begin():
                # the same single-statement bulk insert the apply path uses, minus its checks
                bulk_insert(conn, m.sync_inbox, inbox)
                bulk_insert(conn, m.sync_ticket_event, events)
                bulk_insert(conn, m.sync_ticket, tickets)
    elapsed = time.perf_counter() - started
    engine.dispose()
    return len(rows) / elapsed


def _steady_state(
    db_url: str, port: int, token: str, tmp: Path, tickets: int, rate: float
) -> list[float]:
    from sqlalchemy import select

    from central.core.db import make_engine
    from central.sync import models as m
    from contracts.mqtt import Role
    from hub.domain.engine import HubEngine
    from hub.ports import Actor
    from sync.agent import SyncAgent
    from tests.helpers import devtools

    db_path = tmp / "steady.sqlite3"
    engine = HubEngine(devtools.hub_sede_config(SEDE), db_path)
    agent = SyncAgent(
        db_path,
        central_url=f"http://127.0.0.1:{port}",
        token=token,
        push_interval_s=10,
        pull_interval_s=30,
    )
    central = make_engine(db_url)
    issued: dict[str, float] = {}
    seen: dict[str, float] = {}
    done = threading.Event()

    def watch() -> None:
        with central.connect() as conn:
            while not done.is_set() or len(seen) < len(issued):
                waiting = [t for t in list(issued) if t not in seen]
                if waiting:
                    found = conn.execute(
                        select(m.sync_ticket.c.id).where(m.sync_ticket.c.id.in_(waiting))
                    ).scalars()
                    stamp = time.perf_counter()
                    for ticket_id in found:
                        seen[ticket_id] = stamp
                    conn.rollback()
                if done.is_set() and time.perf_counter() - max(issued.values(), default=0) > 30:
                    return
                time.sleep(0.01)

    agent.start()
    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    kiosk = Actor(role=Role.KIOSK, device_id="k1")
    time.sleep(1.0)  # first push/pull done
    for _ in range(tickets):
        started = time.perf_counter()
        out = engine.execute(
            actor=kiosk,
            action="issue_ticket",
            params={"service_code": "orientacion"},
            request_id=str(uuid.uuid4()),
        )
        assert out.status == "ok", out.error
        issued[out.result["ticket"]["ticket_id"]] = time.perf_counter()
        time.sleep(max(0.0, 1 / rate - (time.perf_counter() - started)))
    done.set()
    watcher.join(40)
    agent.stop()
    engine.close()
    central.dispose()
    return [seen[t] - issued[t] for t in issued if t in seen] + [
        float("inf") for t in issued if t not in seen
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=2000, help="events per push")
    parser.add_argument("--tickets", type=int, default=100, help="steady-state samples")
    parser.add_argument("--rate", type=float, default=5.0, help="steady-state tickets/s")
    parser.add_argument(
        "--rounds", type=int, default=3, help="paired raw/drain rounds (medians reported)"
    )
    args = parser.parse_args()

    from tests.helpers import devtools

    if not devtools.pg_available():
        print(json.dumps({"error": "PostgreSQL not reachable on 127.0.0.1:5432"}))
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="alegra-bench-sync-"))
    try:
        return _run(args, devtools, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _run(args: argparse.Namespace, devtools: Any, tmp: Path) -> int:
    sample = _sample_ticket_events(tmp)
    backlog_db = tmp / "backlog.sqlite3"
    events = _fill_backlog(backlog_db, sample, args.events)
    rounds: list[dict[str, Any]] = []
    latencies: list[float] = []
    last = max(1, args.rounds) - 1
    for n in range(last + 1):
        # raw first in even rounds, drain first in odd ones: a change of machine load during
        # the run lands on both sides
        order = ("raw", "drain") if n % 2 == 0 else ("drain", "raw")
        figures: dict[str, float] = {}
        for what in order:
            if what == "raw":
                figures["raw"] = _raw_round(devtools, backlog_db, args.batch)
            else:
                steady = (args.tickets, args.rate) if n == last else None
                figures["drain"], measured = _drain_round(
                    devtools, backlog_db, tmp / f"round-{n}", events, args.batch, steady
                )
                latencies += measured
        figures["ratio"] = figures["drain"] / figures["raw"]
        rounds.append({k: round(v, 3 if k == "ratio" else 1) for k, v in figures.items()})

    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(round(0.99 * (len(latencies) - 1))))]
    drain_rate = statistics.median(r["drain"] for r in rounds)
    raw_rate = statistics.median(r["raw"] for r in rounds)
    ratio = statistics.median(r["ratio"] for r in rounds)
    result = {
        "drain_events_per_s": round(drain_rate, 1),
        "raw_insert_events_per_s": round(raw_rate, 1),
        "drain_vs_raw": round(ratio, 3),
        "issue_to_central_p99_s": round(p99, 3),
        "issue_to_central_p50_s": round(statistics.median(latencies), 3),
        "events": events,
        "rounds": rounds,
        "measurement": (
            "medians over rounds; each round drains a copy of the same backlog into a fresh "
            "database and inserts the same rows raw into another, in alternating order; "
            "drain_vs_raw is the median of the rounds' paired ratios"
        ),
        "batch_events": args.batch,
        "steady_tickets": args.tickets,
        "steady_rate_per_s": args.rate,
        "database": "postgresql",
        "central": "alegra central run (uvicorn, 1 process)",
        "machine": f"{platform.machine()} {os.cpu_count()} cpu",
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "targets": {
            "drain_events_per_s>=10000": drain_rate >= 10_000,
            "drain_vs_raw>=0.30": ratio >= 0.30,
            "issue_to_central_p99_s<2": p99 < 2.0,
        },
    }
    print(json.dumps(result))
    return 0


def _raw_round(devtools: Any, backlog_db: Path, batch: int) -> float:
    raw_url = devtools.create_pg_database("alegra_bench_raw")
    try:
        devtools.seed_central(raw_url, sede_id=SEDE)
        return _raw_insert(raw_url, backlog_db, batch=batch)
    finally:
        devtools.drop_pg_database(raw_url)


def _drain_round(
    devtools: Any,
    backlog_db: Path,
    workdir: Path,
    events: int,
    batch: int,
    steady: tuple[int, float] | None,
) -> tuple[float, list[float]]:
    """Drain a fresh copy of the backlog into a fresh central; then, when ``steady`` is given
    (tickets, rate), the steady-state latencies against the same central."""
    import sqlite3

    from hub.domain import outbox
    from sync.agent import SyncAgent

    workdir.mkdir(parents=True)
    copy = workdir / "backlog.sqlite3"
    with sqlite3.connect(backlog_db) as source, sqlite3.connect(copy) as target:
        source.backup(target)
    url = devtools.create_pg_database("alegra_bench_sync")
    central_proc = None
    try:
        seed = devtools.seed_central(url, sede_id=SEDE)
        central_proc, port = _start_central(url, workdir)
        agent = SyncAgent(
            copy,
            central_url=f"http://127.0.0.1:{port}",
            token=seed["token"],
            batch_events=batch,
            batch_bytes=8 * 1024 * 1024,
            timeout_s=120,
        )
        agent.pull_once()
        started = time.perf_counter()
        acked = agent.push_once()
        drain_s = time.perf_counter() - started
        left = outbox.backlog(agent.conn)[0]
        agent.stop()
        assert acked == events and left == 0, (acked, events, left)
        latencies = []
        if steady is not None:
            latencies = _steady_state(url, port, seed["token"], workdir, *steady)
        return events / drain_s, latencies
    finally:
        if central_proc is not None:
            central_proc.send_signal(signal.SIGTERM)
            try:
                central_proc.wait(10)
            except subprocess.TimeoutExpired:
                central_proc.kill()
        devtools.drop_pg_database(url)


if __name__ == "__main__":
    raise SystemExit(main())
