# ruff: noqa: F811 - fixtures imported by name and then requested by name
"""Module 05 in Debian's Chromium against a real central server: the psychologist's tray and
week agenda, the report editor (a sign refused naming the empty section, then signed), the
defender's view of where the request stands, the coordinator's production report and "quién
vio qué". Screenshots go to test-artifacts/screens/md-*.png."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from central.auth.policy import Area, Profile, ScopeKind
from central.cases import service as cases
from central.cases.schemas import CaseCreate
from central.cases.settings import CasesSettings
from central.citizens import service as citizens
from central.citizens.schemas import CitizenCreate
from central.core.db import make_engine, session_scope
from central.domain.actor import Actor
from central.multidisciplinary import service
from central.multidisciplinary.schemas import AssignIn, RequestCreate, SessionCreate
from central.multidisciplinary.settings import MultidisciplinarySettings
from central.seed import DEMO_SEDE
from central.users.models import User
from tests.central.web.conftest import (  # noqa: F401 - fixtures browser, page, web_server
    browser,
    page,
    shot,
    sign_in,
    sign_out,
    web_server,
)

from .conftest import PSYCH_CONTENT

pytestmark = pytest.mark.browser


def _arrange(server) -> dict:
    coordinator = server.make_user(
        Profile.COORDINADOR_SEDE,
        scope=ScopeKind.SEDE,
        sede=DEMO_SEDE,
        display_name="Coordinadora Lucía Ramos",
    )
    defender = server.make_user(
        Profile.DEFENSOR_PUBLICO,
        scope=ScopeKind.SEDE,
        sede=DEMO_SEDE,
        display_name="Defensor Miguel Castro",
    )
    psych = server.make_user(
        Profile.PSICOLOGO,
        scope=ScopeKind.SEDE,
        sede=DEMO_SEDE,
        display_name="Psicóloga Elena Paredes",
    )
    engine = make_engine(server.database_url)
    try:
        with session_scope(engine) as session:
            ids = {u.username: u for u in session.query(User).all()}
            actor = lambda account, profile: Actor(  # noqa: E731
                user_id=ids[account.username].id,
                username=account.username,
                profiles=(profile,),
                scope_kind="sede",
                sede_id=DEMO_SEDE,
            )
            citizen = citizens.create_citizen(
                session=session,
                actor=Actor.system("tests"),
                data=CitizenCreate(
                    sede_id=DEMO_SEDE,
                    doc_type="dni",
                    doc_number="73456789",
                    given_names="Rosa Elena",
                    surnames="Quispe Mamani",
                    confirm_not_duplicate=True,
                ),
            )
            case = cases.open_case(
                session=session,
                actor=Actor.system("tests"),
                data=CaseCreate(
                    sede_id=DEMO_SEDE,
                    service="defensa_victimas",
                    matter="alimentos",
                    attention_type="patrocinio",
                    client_citizen_id=citizen.id,
                    assigned_user_id=ids[defender.username].id,
                    summary="Demanda de alimentos.",
                ),
                area=None,
                settings=CasesSettings(),
            )
            everywhere = Area(national=True)
            settings = MultidisciplinarySettings()
            request = service.create_request(
                session=session,
                actor=actor(defender, "defensor_publico"),
                area=everywhere,
                settings=settings,
                data=RequestCreate(
                    service_type="pericia_psicologica",
                    case_id=case.id,
                    questions="¿Presenta la evaluada afectación psicológica compatible con los hechos?",
                    authority_kind="fiscalia",
                    authority_name="1.a Fiscalía Provincial Penal de Lima",
                    authority_file_number="506-2026-0",
                ),
            )
            service.assign_request(
                session=session,
                actor=actor(coordinator, "coordinador_sede"),
                area=everywhere,
                request_id=request.id,
                data=AssignIn(professional_id=ids[psych.username].id),
            )
            tomorrow = (datetime.now(UTC) + timedelta(days=1)).replace(
                hour=15, minute=0, second=0, microsecond=0
            )
            service.schedule_session(
                session=session,
                actor=actor(psych, "psicologo"),
                area=everywhere,
                request_id=request.id,
                data=SessionCreate(starts_at=tomorrow, minutes=90, place="Consultorio 2"),
            )
            result = {"request_id": request.id, "citizen_id": citizen.id, "week": tomorrow.date()}
    finally:
        engine.dispose()
    return {"coordinator": coordinator, "defender": defender, "psych": psych, **result}


def test_multidisciplinary_pages_in_chromium(web_server, page):
    server = web_server
    base = server.base_url
    people = _arrange(server)
    request_url = f"{base}/multidisciplinario/solicitudes/{people['request_id']}"
    # the psychologist: tray, agenda, editor
    sign_in(page, server, people["psych"])
    page.click("nav >> text=Servicios multidisciplinarios")
    page.wait_for_selector("h2:has-text('Mi bandeja')")
    assert "Pericia psicológica" in page.locator("#bandeja").inner_text()
    shot(page, "md-01-tray")
    page.goto(f"{base}/multidisciplinario/agenda?semana={people['week'].isoformat()}")
    assert "Consultorio 2" in page.locator("#agenda").inner_text()
    shot(page, "md-02-agenda")
    page.goto(request_url)
    for key, value in PSYCH_CONTENT.items():
        if key != "conclusions":
            page.fill(f"#f-{key}", value)
    page.click("#firmar")
    page.wait_for_selector("#error")
    assert "falta completar la sección «Conclusiones»" in page.locator("#error").inner_text()
    shot(page, "md-03-editor-refused")
    page.fill("#f-conclusions", PSYCH_CONTENT["conclusions"])
    page.click("button:has-text('Guardar borrador')")
    page.wait_for_selector("text=Borrador guardado.")
    preview = page.locator("a:has-text('Vista previa')").get_attribute("href")
    assert page.request.get(base + preview).body().startswith(b"%PDF")
    page.click("#firmar")
    page.wait_for_selector("text=Informe firmado digitalmente.")
    code = page.locator("#versiones a").first.inner_text()
    shot(page, "md-04-signed")
    sign_out(page)
    # the public verification page (no sign-in)
    page.goto(f"{base}/verificar/{code}")
    assert "Documento auténtico y vigente" in page.locator("#resultado").inner_text()
    # the defender sees where the request stands
    sign_in(page, server, people["defender"])
    page.goto(f"{base}/multidisciplinario")
    assert "Informe firmado" in page.locator("#mis-solicitudes").inner_text()
    page.goto(request_url)
    assert "(estado actual)" in page.locator("#estado").inner_text()
    shot(page, "md-05-requester")
    sign_out(page)
    # the coordinator: production and quién vio qué
    sign_in(page, server, people["coordinator"])
    page.goto(f"{base}/multidisciplinario/produccion")
    assert "Psicóloga Elena Paredes" in page.locator("#produccion").inner_text()
    xlsx = page.request.get(f"{base}/multidisciplinario/produccion?formato=xlsx")
    assert xlsx.body().startswith(b"PK")
    shot(page, "md-06-production")
    page.goto(f"{base}/multidisciplinario/personas/{people['citizen_id']}/quien-vio")
    assert "Elaboración del informe" in page.locator("#quien-vio").inner_text()
    shot(page, "md-07-who-saw")
