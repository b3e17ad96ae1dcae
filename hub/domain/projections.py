"""Read side of the hub engine for publishing: the retained states devices see, read on a
connection of their own.

The MQTT bridge publishes queue, counter and display states after every change. Reading them
on the engine's connection means taking its writer lock, so they would be computed on the
command lane, between one command's answer and the next command. ``StateReader`` opens a
second SQLite connection on the same file instead: in WAL mode a reader never blocks the
writer and never waits for it, and a read transaction sees exactly the commits that finished
before it began (one consistent snapshot for every state it renders). The payloads are the
JSON bytes published on the wire; the engine renders the longest part (the waiting tickets of
a queue) in SQL, so little Python — and little contention for the GIL with the command lane —
is involved.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

from contracts.messages import CounterState, DisplayState, SedeInfo
from hub.domain import store
from hub.domain.errors import DomainError


class StateSource(Protocol):
    """What renders the states (the engine: its catalogue in effect, central's messages),
    each read on the connection given (``hub.domain.queries``)."""

    def sede_info(self) -> SedeInfo: ...

    def queue_state_json(self, conn: sqlite3.Connection, service_code: str) -> bytes: ...

    def counter_state_on(self, conn: sqlite3.Connection, counter_id: str) -> CounterState: ...

    def display_state_on(self, conn: sqlite3.Connection) -> DisplayState: ...


class StateSnapshot:
    """The retained states as of one read transaction (see ``StateReader.snapshot``)."""

    def __init__(self, engine: StateSource, conn: sqlite3.Connection) -> None:
        self._engine = engine
        self._conn = conn

    def sede_info_json(self) -> bytes:
        return self._engine.sede_info().model_dump_json().encode()

    def service_codes(self) -> list[str]:
        return [service.code for service in self._engine.sede_info().services]

    def counter_ids(self) -> list[str]:
        return [counter.counter_id for counter in self._engine.sede_info().counters]

    def queue_state_json(self, service_code: str) -> bytes | None:
        """None for a service the sede does not have (any more)."""
        try:
            return self._engine.queue_state_json(self._conn, service_code)
        except DomainError:
            return None

    def counter_state_json(self, counter_id: str) -> bytes | None:
        """None for a counter the sede does not have (any more)."""
        try:
            state = self._engine.counter_state_on(self._conn, counter_id)
        except DomainError:
            return None
        return state.model_dump_json().encode()

    def display_state_json(self) -> bytes:
        return self._engine.display_state_on(self._conn).model_dump_json().encode()


class StateReader:
    """A read-only connection to the hub's file ``db_path`` for one thread (the bridge's
    publisher), rendering through ``engine``. Not thread-safe: one snapshot at a time.
    ``close()`` it before the engine."""

    def __init__(self, engine: StateSource, db_path: Path) -> None:
        self._engine = engine
        self._conn = store.connect(db_path)
        self._conn.execute("PRAGMA query_only = ON")  # a reader: any write is a bug

    @contextmanager
    def snapshot(self) -> Iterator[StateSnapshot]:
        """One read transaction: every state rendered inside it reflects the same commits —
        all those that finished before it began."""
        self._conn.execute("BEGIN")
        try:
            yield StateSnapshot(self._engine, self._conn)
        finally:
            self._conn.execute("COMMIT")

    def close(self) -> None:
        self._conn.close()
