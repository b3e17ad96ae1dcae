"""Fixtures of the sync tests: a central database (SQLite always, PostgreSQL when reachable,
required in CI) seeded with one enrolled sede; the central app in-process; a hub engine on a
temp SQLite file; and a sync agent whose HTTP client is the app's TestClient."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from sync import devtools

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
SEDE = "sede-sync"
STAFF = ("ana", "beto")


def require_pg() -> None:
    if not devtools.pg_available():
        if IN_CI:
            pytest.fail("PostgreSQL on 127.0.0.1:5432 is required in CI")
        pytest.skip("PostgreSQL not reachable")


@pytest.fixture(scope="session")
def seeded_sqlite(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    path = tmp_path_factory.mktemp("sync-tpl") / "central.sqlite3"
    seed = devtools.seed_central(f"sqlite:///{path}", sede_id=SEDE, staff=STAFF)
    return path, seed


@pytest.fixture(scope="session")
def seeded_pg() -> Iterator[tuple[str, dict[str, Any]]]:
    require_pg()
    url = devtools.create_pg_database("alegra_synctpl")
    seed = devtools.seed_central(url, sede_id=SEDE, staff=STAFF)
    yield url, seed
    devtools.drop_pg_database(url)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def central_db(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[str, dict[str, Any]]]:
    """(database url, seed) of a fresh copy of the seeded central database."""
    if request.param == "sqlite":
        template, seed = request.getfixturevalue("seeded_sqlite")
        path = tmp_path / "central.sqlite3"
        shutil.copyfile(template, path)
        yield f"sqlite:///{path}", seed
        return
    template_url, seed = request.getfixturevalue("seeded_pg")
    url = devtools.clone_pg_database(template_url)
    yield url, seed
    devtools.drop_pg_database(url)


@dataclass
class Central:
    url: str
    app: Any
    client: TestClient
    token: str
    passwords: dict[str, str]

    def connect(self):  # noqa: ANN201
        return self.app.state.engine.begin()


@pytest.fixture
def central(central_db: tuple[str, dict[str, Any]], tmp_path: Path) -> Iterator[Central]:
    from central.app import create_app
    from central.settings import CentralSettings

    url, seed = central_db
    settings = CentralSettings(
        data_dir=tmp_path,
        database_url=url,
        secret_key="sync-test-" + uuid.uuid4().hex * 2,
        cookie_secure=False,
        log_level="WARNING",
        argon2_time_cost=1,
        argon2_memory_kib=8192,
    )
    app = create_app(settings, run_migrations=False, web=False)
    with TestClient(app) as client:
        yield Central(url, app, client, seed["token"], seed["passwords"])
    app.state.engine.dispose()


@pytest.fixture
def hub_engine(tmp_path: Path) -> Iterator[Any]:
    from hub.domain.engine import HubEngine

    engine = HubEngine(devtools.hub_sede_config(SEDE), tmp_path / "hub.sqlite3")
    yield engine
    engine.close()


def make_agent(central: Central, db_path: Path, **kwargs: Any) -> Any:
    from sync.agent import SyncAgent

    return SyncAgent(
        db_path,
        central_url="http://testserver",
        token=central.token,
        client=central.client,
        **kwargs,
    )


@pytest.fixture
def agent(central: Central, hub_engine: Any) -> Iterator[Any]:
    a = make_agent(central, hub_engine.db_path)
    yield a
    a.conn.close()


@pytest.fixture
def admin_headers(central: Central) -> dict[str, str]:
    """A national administrator's bearer token (made through the service layer)."""
    from central.auth.policy import Profile, ScopeKind
    from central.auth.service import issue_token_pair, password_hasher
    from central.core.db import new_session
    from central.domain.actor import Actor
    from central.users import service as users
    from central.users.schemas import UserCreate

    settings = central.app.state.settings
    session = new_session(central.app.state.engine)
    user = users.create_user(
        session=session,
        actor=Actor.system("tests"),
        ph=password_hasher(settings),
        check_assignable=False,
        data=UserCreate(
            username="admin-sync",
            display_name="Administración",
            password="Contraseña-segura-1",  # noqa: S106
            profiles=[Profile.ADMINISTRADOR_NACIONAL],
            scope_kind=ScopeKind.NATIONAL,
        ),
    )
    user.must_change_password = False
    session.add(user)
    session.flush()
    pair = issue_token_pair(session=session, settings=settings, user=user)
    session.commit()
    session.close()
    return {"Authorization": f"Bearer {pair.access_token}"}
