"""Hypothesis stateful test of the queue against a small model: no ticket lost or served
twice, first come first served within a class, preferential never behind a regular ticket
of the same service, counts consistent with the tickets."""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
import uuid
from datetime import datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from contracts.errors import ErrorCode
from contracts.mqtt import Role
from hub.config import SedeConfig
from hub.domain.engine import HubEngine
from hub.ports import Actor

SERVICES = ("orientacion", "penal", "victimas")
COUNTERS = {"v1": ("orientacion",), "v2": ("orientacion", "penal"), "v3": ("victimas",)}
FINAL = {"done", "no_show", "cancelled"}
MAX_RECALLS = 2


def _config(password_hash: str) -> SedeConfig:
    return SedeConfig.model_validate(
        {
            "id": "sede-prop",
            "name": "Sede de propiedades",
            "services": [
                {"code": "orientacion", "name": "Orientación", "letter": "A"},
                {"code": "penal", "name": "Penal", "letter": "P"},
                {"code": "victimas", "name": "Víctimas", "letter": "V"},
            ],
            "counters": [
                {"id": "v1", "name": "V1", "number": 1, "services": {"orientacion": 1}},
                {"id": "v2", "name": "V2", "number": 2, "services": {"orientacion": 2, "penal": 1}},
                {"id": "v3", "name": "V3", "number": 3, "services": {"victimas": 1}},
            ],
            "queue": {
                "issue_outside_hours": True,
                "max_recalls": MAX_RECALLS,
                "aging_after_s": 100_000,
            },
            # one person per counter: a user signs in at one counter at a time
            "staff": [
                {"username": f"staff-{c}", "display_name": c, "password_hash": password_hash}
                for c in ("v1", "v2", "v3")
            ],
        }
    )


class QueueMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        from argon2 import PasswordHasher

        self.dir = Path(tempfile.mkdtemp(prefix="alegra-prop-"))
        self.now = datetime.fromisoformat("2026-11-23T15:00:00+00:00")
        self.password_hash = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash("c")
        self.engine = HubEngine(
            _config(self.password_hash), self.dir / "hub.db", clock=lambda: self.now
        )
        # model
        self.tickets: dict[str, dict] = {}
        self.held: dict[str, str | None] = dict.fromkeys(COUNTERS)
        self.open: dict[str, bool] = dict.fromkeys(COUNTERS, False)

    def teardown(self) -> None:
        self.engine.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def send(self, role: Role, device: str, action: str, **params):
        return self.engine.execute(
            actor=Actor(role, device), action=action, params=params, request_id=str(uuid.uuid4())
        )

    # ------------------------------------------------------------------ model helpers

    def key(self, ticket: dict) -> tuple:
        return (0 if ticket["preferential"] else 1, ticket["arrived_at"], ticket["id"])

    def waiting(self, service: str) -> list[dict]:
        """Everyone waiting for the service, including tickets sent to one counter."""
        return sorted(
            (
                t
                for t in self.tickets.values()
                if t["status"] == "waiting" and t["service"] == service
            ),
            key=self.key,
        )

    def line(self, service: str) -> list[dict]:
        """The shared line of the service (tickets not sent to a specific counter)."""
        return [t for t in self.waiting(service) if t["target"] is None]

    def sent_to(self, counter: str) -> list[dict]:
        return sorted(
            (
                t
                for t in self.tickets.values()
                if t["status"] == "waiting" and t["target"] == counter
            ),
            key=self.key,
        )

    def holders(self) -> list[str]:
        return [c for c, held in sorted(self.held.items()) if held is not None]

    def pick_holder(self, data, *, sometimes_idle: bool = True) -> str:
        """Mostly a counter holding a ticket (the interesting case); now and then any
        counter, so refusals are exercised too."""
        if self.holders() and (not sometimes_idle or data.draw(st.integers(0, 4)) > 0):
            return data.draw(st.sampled_from(self.holders()))
        return data.draw(st.sampled_from(sorted(COUNTERS)))

    def parked_at(self, counter: str) -> list[dict]:
        return [
            t for t in self.tickets.values() if t["status"] == "parked" and t["counter"] == counter
        ]

    # ------------------------------------------------------------------ rules

    @initialize()
    def sign_in_everyone(self) -> None:
        for counter in COUNTERS:
            signed = self.send(
                Role.COUNTER, counter, "sign_in", username=f"staff-{counter}", password="c"
            )
            assert signed.ok, signed.error
            assert self.send(Role.COUNTER, counter, "open_counter").ok
            self.open[counter] = True

    @rule(
        service=st.sampled_from(SERVICES),
        preferential=st.booleans(),
        gap=st.integers(min_value=0, max_value=120),
    )
    def issue(self, service: str, preferential: bool, gap: int) -> None:
        self.now = self.now + timedelta(seconds=gap)  # mostly distinct arrivals, some ties
        outcome = self.send(
            Role.KIOSK,
            "k1",
            "issue_ticket",
            service_code=service,
            preference_category="gestante" if preferential else "none",
        )
        assert outcome.ok, outcome.error
        view = outcome.result["ticket"]
        ahead = len([t for t in self.line(service) if not preferential or t["preferential"]])
        assert view["people_ahead"] == ahead
        self.tickets[view["ticket_id"]] = {
            "id": view["ticket_id"],
            "service": service,
            "preferential": preferential,
            "arrived_at": datetime.fromisoformat(view["arrived_at"]),
            "status": "waiting",
            "counter": None,
            "target": None,
            "recalls": 0,
            "finished": 0,
        }

    @rule(seconds=st.integers(min_value=0, max_value=900))
    def advance(self, seconds: int) -> None:
        self.now = self.now + timedelta(seconds=seconds)

    @rule(counter=st.sampled_from(sorted(COUNTERS)))
    def call_next(self, counter: str) -> None:
        heads = {s: self.line(s)[0] for s in COUNTERS[counter] if self.line(s)}
        direct = self.sent_to(counter)
        outcome = self.send(Role.COUNTER, counter, "call_next")
        if not self.open[counter]:
            assert outcome.error.code == ErrorCode.COUNTER_NOT_OPEN
            return
        if self.held[counter] is not None:
            assert outcome.error.code == ErrorCode.COUNTER_BUSY
            return
        if not heads and not direct:
            assert outcome.error.code == ErrorCode.QUEUE_EMPTY
            return
        assert outcome.ok, outcome.error
        ticket = self.tickets[outcome.result["ticket"]["ticket_id"]]
        assert ticket["status"] == "waiting"  # never a finished or held ticket
        if direct:  # a ticket sent to this counter goes first, oldest first
            assert ticket["id"] == direct[0]["id"]
            ticket.update(status="called", counter=counter, target=None, recalls=0)
            self.held[counter] = ticket["id"]
            return
        assert ticket["target"] is None
        # the head of its own line: FIFO within the class, preferential first
        assert heads[ticket["service"]]["id"] == ticket["id"]
        if not ticket["preferential"]:
            assert not any(h["preferential"] for h in heads.values())
        ticket.update(status="called", counter=counter, recalls=0)
        self.held[counter] = ticket["id"]

    @rule(data=st.data())
    def start(self, data) -> None:
        counter = self.pick_holder(data)
        held = self.held[counter]
        expected = held is not None and self.tickets[held]["status"] == "called"
        outcome = self.send(Role.COUNTER, counter, "start_attention")
        assert outcome.ok == expected, outcome.error
        if expected:
            self.tickets[held]["status"] = "serving"

    @rule(data=st.data(), result=st.sampled_from(["atendido", "derivado", "no_se_presento"]))
    def finish(self, data, result: str) -> None:
        counter = self.pick_holder(data)
        held = self.held[counter]
        expected = held is not None and (
            result == "no_se_presento" or self.tickets[held]["status"] == "serving"
        )
        outcome = self.send(Role.COUNTER, counter, "finish_attention", outcome=result)
        assert outcome.ok == expected, outcome.error
        if expected:
            ticket = self.tickets[held]
            ticket["status"] = "no_show" if result == "no_se_presento" else "done"
            ticket["finished"] += 1
            self.held[counter] = None

    @rule(data=st.data())
    def recall(self, data) -> None:
        counter = self.pick_holder(data)
        held = self.held[counter]
        expected = held is not None and self.tickets[held]["status"] == "called"
        outcome = self.send(Role.COUNTER, counter, "recall")
        assert outcome.ok == expected, outcome.error
        if not expected:
            return
        ticket = self.tickets[held]
        if ticket["recalls"] >= MAX_RECALLS:
            assert outcome.result["no_show"] is True
            ticket["status"] = "no_show"
            ticket["finished"] += 1
            self.held[counter] = None
        else:
            ticket["recalls"] += 1
            assert outcome.calls[0].call.recalls == ticket["recalls"]

    @rule(data=st.data(), to_service=st.sampled_from(SERVICES))
    def transfer(self, data, to_service: str) -> None:
        counter = self.pick_holder(data)
        held = self.held[counter]
        expected = held is not None and self.tickets[held]["service"] != to_service
        outcome = self.send(Role.COUNTER, counter, "transfer_ticket", to_service_code=to_service)
        assert outcome.ok == expected, outcome.error
        if expected:
            ticket = self.tickets[held]
            assert (
                datetime.fromisoformat(outcome.result["ticket"]["arrived_at"])
                == ticket["arrived_at"]
            )
            ticket.update(status="waiting", service=to_service, counter=None, target=None)
            self.held[counter] = None

    @rule(data=st.data(), to_counter=st.sampled_from(sorted(COUNTERS)))
    def transfer_to_counter(self, data, to_counter: str) -> None:
        counter = self.pick_holder(data)
        held = self.held[counter]
        expected = held is not None and to_counter != counter
        outcome = self.send(Role.COUNTER, counter, "transfer_ticket", to_counter_id=to_counter)
        assert outcome.ok == expected, outcome.error
        if expected:
            self.tickets[held].update(status="waiting", counter=None, target=to_counter)
            self.held[counter] = None

    @rule(data=st.data())
    def park(self, data) -> None:
        counter = self.pick_holder(data)
        held = self.held[counter]
        outcome = self.send(Role.COUNTER, counter, "park_ticket")
        assert outcome.ok == (held is not None), outcome.error
        if held is not None:
            self.tickets[held]["status"] = "parked"
            self.held[counter] = None

    @rule(counter=st.sampled_from(sorted(COUNTERS)))
    def resume(self, counter: str) -> None:
        parked = self.parked_at(counter)
        expected = self.open[counter] and self.held[counter] is None and len(parked) == 1
        outcome = self.send(Role.COUNTER, counter, "resume_ticket")
        assert outcome.ok == expected, outcome.error
        if expected:
            parked[0]["status"] = "serving"
            self.held[counter] = parked[0]["id"]

    @rule(counter=st.sampled_from(sorted(COUNTERS)))
    def pause_or_reopen(self, counter: str) -> None:
        if self.open[counter]:
            outcome = self.send(Role.COUNTER, counter, "pause_counter", reason="Pausa")
            assert outcome.ok == (self.held[counter] is None), outcome.error
            if outcome.ok:
                self.open[counter] = False
        else:
            assert self.send(Role.COUNTER, counter, "open_counter").ok
            self.open[counter] = True

    @precondition(lambda self: any(t["status"] == "waiting" for t in self.tickets.values()))
    @rule(pick=st.integers(min_value=0, max_value=50))
    def cancel_waiting(self, pick: int) -> None:
        waiting = sorted(
            (t for t in self.tickets.values() if t["status"] == "waiting"), key=lambda t: t["id"]
        )
        if not waiting:
            return
        ticket = waiting[pick % len(waiting)]
        outcome = self.send(Role.COUNTER, "v1", "cancel_ticket", ticket_id=ticket["id"])
        assert outcome.ok, outcome.error
        ticket["status"] = "cancelled"
        ticket["finished"] += 1

    # ------------------------------------------------------------------ invariants

    @invariant()
    def no_ticket_lost_and_none_finished_twice(self) -> None:
        conn = sqlite3.connect(self.dir / "hub.db")
        try:
            stored = dict(conn.execute("SELECT id, status FROM tickets"))
            finishes = dict(
                conn.execute(
                    "SELECT ticket_id, COUNT(*) FROM ticket_events WHERE to_status IN "
                    "('done', 'no_show', 'cancelled') GROUP BY ticket_id"
                )
            )
            lines = {r[0]: r[1:] for r in conn.execute("SELECT * FROM service_lines")}
        finally:
            conn.close()
        assert stored == {tid: t["status"] for tid, t in self.tickets.items()}
        for tid, ticket in self.tickets.items():
            assert finishes.get(tid, 0) == ticket["finished"] <= 1
        for service in SERVICES:
            line = self.line(service)
            pref = sum(1 for t in line if t["preferential"])
            assert lines[service] == (len(self.waiting(service)), len(line), pref)

    @invariant()
    def published_lines_are_in_service_order(self) -> None:
        for service in SERVICES:
            state = self.engine.queue_state(service)
            expected = [t["id"] for t in self.waiting(service)]
            assert [t.ticket_id for t in state.tickets] == expected
            assert state.waiting == len(expected)
            seen_regular = False
            for view in state.tickets:  # preferential never behind a regular ticket
                if view.preference_category == "none":
                    seen_regular = True
                else:
                    assert not seen_regular
            assert [t.people_ahead for t in state.tickets] == list(range(len(expected)))

    @invariant()
    def counters_hold_at_most_one_ticket(self) -> None:
        for counter in COUNTERS:
            state = self.engine.counter_state(counter)
            held = self.held[counter]
            assert (state.current.ticket_id if state.current else None) == held


QueueMachine.TestCase.settings = settings(
    max_examples=30,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestQueueMachine = QueueMachine.TestCase
