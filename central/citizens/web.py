"""Web pages of the citizens registry (Spanish, server-rendered, same layout as the case pages):
search, a person's page with their files, possible duplicates and the merge (confirmed, history
kept), the Ley 29360 sworn statement (income only with ``income.read``, each read audited) and
its verification, and the RENIEC lookup the registration forms use to prefill names."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlmodel import Session, col, select

from central.auth.deps import SessionDep
from central.auth.policy import area_for
from central.auth.web import WebContext, verify_csrf
from central.cases.models import CaseFile
from central.cases.web import NOTICES, duplicate_rows, render
from central.citizens import service
from central.citizens.models import Citizen
from central.citizens.schemas import (
    FLAG_LABELS_ES,
    CitizenCreate,
    EligibilityCreate,
    EligibilityDecision,
)
from central.citizens.views import identity_lookup
from central.domain.errors import DomainError, ValidationFailed
from central.org import service as org
from central.web.deps import page
from central.web.forms import FormDep, FormErrors, build, domain_errors, strings, text

router = APIRouter(include_in_schema=False)
PersonId = Annotated[str, Path(max_length=36)]
PAGE_SIZE = 25
NOTICES.update(
    {
        "fusionado": "Registros fusionados. El registro absorbido queda en el historial.",
        "declaracion": "Declaración jurada registrada. La verificación queda pendiente.",
        "verificada": "Verificación registrada.",
        "registrada": "Persona registrada.",
    }
)
STATEMENT_STATUS = {
    "pending": "Pendiente de verificación",
    "verified": "Verificada",
    "no_gratuidad": "No gratuidad (resolución)",
}
INCOME_MESSAGE = "No es un monto válido: escriba solo números (p. ej. 1250.50)."
_THOUSANDS = re.compile(r"^\d{1,3}(,\d{3})+(\.\d{1,2})?$")


def parse_soles(raw: str) -> Decimal | None:
    """A monthly amount as clerks type it: ``1250``, ``1250.50``, ``S/ 1,250.50``; None when
    it is not an amount (a lone comma is ambiguous in Peru and refused)."""
    value = raw.replace("S/", "").replace("s/", "").replace(" ", "").strip()
    if _THOUSANDS.match(value):
        value = value.replace(",", "")
    if not re.fullmatch(r"\d{1,10}(\.\d{1,2})?", value):
        return None
    try:
        return Decimal(value)
    except InvalidOperation:
        return None


def _person_name(person: Citizen) -> str:
    return f"{person.surnames} {person.given_names}".strip()


# ------------------------------------------------------------------------------- search


@router.get("/personas")
def person_list(
    request: Request,
    session: SessionDep,
    web: Annotated[WebContext, Depends(page("citizens.read"))],
    q: Annotated[str, Query(max_length=120)] = "",
    documento: Annotated[str, Query(max_length=20)] = "",
    pagina: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> Response:
    rows: list[Citizen] = []
    if q or documento:
        rows = service.search_citizens(
            session=session,
            area=web.area,
            q=q or None,
            doc_number=documento or None,
            limit=PAGE_SIZE + 1,
            offset=(pagina - 1) * PAGE_SIZE,
        )
    return render(
        request,
        "citizens/list.html",
        {
            "web": web,
            "rows": rows[:PAGE_SIZE],
            "has_next": len(rows) > PAGE_SIZE,
            "page_number": pagina,
            "filters": {"q": q, "documento": documento},
            "query": "&".join(f"{k}={v}" for k, v in (("q", q), ("documento", documento)) if v),
            "sede_names": {s.id: s.name for s in org.list_sedes(session=session)},
        },
    )


# ----------------------------------------------------------------------------- register

PERSON_FIELDS = (
    "sede_id",
    "doc_type",
    "doc_number",
    "given_names",
    "surnames",
    "birth_date",
    "sex",
    "language",
    "phone",
)


def _sedes_for(session: Session, web: WebContext) -> list[tuple[str, str]]:
    area = area_for(web.actor, "citizens.write")
    return [
        (s.id, s.name)
        for s in org.list_sedes(session=session)
        if area.contains(sede_id=s.id, district_id=s.district_id)
    ]


def _new_form(
    request: Request,
    session: Session,
    web: WebContext,
    values: dict[str, Any],
    errors: FormErrors,
    duplicates: list[Citizen],
    status: int = 200,
) -> Response:
    return render(
        request,
        "citizens/new.html",
        {
            "web": web,
            "values": values,
            "errors": errors.fields,
            "message": None if duplicates else errors.message,  # the box says it better
            "sedes": _sedes_for(session, web),
            "flag_labels": {k.value: v for k, v in FLAG_LABELS_ES.items()},
            "duplicates": duplicates,
            "sede_names": {s.id: s.name for s in org.list_sedes(session=session)},
        },
        status,
    )


@router.get("/personas/nueva")
def person_new(
    request: Request,
    session: SessionDep,
    web: Annotated[WebContext, Depends(page("citizens.write"))],
) -> Response:
    sedes = _sedes_for(session, web)
    values = {
        "sede_id": web.actor.sede_id or (sedes[0][0] if sedes else ""),
        "doc_type": "dni",
        "language": "castellano",
        "flags": [],
    }
    return _new_form(request, session, web, values, FormErrors(), [])


@router.post("/personas/nueva", dependencies=[Depends(verify_csrf)])
def person_new_submit(
    request: Request,
    form: FormDep,
    session: SessionDep,
    web: Annotated[WebContext, Depends(page("citizens.write"))],
) -> Response:
    values: dict[str, Any] = {name: text(form, name) for name in PERSON_FIELDS}
    values["flags"] = strings(form, "flags")
    payload = {
        **{k: (v or None) for k, v in values.items() if k != "flags"},
        "given_names": values["given_names"],
        "surnames": values["surnames"],
        "language": values["language"] or "castellano",
        "flags": values["flags"],
        "confirm_not_duplicate": form.get("confirm_not_duplicate") == "1",
    }
    data, errors = build(CitizenCreate, payload)
    duplicates: list[Citizen] = []
    if data is not None:
        try:
            person = service.create_citizen(
                session=session,
                actor=web.actor,
                data=data,
                area=area_for(web.actor, "citizens.write"),
                settings=request.app.state.cases_settings,
            )
            session.commit()
            return RedirectResponse(f"/personas/{person.id}?aviso=registrada", status_code=303)
        except DomainError as exc:
            session.rollback()
            errors = domain_errors(exc)
            errors.fields.pop("duplicates", None)
            duplicates = duplicate_rows(session, exc)
            values["ask_confirm"] = exc.code == "possible_duplicate"
    return _new_form(request, session, web, values, errors, duplicates, 422)


# ------------------------------------------------------------------------------- detail


def _detail(
    request: Request,
    session: Session,
    web: WebContext,
    person_id: str,
    *,
    form_name: str | None = None,
    errors: FormErrors | None = None,
    values: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    person = service.get_citizen(session=session, citizen_id=person_id, area=web.area)
    survivor = session.get(Citizen, person.merged_into_id) if person.merged_into_id else None
    files = session.exec(
        select(CaseFile)
        .where(CaseFile.client_citizen_id == person.id)
        .order_by(col(CaseFile.opened_at).desc())
        .limit(50)
    ).all()
    candidates = []
    if person.merged_into_id is None:
        candidates = service.find_duplicates(
            session=session,
            doc_type=person.doc_type,
            doc_number=person.doc_number,
            given_names=person.given_names,
            surnames=person.surnames,
            birth_date=person.birth_date,
            threshold=request.app.state.cases_settings.duplicate_name_threshold,
            exclude_id=person.id,
        )
        candidates = service.visible_candidates(
            session=session, candidates=candidates, area=web.area
        )
    merges = service.merge_history(session=session, citizen_id=person.id)
    in_reach = area_for(web.actor, "income.verify")
    statements = service.statement_summaries(session=session, citizen_id=person.id)
    return render(
        request,
        "citizens/detail.html",
        {
            "web": web,
            "person": person,
            "survivor": survivor,
            "files": files,
            "candidates": candidates,
            "merges": merges,
            "merge_names": {
                c.id: _person_name(c)
                for c in session.exec(
                    select(Citizen).where(
                        col(Citizen.id).in_(
                            {m.merged_id for m in merges} | {m.survivor_id for m in merges}
                        )
                    )
                ).all()
            },
            "statements": statements,
            "can_verify": {s.id: in_reach.contains(sede_id=s.sede_id) for s in statements},
            "flag_labels": {k.value: v for k, v in FLAG_LABELS_ES.items()},
            "statement_status": STATEMENT_STATUS,
            "sede_names": {s.id: s.name for s in org.list_sedes(session=session)},
            "form_name": form_name,
            "errors": errors.fields if errors else {},
            # shown inside the form that failed (the page is long), not at the top
            "form_message": errors.message if errors else None,
            "values": {"household_size": "1", "dependants": "0", **(values or {})},
            "today": service.lima_today().isoformat(),
        },
        status,
    )


@router.get("/personas/{person_id}")
def person_detail(
    request: Request,
    person_id: PersonId,
    session: SessionDep,
    web: Annotated[WebContext, Depends(page("citizens.read"))],
) -> Response:
    return _detail(request, session, web, person_id)


# -------------------------------------------------------------------------------- merge


@router.get("/personas/{person_id}/fusionar")
def merge_confirm(
    request: Request,
    person_id: PersonId,
    session: SessionDep,
    web: Annotated[WebContext, Depends(page("citizens.merge"))],
    con: Annotated[str, Query(max_length=36)],
) -> Response:
    return _merge_page(request, session, web, person_id, con, {}, FormErrors())


def _merge_page(
    request: Request,
    session: Session,
    web: WebContext,
    person_id: str,
    other_id: str,
    values: dict[str, str],
    errors: FormErrors,
    status: int = 200,
) -> Response:
    person = service.get_citizen(session=session, citizen_id=person_id, area=web.area)
    other = service.get_citizen(session=session, citizen_id=other_id, area=web.area)
    counts = {}
    for record in (person, other):
        counts[record.id] = len(
            session.exec(select(CaseFile.id).where(CaseFile.client_citizen_id == record.id)).all()
        )
    return render(
        request,
        "citizens/merge.html",
        {
            "web": web,
            "person": person,
            "other": other,
            "counts": counts,
            "values": {"survivor_id": person.id, **values},
            "errors": errors.fields,
            "message": errors.message,
            "sede_names": {s.id: s.name for s in org.list_sedes(session=session)},
            "flag_labels": {k.value: v for k, v in FLAG_LABELS_ES.items()},
        },
        status,
    )


@router.post("/personas/{person_id}/fusionar", dependencies=[Depends(verify_csrf)])
def merge_submit(
    request: Request,
    person_id: PersonId,
    form: FormDep,
    session: SessionDep,
    web: Annotated[WebContext, Depends(page("citizens.merge"))],
) -> Response:
    other_id = text(form, "other_id")[:36]
    values = {"survivor_id": text(form, "survivor_id"), "reason": text(form, "reason")}
    errors = FormErrors(message="Revise los datos marcados.")
    if values["survivor_id"] not in {person_id, other_id}:
        errors.add("survivor_id", "Elija qué registro se conserva.")
    if len(values["reason"]) < 3:
        errors.add("reason", "Explique por qué son la misma persona (al menos 3 caracteres).")
    if form.get("confirm") != "1":
        errors.add("confirm", "Confirme que revisó ambos registros y que son la misma persona.")
    if not errors.fields:
        survivor = values["survivor_id"]
        merged = other_id if survivor == person_id else person_id
        try:
            service.merge_citizens(
                session=session,
                actor=web.actor,
                survivor_id=survivor,
                merged_id=merged,
                reason=values["reason"][:400],
                area=web.area,
            )
            session.commit()
            return RedirectResponse(f"/personas/{survivor}?aviso=fusionado", status_code=303)
        except DomainError as exc:
            session.rollback()
            errors = domain_errors(exc)
    return _merge_page(request, session, web, person_id, other_id, values, errors, 422)


# --------------------------------------------------------------------- eligibility (29360)


@router.post("/personas/{person_id}/declaracion", dependencies=[Depends(verify_csrf)])
def statement_submit(
    request: Request,
    person_id: PersonId,
    form: FormDep,
    session: SessionDep,
    web: Annotated[WebContext, Depends(page("income.write"))],
) -> Response:
    names = (
        "household_size",
        "dependants",
        "monthly_income_soles",
        "income_sources",
        "assets",
        "declared_on",
    )
    values = {name: text(form, name) for name in names}
    income = parse_soles(values["monthly_income_soles"])
    payload = {
        **values,
        "dependants": values["dependants"] or "0",
        "monthly_income_soles": income if income is not None else "x",
        "declared_on": values["declared_on"] or None,
    }
    data, errors = build(EligibilityCreate, payload)
    if errors.fields.get("monthly_income_soles") or income is None:
        errors.message = errors.message or "Revise los datos marcados."
        errors.fields["monthly_income_soles"] = (
            "Ingrese el ingreso mensual en soles (obligatorio)."
            if not values["monthly_income_soles"]
            else INCOME_MESSAGE
        )
        data = None
    for name, message in (
        ("household_size", "Indique cuántas personas integran el hogar (de 1 a 40)."),
        ("dependants", "Indique cuántas personas dependen económicamente (de 0 a 40)."),
    ):
        if name in errors.fields:
            errors.fields[name] = message
    if data is not None and data.dependants > data.household_size:
        data = None
        errors = FormErrors(message="Revise los datos marcados.")
        errors.add(
            "dependants", "Los dependientes no pueden ser más que los integrantes del hogar."
        )
    if data is not None:
        try:
            service.create_statement(
                session=session,
                actor=web.actor,
                citizen_id=person_id,
                data=data,
                area=area_for(web.actor, "income.write"),
                settings=request.app.state.cases_settings,
            )
            session.commit()
            return RedirectResponse(
                f"/personas/{person_id}?aviso=declaracion#declaracion", status_code=303
            )
        except DomainError as exc:
            session.rollback()
            errors = domain_errors(exc)
    return _detail(
        request,
        session,
        web,
        person_id,
        form_name="statement",
        errors=errors,
        values=values,
        status=422,
    )


@router.get("/personas/{person_id}/declaraciones")
def statements_with_income(
    request: Request,
    person_id: PersonId,
    session: SessionDep,
    web: Annotated[WebContext, Depends(page("income.read"))],
) -> Response:
    """The full statements with income: sensitive, so the read itself is audited."""
    rows = service.read_statements(
        session=session,
        actor=web.actor,
        citizen_id=person_id,
        area=area_for(web.actor, "income.read"),
    )
    session.commit()
    person = session.get(Citizen, person_id)
    return render(
        request,
        "citizens/statements.html",
        {"web": web, "person": person, "rows": rows, "statement_status": STATEMENT_STATUS},
    )


@router.post(
    "/personas/{person_id}/declaracion/{statement_id}/verificacion",
    dependencies=[Depends(verify_csrf)],
)
def statement_decide(
    request: Request,
    person_id: PersonId,
    statement_id: Annotated[str, Path(max_length=36)],
    form: FormDep,
    session: SessionDep,
    web: Annotated[WebContext, Depends(page("income.verify"))],
) -> Response:
    values = {
        "outcome": text(form, "outcome"),
        "resolution_number": text(form, "resolution_number"),
        "verification_notes": text(form, "verification_notes"),
    }
    data, errors = build(
        EligibilityDecision,
        {
            "outcome": values["outcome"],
            "resolution_number": values["resolution_number"] or None,
            "notes": values["verification_notes"] or None,
        },
    )
    if "outcome" in errors.fields:
        errors.fields["outcome"] = "Elija el resultado de la verificación."
    if data is not None:
        try:
            service.decide_statement(
                session=session,
                actor=web.actor,
                statement_id=statement_id,
                decision=data,
                area=area_for(web.actor, "income.verify"),
            )
            session.commit()
            return RedirectResponse(
                f"/personas/{person_id}?aviso=verificada#declaracion", status_code=303
            )
        except DomainError as exc:
            session.rollback()
            errors = domain_errors(exc)
    values["statement_id"] = statement_id
    return _detail(
        request,
        session,
        web,
        person_id,
        form_name="decision",
        errors=errors,
        values=values,
        status=422,
    )


# ------------------------------------------------------------------------- RENIEC lookup


@router.get("/personas-reniec")
def reniec_lookup(
    request: Request,
    session: SessionDep,
    web: Annotated[WebContext, Depends(page("citizens.write"))],
    dni: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    """JSON for the registration forms' "Consultar RENIEC" button (same service as the API)."""
    try:
        result = service.lookup_identity(
            session=session,
            actor=web.actor,
            lookup=identity_lookup(request),
            dni=dni,
            area=web.area,
        )
    except ValidationFailed as exc:
        session.rollback()
        return JSONResponse({"status": "invalid", "message": exc.message}, status_code=422)
    session.commit()
    return JSONResponse(result.model_dump(mode="json"))
