"""Safe API requests whose route never commits read without the SQLite write lock (BEGIN
DEFERRED); every other request, including a GET that writes (audit row of a sensitive read,
supervision rollup), keeps BEGIN IMMEDIATE."""

from __future__ import annotations

import sqlite3
import time

import pytest

from central.auth.deps import _calls_commit
from central.auth.policy import Profile

from .conftest import sign_in


def _routes(app) -> dict[tuple[str, str], object]:
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:
        contexts = list(app.routes)
    else:
        contexts = list(iter_route_contexts(app.routes))
    found = {}
    for route in contexts:
        for method in getattr(route, "methods", None) or ():
            found[(method, getattr(route, "path", ""))] = route
    return found


def test_routes_that_commit_are_not_read_only(app):
    routes = _routes(app)
    read_only = {
        key: not _calls_commit(route.dependant)
        for key, route in routes.items()
        if getattr(route, "dependant", None) is not None
    }
    assert read_only[("GET", "/api/v1/users")] is True
    assert read_only[("GET", "/api/v1/users/{user_id}")] is True
    # GETs that write and commit (audit of a sensitive read, supervision rollup)
    assert read_only[("GET", "/api/v1/sensitive-notes/{note_id}")] is False
    assert read_only[("GET", "/api/v1/supervision")] is False
    assert read_only[("POST", "/api/v1/users")] is False


def test_list_reads_while_another_connection_holds_the_write_lock(
    client, settings, world, factory, request
):
    if not settings.resolved_database_url().startswith("sqlite"):
        pytest.skip("SQLite locking")
    admin = factory.user(Profile.ADMINISTRADOR_NACIONAL)
    headers = sign_in(client, admin)
    path = settings.resolved_database_url().removeprefix("sqlite:///")
    writer = sqlite3.connect(path, isolation_level=None, timeout=1)
    writer.execute("BEGIN IMMEDIATE")  # another request mid-write
    try:
        started = time.monotonic()
        listed = client.get("/api/v1/users?limit=50", headers=headers)
        elapsed = time.monotonic() - started
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert listed.status_code == 200, listed.text
    assert admin.username in {u["username"] for u in listed.json()}
    assert elapsed < 5, f"the read waited {elapsed:.1f} s for the write lock"
