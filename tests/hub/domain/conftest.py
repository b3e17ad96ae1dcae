"""Factories for the queue-domain tests: a controllable clock, sede configs, a fresh engine on
a temp SQLite file per test, a driver that speaks the engine's command interface, and a
snapshot of every table to prove that rejected commands change nothing."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher

from contracts.mqtt import Role
from hub.config import SedeConfig
from hub.domain.engine import HubEngine
from hub.ports import Actor, CommandOutcome

# cheap argon2 parameters: the tests verify passwords many times
HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
PASSWORDS = {"ana": "clave-ana", "luis": "clave-luis", "rosa": "clave-rosa"}
# one more person per counter for tests with many counters (a user signs in at one at a time)
PASSWORDS.update({f"staff{n}": f"clave-staff{n}" for n in range(1, 9)})
_HASHES = {user: HASHER.hash(password) for user, password in PASSWORDS.items()}

# Monday 2026-11-23 10:00 in Lima (UTC-5)
START = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
TABLES = (
    "tickets",
    "ticket_events",
    "ticket_sequences",
    "counters",
    "counter_sessions",
    "counter_pauses",
    "appointments",
    "audit_log",
    "outbox",
    "command_log",
    "service_lines",
    "hub_meta",
)


class Clock:
    def __init__(self, start: datetime = START) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float = 0, **kwargs: float) -> datetime:
        self.now = self.now + timedelta(seconds=seconds, **kwargs)
        return self.now


def sede_dict(**queue: Any) -> dict[str, Any]:
    return {
        "id": "sede-test",
        "name": "Centro ALEGRA de Prueba",
        "services": [
            {"code": "orientacion", "name": "Orientación legal", "letter": "A"},
            {"code": "penal", "name": "Defensa penal", "letter": "P"},
            {"code": "victimas", "name": "Defensa de víctimas", "letter": "V"},
        ],
        "counters": [
            {"id": "v1", "name": "Ventanilla 1", "number": 1, "services": {"orientacion": 1}},
            {
                "id": "v2",
                "name": "Ventanilla 2",
                "number": 2,
                "services": {"orientacion": 3, "penal": 1},
            },
            {"id": "v3", "name": "Ventanilla 3", "number": 3, "services": {"victimas": 1}},
        ],
        "hours": [{"weekdays": [0, 1, 2, 3, 4], "opens": "08:00:00", "closes": "17:00:00"}],
        "queue": {"issue_outside_hours": True, **queue},
        "staff": [
            {"username": "ana", "display_name": "Ana Quispe", "password_hash": _HASHES["ana"]},
            {"username": "luis", "display_name": "Luis Mamani", "password_hash": _HASHES["luis"]},
            {
                "username": "rosa",
                "display_name": "Rosa Huamán",
                "password_hash": _HASHES["rosa"],
                "counters": ["v3"],
            },
            *(
                {
                    "username": f"staff{n}",
                    "display_name": f"Staff {n}",
                    "password_hash": _HASHES[f"staff{n}"],
                }
                for n in range(1, 9)
            ),
        ],
    }


def make_config(**queue: Any) -> SedeConfig:
    return SedeConfig.model_validate(sede_dict(**queue))


class Driver:
    """Sends commands the way the MQTT bridge does, with fresh request ids."""

    def __init__(self, engine: HubEngine, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock

    def send(
        self,
        role: Role,
        device_id: str,
        action: str,
        request_id: str | None = None,
        **params: Any,
    ) -> CommandOutcome:
        return self.engine.execute(
            actor=Actor(role=role, device_id=device_id),
            action=action,
            params=params,
            request_id=request_id or str(uuid.uuid4()),
        )

    def kiosk(self, action: str, device_id: str = "kiosk-1", **params: Any) -> CommandOutcome:
        return self.send(Role.KIOSK, device_id, action, **params)

    def counter(self, counter_id: str, action: str, /, **params: Any) -> CommandOutcome:
        return self.send(Role.COUNTER, counter_id, action, **params)

    def ok(self, outcome: CommandOutcome) -> dict[str, Any]:
        assert outcome.ok, outcome.error
        assert outcome.result is not None
        return outcome.result

    def issue(self, service_code: str = "orientacion", **params: Any) -> dict[str, Any]:
        return self.ok(self.kiosk("issue_ticket", service_code=service_code, **params))["ticket"]

    def open(self, counter_id: str, user: str = "ana", **params: Any) -> None:
        self.ok(self.counter(counter_id, "sign_in", username=user, password=PASSWORDS[user]))
        self.ok(self.counter(counter_id, "open_counter", **params))

    def call_next(self, counter_id: str) -> dict[str, Any]:
        return self.ok(self.counter(counter_id, "call_next"))["ticket"]

    def serve(self, counter_id: str, outcome: str = "atendido") -> dict[str, Any]:
        ticket = self.call_next(counter_id)
        self.ok(self.counter(counter_id, "start_attention"))
        self.ok(self.counter(counter_id, "finish_attention", outcome=outcome))
        return ticket


def snapshot(db_path: Path) -> dict[str, list[tuple]]:
    conn = sqlite3.connect(db_path)
    try:
        return {
            table: sorted(tuple(row) for row in conn.execute(f"SELECT * FROM {table}"))
            for table in TABLES
        }
    finally:
        conn.close()


def rows(db_path: Path, sql: str, *args: Any) -> list[sqlite3.Row]:
    conn = sqlite3.connect(db_path)
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "hub.db"


@pytest.fixture
def engine_factory(db_path: Path, clock: Clock):
    made: list[HubEngine] = []

    def make(config: SedeConfig | None = None, path: Path | None = None) -> HubEngine:
        engine = HubEngine(config or make_config(), path or db_path, clock=clock)
        made.append(engine)
        return engine

    yield make
    for engine in made:
        try:
            engine.close()
        except Exception:
            pass


@pytest.fixture
def engine(engine_factory: Callable[..., HubEngine]) -> HubEngine:
    return engine_factory()


@pytest.fixture
def hub(engine: HubEngine, clock: Clock) -> Driver:
    return Driver(engine, clock)


@pytest.fixture
def unchanged(db_path: Path):
    """``with unchanged(): ...`` asserts that no table changed inside the block."""
    from contextlib import contextmanager

    @contextmanager
    def check():
        before = snapshot(db_path)
        yield
        after = snapshot(db_path)
        for table in TABLES:
            assert after[table] == before[table], f"{table} changed"

    return check


@pytest.fixture(name="make_config")
def make_config_fixture() -> Callable[..., SedeConfig]:
    return make_config


@pytest.fixture
def sede_dict_factory() -> Callable[..., dict[str, Any]]:
    return sede_dict


@pytest.fixture
def db_rows(db_path: Path) -> Callable[..., list[sqlite3.Row]]:
    return lambda sql, *args: rows(db_path, sql, *args)


@pytest.fixture
def make_driver(clock: Clock) -> Callable[[HubEngine], Driver]:
    return lambda engine: Driver(engine, clock)


@pytest.fixture
def passwords() -> dict[str, str]:
    return dict(PASSWORDS)
