"""Web pages of case files (Spanish, server-rendered, extending central/web's base layout):
the list with filters and pagination, opening a file, the detail page with its timeline, and
the forms to add an action (with an optional deadline), upload a document, change state, add or
withdraw parties (the conflict-of-interest warning names the other files), refer the file
(internal with acceptance by the receiving sede, external with a letter). Every write calls the
same service functions as the API."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import ChoiceLoader, FileSystemLoader
from sqlmodel import Session, col, select

from central.auth.deps import SessionDep
from central.auth.policy import area_for
from central.auth.web import WebContext, verify_csrf
from central.cases import catalogues as cat
from central.cases import service
from central.cases.letters import TEMPLATES
from central.cases.schemas import (
    ActionCreate,
    CaseCreate,
    PartyCreate,
    PartyRemoval,
    ReferralCreate,
    ReferralDecision,
    TransitionRequest,
)
from central.cases.views import (
    document_storage,
    may_see_restricted,
    referral_letter_response,
    store_upload,
)
from central.citizens import service as citizens
from central.citizens.identifiers import DOC_TYPES, mask_document
from central.citizens.models import Citizen
from central.citizens.schemas import LANGUAGE_LABELS_ES
from central.citizens.service import lima_today
from central.domain.errors import DomainError
from central.org import service as org
from central.web.deps import page
from central.web.forms import FormDep, FormErrors, build, domain_errors, optional_text, text
from central.web.rendering import ENV

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 25
CaseId = Annotated[str, Path(max_length=36)]
NOTICES = {
    "abierto": "Expediente abierto.",
    "actuacion": "Actuación registrada.",
    "documento": "Documento adjuntado.",
    "estado": "Estado actualizado.",
    "parte": "Parte incorporada.",
    "parte-retirada": "Parte retirada del expediente.",
    "derivado": "Derivación registrada.",
    "aceptada": "Derivación aceptada: el expediente pasó a su sede.",
    "rechazada": "Derivación rechazada: el expediente volvió a la sede de origen.",
}
REFERRAL_STATUS = {
    "pending": "Pendiente de aceptación",
    "accepted": "Aceptada",
    "rejected": "Rechazada",
    "sent": "Enviada",
}
# API field names -> the prefixed names of the detail page's forms (several forms share a page)
PARTY_FIELDS = {"role": "party_role", "name": "party_name", "doc_type": "party_doc_type"}
PARTY_FIELDS["doc_number"] = "party_doc_number"
REFERRAL_FIELDS = {"kind": "ref_kind", "reason": "ref_reason"}
IN_FORM_MESSAGES = frozenset({"party", "party_remove", "referral"})
_ENV = ENV.overlay(loader=ChoiceLoader([FileSystemLoader(TEMPLATES), ENV.loader]))  # type: ignore[list-item]
_ENV.globals = dict(ENV.globals)  # an overlay shares its parent's globals: keep `cat` ours
_ENV.globals.update(
    cat=cat,
    doc_types=DOC_TYPES,
    languages=LANGUAGE_LABELS_ES,
    mask=mask_document,
    referral_status=REFERRAL_STATUS,
)


def render(
    request: Request, template: str, context: dict[str, Any], status: int = 200
) -> HTMLResponse:
    settings = request.app.state.settings
    data: dict[str, Any] = {
        "request": request,
        "path": request.url.path,
        "system_name": settings.system_name,
        "institution_name": settings.institution_name,
        "service_name": settings.service_name,
        "errors": {},
        "message": None,
        "notice": NOTICES.get(request.query_params.get("aviso", "")),
    }
    data.update(context)
    return HTMLResponse(_ENV.get_template(template).render(data), status_code=status)


def _names(session: Session, ids: set[str]) -> dict[str, str]:
    if not ids:
        return {}
    rows = session.exec(select(Citizen).where(col(Citizen.id).in_(sorted(ids)))).all()
    return {c.id: f"{c.surnames} {c.given_names}".strip() for c in rows}


def duplicate_rows(session: Session, exc: DomainError) -> list[Citizen]:
    """The records a ``duplicate`` / ``possible_duplicate`` refusal points at (their ids travel
    in the error's fields), for the form to list them with links."""
    if exc.code not in {"duplicate", "possible_duplicate"}:
        return []
    ids = [f.message for f in exc.fields if f.field == "duplicates"][:10]
    if not ids:
        return []
    return list(session.exec(select(Citizen).where(col(Citizen.id).in_(ids))).all())


# ------------------------------------------------------------------------------------ list


@router.get("/expedientes")
def case_list(
    request: Request,
    session: SessionDep,
    web: Annotated[WebContext, Depends(page("cases.read"))],
    q: Annotated[str, Query(max_length=120)] = "",
    documento: Annotated[str, Query(max_length=20)] = "",
    numero: Annotated[str, Query(max_length=60)] = "",
    estado: Annotated[str, Query(max_length=16)] = "",
    materia: Annotated[str, Query(max_length=40)] = "",
    pagina: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> Response:
    filters = service.CaseFilters(
        name=q or None,
        doc_number=documento or None,
        number=numero or None,
        judicial_number=numero if numero and "-JR-" in numero.upper() else None,
        state=estado if estado in cat.STATES else None,
        matter=materia if materia in cat.MATTERS else None,
    )
    if filters.judicial_number:
        filters.number = None
    rows = service.search_cases(
        session=session,
        area=web.area,
        filters=filters,
        limit=PAGE_SIZE + 1,
        offset=(pagina - 1) * PAGE_SIZE,
    )
    query = {
        k: v
        for k, v in {
            "q": q,
            "documento": documento,
            "numero": numero,
            "estado": estado,
            "materia": materia,
        }.items()
        if v
    }
    return render(
        request,
        "cases/list.html",
        {
            "web": web,
            "rows": rows[:PAGE_SIZE],
            "has_next": len(rows) > PAGE_SIZE,
            "page_number": pagina,
            "names": _names(session, {r.client_citizen_id for r in rows}),
            "filters": {
                "q": q,
                "documento": documento,
                "numero": numero,
                "estado": estado,
                "materia": materia,
            },
            "query": urlencode(query),
            "sede_names": {s.id: s.name for s in org.list_sedes(session=session)},
            "incoming": len(
                service.incoming_referrals(session=session, area=area_for(web.actor, "cases.write"))
            )
            if web.can("cases.write")
            else 0,
        },
    )


# ------------------------------------------------------------------------------------ new


def _sede_choices(session: Session, web: WebContext) -> list[tuple[str, str]]:
    area = web.area
    return [
        (s.id, s.name)
        for s in org.list_sedes(session=session)
        if area is not None and area.contains(sede_id=s.id, district_id=s.district_id)
    ]


def _new_form(
    request: Request,
    session: Session,
    web: WebContext,
    values: dict,
    errors: FormErrors,
    status: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "cases/new.html",
        {
            "web": web,
            "values": values,
            "errors": errors.fields,
            "message": None if values.get("duplicates") else errors.message,
            "sedes": _sede_choices(session, web),
            "duplicates": values.get("duplicates", []),
            "sede_names": {s.id: s.name for s in org.list_sedes(session=session)},
        },
        status,
    )


@router.get("/expedientes/nuevo")
def case_new(
    request: Request, session: SessionDep, web: Annotated[WebContext, Depends(page("cases.write"))]
) -> Response:
    sedes = _sede_choices(session, web)
    values = {
        "sede_id": web.actor.sede_id or (sedes[0][0] if sedes else ""),
        "doc_type": "dni",
        "language": "castellano",
        "attention_type": "asistencia",
    }
    return _new_form(request, session, web, values, FormErrors())


@router.post("/expedientes/nuevo", dependencies=[Depends(verify_csrf)])
def case_new_submit(
    request: Request,
    form: FormDep,
    session: SessionDep,
    web: Annotated[WebContext, Depends(page("cases.write"))],
) -> Response:
    fields = (
        "sede_id",
        "service",
        "matter",
        "attention_type",
        "judicial_number",
        "court",
        "summary",
        "doc_type",
        "doc_number",
        "given_names",
        "surnames",
        "birth_date",
        "sex",
        "language",
        "phone",
    )
    values = {name: text(form, name) for name in fields}
    settings = request.app.state.cases_settings
    existing = None
    if values["doc_number"] and values["doc_type"] != "ninguno":
        number = values["doc_number"].replace(" ", "").upper()
        existing = session.exec(
            select(Citizen).where(
                Citizen.doc_type == values["doc_type"],
                Citizen.doc_number == number,
                col(Citizen.merged_into_id).is_(None),
            )
        ).first()
    client: dict[str, Any] | None = None
    if existing is None:
        client = {
            "sede_id": values["sede_id"],
            "doc_type": values["doc_type"] or "dni",
            "doc_number": optional_text(form, "doc_number"),
            "given_names": values["given_names"],
            "surnames": values["surnames"],
            "birth_date": values["birth_date"] or None,
            "sex": values["sex"] or None,
            "language": values["language"] or "castellano",
            "phone": values["phone"] or None,
            "confirm_not_duplicate": form.get("confirm_not_duplicate") == "1",
        }
    payload = {
        "sede_id": values["sede_id"],
        "service": values["service"],
        "matter": values["matter"],
        "attention_type": values["attention_type"],
        "judicial_number": values["judicial_number"] or None,
        "court": values["court"] or None,
        "summary": values["summary"],
        "client_citizen_id": existing.id if existing else None,
        "client": client,
    }
    data, errors = build(CaseCreate, payload)
    if data is None:
        # nested errors ("client.doc_number") point at the form's own field names
        errors.fields = {k.removeprefix("client."): v for k, v in errors.fields.items()}
        renamed = FormErrors(message=errors.message)
        for key, message in errors.fields.items():
            renamed.add(key, message)
        errors = renamed
    else:
        try:
            case = service.open_case(
                session=session, actor=web.actor, data=data, area=web.area, settings=settings
            )
            session.commit()
            return RedirectResponse(f"/expedientes/{case.id}?aviso=abierto", status_code=303)
        except DomainError as exc:
            session.rollback()
            errors = domain_errors(exc)
            errors.fields.pop("duplicates", None)
            values["duplicates"] = duplicate_rows(session, exc)
            if exc.code == "possible_duplicate":
                values["ask_confirm"] = "1"
    return _new_form(request, session, web, values, errors, 422)


# ---------------------------------------------------------------------------------- detail


def _detail(
    request: Request,
    session: Session,
    web: WebContext,
    case_id: str,
    errors: FormErrors | None = None,
    form_name: str | None = None,
    values: dict | None = None,
    status: int = 200,
    conflict: str | None = None,
) -> HTMLResponse:
    case = service.get_case(session=session, case_id=case_id, area=web.area)
    client = session.get(Citizen, case.client_citizen_id)
    show_restricted = may_see_restricted(web.actor, case)
    restricted_filter = None if show_restricted else False
    if show_restricted and service.restricted_count(session=session, case_id=case.id):
        service._audit(session, web.actor, "case.restricted_read", case, after={"via": "web"})
        session.commit()
    sede_names = {s.id: s.name for s in org.list_sedes(session=session)}
    referrals = service.list_referrals(session=session, case_id=case.id)
    return render(
        request,
        "cases/detail.html",
        {
            "web": web,
            "case": case,
            "client": client,
            "sede": org.get_sede(session=session, sede_id=case.sede_id),
            "parties": service.parties(
                session=session, case_id=case.id, restricted=restricted_filter
            ),
            "actions": service.list_actions(
                session=session, case_id=case.id, restricted=restricted_filter
            ),
            "deadlines": service.list_deadlines(session=session, case_id=case.id),
            "documents": service.list_documents(
                session=session, case_id=case.id, restricted=restricted_filter
            ),
            "referrals": referrals,
            "timeline": list(
                reversed(
                    service.timeline(
                        session=session, case_id=case.id, show_restricted=show_restricted
                    )
                )
            ),
            "restricted_hidden": 0
            if show_restricted
            else service.restricted_count(session=session, case_id=case.id),
            "can_write": web.can("cases.write")
            and area_for(web.actor, "cases.write").contains(
                sede_id=case.sede_id, district_id=case.district_id
            ),
            "next_states": [
                (s, cat.STATES[s]) for s in sorted(cat.TRANSITIONS[case.state] - {"referred"})
            ],
            "form_name": form_name,
            "errors": (errors.fields if errors else {}),
            # the forms added for parties and referrals show their message inside the form
            "message": None
            if conflict or form_name in IN_FORM_MESSAGES
            else (errors.message if errors else None),
            "form_message": errors.message if errors else None,
            "conflict": conflict,
            "values": {
                "action_date": lima_today().isoformat(),
                "action_type": "escrito",
                "party_role": "counterpart",
                "party_doc_type": "dni",
                "ref_kind": "internal",
                **(values or {}),
            },
            "today": lima_today().isoformat(),
            "sede_names": sede_names,
            "all_sedes": list(sede_names.items()),
            "may_decide": {
                r.id: r.status == "pending"
                and r.kind == "internal"
                and web.can("cases.write")
                and area_for(web.actor, "cases.write").contains(sede_id=r.to_sede_id)
                for r in referrals
            },
            "eligibility": citizens.statement_summaries(
                session=session, citizen_id=case.client_citizen_id
            ),
            "can_remove_parties": web.can("cases.write"),
        },
        status,
    )


@router.get("/expedientes/{case_id}")
def case_detail(
    request: Request,
    case_id: CaseId,
    session: SessionDep,
    web: Annotated[WebContext, Depends(page("cases.read"))],
) -> Response:
    return _detail(request, session, web, case_id)


@router.post("/expedientes/{case_id}/actuaciones", dependencies=[Depends(verify_csrf)])
def action_submit(
    request: Request,
    case_id: CaseId,
    form: FormDep,
    session: SessionDep,
    web: Annotated[WebContext, Depends(page("cases.write"))],
) -> Response:
    values = {
        name: text(form, name)
        for name in (
            "action_type",
            "action_date",
            "notes",
            "deadline_title",
            "deadline_business_days",
            "deadline_due_date",
        )
    }
    payload = {
        "action_type": values["action_type"],
        "action_date": values["action_date"],
        "notes": values["notes"],
        "restricted": form.get("restricted") == "1",
        "deadline_title": values["deadline_title"] or None,
        "deadline_business_days": values["deadline_business_days"] or None,
        "deadline_due_date": values["deadline_due_date"] or None,
    }
    data, errors = build(ActionCreate, payload)
    if data is not None:
        try:
            service.add_action(
                session=session,
                actor=web.actor,
                case_id=case_id,
                data=data,
                area=web.area,
                settings=request.app.state.cases_settings,
            )
            session.commit()
            return RedirectResponse(
                f"/expedientes/{case_id}?aviso=actuacion#actuaciones", status_code=303
            )
        except DomainError as exc:
            session.rollback()
            errors = domain_errors(exc)
    return _detail(request, session, web, case_id, errors, "action", values, 422)


@router.post("/expedientes/{case_id}/documentos", dependencies=[Depends(verify_csrf)])
def document_submit(
    request: Request,
    case_id: CaseId,
    form: FormDep,
    session: SessionDep,
    web: Annotated[WebContext, Depends(page("cases.write"))],
) -> Response:
    upload = form.get("file")
    errors = FormErrors(message="Revise los datos marcados.")
    if upload is None or isinstance(upload, str) or not upload.filename:
        errors.add("file", "Seleccione un archivo.")
    else:
        try:
            store_upload(
                session=session,
                actor=web.actor,
                case_id=case_id,
                area=web.area,
                storage=document_storage(request),
                settings=request.app.state.cases_settings,
                upload=upload,
                category=text(form, "category") or "otro",
                restricted=form.get("restricted") == "1",
            )
            return RedirectResponse(
                f"/expedientes/{case_id}?aviso=documento#documentos", status_code=303
            )
        except DomainError as exc:
            session.rollback()
            errors = domain_errors(exc)
    return _detail(request, session, web, case_id, errors, "document", None, 422)


@router.get("/expedientes/{case_id}/documentos/{document_id}")
def document_download(
    case_id: CaseId,
    document_id: Annotated[str, Path(max_length=36)],
    request: Request,
    session: SessionDep,
    web: Annotated[WebContext, Depends(page("cases.read"))],
) -> Response:
    document, data = service.download_document(
        session=session,
        actor=web.actor,
        case_id=case_id,
        document_id=document_id,
        area=web.area,
        sensitive_area=area_for(web.actor, "cases.sensitive"),
        storage=document_storage(request),
    )
    session.commit()
    return Response(
        data,
        media_type=document.content_type,
        headers={"Content-Disposition": f'attachment; filename="{document.filename}"'},
    )


@router.post("/expedientes/{case_id}/estado", dependencies=[Depends(verify_csrf)])
def state_submit(
    request: Request,
    case_id: CaseId,
    form: FormDep,
    session: SessionDep,
    web: Annotated[WebContext, Depends(page("cases.write"))],
) -> Response:
    values = {
        "to_state": text(form, "to_state"),
        "outcome_code": text(form, "outcome_code"),
        "notes": text(form, "notes"),
    }
    data, errors = build(
        TransitionRequest, {**values, "outcome_code": values["outcome_code"] or None}
    )
    if data is not None:
        try:
            service.transition(
                session=session, actor=web.actor, case_id=case_id, data=data, area=web.area
            )
            session.commit()
            return RedirectResponse(f"/expedientes/{case_id}?aviso=estado", status_code=303)
        except DomainError as exc:
            session.rollback()
            errors = domain_errors(exc)
    return _detail(request, session, web, case_id, errors, "state", values, 422)


@router.get("/plazos-vencidos")
def overdue_page(
    request: Request,
    session: SessionDep,
    web: Annotated[WebContext, Depends(page("cases.supervise"))],
    pagina: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> Response:
    rows = service.overdue_deadlines(
        session=session, area=web.area, limit=PAGE_SIZE + 1, offset=(pagina - 1) * PAGE_SIZE
    )
    # Ley 29360 verifications past their due date (first page only: they are few per area)
    verifications = (
        citizens.overdue_verifications(session=session, area=web.area, limit=100)
        if pagina == 1
        else []
    )
    return render(
        request,
        "cases/overdue.html",
        {
            "web": web,
            "rows": rows[:PAGE_SIZE],
            "has_next": len(rows) > PAGE_SIZE,
            "page_number": pagina,
            "today": lima_today(),
            "verifications": verifications,
            "people": _names(session, {v.citizen_id for v in verifications}),
            "sede_names": {s.id: s.name for s in org.list_sedes(session=session)},
        },
    )


# --------------------------------------------------------------------------------- parties


def _renamed(errors: FormErrors, names: dict[str, str]) -> FormErrors:
    renamed = FormErrors(message=errors.message)
    for key, message in errors.fields.items():
        renamed.add(names.get(key, key), message)
    return renamed


@router.post("/expedientes/{case_id}/partes", dependencies=[Depends(verify_csrf)])
def party_submit(
    request: Request,
    case_id: CaseId,
    form: FormDep,
    session: SessionDep,
    web: Annotated[WebContext, Depends(page("cases.write"))],
) -> Response:
    values = {name: text(form, name) for name in PARTY_FIELDS.values()}
    doc_type = values["party_doc_type"] or "ninguno"
    payload = {
        "role": values["party_role"],
        "name": values["party_name"] or None,
        "doc_type": None if doc_type == "ninguno" and not values["party_doc_number"] else doc_type,
        "doc_number": values["party_doc_number"] or None,
    }
    data, errors = build(PartyCreate, payload)
    conflict = None
    if data is not None:
        try:
            service.add_party_to(
                session=session, actor=web.actor, case_id=case_id, data=data, area=web.area
            )
            session.commit()
            return RedirectResponse(f"/expedientes/{case_id}?aviso=parte#partes", status_code=303)
        except DomainError as exc:
            session.rollback()
            errors = domain_errors(exc)
            if exc.code == "conflict_of_interest":
                conflict = exc.message.removeprefix("Conflicto de intereses: ")
                conflict = conflict[:1].upper() + conflict[1:]
    errors = _renamed(errors, PARTY_FIELDS)
    return _detail(request, session, web, case_id, errors, "party", values, 422, conflict)


@router.post("/expedientes/{case_id}/partes/{party_id}/retiro", dependencies=[Depends(verify_csrf)])
def party_remove(
    request: Request,
    case_id: CaseId,
    party_id: Annotated[str, Path(max_length=36)],
    form: FormDep,
    session: SessionDep,
    web: Annotated[WebContext, Depends(page("cases.write"))],
) -> Response:
    values = {"removal_reason": text(form, "removal_reason"), "removal_party": party_id}
    data, errors = build(PartyRemoval, {"reason": values["removal_reason"]})
    if data is not None:
        try:
            service.remove_party(
                session=session,
                actor=web.actor,
                case_id=case_id,
                party_id=party_id,
                reason=data.reason,
                area=web.area,
                sensitive_area=area_for(web.actor, "cases.sensitive"),
            )
            session.commit()
            return RedirectResponse(
                f"/expedientes/{case_id}?aviso=parte-retirada#partes", status_code=303
            )
        except DomainError as exc:
            session.rollback()
            errors = domain_errors(exc)
    errors = _renamed(errors, {"reason": "removal_reason", "party_id": "removal_reason"})
    return _detail(request, session, web, case_id, errors, "party_remove", values, 422)


# ------------------------------------------------------------------------------- referrals


@router.post("/expedientes/{case_id}/derivaciones", dependencies=[Depends(verify_csrf)])
def referral_submit(
    request: Request,
    case_id: CaseId,
    form: FormDep,
    session: SessionDep,
    web: Annotated[WebContext, Depends(page("cases.write"))],
) -> Response:
    names = ("ref_kind", "to_sede_id", "to_service", "institution", "institution_detail")
    values = {name: text(form, name) for name in (*names, "ref_reason")}
    internal = values["ref_kind"] == "internal"
    payload = {
        "kind": values["ref_kind"],
        "to_sede_id": (values["to_sede_id"] or None) if internal else None,
        "to_service": (values["to_service"] or None) if internal else None,
        "institution": None if internal else (values["institution"] or None),
        "institution_detail": None if internal else (values["institution_detail"] or None),
        "reason": values["ref_reason"],
    }
    data, errors = build(ReferralCreate, payload)
    if data is not None:
        try:
            service.create_referral(
                session=session, actor=web.actor, case_id=case_id, data=data, area=web.area
            )
            session.commit()
            return RedirectResponse(
                f"/expedientes/{case_id}?aviso=derivado#derivaciones", status_code=303
            )
        except DomainError as exc:
            session.rollback()
            errors = domain_errors(exc)
    errors = _renamed(errors, REFERRAL_FIELDS)
    if "ref_reason" in errors.fields and not values["ref_reason"]:
        errors.fields["ref_reason"] = "Indique el motivo de la derivación (obligatorio)."
    if "kind" in errors.fields or "ref_kind" in errors.fields:
        errors.fields["ref_kind"] = "Elija si la derivación es interna o externa."
    return _detail(request, session, web, case_id, errors, "referral", values, 422)


@router.get("/derivaciones")
def incoming_page(
    request: Request,
    session: SessionDep,
    web: Annotated[WebContext, Depends(page("cases.write"))],
) -> Response:
    area = area_for(web.actor, "cases.write")
    rows = service.incoming_referrals(session=session, area=area)
    cases = {
        c.id: c
        for c in session.exec(
            select(service.CaseFile).where(
                col(service.CaseFile.id).in_(sorted({r.case_id for r in rows}))
            )
        ).all()
    }
    return render(
        request,
        "cases/incoming.html",
        {
            "web": web,
            "rows": [(r, cases[r.case_id]) for r in rows if r.case_id in cases],
            "sede_names": {s.id: s.name for s in org.list_sedes(session=session)},
        },
    )


@router.post("/derivaciones/{referral_id}/decision", dependencies=[Depends(verify_csrf)])
def referral_decide(
    request: Request,
    referral_id: Annotated[str, Path(max_length=36)],
    form: FormDep,
    session: SessionDep,
    web: Annotated[WebContext, Depends(page("cases.write"))],
) -> Response:
    accept = text(form, "accept") == "1"
    data, errors = build(
        ReferralDecision, {"accept": accept, "notes": optional_text(form, "notes")}
    )
    if data is None:
        raise DomainError(errors.message or "Revise los datos.")
    referral = service.decide_referral(
        session=session,
        actor=web.actor,
        referral_id=referral_id,
        data=data,
        area=area_for(web.actor, "cases.write"),
    )
    session.commit()
    if accept:
        return RedirectResponse(
            f"/expedientes/{referral.case_id}?aviso=aceptada#derivaciones", status_code=303
        )
    return RedirectResponse("/derivaciones?aviso=rechazada", status_code=303)


# A letter is a standalone document with its own print styles; no scripts at all.
LETTER_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)


@router.get("/expedientes/{case_id}/derivaciones/{referral_id}/carta")
def referral_letter_page(
    request: Request,
    case_id: CaseId,
    referral_id: Annotated[str, Path(max_length=36)],
    session: SessionDep,
    web: Annotated[WebContext, Depends(page("cases.read"))],
    formato: Annotated[str, Query(pattern="^(html|pdf)$")] = "html",
) -> Response:
    return referral_letter_response(
        session,
        request,
        case_id=case_id,
        referral_id=referral_id,
        area=web.area,
        actor=web.actor,
        signer=web.user.display_name,
        fmt=formato,
        via="web",
        pdf_failure="No se pudo generar el PDF; use la versión para imprimir.",
        html_headers={"content-security-policy": LETTER_CSP},
    )
