"""The hot read path of the API (see docs/central.md "Benchmark"): read-only sessions, the
one-query access check and the verified-signature memo must keep every security property —
revocation, deactivation, profile changes and expiry take effect on the very next request."""

from __future__ import annotations

import sqlite3
import time
from typing import Annotated

import pytest
from fastapi import Depends
from fastapi.testclient import TestClient
from sqlalchemy import delete, update
from sqlmodel import select

from central.auth import tokens
from central.auth.deps import Authorized, SessionDep, read_only, require
from central.auth.models import TokenFamily
from central.auth.policy import Profile
from central.core.db import ReadOnlySession, ReadOnlySessionError, new_session
from central.domain.errors import Unauthenticated
from central.users.models import User, UserProfile
from contracts.errors import ErrorCode
from tests.central.conftest import sign_in

USERS = "/api/v1/users?limit=50"


def test_revoked_family_is_refused_on_the_next_read(client, world, factory, db):
    admin = factory.user(Profile.ADMINISTRADOR_NACIONAL)
    headers = sign_in(client, admin)
    for _ in range(3):  # the token's signature is now memoised
        assert client.get(USERS, headers=headers).status_code == 200
    db.execute(update(TokenFamily).values(revoked_at=tokens.utcnow(), revoked_reason="test"))
    db.commit()
    response = client.get(USERS, headers=headers)
    assert response.status_code == 401
    assert response.json()["code"] == ErrorCode.TOKEN_INVALID.value


def test_deactivated_user_is_refused_on_the_next_read(client, world, factory, db):
    coordinator = factory.user(Profile.COORDINADOR_SEDE, sede=world.sede_a1)
    headers = sign_in(client, coordinator)
    assert client.get(USERS, headers=headers).status_code == 200
    db.execute(update(User).where(User.id == coordinator.id).values(active=False))
    db.commit()
    assert client.get(USERS, headers=headers).status_code == 401


def test_profile_removed_is_refused_on_the_next_read(client, world, factory, db):
    coordinator = factory.user([Profile.COORDINADOR_SEDE, Profile.ORIENTADOR], sede=world.sede_a1)
    headers = sign_in(client, coordinator)
    assert client.get(USERS, headers=headers).status_code == 200
    db.execute(
        delete(UserProfile).where(
            UserProfile.user_id == coordinator.id,
            UserProfile.profile == Profile.COORDINADOR_SEDE.value,
        )
    )
    db.commit()
    response = client.get(USERS, headers=headers)
    assert response.status_code == 403  # still signed in (orientador), no longer allowed


def test_list_is_scoped_and_carries_profiles(client, world, factory):
    coordinator = factory.user(Profile.COORDINADOR_SEDE, sede=world.sede_a1)
    other = factory.user([Profile.ORIENTADOR, Profile.DEFENSOR_PUBLICO], sede=world.sede_a1)
    outsider = factory.user(Profile.ORIENTADOR, sede=world.sede_b1)
    listed = {u["id"]: u for u in client.get(USERS, headers=sign_in(client, coordinator)).json()}
    assert other.id in listed and coordinator.id in listed
    assert outsider.id not in listed
    assert listed[other.id]["profiles"] == sorted(["orientador", "defensor_publico"])
    assert listed[other.id]["created_at"].endswith(("Z", "+00:00"))


def test_memoised_signature_still_expires_and_never_admits_a_tampered_token(settings, monkeypatch):
    key = settings.resolved_secret_key()
    token = tokens.encode_token(
        key=key, subject="u1", purpose="access", lifetime=tokens.timedelta(seconds=30)
    )
    claims = tokens.decode_token(token, key=key, purpose="access")
    assert tokens.decode_token(token, key=key, purpose="access") == claims  # memoised
    head, payload, signature = token.split(".")
    tampered = f"{head}.{payload}.{signature[:-2]}{'AA' if signature[-2:] != 'AA' else 'BB'}"
    with pytest.raises(Unauthenticated) as refused:
        tokens.decode_token(tampered, key=key, purpose="access")
    assert refused.value.code == ErrorCode.TOKEN_INVALID
    with pytest.raises(Unauthenticated):
        tokens.decode_token(token, key=key + "x", purpose="access")  # other key: checked again
    with pytest.raises(Unauthenticated):
        tokens.decode_token(token, key=key, purpose="totp_setup")
    later = claims["exp"] + 1
    monkeypatch.setattr(tokens.time, "time", lambda: later)
    with pytest.raises(Unauthenticated) as expired:
        tokens.decode_token(token, key=key, purpose="access")
    assert expired.value.code == ErrorCode.TOKEN_EXPIRED


def test_memo_is_bounded(settings, monkeypatch):
    monkeypatch.setattr(tokens, "_VERIFIED_MAX", 5)
    key = settings.resolved_secret_key()
    for n in range(12):
        token = tokens.encode_token(
            key=key, subject=f"u{n}", purpose="access", lifetime=tokens.timedelta(minutes=5)
        )
        tokens.decode_token(token, key=key, purpose="access")
    assert len(tokens._VERIFIED) <= 5


def test_read_only_session_refuses_writes(engine, world):
    session = new_session(engine, read_only=True)
    try:
        assert isinstance(session, ReadOnlySession)
        assert session.get(User, "nobody") is None
        with pytest.raises(ReadOnlySessionError):
            session.execute(update(User).values(display_name="x"))
        session.add(UserProfile(user_id="nobody", profile="orientador"))
        with pytest.raises(ReadOnlySessionError):
            session.flush()
    finally:
        session.close()


def test_read_only_route_that_writes_fails_and_writes_nothing(app, world, factory, db):
    """The marker is enforced: a view marked @read_only that tries to write gets an error
    and nothing reaches the database (also on PostgreSQL, where reads run in autocommit)."""
    coordinator = factory.user(Profile.COORDINADOR_SEDE, sede=world.sede_a1)

    @app.get("/api/v1/_test/rename")
    @read_only
    def rename(
        auth: Annotated[Authorized, Depends(require("users.read"))], session: SessionDep
    ) -> dict:
        user = session.get(User, auth.actor.user_id)
        user.display_name = "Cambiado"
        session.add(user)
        session.flush()
        return {}

    @app.get("/api/v1/_test/rename-unmarked")
    def rename_unmarked(
        auth: Annotated[Authorized, Depends(require("users.read"))], session: SessionDep
    ) -> dict:
        assert not isinstance(session, ReadOnlySession)
        return {"user": auth.user.username}  # the ORM row, loaded on demand

    with TestClient(app, raise_server_exceptions=False) as client:
        headers = sign_in(client, coordinator)
        assert client.get("/api/v1/_test/rename", headers=headers).status_code == 500
        unmarked = client.get("/api/v1/_test/rename-unmarked", headers=headers)
        assert unmarked.json() == {"user": coordinator.username}
    db.expire_all()
    assert db.get(User, coordinator.id).display_name != "Cambiado"


def test_sqlite_reads_do_not_wait_for_the_write_lock(client, settings, world, factory):
    """A list request is answered while another connection holds SQLite's write lock (reads
    take none); before, every request began with BEGIN IMMEDIATE and queued behind it."""
    if not settings.resolved_database_url().startswith("sqlite"):
        pytest.skip("SQLite only")
    coordinator = factory.user(Profile.COORDINADOR_SEDE, sede=world.sede_a1)
    headers = sign_in(client, coordinator)
    path = settings.resolved_database_url().removeprefix("sqlite:///")
    writer = sqlite3.connect(path, isolation_level=None, timeout=1)
    try:
        writer.execute("BEGIN IMMEDIATE")
        started = time.monotonic()
        response = client.get(USERS, headers=headers)
        assert response.status_code == 200
        assert time.monotonic() - started < 5  # the busy timeout is 30 s
    finally:
        writer.execute("ROLLBACK")
        writer.close()


def test_users_page_json_is_exactly_the_user_read_serialisation(client, world, factory, db):
    """The hot list builds its JSON from the rows (no UserRead objects): it must be byte for
    byte what ``list[UserRead]`` serialises to, for every kind of value (locked, never signed
    in, microseconds, no e-mail, several profiles, other scopes), from a session's rows and
    from the hot read path's driver tuples (SQLite gives datetimes as text there)."""
    from datetime import timedelta

    from pydantic import TypeAdapter

    from central.domain.clock import utcnow
    from central.users import service
    from central.users.schemas import UserRead

    admin = factory.user(Profile.ADMINISTRADOR_NACIONAL)
    headers = sign_in(client, admin)
    locked = factory.user([Profile.ORIENTADOR, Profile.DEFENSOR_PUBLICO], sede=world.sede_a1)
    factory.user(Profile.COORDINADOR_SEDE, sede=world.sede_b1)
    db.execute(
        update(User)
        .where(User.id == locked.id)
        .values(
            locked_until=utcnow() + timedelta(minutes=5),
            last_signin_at=utcnow().replace(microsecond=123456),
            created_at=utcnow().replace(microsecond=0),
            email=None,
        )
    )
    db.commit()
    session = new_session(db.get_bind(), read_only=True)
    try:
        fast = service.page_json(service.users_page_rows(session, None, None, None, 500, 0))
        slow = TypeAdapter(list[UserRead]).dump_json(service.list_users(session=session, limit=500))
    finally:
        session.close()
    assert fast == slow
    via_api = client.get("/api/v1/users?limit=500", headers=headers)
    assert via_api.status_code == 200
    assert via_api.content == slow
    listed = {u["id"]: u for u in __import__("json").loads(fast)}
    assert listed[locked.id]["locked"] is True
    assert listed[locked.id]["email"] is None
    assert listed[locked.id]["last_signin_at"].endswith(".123456Z")
    assert (
        listed[locked.id]["created_at"].endswith(":00Z")
        or "." not in (listed[locked.id]["created_at"])
    )


def test_list_filters_by_district_sede_and_text(client, world, factory):
    """Every shape of the hot page statement: a district's scope (its sedes' users and its own
    district-level users), the sede filter, the text filter, paging."""
    director = factory.user(Profile.DIRECTOR_DISTRITAL, district=world.district_a)
    in_a1 = factory.user(Profile.ORIENTADOR, sede=world.sede_a1)
    in_a2 = factory.user(Profile.ORIENTADOR, sede=world.sede_a2)
    in_b1 = factory.user(Profile.ORIENTADOR, sede=world.sede_b1)
    headers = sign_in(client, director)

    def ids(query: str) -> list[str]:
        response = client.get(f"/api/v1/users?{query}", headers=headers)
        assert response.status_code == 200, response.text
        return [u["id"] for u in response.json()]

    everyone = ids("limit=500")
    assert {director.id, in_a1.id, in_a2.id} <= set(everyone)
    assert in_b1.id not in everyone
    assert ids(f"sede_id={world.sede_a2}&limit=500") == [in_a2.id]
    assert ids(f"sede_id={world.sede_b1}&limit=500") == []  # outside the area: nothing
    assert ids(f"q={in_a1.username.upper()}&limit=500") == [in_a1.id]
    assert ids(f"q={in_b1.username}&limit=500") == []
    assert ids("limit=1&offset=1") == everyone[1:2]


def run_in_fresh_loop(fn) -> None:  # noqa: ANN001
    """anyio.run(fn) in a thread of its own: the test's thread may already run an event loop
    (an earlier test's client), and the hot reader must not depend on which loop it meets."""
    import threading

    import anyio

    failure: list[BaseException] = []

    def target() -> None:
        try:
            anyio.run(fn)
        except BaseException as exc:  # noqa: BLE001  # re-raised in the test's thread
            failure.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(60)
    if failure:
        raise failure[0]


def test_hot_reader_cannot_write(engine, world):
    """The hot read path's connections are read-only (query_only on SQLite, read-only
    transactions on PostgreSQL): even a statement that writes is refused."""
    from central.core.hotread import HotQuery, hot_reader

    reader = hot_reader(engine)
    query = HotQuery(("rename-all",), lambda: update(User).values(display_name="x"))

    async def attempt() -> None:
        try:
            await reader.fetch(query)
        finally:
            await reader.close()

    with pytest.raises(Exception, match="(?i)read.?only|readonly|query_only"):
        run_in_fresh_loop(attempt)
    with new_session(engine) as session:
        assert all(u.display_name != "x" for u in session.exec(select(User)).all())


def test_hot_reader_refuses_unknown_parameters_and_bounds_its_shapes(engine, monkeypatch):
    from central.auth.service import TOKEN_HOLDER
    from central.core import hotread

    monkeypatch.setattr(hotread, "SHAPE_CACHE_SIZE", 3)
    reader = hotread.hot_reader(engine)

    async def run() -> None:
        try:
            with pytest.raises(KeyError, match="unknown parameters"):
                await reader.fetch(hotread.HotQuery(("t",), lambda: TOKEN_HOLDER, {"nope": 1}))
            for n in range(6):
                rows = await reader.fetch(
                    hotread.HotQuery(("t", n), lambda: TOKEN_HOLDER, {"family_id": "x"})
                )
                assert rows == []
            assert len(reader._shapes._cache) == 3
        finally:
            await reader.close()

    run_in_fresh_loop(run)


def test_list_keeps_the_access_rule_errors(client, world, factory, db):
    """The list's single-hop access rule answers like ``require``: no token 401, a profile
    without users.read 403, a pending password change 403."""
    assert client.get(USERS).status_code == 401
    assert client.get(USERS, headers={"Authorization": "Bearer nope"}).status_code == 401
    orientador = factory.user(Profile.ORIENTADOR, sede=world.sede_a1)
    assert client.get(USERS, headers=sign_in(client, orientador)).status_code == 403
    coordinator = factory.user(Profile.COORDINADOR_SEDE, sede=world.sede_a1)
    headers = sign_in(client, coordinator)
    db.execute(update(User).where(User.id == coordinator.id).values(must_change_password=True))
    db.commit()
    refused = client.get(USERS, headers=headers)
    assert refused.status_code == 403
    assert refused.json()["code"] == ErrorCode.FORBIDDEN.value
