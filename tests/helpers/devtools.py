"""Development helpers shared by the sync tests and ``bench/sync.py``: a central database with
one enrolled sede hub, and the matching hub configuration. Not used in production paths."""

from __future__ import annotations

import uuid
from datetime import timedelta
from itertools import count
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from contracts.sync import Change
from hub.config import CounterConfig, QueuePolicy, SedeConfig, ServiceConfig, StaffUserConfig

PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
_page_numbers = count(1)


def store_pulled_page(db_path: Path | str, changes: list[Change]) -> None:
    """Store one page of central's changes in a hub file exactly as the sync agent does after
    a pull (``central_records.apply_page``, with the cursor saved in the same transaction), for
    tests that play central's word without a central."""
    from hub.domain import central_records, store

    conn = store.open_db(db_path)
    try:
        sent = store.sync_state(conn).get("pull_cursor", "")
        assert central_records.apply_page(
            conn,
            sent_cursor=sent,
            changes=changes,
            next_cursor=f"0.{next(_page_numbers)}.00000000",
            has_more=False,
            reset=False,
        ), "another agent moved the cursor"
    finally:
        conn.close()


def pg_available(admin_url: str = PG_ADMIN_URL) -> bool:
    try:
        engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
        return True
    except Exception:  # noqa: BLE001
        return False


def create_pg_database(prefix: str = "alegra_sync", admin_url: str = PG_ADMIN_URL) -> str:
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return admin_url.rsplit("/", 1)[0] + "/" + name


def drop_pg_database(url: str, admin_url: str = PG_ADMIN_URL) -> None:
    name = url.rsplit("/", 1)[1]
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def clone_pg_database(source_url: str, admin_url: str = PG_ADMIN_URL) -> str:
    """A copy of a database (a 'backup' to restore later): CREATE DATABASE ... TEMPLATE."""
    source = source_url.rsplit("/", 1)[1]
    name = f"{source}_bk{uuid.uuid4().hex[:4]}"
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = :d AND pid <> pg_backend_pid()"
            ),
            {"d": source},
        )
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{source}"'))
    engine.dispose()
    return admin_url.rsplit("/", 1)[0] + "/" + name


SERVICES = (("orientacion", "Orientación legal", "A"), ("victimas", "Defensa de víctimas", "V"))


def seed_central(
    url: str, *, sede_id: str = "sede-sync", staff: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Migrate ``url`` and create a district, one sede with two services and a counter,
    optional counter staff (orientador profile) and an enrolled hub. Returns the device
    token and the staff passwords."""
    from central.auth.policy import Profile, ScopeKind
    from central.auth.service import password_hasher
    from central.core.db import make_engine, migrate, new_session
    from central.devices import service as devices
    from central.devices.schemas import EnrollmentCodeCreate
    from central.domain.actor import Actor
    from central.org import service as org
    from central.org.schemas import (
        CounterCreate,
        DistrictCreate,
        SedeCreate,
        SedeKind,
        ServiceCreate,
    )
    from central.settings import CentralSettings
    from central.users import service as users
    from central.users.schemas import UserCreate

    migrate(url)
    engine = make_engine(url)
    system = Actor.system("sync-devtools")
    session = new_session(engine)
    district = f"dd-{sede_id}"
    org.create_district(
        session=session, actor=system, data=DistrictCreate(id=district, name="Dirección de prueba")
    )
    org.create_sede(
        session=session,
        actor=system,
        data=SedeCreate(
            id=sede_id,
            district_id=district,
            name=f"Centro {sede_id}",
            kind=SedeKind.ALEGRA,
            ubigeo="150101",
            address="Av. Prueba 1",
        ),
    )
    for code, name, letter in SERVICES:
        org.create_service(
            session=session,
            actor=system,
            sede_id=sede_id,
            data=ServiceCreate(code=code, name=name, letter=letter),
        )
    org.create_counter(
        session=session,
        actor=system,
        sede_id=sede_id,
        data=CounterCreate(
            code="v1", name="Ventanilla 1", number=1, services={"orientacion": 2, "victimas": 1}
        ),
    )
    settings = CentralSettings(argon2_time_cost=1, argon2_memory_kib=8192)
    passwords = {}
    for username in staff:
        password = "Contraseña-segura-1"  # noqa: S105 - test fixture
        users.create_user(
            session=session,
            actor=system,
            ph=password_hasher(settings),
            check_assignable=False,
            data=UserCreate(
                username=username,
                display_name=f"Usuario {username}",
                password=password,
                profiles=[Profile.ORIENTADOR],
                scope_kind=ScopeKind.SEDE,
                sede_id=sede_id,
            ),
        )
        passwords[username] = password
    _, code = devices.issue_enrollment_code(
        session=session,
        actor=system,
        data=EnrollmentCodeCreate(sede_id=sede_id, device_name="Hub de prueba"),
        lifetime=timedelta(minutes=10),
    )
    _, token = devices.enroll(session=session, actor=system, code=code)
    session.commit()
    session.close()
    engine.dispose()
    return {"sede_id": sede_id, "token": token, "passwords": passwords}


def hub_sede_config(sede_id: str = "sede-sync") -> SedeConfig:
    return SedeConfig(
        id=sede_id,
        name=f"Centro {sede_id}",
        services=[ServiceConfig(code=c, name=n, letter=letter) for c, n, letter in SERVICES],
        counters=[
            CounterConfig(
                id="v1", name="Ventanilla 1", number=1, services={"orientacion": 2, "victimas": 1}
            ),
            CounterConfig(id="v2", name="Ventanilla 2", number=2, services={"orientacion": 1}),
        ],
        queue=QueuePolicy(issue_outside_hours=True),
        staff=[
            StaffUserConfig(
                username=LOCAL_STAFF,
                display_name="Personal local",
                password_hash=_local_hash(),
            )
        ],
    )


LOCAL_STAFF = "local"
LOCAL_PASSWORD = "clave-local-de-prueba"  # noqa: S105 - test fixture


def _local_hash() -> str:
    from argon2 import PasswordHasher

    return PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(LOCAL_PASSWORD)
