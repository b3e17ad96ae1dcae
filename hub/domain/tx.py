"""What a command handler works with: the transaction it runs in (``Tx``: connection, time,
actor, request id, what to publish after commit) and the sede's catalogue in effect
(``Catalogue``: services, counters, staff, policy, time zone).

The engine (``hub.domain.engine``) opens the transaction, runs a handler of the subject
modules (``tickets``, ``counters``, ``appointments``, ``intake``, ``central_config``) inside
it and commits; handlers write through ``Tx.audit`` and ``Tx.outbox`` and look the catalogue
up through ``Tx``, so none of them reaches into the engine.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import uuid6

from contracts.errors import ErrorCode
from hub.config import CounterConfig, QueuePolicy, SedeConfig, ServiceConfig, StaffUserConfig
from hub.domain import ordering, outbox
from hub.domain.errors import DomainError
from hub.domain.store import iso
from hub.ports import Actor, CommandOutcome

dumps = outbox.encode  # compact JSON, as answers, audit and outbox rows store it


def new_id() -> str:
    return str(uuid6.uuid7())


def error(code: ErrorCode, message: str | None = None, field: str | None = None) -> DomainError:
    return DomainError(code, message, field=field)


@dataclass(frozen=True)
class Catalogue:
    """The sede's configuration in effect (the TOML, or central's once pulled), immutable:
    the engine swaps the whole object when central's configuration changes, so a reader
    never sees half of one and half of another."""

    config: SedeConfig
    services: Mapping[str, ServiceConfig]  # configured, plus withdrawn ones with live tickets
    offered: frozenset[str]  # services a kiosk may issue (withdrawn ones not)
    counters: Mapping[str, CounterConfig]
    staff: Mapping[str, StaffUserConfig]
    tz: ZoneInfo

    @classmethod
    def of(
        cls, config: SedeConfig, orphans: Mapping[str, ServiceConfig] | None = None
    ) -> Catalogue:
        services = {s.code: s for s in config.services}
        offered = frozenset(services)
        services.update(orphans or {})
        return cls(
            config=config,
            services=services,
            offered=offered,
            counters={c.id: c for c in config.counters},
            staff={u.username: u for u in config.staff},
            tz=ZoneInfo(config.timezone),
        )

    @property
    def policy(self) -> QueuePolicy:
        return self.config.queue

    def service(self, code: str, field_name: str) -> ServiceConfig:
        """A service a ticket may be issued for (or a ticket moved to)."""
        service = self.services.get(code)
        if service is None or code not in self.offered:
            raise error(ErrorCode.UNKNOWN_SERVICE, field=field_name)
        return service

    def business_date(self, moment: datetime) -> str:
        return moment.astimezone(self.tz).date().isoformat()

    def day_start(self, business_date: str) -> str:
        return iso(datetime.combine(date.fromisoformat(business_date), time(0), self.tz))

    def due_limit(self, now: datetime) -> str:
        return ordering.due_limit(now, self.policy.appointment_window_min)


@dataclass
class Tx:
    """One command in flight: what it saw and what the transport must publish afterwards."""

    conn: sqlite3.Connection
    now: datetime
    now_iso: str
    actor: Actor
    action: str
    request_id: str | None
    catalogue: Catalogue
    sede_id: str
    hub_epoch: int
    username: str | None = None
    outcome: CommandOutcome = field(default_factory=lambda: CommandOutcome(status="ok"))

    # ------------------------------------------------------------------ catalogue look-ups

    @property
    def policy(self) -> QueuePolicy:
        return self.catalogue.policy

    def service(self, code: str, field_name: str) -> ServiceConfig:
        return self.catalogue.service(code, field_name)

    def business_date(self) -> str:
        return self.catalogue.business_date(self.now)

    def day_start(self) -> str:
        """Start of today (the sede's business day) as stored text."""
        return self.catalogue.day_start(self.business_date())

    def due_limit(self) -> str:
        return self.catalogue.due_limit(self.now)

    # ------------------------------------------------------------------ writes every command makes

    def audit(
        self,
        *,
        entity_type: str,
        entity_id: str,
        before: Mapping[str, Any] | None,
        after: Mapping[str, Any] | None,
    ) -> None:
        self.conn.execute(
            "INSERT INTO audit_log (at, actor_role, actor_device, username, action, "
            "entity_type, entity_id, before, after, request_id) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (
                self.now_iso,
                str(self.actor.role),
                self.actor.device_id,
                self.username,
                self.action,
                entity_type,
                entity_id,
                dumps(before) if before is not None else None,
                dumps(after) if after is not None else None,
                self.request_id,
            ),
        )

    def outbox(
        self,
        event_type: str,
        aggregate_type: str,
        aggregate_id: str,
        payload: Mapping[str, Any],
    ) -> None:
        outbox.write(
            self.conn,
            event_type=event_type,
            aggregate_type=aggregate_type,
            aggregate_id=aggregate_id,
            payload=payload,
            at=self.now_iso,
            sede_id=self.sede_id,
            hub_epoch=self.hub_epoch,
        )
