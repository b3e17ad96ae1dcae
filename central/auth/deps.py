"""FastAPI dependencies that apply the policy to routes.

Every route declares exactly one access rule through one of these, which the permission-matrix
test reads back from the app's router:

- ``require("users.create")`` — a signed-in user (bearer access token) whose profiles grant the
  action; returns an ``Authorized`` holding the actor and the ``Area`` to scope queries with;
- ``signed_in`` — any signed-in user (their own profile, password, sign-out);
- ``current_device`` — an enrolled, unrevoked sede device (sync uses it);
- ``public`` — no credentials (health, sign-in, enrollment exchange).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from central.auth import service as auth_service
from central.auth.policy import ACTIONS, Area, area_for
from central.core.db import new_session
from central.devices import service as device_service
from central.devices.models import Device
from central.domain.actor import Actor
from central.domain.errors import PermissionDenied, Unauthenticated
from central.settings import CentralSettings
from central.users.models import User

PERMISSION_ATTR = "alegra_permission"
_bearer = HTTPBearer(auto_error=False, description="Token de acceso (`POST /api/v1/auth/token`)")
_device_bearer = HTTPBearer(
    auto_error=False, scheme_name="DeviceToken", description="Credencial de dispositivo"
)


def get_settings(request: Request) -> CentralSettings:
    return request.app.state.settings


def get_session(request: Request) -> Iterator[Session]:
    """One session per request; views commit explicitly, anything uncommitted is rolled back."""
    session = new_session(request.app.state.engine)
    try:
        yield session
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[CentralSettings, Depends(get_settings)]


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def anonymous_actor(request: Request) -> Actor:
    return Actor.anonymous(
        request_id=getattr(request.state, "request_id", None), ip=client_ip(request)
    )


@dataclass(frozen=True)
class Principal:
    """A signed-in API user."""

    actor: Actor
    user: User
    token_family_id: str


@dataclass(frozen=True)
class Authorized:
    """A principal allowed to do ``action`` within ``area``."""

    actor: Actor
    user: User
    area: Area
    action: str


def _principal(
    request: Request,
    session: Session,
    settings: CentralSettings,
    credentials: HTTPAuthorizationCredentials | None,
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthenticated()
    user, profiles, family_id = auth_service.user_from_access_token(
        session=session, settings=settings, token=credentials.credentials
    )
    actor = auth_service.actor_for(
        user, profiles, request_id=getattr(request.state, "request_id", None), ip=client_ip(request)
    )
    return Principal(actor=actor, user=user, token_family_id=family_id)


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
        principal = _principal(request, session, settings, credentials)
        if principal.user.must_change_password:
            raise PermissionDenied("Debe cambiar su contraseña antes de continuar.")
        area = area_for(principal.actor, action)
        if area.empty:
            raise PermissionDenied()
        return Authorized(actor=principal.actor, user=principal.user, area=area, action=action)

    dependency.__name__ = f"require_{action.replace('.', '_')}"
    return _mark(dependency, action)


def _public() -> None:
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
