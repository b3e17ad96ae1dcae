"""Jinja2 environment of the web UI (autoescape on for every template), Lima-time and label
filters, and the one helper that turns a template into an HTML response."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from central.audit.actions import action_label
from central.auth.policy import PROFILE_LABELS_ES, SCOPE_LABELS_ES, Profile, ScopeKind
from central.domain.clock import as_utc

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
STATIC_DIR = Path(__file__).resolve().parent / "static"
LIMA = ZoneInfo("America/Lima")


def lima(value: datetime | None, fmt: str = "%d/%m/%Y %H:%M") -> str:
    """A stored UTC datetime as Lima wall-clock time (America/Lima, UTC−5)."""
    if value is None:
        return "—"
    return as_utc(value).astimezone(LIMA).strftime(fmt)  # type: ignore[union-attr]


def lima_today_start_utc(now: datetime | None = None) -> datetime:
    """Midnight of today in Lima, as a UTC instant (for "today" figures)."""
    local = (now or datetime.now(UTC)).astimezone(LIMA)
    return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)


def profile_label(value: str) -> str:
    try:
        return PROFILE_LABELS_ES[Profile(value)]
    except ValueError:
        return value


def scope_label(value: str | None) -> str:
    try:
        return SCOPE_LABELS_ES[ScopeKind(value or "")]
    except ValueError:
        return value or "—"


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,  # every template, whatever its extension: stored text never becomes markup
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        zip=lambda left, right: zip(left, right, strict=False),
        lima=lima,
        profile_label=profile_label,
        scope_label=scope_label,
        action_label=action_label,
    )
    return env


ENV = _environment()


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, *, status: int = 200
) -> HTMLResponse:
    settings = request.app.state.settings
    data: dict[str, Any] = {
        "request": request,
        "path": request.url.path,
        "system_name": settings.system_name,
        "institution_name": settings.institution_name,
        "service_name": settings.service_name,
        "web": None,
        "errors": {},
        "message": None,
        "notice": None,
    }
    data.update(context or {})
    html = ENV.get_template(template).render(data)
    return HTMLResponse(html, status_code=status)
