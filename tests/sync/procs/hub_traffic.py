"""A sede's traffic as a real process on the hub's SQLite file: tickets issued at a kiosk and
served at a counter (sign-in, open, call, start, finish, a pause now and then), plus case
intakes. Prints one line per committed operation count to stdout when asked (``--progress``).
Used by the fault tests; SIGKILL at any moment is part of the game."""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from contracts.mqtt import Role
from hub.domain.engine import HubEngine
from hub.ports import Actor
from sync import devtools, hub_store

KIOSK = Actor(role=Role.KIOSK, device_id="k1")
COUNTER = Actor(role=Role.COUNTER, device_id="v1")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--sede", required=True)
    parser.add_argument("--tickets", type=int, default=50)
    parser.add_argument("--rate", type=float, default=0.0, help="tickets/s; 0 = flat out")
    parser.add_argument("--clock-jumps", action="store_true")
    parser.add_argument("--intakes", type=int, default=0)
    args = parser.parse_args()
    offset = [timedelta(0)]
    engine = HubEngine(
        devtools.hub_sede_config(args.sede),
        args.db,
        clock=lambda: datetime.now(UTC) + offset[0],
    )
    conn = hub_store.open_db(args.db)

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
            hub_store.save_intake(
                conn,
                changes={
                    "citizen_doc_type": "dni",
                    "citizen_doc_number": "12345678",
                    "citizen_names": "Persona de prueba",
                    "service_code": "orientacion",
                    "matter": "alimentos",
                    "summary": f"ficha {n}",
                },
            )
        print(n + 1, flush=True)
        if args.rate:
            time.sleep(max(0.0, 1 / args.rate - (time.monotonic() - started)))
    engine.close()
    conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
