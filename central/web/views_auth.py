"""Sign-in (password, then the TOTP step for administrative profiles, or the first enrolment of
an authenticator), sign-out and password change. All checks are central.auth's: lockout,
second factor, audit rows."""

from __future__ import annotations

import base64
import io
from typing import Annotated

import pyotp
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from central.audit import service as audit
from central.auth import service as auth_service
from central.auth.deps import SessionDep, SettingsDep, client_ip, public
from central.auth.web import (
    LOGIN_CSRF_COOKIE,
    WebContext,
    check_login_csrf,
    current_web_user,
    login_csrf_token,
    optional_web_user,
    set_session_cookie,
    verify_csrf,
    web_sign_in,
    web_sign_out,
)
from central.domain.errors import (
    AccountLocked,
    DomainError,
    PermissionDenied,
    TotpSetupRequired,
    Unauthenticated,
)
from central.users import service as users
from central.web.deps import safe_next
from central.web.forms import FormDep, FormErrors, domain_errors, text
from central.web.rendering import render
from central.web.routing import WebRoute
from contracts.errors import ErrorCode, message_es

router = APIRouter(include_in_schema=False, route_class=WebRoute)
TOTP_SETUP_COOKIE = "alegra_totp_setup"
SIGNIN_PATH = "/ingresar"
TOTP_SETUP_PATH = "/ingresar/verificacion"

# Fixed notices shown after a redirect (the query string only selects one: no reflected text).
NOTICES = {
    "salida": "Cerró su sesión.",
    "expirada": "Su sesión expiró. Ingrese nuevamente.",
    "contrasena": "Su contraseña fue cambiada. Las demás sesiones de su cuenta se cerraron.",
}


def _copy_cookies(source: Response, target: Response) -> Response:
    for value in source.headers.getlist("set-cookie"):
        target.headers.append("set-cookie", value)
    return target


def _wants_json(request: Request) -> bool:
    return request.headers.get("x-requested-with") == "fetch"


def _signin_page(
    request: Request,
    settings,  # noqa: ANN001
    *,
    username: str = "",
    step: str = "password",
    message: str | None = None,
    errors: FormErrors | None = None,
    next_path: str = "/",
    status: int = 200,
) -> Response:
    cookies = Response()
    csrf = login_csrf_token(request, cookies, settings)
    notice = NOTICES.get(request.query_params.get("aviso", ""))
    page = render(
        request,
        "signin.html",
        {
            "csrf": csrf,
            "username": username,
            "step": step,
            "message": message,
            "notice": notice,
            "errors": (errors or FormErrors()).fields,
            "next_path": next_path,
            "message_kind": "info" if step == "totp" and not errors else "error",
        },
        status=status,
    )
    return _copy_cookies(cookies, page)


@router.get(SIGNIN_PATH, dependencies=[Depends(public)])
def signin_form(
    request: Request,
    settings: SettingsDep,
    web: Annotated[WebContext | None, Depends(optional_web_user)],
) -> Response:
    next_path = safe_next(request.query_params.get("siguiente"))
    if web is not None:
        return RedirectResponse(next_path, status_code=303)
    return _signin_page(request, settings, next_path=next_path)


@router.post(SIGNIN_PATH, dependencies=[Depends(public)])
def signin_submit(
    request: Request, form: FormDep, session: SessionDep, settings: SettingsDep
) -> Response:
    username = text(form, "username")[:64]
    password = form.get("password")
    password = password if isinstance(password, str) else ""
    totp_code = text(form, "totp_code").replace(" ", "") or None
    next_path = safe_next(text(form, "siguiente"))
    as_json = _wants_json(request)

    def answer(step: str, message: str, status: int, errors: FormErrors | None = None) -> Response:
        if as_json:
            return JSONResponse({"step": step, "message": message}, status_code=status)
        return _signin_page(
            request,
            settings,
            username=username,
            step=step,
            message=message,
            errors=errors,
            next_path=next_path,
            status=status,
        )

    try:
        check_login_csrf(request, text(form, "csrf_token"))
    except PermissionDenied as exc:
        return answer("password", exc.message, 403)
    errors = FormErrors()
    if not username:
        errors.add("username", "Ingrese su usuario.")
    if not password:
        errors.add("password", "Ingrese su contraseña.")
    if errors:
        return answer("password", "Complete los datos.", 422, errors)

    success: Response = JSONResponse({"redirect": next_path}) if as_json else None  # type: ignore[assignment]
    if success is None:
        success = RedirectResponse(next_path, status_code=303)
    try:
        web_sign_in(
            request=request,
            response=success,
            session=session,
            settings=settings,
            username=username,
            password=password,
            totp_code=totp_code,
        )
    except TotpSetupRequired as exc:
        target: Response = (
            JSONResponse({"redirect": TOTP_SETUP_PATH})
            if as_json
            else RedirectResponse(TOTP_SETUP_PATH, status_code=303)
        )
        target.set_cookie(
            TOTP_SETUP_COOKIE,
            exc.setup_token,
            max_age=settings.totp_setup_minutes * 60,
            path=SIGNIN_PATH,
            httponly=True,
            secure=settings.cookie_secure,
            samesite="strict",
        )
        return target
    except AccountLocked as exc:
        return answer("password", exc.message, 429)
    except Unauthenticated as exc:
        if exc.code == ErrorCode.TOTP_REQUIRED:
            return answer("totp", exc.message, 200 if as_json else 401)
        if exc.code == ErrorCode.TOTP_INVALID:
            return answer("totp", exc.message, 401, FormErrors({"totp_code": exc.message}))
        return answer("password", message_es(ErrorCode.BAD_CREDENTIALS), 401)
    return success


# --------------------------------------------------------------- first TOTP enrolment


def _qr_data_uri(uri: str) -> str:
    import qrcode
    import qrcode.image.svg

    image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    buffer = io.BytesIO()
    image.save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


def _setup_page(
    request: Request,
    settings,  # noqa: ANN001
    *,
    secret: str,
    uri: str,
    errors: FormErrors | None = None,
    status: int = 200,
) -> Response:
    cookies = Response()
    csrf = login_csrf_token(request, cookies, settings)
    grouped = " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
    page = render(
        request,
        "totp_setup.html",
        {
            "csrf": csrf,
            "secret": grouped,
            "qr": _qr_data_uri(uri),
            "errors": (errors or FormErrors()).fields,
            "message": errors.message if errors else None,
        },
        status=status,
    )
    return _copy_cookies(cookies, page)


def _restart(settings) -> Response:  # noqa: ANN001
    response = RedirectResponse(SIGNIN_PATH, status_code=303)
    response.delete_cookie(TOTP_SETUP_COOKIE, path=SIGNIN_PATH, secure=settings.cookie_secure)
    return response


@router.get(TOTP_SETUP_PATH, dependencies=[Depends(public)])
def totp_setup_form(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    try:
        user = auth_service.user_from_setup_token(
            session=session,
            settings=settings,
            setup_token=request.cookies.get(TOTP_SETUP_COOKIE, ""),
        )
    except DomainError:
        return _restart(settings)
    secret, uri = auth_service.begin_totp_setup(session=session, settings=settings, user=user)
    session.commit()
    return _setup_page(request, settings, secret=secret, uri=uri)


@router.post(TOTP_SETUP_PATH, dependencies=[Depends(public)])
def totp_setup_submit(
    request: Request, form: FormDep, session: SessionDep, settings: SettingsDep
) -> Response:
    check_login_csrf(request, text(form, "csrf_token"))
    try:
        user = auth_service.user_from_setup_token(
            session=session,
            settings=settings,
            setup_token=request.cookies.get(TOTP_SETUP_COOKIE, ""),
        )
    except DomainError:
        return _restart(settings)
    actor = auth_service.actor_for(
        user,
        users.profiles_of(session, user.id),
        request_id=getattr(request.state, "request_id", None),
        ip=client_ip(request),
    )
    try:
        auth_service.confirm_totp_setup(
            session=session, actor=actor, user=user, code=text(form, "code").replace(" ", "")
        )
    except DomainError as exc:
        session.rollback()
        pending = user.totp_pending_secret or ""
        uri = pyotp.TOTP(pending).provisioning_uri(
            name=user.username, issuer_name=settings.totp_issuer
        )
        return _setup_page(
            request, settings, secret=pending, uri=uri, errors=domain_errors(exc), status=422
        )
    # the first code also completes this sign-in: audited like any other
    audit.record(
        session=session,
        actor=actor,
        action="auth.signin",
        entity="user",
        entity_id=user.id,
        sede_id=user.sede_id,
    )
    cookie_value, _ = auth_service.create_web_session(session=session, settings=settings, user=user)
    session.commit()
    response = RedirectResponse("/", status_code=303)
    set_session_cookie(response, cookie_value, settings)
    response.delete_cookie(TOTP_SETUP_COOKIE, path=SIGNIN_PATH, secure=settings.cookie_secure)
    return response


# ------------------------------------------------------------------ sign-out, password


@router.post("/salir", dependencies=[Depends(verify_csrf)])
def signout(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    web: Annotated[WebContext, Depends(current_web_user)],
) -> Response:
    response = RedirectResponse(f"{SIGNIN_PATH}?aviso=salida", status_code=303)
    web_sign_out(request=request, response=response, session=session, settings=settings, web=web)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/", secure=settings.cookie_secure)
    return response


@router.get("/cuenta/contrasena")
def password_form(
    request: Request, web: Annotated[WebContext, Depends(current_web_user)]
) -> Response:
    return render(request, "password.html", {"web": web})


@router.post("/cuenta/contrasena", dependencies=[Depends(verify_csrf)])
def password_submit(
    request: Request,
    form: FormDep,
    session: SessionDep,
    settings: SettingsDep,
    web: Annotated[WebContext, Depends(current_web_user)],
) -> Response:
    current = form.get("current_password")
    new = form.get("new_password")
    confirm = form.get("confirm_password")
    current = current if isinstance(current, str) else ""
    new = new if isinstance(new, str) else ""
    errors = FormErrors()
    if not current:
        errors.add("current_password", "Ingrese su contraseña actual.")
    if not new:
        errors.add("new_password", "Ingrese la nueva contraseña.")
    elif new != confirm:
        errors.add("confirm_password", "Las contraseñas no coinciden.")
    if not errors:
        try:
            users.change_password(
                session=session,
                actor=web.actor,
                user=web.user,
                current_password=current,
                new_password=new,
                ph=auth_service.password_hasher(settings),
                min_length=settings.password_min_length,
            )
            auth_service.revoke_all_credentials(
                session=session,
                user_id=web.user.id,
                reason="password_change",
                keep_web_session=web.web_session.id,
            )
            session.commit()
            return RedirectResponse("/?aviso=contrasena", status_code=303)
        except DomainError as exc:
            session.rollback()
            errors = domain_errors(exc)
            # several policy problems for one field: show them all
            problems = [f.message for f in exc.fields if f.field == "new_password"]
            if len(problems) > 1:
                errors.fields["new_password"] = " ".join(problems)
    errors.message = errors.message or "Revise los datos marcados."
    return render(
        request,
        "password.html",
        {"web": web, "errors": errors.fields, "message": errors.message},
        status=422,
    )
