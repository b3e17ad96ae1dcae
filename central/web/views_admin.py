"""Home page, staff accounts, the declared permission matrix and device enrollment. Every write
calls the same service functions as the API (so it is validated and audited the same way)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from central.auth import service as auth_service
from central.auth.deps import SessionDep, SettingsDep
from central.auth.policy import (
    ACTIONS,
    ALLOWED_SCOPES,
    POLICY,
    PROFILE_LABELS_ES,
    SCOPE_LABELS_ES,
    Profile,
    Reach,
    ScopeKind,
    area_for,
    assignable_profiles,
)
from central.auth.web import WebContext, verify_csrf
from central.devices import service as devices
from central.devices.schemas import EnrollmentCodeCreate
from central.domain.clock import as_utc
from central.domain.errors import DomainError
from central.org import service as org
from central.users import service as users
from central.users.schemas import UserCreate, UserUpdate
from central.web.deps import page
from central.web.forms import (
    FormDep,
    FormErrors,
    build,
    domain_errors,
    optional_text,
    strings,
    text,
)
from central.web.queries import STATUSES, search_users
from central.web.rendering import render
from central.web.routing import WebRoute
from central.web.stats import home_figures
from central.web.views_auth import NOTICES

router = APIRouter(include_in_schema=False, route_class=WebRoute)
PAGE_SIZE = 25
UserId = Annotated[str, Path(max_length=36)]
DeviceId = Annotated[str, Path(max_length=36)]


def _sede_names(session) -> dict[str, str]:  # noqa: ANN001
    return {s.id: s.name for s in org.list_sedes(session=session)}


# ------------------------------------------------------------------------------------ home


@router.get("/")
def home(
    request: Request, session: SessionDep, web: Annotated[WebContext, Depends(page())]
) -> Response:
    return render(
        request,
        "home.html",
        {
            "web": web,
            "figures": home_figures(session, web.actor),
            "notice": NOTICES.get(request.query_params.get("aviso", "")),
            "sede_names": _sede_names(session),
        },
    )


# ----------------------------------------------------------------------------------- users


def _user_form_context(
    session,  # noqa: ANN001
    web: WebContext,
    action: str,
    values: dict[str, Any],
    errors: FormErrors | None = None,
    **extra: Any,
) -> dict[str, Any]:
    area = web.area
    grantable = assignable_profiles(web.actor)
    return {
        "web": web,
        "values": values,
        "errors": (errors or FormErrors()).fields,
        "message": errors.message if errors else None,
        "profiles": [(p.value, PROFILE_LABELS_ES[p]) for p in Profile if p in grantable],
        "scopes": [
            (s.value, SCOPE_LABELS_ES[s])
            for s in ScopeKind
            if s != ScopeKind.NATIONAL or (area is not None and area.national)
        ],
        "sedes": org.list_sedes(session=session, area=area),
        "districts": org.list_districts(session=session, area=area),
        "allowed_scopes": {p.value: sorted(s.value for s in ALLOWED_SCOPES[p]) for p in Profile},
        "action": action,
        **extra,
    }


@router.get("/usuarios")
def users_list(
    request: Request,
    session: SessionDep,
    web: Annotated[WebContext, Depends(page("users.read"))],
    q: Annotated[str | None, Query(max_length=64)] = None,
    sede: Annotated[str | None, Query(max_length=64)] = None,
    perfil: Annotated[str | None, Query(max_length=40)] = None,
    estado: Annotated[str | None, Query(max_length=20)] = None,
    pagina: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    filters = {
        "q": (q or "").strip(),
        "sede": sede or "",
        "perfil": perfil if perfil in {p.value for p in Profile} else "",
        "estado": estado if estado in STATUSES else "",
    }
    rows, total = search_users(
        session=session,
        area=web.area,
        query=filters["q"] or None,
        sede_id=filters["sede"] or None,
        profile=filters["perfil"] or None,
        status=filters["estado"] or None,
        limit=PAGE_SIZE,
        offset=(pagina - 1) * PAGE_SIZE,
    )
    return render(
        request,
        "users.html",
        {
            "web": web,
            "rows": rows,
            "total": total,
            "has_next": pagina * PAGE_SIZE < total,
            "page_number": pagina,
            "filters": filters,
            "query": urlencode({k: v for k, v in filters.items() if v}),
            "sedes": org.list_sedes(session=session, area=web.area),
            "profiles": [(p.value, PROFILE_LABELS_ES[p]) for p in Profile],
            "statuses": list(STATUSES.items()),
            "sede_names": _sede_names(session),
            "district_names": {d.id: d.name for d in org.list_districts(session=session)},
            "notice": {
                "creado": "Usuario creado. Deberá cambiar su contraseña al ingresar.",
                "guardado": "Cambios guardados.",
            }.get(request.query_params.get("aviso", "")),
        },
    )


def _user_values(form) -> dict[str, Any]:  # noqa: ANN001
    return {
        "username": text(form, "username"),
        "display_name": text(form, "display_name"),
        "email": optional_text(form, "email"),
        "profiles": strings(form, "profiles"),
        "scope_kind": text(form, "scope_kind"),
        "sede_id": optional_text(form, "sede_id"),
        "district_id": optional_text(form, "district_id"),
    }


@router.get("/usuarios/nuevo")
def user_new_form(
    request: Request,
    session: SessionDep,
    web: Annotated[WebContext, Depends(page("users.create"))],
) -> Response:
    values = {"profiles": [], "scope_kind": "sede", "sede_id": web.actor.sede_id}
    return render(request, "user_form.html", _user_form_context(session, web, "create", values))


@router.post("/usuarios/nuevo", dependencies=[Depends(verify_csrf)])
def user_new_submit(
    request: Request,
    form: FormDep,
    session: SessionDep,
    settings: SettingsDep,
    web: Annotated[WebContext, Depends(page("users.create"))],
) -> Response:
    values = _user_values(form)
    password = form.get("password")
    data, errors = build(UserCreate, {**values, "password": password or ""})
    if data is not None:
        try:
            users.create_user(
                session=session,
                actor=web.actor,
                data=data,
                ph=auth_service.password_hasher(settings),
                area=web.area,
                min_password_length=settings.password_min_length,
            )
            session.commit()
            return RedirectResponse("/usuarios?aviso=creado", status_code=303)
        except DomainError as exc:
            session.rollback()
            errors = domain_errors(exc)
    return render(
        request,
        "user_form.html",
        _user_form_context(session, web, "create", values, errors),
        status=422,
    )


def _edit_page(
    request: Request,
    session,  # noqa: ANN001
    web: WebContext,
    user_id: str,
    values: dict[str, Any] | None = None,
    errors: FormErrors | None = None,
    status: int = 200,
) -> Response:
    user = users.get_user(session=session, user_id=user_id, area=web.area)
    current = users.user_read(session, user)
    if values is None:
        values = current.model_dump()
    return render(
        request,
        "user_form.html",
        _user_form_context(session, web, "edit", values, errors, user=current),
        status=status,
    )


@router.get("/usuarios/{user_id}")
def user_edit_form(
    request: Request,
    user_id: UserId,
    session: SessionDep,
    web: Annotated[WebContext, Depends(page("users.update"))],
) -> Response:
    return _edit_page(request, session, web, user_id)


@router.post("/usuarios/{user_id}", dependencies=[Depends(verify_csrf)])
def user_edit_submit(
    request: Request,
    user_id: UserId,
    form: FormDep,
    session: SessionDep,
    web: Annotated[WebContext, Depends(page("users.update"))],
) -> Response:
    user = users.get_user(session=session, user_id=user_id, area=web.area)
    current = users.user_read(session, user)
    values = _user_values(form)
    # send only what changed: the service refuses changes of one's own profiles or scope
    changes: dict[str, Any] = {}
    for key in ("display_name", "email"):
        if values[key] != getattr(current, key):
            changes[key] = values[key]
    if sorted(values["profiles"]) != sorted(current.profiles):
        changes["profiles"] = values["profiles"]
    scope_changed = (values["scope_kind"], values["sede_id"], values["district_id"]) != (
        current.scope_kind,
        current.sede_id,
        current.district_id,
    )
    if scope_changed:
        changes.update(
            scope_kind=values["scope_kind"],
            sede_id=values["sede_id"],
            district_id=values["district_id"],
        )
    data, errors = build(UserUpdate, changes)
    if data is not None:
        try:
            users.update_user(
                session=session, actor=web.actor, user_id=user_id, data=data, area=web.area
            )
            session.commit()
            return RedirectResponse("/usuarios?aviso=guardado", status_code=303)
        except DomainError as exc:
            session.rollback()
            errors = domain_errors(exc)
    values["username"] = current.username
    return _edit_page(request, session, web, user_id, values, errors, status=422)


def _set_active(
    request: Request,
    session,
    web: WebContext,
    user_id: str,
    active: bool,  # noqa: ANN001
) -> Response:
    try:
        user = users.update_user(
            session=session,
            actor=web.actor,
            user_id=user_id,
            data=UserUpdate(active=active),
            area=web.area,
        )
        if not user.active:
            auth_service.revoke_all_credentials(
                session=session, user_id=user.id, reason="deactivated"
            )
        session.commit()
    except DomainError as exc:
        session.rollback()
        return _edit_page(request, session, web, user_id, errors=domain_errors(exc), status=403)
    return RedirectResponse(f"/usuarios/{user_id}?aviso=estado", status_code=303)


@router.post("/usuarios/{user_id}/desactivar", dependencies=[Depends(verify_csrf)])
def user_disable(
    request: Request,
    user_id: UserId,
    session: SessionDep,
    web: Annotated[WebContext, Depends(page("users.update"))],
) -> Response:
    return _set_active(request, session, web, user_id, False)


@router.post("/usuarios/{user_id}/activar", dependencies=[Depends(verify_csrf)])
def user_enable(
    request: Request,
    user_id: UserId,
    session: SessionDep,
    web: Annotated[WebContext, Depends(page("users.update"))],
) -> Response:
    return _set_active(request, session, web, user_id, True)


@router.post("/usuarios/{user_id}/desbloquear", dependencies=[Depends(verify_csrf)])
def user_unlock(
    request: Request,
    user_id: UserId,
    session: SessionDep,
    web: Annotated[WebContext, Depends(page("users.update"))],
) -> Response:
    try:
        users.unlock_user(session=session, actor=web.actor, user_id=user_id, area=web.area)
        session.commit()
    except DomainError as exc:
        session.rollback()
        return _edit_page(request, session, web, user_id, errors=domain_errors(exc), status=403)
    return RedirectResponse(f"/usuarios/{user_id}?aviso=estado", status_code=303)


# -------------------------------------------------------------------------------- profiles


@router.get("/perfiles")
def profiles_matrix(request: Request, web: Annotated[WebContext, Depends(page())]) -> Response:
    rows = [
        {
            "action": action,
            "description": description,
            "cells": [POLICY[action].get(profile) for profile in Profile],
        }
        for action, description in ACTIONS.items()
    ]
    return render(
        request,
        "profiles.html",
        {
            "web": web,
            "profiles": [(p.value, PROFILE_LABELS_ES[p]) for p in Profile],
            "rows": rows,
            "national": Reach.NATIONAL,
            "assigned": Reach.ASSIGNED,
            "allowed_scopes": {
                p.value: ", ".join(SCOPE_LABELS_ES[s] for s in ScopeKind if s in ALLOWED_SCOPES[p])
                for p in Profile
            },
            "own_profiles": set(web.actor.profiles),
        },
    )


# --------------------------------------------------------------------------------- devices


def _devices_page(
    request: Request,
    session,  # noqa: ANN001
    web: WebContext,
    *,
    values: dict[str, Any] | None = None,
    errors: FormErrors | None = None,
    status: int = 200,
) -> Response:
    enroll_area = area_for(web.actor, "devices.enroll")
    return render(
        request,
        "devices.html",
        {
            "web": web,
            "devices": [
                devices.device_read(d) for d in devices.list_devices(session=session, area=web.area)
            ],
            "codes": devices.list_enrollment_codes(session=session, area=web.area),
            "sede_names": _sede_names(session),
            "enroll_sedes": []
            if enroll_area.empty
            else org.list_sedes(session=session, area=enroll_area),
            "values": values or {},
            "errors": (errors or FormErrors()).fields,
            "message": errors.message if errors else None,
            "notice": {"baja": "Dispositivo dado de baja."}.get(
                request.query_params.get("aviso", "")
            ),
        },
        status=status,
    )


@router.get("/dispositivos")
def devices_list(
    request: Request,
    session: SessionDep,
    web: Annotated[WebContext, Depends(page("devices.read"))],
) -> Response:
    return _devices_page(request, session, web)


@router.post("/dispositivos/codigos", dependencies=[Depends(verify_csrf)])
def device_code_issue(
    request: Request,
    form: FormDep,
    session: SessionDep,
    settings: SettingsDep,
    web: Annotated[WebContext, Depends(page("devices.enroll"))],
) -> Response:
    values = {"sede_id": text(form, "sede_id"), "device_name": text(form, "device_name")}
    data, errors = build(EnrollmentCodeCreate, values)
    if data is not None:
        try:
            row, code = devices.issue_enrollment_code(
                session=session,
                actor=web.actor,
                data=data,
                lifetime=timedelta(minutes=settings.enrollment_code_minutes),
                area=web.area,
            )
            session.commit()
            return render(
                request,
                "device_code.html",
                {
                    "web": web,
                    "code": code,
                    "device_name": row.device_name,
                    "sede_name": _sede_names(session).get(row.sede_id, row.sede_id),
                    "expires_at": as_utc(row.expires_at),
                    "minutes": settings.enrollment_code_minutes,
                },
                status=201,
            )
        except DomainError as exc:
            session.rollback()
            errors = domain_errors(exc)
    read_web = WebContext(
        actor=web.actor,
        user=web.user,
        web_session=web.web_session,
        area=area_for(web.actor, "devices.read"),
    )
    return _devices_page(request, session, read_web, values=values, errors=errors, status=422)


@router.post("/dispositivos/{device_id}/baja", dependencies=[Depends(verify_csrf)])
def device_revoke(
    device_id: DeviceId,
    session: SessionDep,
    web: Annotated[WebContext, Depends(page("devices.revoke"))],
) -> Response:
    devices.revoke_device(session=session, actor=web.actor, device_id=device_id, area=web.area)
    session.commit()
    return RedirectResponse("/dispositivos?aviso=baja", status_code=303)
