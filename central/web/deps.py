"""Access rules of the web pages: the same declared policy as the API (central.auth.web), plus
the forced password change of accounts created by an administrator."""

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends

from central.auth.web import WebContext, current_web_user, require_web
from central.domain.errors import PermissionDenied


class PasswordChangeRequired(PermissionDenied):
    """The account must choose its own password before using any other page."""


def page(action: str | None = None) -> Callable[..., WebContext]:
    """Dependency of a page: signed in, holding ``action`` when given (403 otherwise), and not
    due for a password change (redirected to the password page)."""
    inner = require_web(action) if action else current_web_user

    def dependency(web: Annotated[WebContext, Depends(inner)]) -> WebContext:
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
