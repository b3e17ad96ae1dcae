"""The auditor's pages: search the hash-chained audit log and export it (CSV or JSON). Each
search and export is itself audited by central.audit."""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from central.audit import exports as audit_exports
from central.audit import service as audit
from central.audit.actions import ACTION_LABELS_ES, SENSITIVE_READS_FILTER
from central.auth.deps import SessionDep
from central.auth.web import WebContext
from central.org import service as org
from central.web.deps import page
from central.web.rendering import LIMA, render
from central.web.routing import WebRoute

router = APIRouter(include_in_schema=False, route_class=WebRoute)
PAGE_SIZE = 50
Text64 = Annotated[str | None, Query(max_length=64)]


def _lima_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=LIMA).astimezone(UTC)


def _parse_day(raw: str | None) -> tuple[date | None, str | None]:
    if not raw:
        return None, None
    try:
        return date.fromisoformat(raw), None
    except ValueError:
        return None, "Fecha no válida (use el selector de fecha)."


def _filters(
    usuario: Text64 = None,
    accion: Text64 = None,
    entidad: Text64 = None,
    id_entidad: Text64 = None,
    sede: Text64 = None,
    desde: Annotated[str | None, Query(max_length=10)] = None,
    hasta: Annotated[str | None, Query(max_length=10)] = None,
) -> tuple[audit.AuditFilter, dict[str, str], dict[str, str]]:
    """The search filter, the form values to show back, and field errors."""
    values = {
        "usuario": (usuario or "").strip(),
        "accion": (accion or "").strip(),
        "entidad": (entidad or "").strip(),
        "id_entidad": (id_entidad or "").strip(),
        "sede": (sede or "").strip(),
        "desde": desde or "",
        "hasta": hasta or "",
    }
    errors: dict[str, str] = {}
    since, problem = _parse_day(desde)
    if problem:
        errors["desde"] = problem
    until, problem = _parse_day(hasta)
    if problem:
        errors["hasta"] = problem
    if since and until and until < since:
        errors["hasta"] = "La fecha final debe ser igual o posterior a la inicial."
    sensitive_reads = values["accion"] == SENSITIVE_READS_FILTER
    flt = audit.AuditFilter(
        username=values["usuario"].lower() or None,
        action=None if sensitive_reads else values["accion"] or None,
        sensitive_reads=sensitive_reads,
        entity=values["entidad"] or None,
        entity_id=values["id_entidad"] or None,
        sede_id=values["sede"] or None,
        since=_lima_midnight(since) if since else None,
        until=_lima_midnight(until + timedelta(days=1)) if until else None,
    )
    return flt, values, errors


FilterDep = Annotated[tuple[audit.AuditFilter, dict[str, str], dict[str, str]], Depends(_filters)]


def _loads(raw: str | None) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def _short(value: Any, width: int = 60) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= width else text[: width - 1] + "…"


def summary(before_json: str | None, after_json: str | None, limit: int = 6) -> list[str]:
    """What changed, one readable line per field (the full JSON is in the row's details):
    "campo: antes → después" for an update, "campo: valor" for what was written or read."""
    before, after = _loads(before_json), _loads(after_json)
    if isinstance(before, dict) and isinstance(after, dict):
        keys = [k for k in sorted(set(before) | set(after)) if before.get(k) != after.get(k)]
        lines = [
            f"{k}: {_short(before.get(k, '—'), 30)} → {_short(after.get(k, '—'), 30)}" for k in keys
        ]
    else:
        shown = after if after is not None else before
        if isinstance(shown, dict):
            lines = [f"{k}: {_short(v)}" for k, v in sorted(shown.items())]
        elif shown is None:
            lines = []
        else:
            lines = [_short(shown, 120)]
    if len(lines) > limit:
        lines = [*lines[:limit], f"… y {len(lines) - limit} campo(s) más (ver detalle)"]
    return lines


def _pretty(raw: str | None) -> str | None:
    if not raw:
        return None
    try:
        return json.dumps(json.loads(raw), ensure_ascii=False, indent=1, sort_keys=True)
    except ValueError:
        return raw


@router.get("/auditoria")
def audit_search(
    request: Request,
    session: SessionDep,
    filters: FilterDep,
    web: Annotated[WebContext, Depends(page("audit.read"))],
    pagina: Annotated[int, Query(ge=1, le=200_000)] = 1,
) -> Response:
    flt, values, errors = filters
    rows: list[Any] = []
    total = 0
    if not errors:
        rows, total = audit.search(
            session=session,
            actor=web.actor,
            flt=flt,
            limit=PAGE_SIZE,
            offset=(pagina - 1) * PAGE_SIZE,
        )
        session.commit()
    query = urlencode({k: v for k, v in values.items() if v})
    return render(
        request,
        "audit.html",
        {
            "web": web,
            "rows": [
                {
                    "event": row,
                    "profiles": [p for p in row.actor_profiles.split(",") if p],
                    "summary": summary(row.before_json, row.after_json),
                    "before": _pretty(row.before_json),
                    "after": _pretty(row.after_json),
                }
                for row in rows
            ],
            "total": total,
            "page_number": pagina,
            "has_next": pagina * PAGE_SIZE < total,
            "values": values,
            "errors": errors,
            "message": "Revise los filtros marcados." if errors else None,
            "query": query,
            "actions": sorted(ACTION_LABELS_ES.items(), key=lambda item: item[1]),
            "sensitive_reads_filter": SENSITIVE_READS_FILTER,
            "sedes": org.list_sedes(session=session),
            "can_export": web.can("audit.export"),
        },
        status=422 if errors else 200,
    )


@router.get("/auditoria/exportar")
def audit_export(
    session: SessionDep,
    filters: FilterDep,
    web: Annotated[WebContext, Depends(page("audit.export"))],
    formato: Annotated[str, Query(pattern="^(csv|json)$")] = "csv",
) -> Response:
    flt, _, errors = filters
    if errors:
        flt = audit.AuditFilter()
    buffer = io.StringIO()
    count = audit_exports.write(buffer, audit.iter_events(session=session, flt=flt), formato)
    audit.record_export(session=session, actor=web.actor, flt=flt, fmt=formato, count=count)
    session.commit()
    return Response(
        buffer.getvalue(),
        media_type=audit_exports.media_type(formato),
        headers={
            "Content-Disposition": f'attachment; filename="{audit_exports.filename(formato)}"'
        },
    )
