"""The web UI's auth building blocks (central.auth.web) on a minimal page router: session cookie
flags, CSRF refusal (synchronizer token and the sign-in double-submit cookie), sign-out, idle
expiry, and the policy applied to pages."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import pytest
from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.testclient import TestClient

from central.auth.deps import SessionDep, SettingsDep
from central.auth.models import WebSession
from central.auth.policy import Profile
from central.auth.web import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    WebContext,
    check_login_csrf,
    current_web_user,
    login_csrf_token,
    require_web,
    verify_csrf,
    web_sign_in,
    web_sign_out,
)
from central.domain.clock import utcnow

from .conftest import PASSWORD, next_totp


@pytest.fixture
def web_client(app):
    router = APIRouter(prefix="/t")

    @router.get("/login")
    def login_form(request: Request, response: Response, settings: SettingsDep) -> dict[str, str]:
        return {"csrf": login_csrf_token(request, response, settings)}

    @router.post("/login")
    def login(
        request: Request,
        response: Response,
        session: SessionDep,
        settings: SettingsDep,
        username: Annotated[str, Form()],
        password: Annotated[str, Form()],
        csrf_token: Annotated[str, Form()] = "",
        totp_code: Annotated[str, Form()] = "",
    ) -> dict[str, str]:
        check_login_csrf(request, csrf_token)
        web_sign_in(
            request=request,
            response=response,
            session=session,
            settings=settings,
            username=username,
            password=password,
            totp_code=totp_code or None,
        )
        return {"ok": "1"}

    @router.get("/me")
    def me(web: Annotated[WebContext, Depends(current_web_user)]) -> dict[str, str]:
        return {
            "username": web.user.username,
            "csrf": web.csrf_token,
            "can_users": str(web.can("users.read")),
        }

    @router.get("/users")
    def users_page(
        web: Annotated[WebContext, Depends(require_web("users.read"))],
    ) -> dict[str, bool]:
        return {"national": web.area.national}

    @router.post("/change", dependencies=[Depends(verify_csrf)])
    def change(web: Annotated[WebContext, Depends(current_web_user)]) -> dict[str, str]:
        return {"changed": web.user.username}

    @router.post("/logout", dependencies=[Depends(verify_csrf)])
    def logout(
        request: Request,
        response: Response,
        session: SessionDep,
        settings: SettingsDep,
        web: Annotated[WebContext, Depends(current_web_user)],
    ) -> dict[str, str]:
        web_sign_out(
            request=request, response=response, session=session, settings=settings, web=web
        )
        return {"ok": "1"}

    app.include_router(router)
    with TestClient(app, base_url="http://testserver") as test_client:
        yield test_client


def _login(client, account, with_totp: bool = True):
    csrf = client.get("/t/login").json()["csrf"]
    data = {"username": account.username, "password": account.password, "csrf_token": csrf}
    if with_totp and account.totp_secret:
        data["totp_code"] = next_totp(account)
    return client.post("/t/login", data=data)


def test_session_cookie_flags_and_csrf(web_client, world, factory, settings):
    account = factory.user(Profile.DEFENSOR_PUBLICO, sede=world.sede_a1)
    response = _login(web_client, account)
    assert response.status_code == 200
    cookie = next(
        h for h in response.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE)
    )
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert ("Secure" in cookie) == settings.cookie_secure
    me = web_client.get("/t/me").json()
    assert me["username"] == account.username and me["can_users"] == "False"
    # unsafe request without, or with a wrong, CSRF token: refused; with the token: accepted
    missing = web_client.post("/t/change")
    assert missing.status_code == 403 and missing.json()["code"] == "csrf_failed"
    wrong = web_client.post("/t/change", data={"csrf_token": "otro"})
    assert wrong.status_code == 403 and wrong.json()["code"] == "csrf_failed"
    assert web_client.post("/t/change", data={"csrf_token": me["csrf"]}).status_code == 200
    assert web_client.post("/t/change", headers={"X-CSRF-Token": me["csrf"]}).status_code == 200
    # pages apply the policy
    assert web_client.get("/t/users").status_code == 403
    # sign-out revokes the session server-side, even if the old cookie is replayed
    old_cookie = web_client.cookies.get(SESSION_COOKIE)
    assert web_client.post("/t/logout", headers={"X-CSRF-Token": me["csrf"]}).status_code == 200
    web_client.cookies.set(SESSION_COOKIE, old_cookie)
    assert web_client.get("/t/me").status_code == 401


def test_login_form_needs_its_double_submit_token(web_client, world, factory):
    account = factory.user(Profile.DEFENSOR_PUBLICO, sede=world.sede_a1)
    web_client.get("/t/login")
    refused = web_client.post(
        "/t/login", data={"username": account.username, "password": PASSWORD, "csrf_token": "x"}
    )
    assert refused.status_code == 403 and refused.json()["code"] == "csrf_failed"
    web_client.cookies.delete(LOGIN_CSRF_COOKIE)
    no_cookie = web_client.post(
        "/t/login", data={"username": account.username, "password": PASSWORD, "csrf_token": "x"}
    )
    assert no_cookie.status_code == 403
    assert SESSION_COOKIE not in web_client.cookies


def test_web_sign_in_requires_totp_for_admins_and_records_failures(web_client, world, factory):
    admin = factory.user(Profile.ADMINISTRADOR_NACIONAL)
    without = _login(web_client, admin, with_totp=False)
    assert without.status_code == 401 and without.json()["code"] == "totp_required"
    assert _login(web_client, admin).status_code == 200
    assert web_client.get("/t/users").json() == {"national": True}


def test_tampered_and_idle_sessions_are_refused(web_client, world, factory, db, settings):
    account = factory.user(Profile.DEFENSOR_PUBLICO, sede=world.sede_a1)
    _login(web_client, account)
    value = web_client.cookies.get(SESSION_COOKIE)
    session_id, _, secret = value.partition(".")
    web_client.cookies.set(
        SESSION_COOKIE, f"{session_id}.{secret[:-1]}{'A' if secret[-1] != 'A' else 'B'}"
    )
    assert web_client.get("/t/me").status_code == 401
    web_client.cookies.set(SESSION_COOKIE, value)
    assert web_client.get("/t/me").status_code == 200
    row = db.get(WebSession, session_id)
    row.last_seen_at = utcnow() - timedelta(minutes=settings.web_session_idle_minutes + 1)
    db.add(row)
    db.commit()
    assert web_client.get("/t/me").status_code == 401
