"""Fixtures of the Module 01 tests: a scripted sede hub whose outbox events (tickets with their
event history, counter sessions and pauses, shaped exactly as hub.domain.engine writes them) are
applied through central's real sync path (central.sync.service.apply_batch), and case files
written through central.cases' tables."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import uuid6

from central.auth.policy import Profile, ScopeKind
from contracts.sync import PushBatch, SyncEvent

LIMA = ZoneInfo("America/Lima")


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def lima(year: int, month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=LIMA)


@dataclass
class HubFeed:
    """Builds a sede hub's outbox the way hub.domain.engine does, then pushes it to central."""

    sede_id: str
    epoch: int = 1
    events: list[SyncEvent] = field(default_factory=list)
    _seq: itertools.count = field(default_factory=lambda: itertools.count(1))
    _numbers: itertools.count = field(default_factory=lambda: itertools.count(1))

    def _event(self, event_type: str, aggregate_type: str, aggregate_id: str, payload: dict):
        self.events.append(
            SyncEvent(
                seq=next(self._seq),
                event_id=str(uuid6.uuid7()),
                event_type=event_type,
                aggregate_type=aggregate_type,
                aggregate_id=aggregate_id,
                created_at=datetime.now(UTC),
                payload=payload,
            )
        )

    def attention(
        self,
        *,
        username: str,
        counter_id: str,
        called_at: datetime,
        minutes: float,
        service_code: str = "orientacion",
        finish: str = "finished",  # finished | transferred | serving (still open)
        second_username: str | None = None,
        second_minutes: float = 0,
    ) -> str:
        """One ticket: issued, called, started, then finished (or transferred and finished by
        ``second_username`` after ``second_minutes``)."""
        ticket_id = str(uuid6.uuid7())
        number = f"A{next(self._numbers):03d}"
        issued_at = called_at - timedelta(minutes=10)
        ticket: dict[str, Any] = {
            "id": ticket_id,
            "sede_id": self.sede_id,
            "business_date": issued_at.astimezone(LIMA).date().isoformat(),
            "service_code": service_code,
            "number": number,
            "number_seq": int(number[1:]),
            "status": "waiting",
            "preference_category": "none",
            "origin": "walk_in",
            "issued_at": iso(issued_at),
            "arrived_at": iso(issued_at),
            "called_at": None,
            "started_at": None,
            "finished_at": None,
            "counter_id": None,
            "served_by": None,
            "outcome": None,
            "has_dni": False,
            "needs_reprint": False,
            "revision": 1,
            "updated_at": iso(issued_at),
        }
        status = {"value": None}

        def step(
            event_type: str,
            to_status: str,
            at: datetime,
            who: str | None,
            counter: str | None,
            **changes,
        ):
            ticket.update(changes)
            ticket["status"] = to_status
            ticket["revision"] += 0 if event_type == "issued" else 1
            ticket["updated_at"] = iso(at)
            event = {
                "ticket_id": ticket_id,
                "id": str(uuid6.uuid7()),
                "sede_id": self.sede_id,
                "event_type": event_type,
                "from_status": status["value"],
                "to_status": to_status,
                "service_code": ticket["service_code"],
                "counter_id": counter,
                "username": who,
                "details": {},
                "request_id": str(uuid.uuid4()),
                "at": iso(at),
            }
            status["value"] = to_status
            self._event(
                f"ticket.{event_type}",
                "ticket",
                ticket_id,
                {"ticket": dict(ticket), "event": event},
            )

        step("issued", "waiting", issued_at, None, "kiosk-1")
        step("called", "called", called_at, username, counter_id, counter_id=counter_id,
             called_at=iso(called_at), served_by=username)  # fmt: skip
        started = called_at + timedelta(minutes=1)
        step("started", "serving", started, username, counter_id, started_at=iso(started))
        ended = started + timedelta(minutes=minutes)
        if finish == "finished":
            step("finished", "done", ended, username, counter_id, finished_at=iso(ended),
                 outcome="atendido")  # fmt: skip
        elif finish == "transferred":
            step("transferred", "waiting", ended, username, counter_id, counter_id=None)
            assert second_username is not None
            again = ended + timedelta(minutes=5)
            step("called", "called", again, second_username, "v2", counter_id="v2")
            step("started", "serving", again + timedelta(minutes=1), second_username, "v2")
            done = again + timedelta(minutes=1 + second_minutes)
            step("finished", "done", done, second_username, "v2", finished_at=iso(done))
        return ticket_id

    def session(
        self, *, username: str, counter_id: str, signed_in_at: datetime, hours: float = 8
    ) -> str:
        session_id = str(uuid6.uuid7())
        body = {
            "id": session_id,
            "sede_id": self.sede_id,
            "counter_id": counter_id,
            "username": username,
            "signed_in_at": iso(signed_in_at),
            "signed_out_at": iso(signed_in_at + timedelta(hours=hours)),
            "end_reason": "sign_out",
            "revision": 2,
            "updated_at": iso(signed_in_at + timedelta(hours=hours)),
        }
        self._event("counter_session.ended", "counter_session", session_id, body)
        return session_id

    def pause(
        self, *, counter_id: str, session_id: str | None, started_at: datetime, minutes: float
    ) -> str:
        pause_id = str(uuid6.uuid7())
        ended = started_at + timedelta(minutes=minutes)
        body = {
            "id": pause_id,
            "sede_id": self.sede_id,
            "counter_id": counter_id,
            "session_id": session_id,
            "reason": "refrigerio",
            "started_at": iso(started_at),
            "ended_at": iso(ended),
            "revision": 2,
            "updated_at": iso(ended),
        }
        self._event("counter_pause.ended", "counter_pause", pause_id, body)
        return pause_id

    def push(self, engine) -> None:  # noqa: ANN001
        """Through central's sync apply path, in batches like the agent sends."""
        from central.sync.service import apply_batch

        pending, self.events = self.events, []
        for start in range(0, len(pending), 500):
            batch = PushBatch(
                sede_id=self.sede_id, hub_epoch=self.epoch, events=pending[start : start + 500]
            )
            with engine.begin() as conn:
                ack = apply_batch(conn, sede_id=self.sede_id, batch=batch)
            assert ack.dead_lettered == 0, ack


@pytest.fixture
def hub_feed():
    return HubFeed


@dataclass
class Staff:
    """Professionals and supervisors of the test world (tests/central/conftest.World)."""

    defensor_a1: Any
    defensor2_a1: Any
    psicologo_a1: Any
    defensor_a2: Any
    defensor_b1: Any
    coordinator_a1: Any
    director_a: Any
    admin: Any


@pytest.fixture
def staff(factory, world) -> Staff:
    return Staff(
        defensor_a1=factory.user(Profile.DEFENSOR_PUBLICO, sede=world.sede_a1),
        defensor2_a1=factory.user(Profile.DEFENSOR_PUBLICO, sede=world.sede_a1),
        psicologo_a1=factory.user(Profile.PSICOLOGO, sede=world.sede_a1),
        defensor_a2=factory.user(Profile.DEFENSOR_PUBLICO, sede=world.sede_a2),
        defensor_b1=factory.user(Profile.DEFENSOR_PUBLICO, sede=world.sede_b1),
        coordinator_a1=factory.user(Profile.COORDINADOR_SEDE, sede=world.sede_a1),
        director_a=factory.user(
            Profile.DIRECTOR_DISTRITAL, ScopeKind.DISTRICT, district=world.district_a
        ),
        admin=factory.user(Profile.ADMINISTRADOR_NACIONAL, ScopeKind.NATIONAL),
    )
