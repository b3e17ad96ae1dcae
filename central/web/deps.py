"""Access rules of the web pages: the same declared policy as the API (central.auth.web), plus
the forced password change of accounts created by an administrator."""

from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Annotated

from fastapi import Depends, Request

from central.auth.policy import area_for
from central.auth.web import WebContext, current_web_user, optional_web_user, require_web
from central.domain.actor import Actor
from central.domain.errors import PermissionDenied


class PasswordChangeRequired(PermissionDenied):
    """The account must choose its own password before using any other page."""


@dataclass(frozen=True)
class MenuUser:
    """What the layout (base.html) shows of the signed-in user, copied out of the ORM objects so
    that an error page can render it after the request's session rolled back or closed."""

    actor: Actor
    user: SimpleNamespace
    csrf_token: str

    def can(self, action: str) -> bool:
        return not area_for(self.actor, action).empty

    @classmethod
    def of(cls, web: WebContext) -> "MenuUser":
        user = web.user
        return cls(
            actor=web.actor,
            user=SimpleNamespace(
                id=user.id,
                display_name=user.display_name,
                must_change_password=user.must_change_password,
                scope_kind=user.scope_kind,
                sede_id=user.sede_id,
                district_id=user.district_id,
            ),
            csrf_token=web.csrf_token,
        )


def remember_web_user(
    request: Request, web: Annotated[WebContext | None, Depends(optional_web_user)]
) -> None:
    """Keep the signed-in user's menu data on the request (no extra query: optional_web_user is
    cached per request), so that an error page answered after a refusal shows the menu without
    touching the database (a SQLite write lock may still be held by the request's session)."""
    request.state.web_user = None if web is None else MenuUser.of(web)


def page(action: str | None = None) -> Callable[..., WebContext]:
    """Dependency of a page: signed in, holding ``action`` when given (403 otherwise), and not
    due for a password change (redirected to the password page)."""
    inner = require_web(action) if action else current_web_user

    def dependency(
        _: Annotated[None, Depends(remember_web_user)],
        web: Annotated[WebContext, Depends(inner)],
    ) -> WebContext:
        if web.user.must_change_password:
            raise PasswordChangeRequired("Debe cambiar su contraseña antes de continuar.")
        return web

    dependency.__name__ = f"page_{(action or 'signed_in').replace('.', '_')}"
    return dependency


def safe_next(value: str | None, default: str = "/") -> str:
    """A local path to go back to after sign-in (never another site: no open redirect)."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return default
    if any(ch in value for ch in "\r\n\\"):
        return default
    return value
