"""FastAPI dependencies that apply the policy to routes.

Every route declares exactly one access rule through one of these, which the permission-matrix
test reads back from the app's router:

- ``require("users.create")`` — a signed-in user (bearer access token) whose profiles grant the
  action; returns an ``Authorized`` holding the actor and the ``Area`` to scope queries with
  (``read_access("users.read")``: the same rule, applied inside ``ReadAccess.run``);
- ``signed_in`` — any signed-in user (their own profile, password, sign-out);
- ``current_device`` — an enrolled, unrevoked sede device (sync uses it);
- ``public`` — no credentials (health, sign-in, enrollment exchange).

Cost per request (the list endpoints are the hot path, see docs/central.md "Benchmark"): the
settings and session dependencies are ``async`` and do no I/O on the event loop except closing a
read-only session (which does none on PostgreSQL and a local ROLLBACK on SQLite), so a request
takes two threadpool hops (the access rule, the view) plus one to close a read-write session;
the access rule is one query (token family + user + profiles). Views that only read are marked
``@read_only``: on GET/HEAD their session is a ReadOnlySession (central.core.db).

The hottest read views (``GET /users``) go further with ``read_access(action)``: an async
dependency carrying the same access rule, and ``await access.rows(query_for)`` running the
token check and the view's statement on the hot read path (central.core.hotread: from the event
loop, no threadpool hop, no session).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

import anyio
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from central.auth import service as auth_service
from central.auth.policy import ACTIONS, Area, area_for
from central.core.db import new_session
from central.core.hotread import HotQuery, Row
from central.devices import service as device_service
from central.devices.models import Device
from central.domain.actor import Actor
from central.domain.errors import PermissionDenied, Unauthenticated
from central.settings import CentralSettings
from central.users.models import User
from contracts.errors import ErrorCode

PERMISSION_ATTR = "alegra_permission"
_bearer = HTTPBearer(auto_error=False, description="Token de acceso (`POST /api/v1/auth/token`)")
_device_bearer = HTTPBearer(
    auto_error=False, scheme_name="DeviceToken", description="Credencial de dispositivo"
)


_SAFE_METHODS = frozenset({"GET", "HEAD"})
READ_ONLY_ATTR = "alegra_read_only"
F = TypeVar("F", bound=Callable[..., Any])


def read_only(endpoint: F) -> F:
    """Mark a view that never writes (put it under ``@router.get``): on GET/HEAD its request
    session is a ReadOnlySession — no write lock on SQLite, no BEGIN on PostgreSQL — which
    raises ReadOnlySessionError on any write. Views that write (audited sensitive reads, sync
    pulls, rollups) must not carry it; without it nothing changes."""
    setattr(endpoint, READ_ONLY_ATTR, True)
    return endpoint


def _read_only_request(request: Request) -> bool:
    if request.method not in _SAFE_METHODS:
        return False
    endpoint = getattr(request.scope.get("route"), "endpoint", None)
    return getattr(endpoint, READ_ONLY_ATTR, False) is True


async def get_settings(request: Request) -> CentralSettings:
    """async: no I/O, so no threadpool hop."""
    return request.app.state.settings


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One session per request; views commit explicitly, anything uncommitted is rolled back.
    async: making a session does no I/O (it connects on first use, in the sync dependency or
    view). Closing a read-write session that holds a connection does (rollback, pool check-in),
    so that goes to the threadpool (shielded: the connection must always go back); a read-only
    one closes in place (no I/O on PostgreSQL's autocommit, a local ROLLBACK on SQLite)."""
    read_only_session = _read_only_request(request)
    session = new_session(request.app.state.engine, read_only=read_only_session)
    try:
        yield session
    finally:
        if read_only_session or not session.in_transaction():
            session.close()
        else:
            with anyio.CancelScope(shield=True):
                await run_in_threadpool(session.close)


SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[CentralSettings, Depends(get_settings)]


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def anonymous_actor(request: Request) -> Actor:
    return Actor.anonymous(
        request_id=getattr(request.state, "request_id", None), ip=client_ip(request)
    )


class _LazyUser:
    """``user``: the signed-in account's ORM row, attached to the request session, loaded on
    first use (most views need only the actor; those that change the account get the row)."""

    __slots__ = ()

    def _load_user(self) -> User:
        user = self._user  # type: ignore[attr-defined]
        if user is None:
            user = self._session.get(User, self.actor.user_id)  # type: ignore[attr-defined]
            if user is None or not user.active:
                raise Unauthenticated(code=ErrorCode.TOKEN_INVALID)
            object.__setattr__(self, "_user", user)
        return user


class Principal(_LazyUser):
    """A signed-in API user."""

    __slots__ = ("actor", "token_family_id", "must_change_password", "_user", "_session")

    def __init__(
        self,
        actor: Actor,
        user: User | None = None,
        token_family_id: str = "",
        *,
        session: Session | None = None,
        must_change_password: bool | None = None,
    ) -> None:
        if user is None and session is None:
            raise ValueError("a Principal needs the user or the session to load it from")
        self.actor = actor
        self.token_family_id = token_family_id
        self.must_change_password = (
            bool(user.must_change_password)
            if must_change_password is None and user
            else bool(must_change_password)
        )
        self._user = user
        self._session = session

    @property
    def user(self) -> User:
        return self._load_user()


class Authorized(_LazyUser):
    """A principal allowed to do ``action`` within ``area``."""

    __slots__ = ("actor", "area", "action", "_user", "_session")

    def __init__(
        self,
        actor: Actor,
        user: User | None = None,
        area: Area | None = None,
        action: str = "",
        *,
        session: Session | None = None,
    ) -> None:
        if user is None and session is None:
            raise ValueError("an Authorized needs the user or the session to load it from")
        if area is None:
            raise ValueError("an Authorized needs its area")
        self.actor = actor
        self.area = area
        self.action = action
        self._user = user
        self._session = session

    @property
    def user(self) -> User:
        return self._load_user()


def _bearer_token(credentials: HTTPAuthorizationCredentials | None) -> str:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthenticated()
    return credentials.credentials


def _actor_of(request: Request, holder: auth_service.TokenHolder) -> Actor:
    return auth_service.actor_for(
        holder,  # type: ignore[arg-type]  # has the attributes actor_for reads
        holder.profiles,
        request_id=getattr(request.state, "request_id", None),
        ip=client_ip(request),
    )


def _principal(
    request: Request,
    session: Session,
    settings: CentralSettings,
    credentials: HTTPAuthorizationCredentials | None,
) -> Principal:
    holder = auth_service.token_holder(
        session=session, settings=settings, token=_bearer_token(credentials)
    )
    return Principal(
        actor=_actor_of(request, holder),
        token_family_id=holder.family_id,
        session=session,
        must_change_password=holder.must_change_password,
    )


def _mark(function: Callable[..., Any], rule: str) -> Callable[..., Any]:
    setattr(function, PERMISSION_ATTR, rule)
    return function


def _signed_in(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    return _principal(request, session, settings, credentials)


signed_in = _mark(_signed_in, "authenticated")


def require(action: str) -> Callable[..., Authorized]:
    """Dependency factory: the caller must hold ``action`` somewhere; the returned Authorized
    carries the area that the view passes on to the service."""
    if action not in ACTIONS:
        raise KeyError(f"undeclared action {action!r}")

    def dependency(
        request: Request,
        session: SessionDep,
        settings: SettingsDep,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Authorized:
        return _authorize(request, session, settings, credentials, action)

    dependency.__name__ = f"require_{action.replace('.', '_')}"
    return _mark(dependency, action)


def _authorize(
    request: Request,
    session: Session,
    settings: CentralSettings,
    credentials: HTTPAuthorizationCredentials | None,
    action: str,
) -> Authorized:
    """The access rule of ``require(action)`` (and of ``read_access(action)``)."""
    principal = _principal(request, session, settings, credentials)
    area = _granted_area(principal.actor, principal.must_change_password, action)
    return Authorized(actor=principal.actor, area=area, action=action, session=session)


def _granted_area(actor: Actor, must_change_password: bool, action: str) -> Area:
    if must_change_password:
        raise PermissionDenied("Debe cambiar su contraseña antes de continuar.")
    area = area_for(actor, action)
    if area.empty:
        raise PermissionDenied()
    return area


class ReadAccess:
    """What ``read_access(action)`` hands a hot read view: ``await access.rows(query_for)``
    applies the access rule of ``require(action)`` (token check, policy) and then runs
    ``query_for(area)``, both on the hot read path (central.core.hotread: no threadpool hop).
    The area only exists once the rule has passed, so the view cannot read before it."""

    __slots__ = ("_request", "_credentials", "_action")

    def __init__(
        self, request: Request, credentials: HTTPAuthorizationCredentials | None, action: str
    ) -> None:
        self._request = request
        self._credentials = credentials
        self._action = action

    async def area(self) -> Area:
        """The area the caller may read in (Unauthenticated or PermissionDenied otherwise)."""
        state = self._request.app.state
        params = auth_service.token_holder_params(
            settings=state.settings, token=_bearer_token(self._credentials)
        )
        rows = await state.hot_reader.fetch(
            HotQuery(("token_holder",), lambda: auth_service.TOKEN_HOLDER, params)
        )
        holder = auth_service.holder_from_rows(rows, params["family_id"])
        actor = _actor_of(self._request, holder)
        return _granted_area(actor, holder.must_change_password, self._action)

    async def rows(self, query_for: Callable[[Area], HotQuery]) -> list[Row]:
        area = await self.area()
        return await self._request.app.state.hot_reader.fetch(query_for(area))


def read_access(action: str) -> Callable[..., Any]:
    """Dependency factory for the hot read views (``async def``, never writing, e.g. ``GET
    /users``): the same access rule as ``require(action)``, same errors, applied with the
    view's reading on the hot read path (``ReadAccess``) instead of a session dependency, a
    threadpool hop for the rule and one for the view. This dependency itself does no I/O."""
    if action not in ACTIONS:
        raise KeyError(f"undeclared action {action!r}")

    async def dependency(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> ReadAccess:
        return ReadAccess(request, credentials, action)

    dependency.__name__ = f"read_access_{action.replace('.', '_')}"
    return _mark(dependency, action)


async def _public() -> None:
    return None


public = _mark(_public, "public")


def _current_device(
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_device_bearer)],
) -> Device:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthenticated()
    return device_service.authenticate_device(session=session, token=credentials.credentials)


current_device = _mark(_current_device, "device")


def device_actor(request: Request, device: Device) -> Actor:
    return Actor(
        user_id=None,
        username=None,
        sede_id=device.sede_id,
        device_id=device.id,
        request_id=getattr(request.state, "request_id", None),
        ip=client_ip(request),
    )


def route_permission(dependant: Any) -> str | None:
    """The access rule declared on a route (walks its dependency tree)."""
    for dep in dependant.dependencies:
        rule = getattr(dep.call, PERMISSION_ATTR, None)
        if rule:
            return rule
        nested = route_permission(dep)
        if nested:
            return nested
    return None


@dataclass(frozen=True)
class RouteInfo:
    path: str
    methods: frozenset[str]
    rule: str | None  # the declared access rule (action, "public", "authenticated", "device")


def api_routes(app: Any, prefix: str = "/api/v1") -> list[RouteInfo]:
    """Every HTTP route of the app under ``prefix`` with its declared access rule (FastAPI may
    keep included routers lazily; iter_route_contexts flattens them)."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # older FastAPI: routes are flat
        contexts = list(app.routes)
    else:
        contexts = list(iter_route_contexts(app.routes))
    found = []
    for route in contexts:
        path, dependant = getattr(route, "path", None), getattr(route, "dependant", None)
        if not path or dependant is None or not path.startswith(prefix):
            continue
        found.append(RouteInfo(path, frozenset(route.methods or ()), route_permission(dependant)))
    return found
