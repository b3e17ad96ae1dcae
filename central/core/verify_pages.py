"""The public verification page of signed documents (``/verificar/{code}``, no sign-in): what
document, its number, date, issuer, SHA-256 and whether it is still valid. Nothing personal."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, StrictUndefined

from central.auth.deps import SessionDep, public, read_only
from central.core import signed

router = APIRouter(include_in_schema=False)
Code = Annotated[str, Path(min_length=8, max_length=40, pattern=r"^[A-Za-z0-9]+$")]

_PAGE = Environment(autoescape=True, undefined=StrictUndefined).from_string(
    """<!doctype html>
<html lang="es"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Verificación de documento — {{ system_name }}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;color:#1b1b1b}
h1{font-size:1.4rem}.ok{color:#0b6b2b}.bad{color:#a4000f}dl{display:grid;grid-template-columns:12rem 1fr;gap:.4rem}
dt{font-weight:600}dd{margin:0;word-break:break-all}.box{border:2px solid #ccc;border-radius:8px;padding:1rem}
</style></head><body>
<p>{{ institution_name }} — {{ system_name }}</p>
<h1>Verificación de documento</h1>
{% if doc is none %}
<div class="box"><p class="bad" id="resultado">No existe un documento con el código {{ code }}.</p></div>
{% else %}
<div class="box">
<p id="resultado" class="{{ 'ok' if doc.status == 'valid' else 'bad' }}">
{% if doc.status == 'valid' %}Documento auténtico y vigente.{% else %}Documento auténtico, {{ status_label|lower }}.{% endif %}</p>
<dl>
<dt>Documento</dt><dd>{{ doc.title }}</dd>
<dt>Número</dt><dd id="numero">{{ doc.number }}</dd>
<dt>Fecha de emisión</dt><dd>{{ doc.issued_on.strftime('%d/%m/%Y') }}</dd>
<dt>Emitido por</dt><dd>{{ doc.issuer }}</dd>
<dt>Estado</dt><dd id="estado">{{ status_label }}{% if doc.status_note %}: {{ doc.status_note }}{% endif %}</dd>
<dt>Huella SHA-256</dt><dd id="hash"><code>{{ doc.sha256 }}</code></dd>
</dl>
<p>Compare la huella con la del archivo PDF recibido (por ejemplo con <code>sha256sum</code>).</p>
</div>
{% endif %}
</body></html>"""
)


@router.get("/verificar/{code}", dependencies=[Depends(public)])
@read_only
def verification_page(request: Request, code: Code, session: SessionDep) -> HTMLResponse:
    document = signed.by_code(session=session, code=code.upper())
    settings = request.app.state.settings
    html = _PAGE.render(
        doc=document,
        code=code,
        status_label=signed.STATUS_LABELS_ES.get(document.status, "") if document else "",
        system_name=settings.system_name,
        institution_name=settings.institution_name,
    )
    return HTMLResponse(html, status_code=200 if document else 404)
