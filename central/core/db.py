"""Database engine, sessions and migrations (SQLite by default, PostgreSQL in production).

SQLite transactions start with BEGIN IMMEDIATE so that a request that reads the audit chain
head and then appends to it can never lose a race (SQLite has no SELECT ... FOR UPDATE).

Read-only sessions (``new_session(engine, read_only=True)``, opted into per route with
``central.auth.deps.read_only``) are the exception: they cannot write (a flush with changes or a
DML statement raises ReadOnlySessionError), so they need no write lock. On SQLite they begin
DEFERRED (a WAL snapshot, no lock: concurrent reads no longer queue behind each other or behind
writers); on PostgreSQL they run in autocommit (no BEGIN/ROLLBACK round trips; each statement
sees committed data, as under the default READ COMMITTED), so closing one does no I/O.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import ORMExecuteState
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
# Execution option read by the SQLite "begin" hook: a read-only session's transaction.
READ_ONLY_OPTION = "alegra_read_only"


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def make_engine(url: str, *, pool_size: int = 20) -> Engine:
    """``pool_size`` (plus as many overflow connections): above the number of requests one
    worker serves at once (16 in the benchmark), so that requests never wait for a connection
    and PostgreSQL overflow connections are not opened and closed per request."""
    if is_sqlite(url):
        if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=pool_size,
            max_overflow=pool_size,
        )

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
            dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn) -> None:  # type: ignore[no-untyped-def]
            if not conn.get_execution_options().get(READ_ONLY_OPTION):
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            # read-only: no BEGIN, each statement reads its own WAL snapshot without a lock

        return engine
    engine = create_engine(url, pool_size=pool_size, max_overflow=pool_size)
    _ping_idle_connections(engine)
    return engine


# A pooled connection idle for longer than this is checked (SELECT 1) before it is handed out.
PING_AFTER_IDLE_S = 10.0


def _ping_idle_connections(engine: Engine) -> None:
    """Like ``pool_pre_ping``, but only for connections that sat idle in the pool: a busy pool
    does not pay one extra round trip per request. A connection found dead is replaced (the
    pool retries the checkout); one that dies while in use fails that request and SQLAlchemy
    then invalidates the pool (disconnect detection)."""

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection, record) -> None:  # type: ignore[no-untyped-def]
        record.info["alegra_idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_connection, record, _proxy) -> None:  # type: ignore[no-untyped-def]
        idle_since = record.info.get("alegra_idle_since")
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_S:
            return  # new (just connected) or recently used
        try:
            cursor = dbapi_connection.cursor()
            cursor.execute("SELECT 1")
            cursor.close()
            dbapi_connection.rollback()  # the ping opened a transaction: end it
        except Exception as exc:
            raise DisconnectionError("idle pooled connection is dead") from exc


class ReadOnlySessionError(RuntimeError):
    """A write attempted through a read-only session (a programming error: the route was marked
    read-only but writes)."""


class ReadOnlySession(Session):
    """A session that refuses to write (see the module docstring)."""


@event.listens_for(ReadOnlySession, "before_flush")
def _refuse_flush(session: OrmSession, _context, _instances) -> None:  # type: ignore[no-untyped-def]
    if session.new or session.deleted or any(session.is_modified(o) for o in session.dirty):
        raise ReadOnlySessionError("read-only session: nothing may be written")


@event.listens_for(ReadOnlySession, "do_orm_execute")
def _refuse_dml(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        raise ReadOnlySessionError("read-only session: nothing may be written")


def read_only_bind(engine: Engine) -> Engine:
    """The engine with the read-only execution options (made once per engine, kept on it)."""
    bind = getattr(engine, "_alegra_read_only_bind", None)
    if bind is None:
        options: dict[str, object] = {READ_ONLY_OPTION: True}
        if not is_sqlite(engine.url.drivername):
            options["isolation_level"] = "AUTOCOMMIT"
        bind = engine.execution_options(**options)
        engine._alegra_read_only_bind = bind  # type: ignore[attr-defined]
    return bind


def new_session(engine: Engine, *, read_only: bool = False) -> Session:
    """A session on ``engine``; ``read_only``: a ReadOnlySession (no write lock, no BEGIN on
    PostgreSQL; refuses writes)."""
    if read_only:
        return ReadOnlySession(read_only_bind(engine), expire_on_commit=False)
    return Session(engine, expire_on_commit=False)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session for CLI commands and scripts: commits on success, rolls back on error."""
    session = new_session(engine)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(url: str, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (idempotent)."""
    command.upgrade(alembic_config(url), revision)
