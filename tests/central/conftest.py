"""Fixtures of the central tests: every test gets a fresh, migrated database — SQLite always,
PostgreSQL when reachable (skipped locally when not, a failure in CI) — cloned from a template
migrated once per session; an app on it; factories for the organisation and users."""

from __future__ import annotations

import os
import shutil
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from central.app import create_app
from central.auth.policy import Profile, ScopeKind
from central.auth.service import password_hasher
from central.core.db import make_engine, migrate, new_session
from central.domain.actor import Actor
from central.org import service as org
from central.org.schemas import CounterCreate, DistrictCreate, SedeCreate, SedeKind, ServiceCreate
from central.settings import CentralSettings
from central.users import service as users
from central.users.schemas import UserCreate

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
PG_ADMIN_URL = os.environ.get(
    "ALEGRA_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
PASSWORD = "Contraseña-segura-1"
SYSTEM = Actor.system("tests")


def _pg_admin_engine():
    return create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", pool_pre_ping=True)


def _pg_reachable() -> bool:
    try:
        engine = _pg_admin_engine()
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
        return True
    except Exception:
        return False


def _pg_url(name: str) -> str:
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("central-tpl") / "template.sqlite3"
    migrate(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """A PostgreSQL database migrated once for the session (uniquely named, dropped at the end)."""
    if not _pg_reachable():
        if IN_CI:
            pytest.fail("PostgreSQL on 127.0.0.1:5432 is required in CI")
        pytest.skip("PostgreSQL not reachable")
    name = f"alegra_tpl_{uuid.uuid4().hex[:12]}"
    admin = _pg_admin_engine()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    migrate(_pg_url(name))
    yield name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh migrated database for one test."""
    if request.param == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        path = tmp_path / "central.sqlite3"
        shutil.copyfile(template, path)
        yield f"sqlite:///{path}"
        return
    template = request.getfixturevalue("pg_template")
    name = f"alegra_t_{uuid.uuid4().hex[:12]}"
    admin = _pg_admin_engine()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    yield _pg_url(name)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> CentralSettings:
    # cheap argon2 so that tests creating many users stay fast; the production cost is
    # measured by bench/ and checked in test_auth.py
    return CentralSettings(
        data_dir=tmp_path,
        database_url=db_url,
        secret_key="test-secret-key-" + uuid.uuid4().hex + uuid.uuid4().hex,
        cookie_secure=False,
        argon2_time_cost=1,
        argon2_memory_kib=8192,
        log_level="WARNING",
    )


@pytest.fixture
def app(settings: CentralSettings):
    application = create_app(
        settings, run_migrations=False, web=False
    )  # the API alone; tests/central/web/ covers the UI
    yield application
    application.state.engine.dispose()


@pytest.fixture
def client(app) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def engine(app):
    return app.state.engine


@pytest.fixture
def db(engine):
    """A session on the test database, for arranging data and checking effects."""
    session = new_session(engine)
    yield session
    session.close()


@dataclass(frozen=True)
class World:
    """Two districts; district A has sedes a1 and a2, district B has sede b1."""

    district_a: str = "dd-a"
    district_b: str = "dd-b"
    sede_a1: str = "sede-a1"
    sede_a2: str = "sede-a2"
    sede_b1: str = "sede-b1"


def build_world(session) -> World:
    world = World()
    for district in (world.district_a, world.district_b):
        org.create_district(
            session=session,
            actor=SYSTEM,
            data=DistrictCreate(id=district, name=f"Dirección {district}"),
        )
    for sede, district in (
        (world.sede_a1, world.district_a),
        (world.sede_a2, world.district_a),
        (world.sede_b1, world.district_b),
    ):
        org.create_sede(
            session=session,
            actor=SYSTEM,
            data=SedeCreate(
                id=sede,
                district_id=district,
                name=f"Centro {sede}",
                kind=SedeKind.ALEGRA,
                ubigeo="150101",
                address="Av. Prueba 1",
            ),
        )
        org.create_service(
            session=session,
            actor=SYSTEM,
            sede_id=sede,
            data=ServiceCreate(code="orientacion", name="Orientación legal", letter="A"),
        )
        org.create_service(
            session=session,
            actor=SYSTEM,
            sede_id=sede,
            data=ServiceCreate(code="victimas", name="Defensa de víctimas", letter="V"),
        )
        org.create_counter(
            session=session,
            actor=SYSTEM,
            sede_id=sede,
            data=CounterCreate(
                code="v1", name="Ventanilla 1", number=1, services={"orientacion": 2, "victimas": 1}
            ),
        )
    return world


@pytest.fixture
def world(db) -> World:
    result = build_world(db)
    db.commit()
    return result


@dataclass
class Account:
    id: str
    username: str
    password: str
    profiles: list[str]
    totp_secret: str | None
    used_steps: int = 0  # TOTP codes are single-use: each sign-in takes the next time step


class Factory:
    """Makes users directly through the service layer (not through the API under test)."""

    def __init__(self, session, settings: CentralSettings) -> None:
        self.session = session
        self.settings = settings
        self.count = 0

    def user(
        self,
        profiles: list[Profile] | Profile,
        scope: ScopeKind | None = None,
        *,
        sede: str | None = None,
        district: str | None = None,
        username: str | None = None,
        password: str = PASSWORD,
        totp: bool | None = None,
        must_change_password: bool = False,
    ) -> Account:
        profiles = [profiles] if isinstance(profiles, Profile) else profiles
        if scope is None:
            scope = (
                ScopeKind.NATIONAL
                if sede is None and district is None
                else (ScopeKind.SEDE if sede else ScopeKind.DISTRICT)
            )
        self.count += 1
        username = username or f"u{self.count}-{uuid.uuid4().hex[:6]}"
        user = users.create_user(
            session=self.session,
            actor=SYSTEM,
            ph=password_hasher(self.settings),
            check_assignable=False,
            data=UserCreate(
                username=username,
                display_name=f"Usuario {self.count}",
                password=password,
                profiles=profiles,
                scope_kind=scope,
                sede_id=sede,
                district_id=district,
            ),
            must_change_password=must_change_password,
        )
        secret = None
        from central.auth.policy import requires_totp

        if totp or (totp is None and requires_totp(p.value for p in profiles)):
            secret = pyotp.random_base32()
            user.totp_secret = secret
            self.session.add(user)
        self.session.commit()
        return Account(user.id, username, password, [p.value for p in profiles], secret)


@pytest.fixture
def factory(db, settings) -> Factory:
    return Factory(db, settings)


def totp_now(secret: str, offset: int = 0) -> str:
    totp = pyotp.TOTP(secret)
    return totp.at(int(time.time()) + 30 * offset)


def next_totp(account: Account) -> str:
    """A code not used yet by this account: the current step, then the next one (the server
    accepts now-1..now+1, so a step boundary crossed in between never invalidates it)."""
    offset = account.used_steps
    if offset > 1:
        raise RuntimeError("more than two TOTP sign-ins of one account in a test")
    account.used_steps += 1
    return totp_now(account.totp_secret or "", offset)


def sign_in(client: TestClient, account: Account) -> dict[str, str]:
    """Bearer headers for the account (with its TOTP code when it has one)."""
    body = {"username": account.username, "password": account.password}
    if account.totp_secret:
        body["totp_code"] = next_totp(account)
    response = client.post("/api/v1/auth/token", json=body)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def raw_engine(url: str):
    return make_engine(url)
