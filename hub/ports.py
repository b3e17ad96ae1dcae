"""The seam between the hub's queue domain and its transports (MQTT bridge, CLI, bench).

``hub.domain`` implements QueueEngine; ``hub.bridge`` drives it from MQTT. The engine is
synchronous and thread-safe; every command is atomic (its change, audit row and outbox row
commit together or not at all) and nothing is published until it has committed. Several
commands may share one transaction and fsync (``execute_many``, group commit).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from contracts.messages import (
    CallEvent,
    CounterState,
    DisplayState,
    ErrorBody,
    PrintJob,
    QueueState,
    SedeInfo,
)
from contracts.mqtt import Role


@dataclass(frozen=True)
class Actor:
    """Who sent a command: the role and device id taken from the MQTT topic (never the
    payload). For counters the device id is the counter id."""

    role: Role
    device_id: str


@dataclass
class CommandOutcome:
    """The answer to one command and what the transport must publish after commit."""

    status: str  # "ok" | "error"
    result: dict[str, Any] | None = None
    error: ErrorBody | None = None
    replayed: bool = False  # the request id was seen before: first answer returned, no change
    changed_services: set[str] = field(default_factory=set)
    changed_counters: set[str] = field(default_factory=set)
    display_changed: bool = False
    # central's sede configuration was applied: republish the config; clear the retained
    # state of counters and services that no longer exist (docs/sync.md)
    config_changed: bool = False
    removed_counters: set[str] = field(default_factory=set)
    removed_services: set[str] = field(default_factory=set)
    calls: list[CallEvent] = field(default_factory=list)
    prints: list[tuple[str, PrintJob]] = field(default_factory=list)  # (device id, job)

    @property
    def ok(self) -> bool:
        return self.status == "ok"


class QueueEngine(Protocol):
    def execute(
        self, *, actor: Actor, action: str, params: dict[str, Any], request_id: str
    ) -> CommandOutcome:
        """One command, one atomic commit. Concurrent callers may share a commit (group
        commit); each still gets its own outcome only after that commit."""
        ...

    def execute_many(
        self, commands: Sequence[tuple[Actor, str, dict[str, Any], str]]
    ) -> list[CommandOutcome]:
        """``(actor, action, params, request_id)`` commands, in order, in ONE transaction with
        one savepoint each: every command is still atomic (a rejected one writes nothing), a
        request id repeated in the batch replays its first use, and the outcomes are returned
        only after the single commit (all ``internal`` errors if it fails)."""
        ...

    def housekeeping(self) -> CommandOutcome:
        """Time-driven changes (day rollover, appointment windows); call every few seconds."""
        ...

    def sede_info(self) -> SedeInfo: ...

    def queue_state(self, service_code: str) -> QueueState: ...

    def counter_state(self, counter_id: str) -> CounterState: ...

    def display_state(self) -> DisplayState: ...

    def status(self) -> dict[str, Any]:
        """Queues, counters and outbox backlog, for ``alegra hub status``."""
        ...

    def close(self) -> None: ...
