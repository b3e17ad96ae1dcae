"""Building blocks for the server-rendered web UI (central/web/): session cookies, the signed-in
user of a page, CSRF protection, and the same policy checks as the API.

- Session cookie ``alegra_session`` = ``<session id>.<secret>`` (HttpOnly, SameSite=Lax, Secure per
  ``ALEGRA_COOKIE_SECURE``); the table keeps only the secret's hash.
- CSRF, synchronizer token: every signed-in session has a ``csrf_token``; forms post it as the
  field ``csrf_token`` (HTMX: header ``X-CSRF-Token``). ``verify_csrf`` refuses unsafe requests
  without it. Before sign-in (the login form) a double-submit cookie ``alegra_csrf`` is used:
  ``login_csrf_token`` sets it, ``check_login_csrf`` compares it with the posted field.

Typical page::

    @router.get("/usuarios")
    def users_page(web: Annotated[WebContext, Depends(require_web("users.read"))], session: SessionDep):
        rows = users_service.list_users(session=session, area=web.area)
        ...

    @router.post("/usuarios", dependencies=[Depends(verify_csrf)])
    def create_user(web: Annotated[WebContext, Depends(require_web("users.create"))], ...):
        users_service.create_user(session=session, actor=web.actor, data=..., ph=password_hasher(settings),
                                  area=web.area); session.commit()
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request, Response

from central.auth import service as auth_service
from central.auth.deps import PERMISSION_ATTR, SessionDep, SettingsDep, client_ip
from central.auth.models import WebSession
from central.auth.policy import ACTIONS, Area, area_for
from central.auth.tokens import random_secret
from central.domain.actor import Actor
from central.domain.errors import DomainError, PermissionDenied, Unauthenticated
from central.settings import CentralSettings
from central.users.models import User
from contracts.errors import ErrorCode

SESSION_COOKIE = "alegra_session"
LOGIN_CSRF_COOKIE = "alegra_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class WebSignInRequired(Unauthenticated):
    """Raised by ``current_web_user`` when there is no live session; the web UI should turn it
    into a redirect to its sign-in page (register an exception handler for it in install())."""


@dataclass(frozen=True)
class WebContext:
    actor: Actor
    user: User
    web_session: WebSession
    area: Area | None = None  # set by require_web(action)

    @property
    def csrf_token(self) -> str:
        return self.web_session.csrf_token

    def can(self, action: str) -> bool:
        """For templates: show a menu entry or button only when the policy allows it."""
        return not area_for(self.actor, action).empty


def set_session_cookie(response: Response, cookie_value: str, settings: CentralSettings) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        cookie_value,
        max_age=settings.web_session_hours * 3600,
        path="/",
        httponly=True,
        secure=settings.cookie_secure,
        samesite="lax",
    )


def clear_session_cookie(response: Response, settings: CentralSettings) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, secure=settings.cookie_secure, samesite="lax"
    )


def web_sign_in(
    *,
    request: Request,
    response: Response,
    session: SessionDep,
    settings: CentralSettings,
    username: str,
    password: str,
    totp_code: str | None = None,
) -> WebSession:
    """Check the credentials (same rules as the API: lockout, TOTP for administrative profiles),
    open a browser session and set its cookie. Commits in every case (a failure is recorded);
    raises the DomainError of the failure (Unauthenticated with code bad_credentials /
    totp_required / totp_invalid, AccountLocked, TotpSetupRequired with ``setup_token``)."""
    try:
        user = auth_service.sign_in(
            session=session,
            settings=settings,
            username=username,
            password=password,
            totp_code=totp_code,
            request_id=getattr(request.state, "request_id", None),
            ip=client_ip(request),
        )
    except DomainError:
        session.commit()
        raise
    cookie_value, web = auth_service.create_web_session(
        session=session, settings=settings, user=user
    )
    session.commit()
    set_session_cookie(response, cookie_value, settings)
    return web


def web_sign_out(
    *,
    request: Request,
    response: Response,
    session: SessionDep,
    settings: CentralSettings,
    web: WebContext,
) -> None:
    auth_service.end_web_session(session=session, actor=web.actor, web_session=web.web_session)
    session.commit()
    clear_session_cookie(response, settings)


def optional_web_user(
    request: Request, session: SessionDep, settings: SettingsDep
) -> WebContext | None:
    """The signed-in web user, or None."""
    found = auth_service.web_session_user(
        session=session, settings=settings, cookie_value=request.cookies.get(SESSION_COOKIE)
    )
    if found is None:
        return None
    web, user, profiles = found
    session.commit()  # last_seen_at, when it moved
    actor = auth_service.actor_for(
        user, profiles, request_id=getattr(request.state, "request_id", None), ip=client_ip(request)
    )
    return WebContext(actor=actor, user=user, web_session=web)


def current_web_user(web: Annotated[WebContext | None, Depends(optional_web_user)]) -> WebContext:
    """The signed-in web user; WebSignInRequired otherwise."""
    if web is None:
        raise WebSignInRequired()
    return web


setattr(current_web_user, PERMISSION_ATTR, "authenticated")


def require_web(action: str) -> Callable[..., WebContext]:
    """Like central.auth.deps.require, for pages: the WebContext carries the area to scope with."""
    if action not in ACTIONS:
        raise KeyError(f"undeclared action {action!r}")

    def dependency(web: Annotated[WebContext, Depends(current_web_user)]) -> WebContext:
        area = area_for(web.actor, action)
        if area.empty:
            raise PermissionDenied()
        return WebContext(actor=web.actor, user=web.user, web_session=web.web_session, area=area)

    dependency.__name__ = f"require_web_{action.replace('.', '_')}"
    setattr(dependency, PERMISSION_ATTR, action)
    return dependency


async def verify_csrf(
    request: Request, web: Annotated[WebContext, Depends(current_web_user)]
) -> None:
    """Refuse an unsafe request whose CSRF token (form field or X-CSRF-Token header) does not
    match the session's."""
    if request.method in SAFE_METHODS:
        return
    sent = request.headers.get(CSRF_HEADER)
    if not sent:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not sent or not hmac.compare_digest(sent, web.csrf_token):
        raise PermissionDenied(code=ErrorCode.CSRF_FAILED)


def login_csrf_token(request: Request, response: Response, settings: CentralSettings) -> str:
    """The double-submit token for the sign-in form (reuses the cookie when present)."""
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or random_secret(24)
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        max_age=3600,
        path="/",
        httponly=True,
        secure=settings.cookie_secure,
        samesite="strict",
    )
    return token


def check_login_csrf(request: Request, posted: str | None) -> None:
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE)
    if not cookie or not posted or not hmac.compare_digest(cookie, posted):
        raise PermissionDenied(code=ErrorCode.CSRF_FAILED)
