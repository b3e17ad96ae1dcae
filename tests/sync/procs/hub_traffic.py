"""A sede's traffic as a real process on the hub's SQLite file: tickets issued at a kiosk and
served at a counter (sign-in, open, call, start, finish, a pause now and then), plus case
intakes. Prints the number of tickets done so far after each one (the busy sede below: every
500 issued). Used by the fault tests; SIGKILL at any moment is part of the game.

``--kiosks K`` runs a busy sede instead of the single loop: K kiosk threads issuing tickets
and both counters (``v1``, ``v2``) serving them, each device calling the engine on its own
thread as the bridge's devices do, so the engine's group commit shares fsyncs between
commands that arrive together (every command still in its own savepoint, writing exactly
what it writes alone). ``--clock-span-hours H`` starts the hub's clock H hours back and moves
it forward with the tickets issued, ending at the real time, with housekeeping (the day
roll-over) run as the hub's scheduler runs it."""

from __future__ import annotations

import argparse
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from contracts.errors import ErrorCode
from contracts.mqtt import Role
from hub.domain import store
from hub.domain.engine import HubEngine
from hub.ports import Actor
from tests.helpers import devtools, hub_records

KIOSK = Actor(role=Role.KIOSK, device_id="k1")
COUNTER = Actor(role=Role.COUNTER, device_id="v1")
INTAKE = {
    "citizen_doc_type": "dni",
    "citizen_doc_number": "12345678",
    "citizen_names": "Persona de prueba",
    "service_code": "orientacion",
    "matter": "alimentos",
}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--sede", required=True)
    parser.add_argument("--tickets", type=int, default=50)
    parser.add_argument("--rate", type=float, default=0.0, help="tickets/s; 0 = flat out")
    parser.add_argument("--clock-jumps", action="store_true")
    parser.add_argument("--intakes", type=int, default=0)
    parser.add_argument("--kiosks", type=int, default=0, help="busy sede: K kiosks, 2 counters")
    parser.add_argument("--clock-span-hours", type=float, default=0.0)
    args = parser.parse_args()
    if args.kiosks:
        return busy_sede(args)
    offset = [timedelta(0)]
    engine = HubEngine(
        devtools.hub_sede_config(args.sede),
        args.db,
        clock=lambda: datetime.now(UTC) + offset[0],
    )
    conn = store.open_db(args.db)

    def run(actor: Actor, action: str, **params: object) -> dict:
        out = engine.execute(
            actor=actor, action=action, params=params, request_id=str(uuid.uuid4())
        )
        if out.status != "ok":
            raise SystemExit(f"{action} failed: {out.error}")
        return out.result

    run(COUNTER, "sign_in", username=devtools.LOCAL_STAFF, password=devtools.LOCAL_PASSWORD)
    counter = engine.counter_state("v1")
    if str(counter.status) != "open":
        run(COUNTER, "open_counter")
    jumps = [timedelta(hours=-7), timedelta(hours=5), timedelta(hours=-2), timedelta(0)]
    for n in range(args.tickets):
        started = time.monotonic()
        if args.clock_jumps and n % 7 == 3:
            offset[0] = jumps[(n // 7) % len(jumps)]
        run(KIOSK, "issue_ticket", service_code="orientacion")
        run(COUNTER, "call_next")
        current = engine.counter_state("v1").current
        if current is not None:
            run(COUNTER, "start_attention", ticket_id=current.ticket_id)
            run(COUNTER, "finish_attention", outcome="atendido")
        if n % 25 == 24:
            run(COUNTER, "pause_counter", reason="refrigerio")
            run(COUNTER, "open_counter")
        if args.intakes and n % max(1, args.tickets // args.intakes) == 0:
            hub_records.save_intake(conn, changes={**INTAKE, "summary": f"ficha {n}"})
        print(n + 1, flush=True)
        if args.rate:
            time.sleep(max(0.0, 1 / args.rate - (time.monotonic() - started)))
    engine.close()
    conn.close()
    return 0


def busy_sede(args: argparse.Namespace) -> int:
    """K kiosk threads issue ``--tickets`` between them; counters v1 and v2 serve until every
    ticket is issued and none waits. Prints the tickets issued so far, now and then."""
    total = args.tickets
    span = timedelta(hours=args.clock_span_hours)
    issued = [0]
    issued_lock = threading.Lock()

    def clock() -> datetime:
        # from `span` ago to now as the tickets are issued: monotonic for every thread
        return datetime.now(UTC) - span + span * (min(issued[0], total) / total)

    config = devtools.hub_sede_config(args.sede)
    # one member of staff per counter: a user signed in at v1 signing in at v2 leaves v1
    second = config.staff[0].model_copy(update={"username": "local2"})
    config = config.model_copy(update={"staff": [*config.staff, second]})
    engine = HubEngine(config, args.db, clock=clock)
    failures: list[str] = []
    done = threading.Event()

    def run(actor: Actor, action: str, tolerate: tuple[str, ...] = (), **params: object):
        out = engine.execute(
            actor=actor, action=action, params=params, request_id=str(uuid.uuid4())
        )
        if out.status == "ok":
            return out.result
        if out.error is not None and str(out.error.code) in tolerate:
            return None
        failures.append(f"{actor.device_id} {action}: {out.error}")
        done.set()
        raise SystemExit(1)

    def kiosk(number: int) -> None:
        actor = Actor(role=Role.KIOSK, device_id=f"k{number + 1}")
        conn = store.open_db(args.db)
        every = max(1, total // max(1, args.intakes))
        while not done.is_set():
            # people take a ticket about as fast as the counters serve them (a line of a few
            # dozen at most): the tickets of a day are served that day, not expired at night
            waiting = "SELECT COUNT(*) FROM tickets WHERE status = 'waiting'"
            if conn.execute(waiting).fetchone()[0] >= 24:
                time.sleep(0.002)
                continue
            with issued_lock:
                n = issued[0]
                if n >= total:
                    break
                issued[0] = n + 1
            started = time.monotonic()
            run(actor, "issue_ticket", service_code="orientacion")
            if args.intakes and n % every == 0:
                hub_records.save_intake(conn, changes={**INTAKE, "summary": f"ficha {n}"})
            if n % 500 == 0:
                print(n, flush=True)
            if args.rate:
                time.sleep(max(0.0, args.kiosks / args.rate - (time.monotonic() - started)))
        conn.close()

    def counter(counter_id: str) -> None:
        actor = Actor(role=Role.COUNTER, device_id=counter_id)
        served = 0
        while not done.is_set():
            if str(engine.counter_state(counter_id).status) != "open":
                run(actor, "open_counter")
            called = run(actor, "call_next", tolerate=(ErrorCode.QUEUE_EMPTY,))
            current = engine.counter_state(counter_id).current
            if called is None or current is None:
                if issued[0] >= total and not kiosks_alive():
                    return
                time.sleep(0.002)
                continue
            # the day roll-over may cancel the ticket between two commands (tolerated)
            again = (ErrorCode.INVALID_TRANSITION,)
            run(actor, "start_attention", again, ticket_id=current.ticket_id)
            run(actor, "finish_attention", again, outcome="atendido")
            served += 1
            if served % 25 == 0:
                run(actor, "pause_counter", reason="refrigerio")
                run(actor, "open_counter")

    def housekeeping() -> None:  # the hub's scheduler: day roll-over on time
        while not done.wait(0.05):
            engine.housekeeping()

    for counter_id, user in (("v1", devtools.LOCAL_STAFF), ("v2", "local2")):
        actor = Actor(role=Role.COUNTER, device_id=counter_id)
        run(actor, "sign_in", username=user, password=devtools.LOCAL_PASSWORD)
    kiosks = [threading.Thread(target=kiosk, args=(n,)) for n in range(args.kiosks)]
    counters = [threading.Thread(target=counter, args=(c,)) for c in ("v1", "v2")]

    def kiosks_alive() -> bool:
        return any(t.is_alive() for t in kiosks)

    keeper = threading.Thread(target=housekeeping, daemon=True)
    keeper.start()
    for thread in kiosks + counters:
        thread.start()
    for thread in kiosks + counters:
        thread.join()
    done.set()
    keeper.join()
    engine.housekeeping()
    engine.close()
    if failures:
        print("\n".join(failures), file=sys.stderr)
        return 1
    print(total, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
