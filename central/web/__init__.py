"""The server-rendered web UI of central (Spanish, es-PE): Jinja2 pages and the static assets
they use, all served by central itself (sedes may have no internet). ``install(app)`` is called
by the app factory (central.app.create_app)."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from central.auth import service as auth_service
from central.auth.web import SESSION_COOKIE, WebContext
from central.core.db import new_session
from central.core.http import log
from central.domain.errors import DomainError, NotFound, PermissionDenied, Unauthenticated
from central.web.deps import MenuUser, PasswordChangeRequired
from central.web.rendering import STATIC_DIR, render
from contracts.errors import ErrorCode, message_es

API_PREFIX = "/api/"

# No inline script or style, nothing from another origin: a stored payload that escaped
# autoescaping would still not run.
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        b"font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
        b"base-uri 'none'; object-src 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
)


class WebSecurityHeaders:
    """Adds CSP and friends to every response outside the API; pages are never cached (they
    show personal data), static assets are."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if scope["type"] != "http" or path.startswith(API_PREFIX):
            await self.app(scope, receive, send)
            return
        static = path.startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                headers += [(k, v) for k, v in SECURITY_HEADERS if k not in names]
                if not static and b"cache-control" not in names:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _is_web(request: Request) -> bool:
    return not request.url.path.startswith(API_PREFIX)


def _signed_in_user(request: Request) -> MenuUser | None:
    """The page's signed-in user, so that an error page keeps the menu (None when unknown).
    Pages remember it on the request (central.web.deps.remember_web_user); only a request that
    reached no page (an unknown path) looks the session cookie up here, with no session of the
    request open."""
    remembered = getattr(request.state, "web_user", False)
    if remembered is not False:
        return remembered
    if not request.cookies.get(SESSION_COOKIE):
        return None
    session = new_session(request.app.state.engine)
    try:
        found = auth_service.web_session_user(
            session=session,
            settings=request.app.state.settings,
            cookie_value=request.cookies.get(SESSION_COOKIE),
        )
        if found is None:
            return None
        web_session, user, profiles = found
        session.commit()
        return MenuUser.of(
            WebContext(
                actor=auth_service.actor_for(user, profiles), user=user, web_session=web_session
            )
        )
    except Exception:  # an error page must render even when the database is the problem
        log.warning("error page without user context", exc_info=True)
        return None
    finally:
        session.close()


def _error_page(request: Request, status: int, title: str, message: str) -> Response:
    return render(
        request,
        "error.html",
        {
            "title": title,
            "error_message": message,
            "status": status,
            "web": _signed_in_user(request) if status < 500 else None,
        },
        status=status,
    )


def _install_error_pages(app: FastAPI) -> None:
    """Web pages answer errors with HTML pages (or a redirect to sign-in); the API keeps its
    JSON handlers, which these wrap."""
    api_domain = app.exception_handlers[DomainError]
    api_http = app.exception_handlers[StarletteHTTPException]
    api_validation = app.exception_handlers[RequestValidationError]

    async def domain(request: Request, exc: Exception) -> Response:
        if not _is_web(request):
            return await api_domain(request, exc)
        if isinstance(exc, PasswordChangeRequired):
            return RedirectResponse("/cuenta/contrasena", status_code=303)
        if isinstance(exc, Unauthenticated):
            target = request.url.path
            if request.url.query:
                target += "?" + request.url.query
            suffix = "" if target == "/" else "?siguiente=" + quote(target, safe="")
            if request.method != "GET":
                suffix = "?aviso=expirada"
            return RedirectResponse("/ingresar" + suffix, status_code=303)
        assert isinstance(exc, DomainError)
        if isinstance(exc, PermissionDenied):
            title = (
                "Formulario no válido" if exc.code == ErrorCode.CSRF_FAILED else "Acceso denegado"
            )
            return _error_page(request, 403, title, exc.message)
        if isinstance(exc, NotFound):
            return _error_page(request, 404, "No encontrado", exc.message)
        return _error_page(request, 400, "Solicitud no válida", exc.message)

    async def http(request: Request, exc: Exception) -> Response:
        if not _is_web(request) or request.url.path.startswith("/static/"):
            return await api_http(request, exc)
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 404:
            return _error_page(request, 404, "Página no encontrada", "La página no existe.")
        if exc.status_code == 405:
            return _error_page(request, 405, "Solicitud no válida", "Método no permitido.")
        return _error_page(request, exc.status_code, "Error", message_es(ErrorCode.INVALID_PAYLOAD))

    async def validation(request: Request, exc: Exception) -> Response:
        if not _is_web(request):
            return await api_validation(request, exc)
        return _error_page(
            request, 400, "Solicitud no válida", "Los datos de la dirección no son válidos."
        )

    app.add_exception_handler(DomainError, domain)
    app.add_exception_handler(StarletteHTTPException, http)
    app.add_exception_handler(RequestValidationError, validation)


def install(app: FastAPI) -> None:
    """Mount the web UI on the app: pages, static assets, HTML error pages, security headers."""
    from central.web import views_admin, views_audit, views_auth, views_org

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for module in (views_auth, views_admin, views_org, views_audit):
        app.include_router(module.router)
    _install_error_pages(app)
    app.add_middleware(WebSecurityHeaders)
