"""Pages of the organisation: sedes, their service catalogue and counters (ventanillas)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import RedirectResponse, Response

from central.auth.deps import SessionDep
from central.auth.policy import can
from central.auth.web import WebContext, verify_csrf
from central.domain.errors import DomainError
from central.org import service as org
from central.org.schemas import (
    CounterCreate,
    CounterUpdate,
    SedeCreate,
    SedeKind,
    SedeUpdate,
    ServiceCreate,
    ServiceUpdate,
    UbigeoScheme,
)
from central.web.deps import page
from central.web.forms import FormDep, FormErrors, build, domain_errors, text
from central.web.rendering import render
from central.web.routing import WebRoute

router = APIRouter(include_in_schema=False, route_class=WebRoute)
SedeId = Annotated[str, Path(max_length=64)]
ItemCode = Annotated[str, Path(max_length=64)]

NOTICES = {
    "creada": "Sede creada.",
    "guardado": "Cambios guardados.",
    "servicio": "Servicio guardado.",
    "ventanilla": "Ventanilla guardada.",
}


def _choices() -> dict[str, Any]:
    return {
        "kinds": [k.value for k in SedeKind],
        "schemes": [s.value for s in UbigeoScheme],
    }


@router.get("/sedes")
def sedes_list(
    request: Request, session: SessionDep, web: Annotated[WebContext, Depends(page("sedes.read"))]
) -> Response:
    return render(
        request,
        "sedes.html",
        {
            "web": web,
            "sedes": org.list_sedes(session=session, area=web.area),
            "district_names": {d.id: d.name for d in org.list_districts(session=session)},
            "notice": NOTICES.get(request.query_params.get("aviso", "")),
        },
    )


def _sede_form(
    request: Request,
    session,  # noqa: ANN001
    web: WebContext,
    mode: str,
    values: dict[str, Any],
    errors: FormErrors | None = None,
    status: int = 200,
) -> Response:
    return render(
        request,
        "sede_form.html",
        {
            "web": web,
            "mode": mode,
            "values": values,
            "errors": (errors or FormErrors()).fields,
            "message": errors.message if errors else None,
            "districts": org.list_districts(session=session),
            **_choices(),
        },
        status=status,
    )


@router.get("/sedes/nueva")
def sede_new_form(
    request: Request,
    session: SessionDep,
    web: Annotated[WebContext, Depends(page("sedes.create"))],
) -> Response:
    values = {"kind": SedeKind.ALEGRA.value, "ubigeo_scheme": UbigeoScheme.INEI.value}
    return _sede_form(request, session, web, "create", values)


def _sede_values(form) -> dict[str, Any]:  # noqa: ANN001
    return {
        "name": text(form, "name"),
        "kind": text(form, "kind"),
        "ubigeo": text(form, "ubigeo"),
        "ubigeo_scheme": text(form, "ubigeo_scheme"),
        "address": text(form, "address"),
    }


@router.post("/sedes/nueva", dependencies=[Depends(verify_csrf)])
def sede_new_submit(
    request: Request,
    form: FormDep,
    session: SessionDep,
    web: Annotated[WebContext, Depends(page("sedes.create"))],
) -> Response:
    values = {
        "id": text(form, "id"),
        "district_id": text(form, "district_id"),
        **_sede_values(form),
    }
    data, errors = build(SedeCreate, values)
    if data is not None:
        try:
            sede = org.create_sede(session=session, actor=web.actor, data=data, area=web.area)
            session.commit()
            return RedirectResponse(f"/sedes/{sede.id}?aviso=creada", status_code=303)
        except DomainError as exc:
            session.rollback()
            errors = domain_errors(exc)
    return _sede_form(request, session, web, "create", values, errors, 422)


@router.get("/sedes/{sede_id}")
def sede_detail(
    request: Request,
    sede_id: SedeId,
    session: SessionDep,
    web: Annotated[WebContext, Depends(page("sedes.read"))],
) -> Response:
    return _sede_detail_page(request, session, web, sede_id)


def _sede_detail_page(
    request: Request,
    session,  # noqa: ANN001
    web: WebContext,
    sede_id: str,
    errors: FormErrors | None = None,
    values: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    sede = org.get_sede(session=session, sede_id=sede_id, area=web.area)
    district = org.get_district(session=session, district_id=sede.district_id)
    return render(
        request,
        "sede_detail.html",
        {
            "web": web,
            "sede": sede,
            "district": district,
            "services": org.list_services(session=session, sede_id=sede_id),
            "counters": org.list_counters(session=session, sede_id=sede_id),
            "hours": org.list_hours(session=session, sede_id=sede_id),
            "can_configure": can(
                web.actor, "sedes.configure", sede_id=sede.id, district_id=sede.district_id
            ),
            "can_update": can(
                web.actor, "sedes.update", sede_id=sede.id, district_id=sede.district_id
            ),
            "values": values or {},
            "errors": (errors or FormErrors()).fields,
            "message": errors.message if errors else None,
            "notice": NOTICES.get(request.query_params.get("aviso", "")),
            "weekday_names": ["lun", "mar", "mié", "jue", "vie", "sáb", "dom"],
        },
        status=status,
    )


@router.get("/sedes/{sede_id}/editar")
def sede_edit_form(
    request: Request,
    sede_id: SedeId,
    session: SessionDep,
    web: Annotated[WebContext, Depends(page("sedes.update"))],
) -> Response:
    sede = org.get_sede(session=session, sede_id=sede_id, area=web.area)
    return _sede_form(request, session, web, "edit", org.sede_snapshot(sede))


@router.post("/sedes/{sede_id}/editar", dependencies=[Depends(verify_csrf)])
def sede_edit_submit(
    request: Request,
    sede_id: SedeId,
    form: FormDep,
    session: SessionDep,
    web: Annotated[WebContext, Depends(page("sedes.update"))],
) -> Response:
    sede = org.get_sede(session=session, sede_id=sede_id, area=web.area)
    values = {**_sede_values(form), "active": form.get("active") == "1"}
    data, errors = build(SedeUpdate, values)
    if data is not None:
        try:
            org.update_sede(
                session=session, actor=web.actor, sede_id=sede_id, data=data, area=web.area
            )
            session.commit()
            return RedirectResponse(f"/sedes/{sede_id}?aviso=guardado", status_code=303)
        except DomainError as exc:
            session.rollback()
            errors = domain_errors(exc)
    shown = {**values, "id": sede.id, "district_id": sede.district_id}
    return _sede_form(request, session, web, "edit", shown, errors, 422)


# -------------------------------------------------------------------------------- services


@router.post("/sedes/{sede_id}/servicios", dependencies=[Depends(verify_csrf)])
def service_new_submit(
    request: Request,
    sede_id: SedeId,
    form: FormDep,
    session: SessionDep,
    web: Annotated[WebContext, Depends(page("sedes.configure"))],
) -> Response:
    values = {
        "code": text(form, "code"),
        "name": text(form, "name"),
        "letter": text(form, "letter").upper(),
    }
    data, errors = build(ServiceCreate, values)
    if data is not None:
        try:
            org.create_service(
                session=session, actor=web.actor, sede_id=sede_id, data=data, area=web.area
            )
            session.commit()
            return RedirectResponse(f"/sedes/{sede_id}?aviso=servicio", status_code=303)
        except DomainError as exc:
            session.rollback()
            errors = domain_errors(exc)
    return _sede_detail_page(request, session, web, sede_id, errors, values, 422)


def _service_form(
    request: Request,
    session,  # noqa: ANN001
    web: WebContext,
    sede_id: str,
    code: str,
    values: dict[str, Any] | None = None,
    errors: FormErrors | None = None,
    status: int = 200,
) -> Response:
    sede = org.get_sede(session=session, sede_id=sede_id, area=web.area)
    current = next(
        (s for s in org.list_services(session=session, sede_id=sede_id) if s.code == code), None
    )
    if current is None:
        return render(
            request,
            "error.html",
            {
                "web": web,
                "title": "No encontrado",
                "error_message": "El servicio no existe.",
                "status": 404,
            },
            status=404,
        )
    return render(
        request,
        "service_form.html",
        {
            "web": web,
            "sede": sede,
            "service": current,
            "values": values
            or {"name": current.name, "letter": current.letter, "position": current.position},
            "errors": (errors or FormErrors()).fields,
            "message": errors.message if errors else None,
        },
        status=status,
    )


@router.get("/sedes/{sede_id}/servicios/{code}")
def service_edit_form(
    request: Request,
    sede_id: SedeId,
    code: ItemCode,
    session: SessionDep,
    web: Annotated[WebContext, Depends(page("sedes.configure"))],
) -> Response:
    return _service_form(request, session, web, sede_id, code)


@router.post("/sedes/{sede_id}/servicios/{code}", dependencies=[Depends(verify_csrf)])
def service_edit_submit(
    request: Request,
    sede_id: SedeId,
    code: ItemCode,
    form: FormDep,
    session: SessionDep,
    web: Annotated[WebContext, Depends(page("sedes.configure"))],
) -> Response:
    values = {
        "name": text(form, "name"),
        "letter": text(form, "letter").upper(),
        "position": text(form, "position") or None,
    }
    data, errors = build(ServiceUpdate, values)
    if data is not None:
        try:
            org.update_service(
                session=session,
                actor=web.actor,
                sede_id=sede_id,
                code=code,
                data=data,
                area=web.area,
            )
            session.commit()
            return RedirectResponse(f"/sedes/{sede_id}?aviso=servicio", status_code=303)
        except DomainError as exc:
            session.rollback()
            errors = domain_errors(exc)
    return _service_form(request, session, web, sede_id, code, values, errors, 422)


# -------------------------------------------------------------------------------- counters


def _counter_form(
    request: Request,
    session,  # noqa: ANN001
    web: WebContext,
    sede_id: str,
    mode: str,
    values: dict[str, Any],
    errors: FormErrors | None = None,
    status: int = 200,
) -> Response:
    sede = org.get_sede(session=session, sede_id=sede_id, area=web.area)
    return render(
        request,
        "counter_form.html",
        {
            "web": web,
            "sede": sede,
            "mode": mode,
            "services": org.list_services(session=session, sede_id=sede_id),
            "values": values,
            "errors": (errors or FormErrors()).fields,
            "message": errors.message if errors else None,
        },
        status=status,
    )


def _counter_values(form, services) -> tuple[dict[str, Any], FormErrors]:  # noqa: ANN001
    errors = FormErrors()
    weights: dict[str, int] = {}
    for item in services:
        raw = text(form, f"peso_{item.code}")
        if not raw or raw == "0":
            continue
        if not raw.isdigit() or not 1 <= int(raw) <= 100:
            errors.add("services", f"El peso de «{item.name}» debe ser un número de 1 a 100.")
            continue
        weights[item.code] = int(raw)
    values = {
        "code": text(form, "code"),
        "name": text(form, "name"),
        "number": text(form, "number"),
        "services": weights,
    }
    return values, errors


@router.get("/sedes/{sede_id}/ventanillas/nueva")
def counter_new_form(
    request: Request,
    sede_id: SedeId,
    session: SessionDep,
    web: Annotated[WebContext, Depends(page("sedes.configure"))],
) -> Response:
    taken = [c.number for c in org.list_counters(session=session, sede_id=sede_id, area=web.area)]
    number = max(taken, default=0) + 1
    values = {
        "code": f"v{number}",
        "name": f"Ventanilla {number}",
        "number": number,
        "services": {},
    }
    return _counter_form(request, session, web, sede_id, "create", values)


@router.post("/sedes/{sede_id}/ventanillas/nueva", dependencies=[Depends(verify_csrf)])
def counter_new_submit(
    request: Request,
    sede_id: SedeId,
    form: FormDep,
    session: SessionDep,
    web: Annotated[WebContext, Depends(page("sedes.configure"))],
) -> Response:
    services = org.list_services(session=session, sede_id=sede_id, area=web.area)
    values, errors = _counter_values(form, services)
    if not errors:
        data, errors = build(CounterCreate, values)
        if data is not None:
            try:
                org.create_counter(
                    session=session, actor=web.actor, sede_id=sede_id, data=data, area=web.area
                )
                session.commit()
                return RedirectResponse(f"/sedes/{sede_id}?aviso=ventanilla", status_code=303)
            except DomainError as exc:
                session.rollback()
                errors = domain_errors(exc)
    errors.message = errors.message or "Revise los datos marcados."
    return _counter_form(request, session, web, sede_id, "create", values, errors, 422)


@router.get("/sedes/{sede_id}/ventanillas/{code}")
def counter_edit_form(
    request: Request,
    sede_id: SedeId,
    code: ItemCode,
    session: SessionDep,
    web: Annotated[WebContext, Depends(page("sedes.configure"))],
) -> Response:
    counters = org.list_counters(session=session, sede_id=sede_id, area=web.area)
    current = next((c for c in counters if c.code == code), None)
    if current is None:
        return render(
            request,
            "error.html",
            {
                "web": web,
                "title": "No encontrado",
                "error_message": "La ventanilla no existe.",
                "status": 404,
            },
            status=404,
        )
    return _counter_form(request, session, web, sede_id, "edit", current.model_dump())


@router.post("/sedes/{sede_id}/ventanillas/{code}", dependencies=[Depends(verify_csrf)])
def counter_edit_submit(
    request: Request,
    sede_id: SedeId,
    code: ItemCode,
    form: FormDep,
    session: SessionDep,
    web: Annotated[WebContext, Depends(page("sedes.configure"))],
) -> Response:
    services = org.list_services(session=session, sede_id=sede_id, area=web.area)
    values, errors = _counter_values(form, services)
    values["code"] = code
    if not errors:
        update = {k: values[k] for k in ("name", "number", "services")}
        data, errors = build(CounterUpdate, update)
        if data is not None:
            try:
                org.update_counter(
                    session=session,
                    actor=web.actor,
                    sede_id=sede_id,
                    code=code,
                    data=data,
                    area=web.area,
                )
                session.commit()
                return RedirectResponse(f"/sedes/{sede_id}?aviso=ventanilla", status_code=303)
            except DomainError as exc:
                session.rollback()
                errors = domain_errors(exc)
    errors.message = errors.message or "Revise los datos marcados."
    return _counter_form(request, session, web, sede_id, "edit", values, errors, 422)
