"""The hot read path: a few statements (the access token check, the page of the busiest list
views) run without a threadpool hop, straight from the event loop.

Why (docs/central.md "Benchmark"): a sync read handed to the threadpool costs far more CPU than
the read itself once requests overlap. The worker thread drops the GIL around every driver call
and then has to win it back from the event loop, so under load each request pays for a string of
GIL hand-overs between threads. Measured on the list endpoint, the hop cost more than the SQL.

- PostgreSQL: psycopg's asyncio connections from a ``psycopg_pool.AsyncConnectionPool``. The
  loop awaits the socket; nothing blocks it. Connections are opened read-only
  (``default_transaction_read_only``) and in autocommit, so a hot read can never write or hold
  a transaction open.
- SQLite: one connection used on the loop thread itself (``PRAGMA query_only``). A read in WAL
  mode takes no lock and never waits for a writer; the hot statements are indexed and bounded
  (a page is at most 500 rows), so each takes a fraction of a millisecond of local work.
- Anything else (an in-memory SQLite database, which a second connection cannot see): the
  engine in the threadpool, as every other view does.

Statements stay SQLAlchemy Core statements, defined once next to their service. They are compiled
here once per dialect and *shape* (``key``). Values that change per request are named
``bindparam``s that override the compiled defaults; IN lists (an area's sedes) are part of the
shape and are expanded when the shape is compiled. Rows come back as plain tuples, in the
statement's column order, with the driver's types (SQLite gives DATETIME columns as text: the
caller converts them, see ``as_datetime``).
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Engine
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.sql import Executable

from central.core.db import is_sqlite

Row = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class HotQuery:
    """A statement to run on the hot path: ``key`` names its shape (everything that changes the
    SQL), ``build`` makes the statement the first time that shape is seen, ``params`` override
    its bound defaults for this request."""

    key: tuple[Any, ...]
    build: Callable[[], Executable]
    params: dict[str, Any] = field(default_factory=dict)


# compiled shapes kept per reader (an area is part of a shape: one per scope of the users who
# list, a few hundred at most in the country)
SHAPE_CACHE_SIZE = 512
# a pooled PostgreSQL connection idle for longer than this is checked before it is handed out
# (like central.core.db's engine: a busy pool pays no extra round trip)
PING_AFTER_IDLE_S = 10.0


class HotReader(Protocol):
    async def fetch(self, query: HotQuery) -> list[Row]:
        """The rows of ``query`` as tuples, in its statement's column order."""
        ...

    async def close(self) -> None: ...


class _Shapes:
    """Compiled SQL and default parameters per shape, for one dialect (LRU-bounded)."""

    def __init__(self, dialect: Any) -> None:
        self._dialect = dialect
        self._cache: OrderedDict[tuple[Any, ...], tuple[str, dict[str, Any]]] = OrderedDict()
        self._lock = threading.Lock()

    def sql(self, query: HotQuery) -> tuple[str, dict[str, Any]]:
        """The SQL of ``query``'s shape and its parameters for this request."""
        with self._lock:
            found = self._cache.get(query.key)
            if found is not None:
                self._cache.move_to_end(query.key)
        if found is None:
            expanded = query.build().compile(dialect=self._dialect).construct_expanded_state()
            found = (expanded.statement, dict(expanded.parameters))
            with self._lock:
                self._cache[query.key] = found
                while len(self._cache) > SHAPE_CACHE_SIZE:
                    self._cache.popitem(last=False)
        sql, defaults = found
        unknown = query.params.keys() - defaults.keys()
        if unknown:  # a programming error: the statement has no such parameter
            raise KeyError(f"unknown parameters {sorted(unknown)} for {query.key[0]}")
        return sql, {**defaults, **query.params}


class SqliteLoopReader:
    """SQLite, read on the event loop thread (see the module docstring)."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._shapes = _Shapes(sqlite.dialect(paramstyle="named"))
        self._conn: sqlite3.Connection | None = None
        # several loops may share an app (test clients); each call is synchronous, this only
        # keeps two threads from using the connection at the same instant
        self._lock = threading.Lock()

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            conn = sqlite3.connect(
                self._path, check_same_thread=False, timeout=5, isolation_level=None
            )
            conn.execute("PRAGMA query_only=ON")
            self._conn = conn
        return self._conn

    async def fetch(self, query: HotQuery) -> list[Row]:
        sql, params = self._shapes.sql(query)
        with self._lock:
            return self._connection().execute(sql, params).fetchall()

    async def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


class PostgresAsyncReader:
    """PostgreSQL through psycopg's asyncio connections (see the module docstring). The pool
    belongs to the event loop that opened it; a new loop (another test client) gets its own."""

    def __init__(self, conninfo: str, *, max_size: int = 20) -> None:
        self._conninfo = conninfo
        self._max_size = max_size
        self._shapes = _Shapes(postgresql.psycopg.dialect())
        self._pools: dict[asyncio.AbstractEventLoop, asyncio.Task[Any]] = {}

    async def _pool(self) -> Any:
        loop = asyncio.get_running_loop()
        opening = self._pools.get(loop)
        if opening is None:
            for other in [lp for lp in self._pools if lp.is_closed()]:
                del self._pools[other]  # its connections went with their loop
            # a task, stored before the first await: requests arriving together share it
            opening = self._pools[loop] = loop.create_task(self._open_pool())
        return await asyncio.shield(opening)

    async def _open_pool(self) -> Any:
        from psycopg_pool import AsyncConnectionPool

        pool = AsyncConnectionPool(
            self._conninfo,
            min_size=1,
            max_size=self._max_size,
            kwargs={"autocommit": True, "options": "-c default_transaction_read_only=on"},
            check=_ping_if_idle,
            open=False,
            name="alegra-hot-read",
        )
        try:
            await pool.open(wait=True, timeout=30)
        except BaseException:
            self._pools.pop(asyncio.get_running_loop(), None)  # the next request tries again
            await pool.close()
            raise
        return pool

    async def fetch(self, query: HotQuery) -> list[Row]:
        sql, params = self._shapes.sql(query)
        pool = await self._pool()
        async with pool.connection() as conn:
            cursor = await conn.execute(sql, params)
            rows = await cursor.fetchall()
            _LAST_USED[conn] = time.monotonic()
            return rows

    async def close(self) -> None:
        """Close this loop's pool (at the app's shutdown)."""
        opening = self._pools.pop(asyncio.get_running_loop(), None)
        if opening is not None:
            with contextlib.suppress(Exception):  # a pool that never opened has nothing open
                await (await opening).close()


# when each pooled connection was last used (an entry goes with its connection)
_LAST_USED: weakref.WeakKeyDictionary[Any, float] = weakref.WeakKeyDictionary()


async def _ping_if_idle(conn: Any) -> None:
    """The pool's checkout check: a connection unused for PING_AFTER_IDLE_S answers SELECT 1
    or is replaced (the pool retries with another)."""
    if time.monotonic() - _LAST_USED.get(conn, 0.0) >= PING_AFTER_IDLE_S:
        await conn.execute("SELECT 1")


class EngineThreadReader:
    """Any other database: the engine's read-only bind, in the threadpool."""

    def __init__(self, engine: Engine) -> None:
        from central.core.db import read_only_bind

        self._bind = read_only_bind(engine)
        self._shapes = _Shapes(engine.dialect)

    def _fetch(self, sql: str, params: dict[str, Any]) -> list[Row]:
        with self._bind.connect() as conn:
            return [tuple(r) for r in conn.exec_driver_sql(sql, params).all()]

    async def fetch(self, query: HotQuery) -> list[Row]:
        from starlette.concurrency import run_in_threadpool

        sql, params = self._shapes.sql(query)
        return await run_in_threadpool(self._fetch, sql, params)

    async def close(self) -> None:
        return None


def hot_reader(engine: Engine) -> HotReader:
    """The reader for ``engine``'s database (see the module docstring)."""
    url = engine.url
    if is_sqlite(url.drivername):
        database = url.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            return SqliteLoopReader(database)
        return EngineThreadReader(engine)
    if url.get_backend_name() == "postgresql":
        plain = make_url(url.render_as_string(hide_password=False)).set(drivername="postgresql")
        return PostgresAsyncReader(plain.render_as_string(hide_password=False))
    return EngineThreadReader(engine)


def as_datetime(value: datetime | str | None) -> datetime | None:
    """A DATETIME column as a datetime: SQLite hands back SQLAlchemy's stored text
    (``YYYY-MM-DD HH:MM:SS.ffffff``, naive UTC); PostgreSQL a datetime already."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value)
