# ruff: noqa: F811 - fixtures imported by name and then requested by name
"""The conciliation flow in Debian's Chromium against a real central server: a conciliator
registers a solicitud, the coordinator designates, the conciliator schedules, invites, records
delivery and attendance, the agreement and the conclusion, the verifying lawyer approves, the
acta is issued signed and its public verification page shows it. Screenshots of each page go to
test-artifacts/screens/conciliation-*.png."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from central.auth.policy import Profile, ScopeKind
from central.citizens import service as citizens
from central.citizens.schemas import CitizenCreate
from central.conciliation.models import ConcProfessional
from central.core.db import make_engine, session_scope
from central.domain.actor import Actor
from central.seed import DEMO_SEDE
from central.users.models import User
from tests.central.web.conftest import (  # noqa: F401 - fixtures browser, page
    WebServer,
    _start,
    _stop,
    browser,
    page,
    shot,
    sign_in,
    sign_out,
)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def conc_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    """central with same-day sessions allowed (no minimum notice), so the flow fits one run."""
    workdir = tmp_path_factory.mktemp("central-conc")
    previous = os.environ.get("ALEGRA_CONCILIATION_MIN_NOTICE_BUSINESS_DAYS")
    os.environ["ALEGRA_CONCILIATION_MIN_NOTICE_BUSINESS_DAYS"] = "0"
    try:
        server = _start(f"sqlite:///{workdir / 'central.sqlite3'}", workdir)
    finally:
        if previous is None:
            os.environ.pop("ALEGRA_CONCILIATION_MIN_NOTICE_BUSINESS_DAYS")
        else:
            os.environ["ALEGRA_CONCILIATION_MIN_NOTICE_BUSINESS_DAYS"] = previous
    yield server
    _stop(server)


def _arrange(server: WebServer) -> dict:
    coordinator = server.make_user(
        Profile.COORDINADOR_SEDE,
        scope=ScopeKind.SEDE,
        sede=DEMO_SEDE,
        display_name="Coordinadora Lucía Ramos",
    )
    conciliator = server.make_user(
        Profile.CONCILIADOR,
        scope=ScopeKind.SEDE,
        sede=DEMO_SEDE,
        display_name="Conciliadora Carmen Villanueva",
    )
    verifier = server.make_user(
        Profile.ABOGADO_VERIFICADOR,
        scope=ScopeKind.SEDE,
        sede=DEMO_SEDE,
        display_name="Abogado Jorge Paredes",
    )
    engine = make_engine(server.database_url)
    docs = {}
    try:
        with session_scope(engine) as session:
            ids = {u.username: u.id for u in session.query(User).all()}
            session.add(
                ConcProfessional(
                    user_id=ids[conciliator.username],
                    full_name="Carmen Rosa Villanueva Torres",
                    doc_number="44556677",
                    conciliator_registration="31245",
                    family_specialty_registration="8812",
                )
            )
            session.add(
                ConcProfessional(
                    user_id=ids[verifier.username],
                    full_name="Jorge Luis Paredes Salas",
                    doc_number="40112233",
                    bar_registration="CAL 45678",
                )
            )
            for key, given, surnames, dni in (
                ("ana", "Ana María", "Quispe Huamán", "71234567"),
                ("luis", "Luis Alberto", "Rojas Pérez", "72345678"),
            ):
                citizens.create_citizen(
                    session=session,
                    actor=Actor.system("tests"),
                    data=CitizenCreate(
                        sede_id=DEMO_SEDE,
                        doc_type="dni",
                        doc_number=dni,
                        given_names=given,
                        surnames=surnames,
                        address="Jr. Las Flores 123, Cercado de Lima",
                        confirm_not_duplicate=True,
                    ),
                )
                docs[key] = dni
    finally:
        engine.dispose()
    return {
        "coordinator": coordinator,
        "conciliator": conciliator,
        "verifier": verifier,
        "docs": docs,
    }


def test_conciliation_flow_in_chromium(conc_server, page):
    server = conc_server
    base = server.base_url
    people = _arrange(server)
    # the conciliator registers the solicitud
    sign_in(page, server, people["conciliator"])
    page.click("nav >> text=Conciliación")
    page.wait_for_selector("h1:has-text('Bandeja de conciliación')")
    shot(page, "conciliation-01-tray-empty")
    page.click("text=Nueva solicitud")
    page.select_option("#f-matter", "alimentos")
    page.fill("#f-solicitante_doc", people["docs"]["ana"])
    page.fill("#f-invitado_doc", people["docs"]["luis"])
    page.fill(
        "#f-facts",
        "La solicitante y el invitado son padres de una niña de 6 años que vive con la madre.",
    )
    page.fill("#f-controversy", "El invitado no aporta regularmente a los alimentos de la menor.")
    page.fill("#f-claim", "Pensión de alimentos de S/ 600 mensuales.")
    shot(page, "conciliation-02-new")
    page.click("button:has-text('Registrar solicitud')")
    page.wait_for_selector("text=Solicitud registrada.")
    file_url = page.url.split("?")[0]
    assert page.locator("#etapa").inner_text() == "Solicitud"
    sign_out(page)
    # the coordinator designates the least loaded conciliator
    sign_in(page, server, people["coordinator"])
    page.goto(base + "/conciliacion/centro")
    shot(page, "conciliation-03-centre")
    page.goto(file_url)
    page.select_option(
        "#f-conciliator", label="Conciliadora Carmen Villanueva — 0 expediente(s) abierto(s)"
    )
    page.select_option("#f-verifier", label="Abogado Jorge Paredes")
    shot(page, "conciliation-03b-designation")
    page.click("button:has-text('Confirmar designación')")
    page.wait_for_selector("text=Designación registrada.")
    sign_out(page)
    # the conciliator runs the audiencia
    sign_in(page, server, people["conciliator"])
    page.goto(file_url)
    when = (
        (datetime.now(UTC) + timedelta(minutes=3))
        .astimezone(ZoneInfo("America/Lima"))
        .strftime("%Y-%m-%dT%H:%M")
    )
    page.fill("#f-when", when)
    page.click("button:has-text('Programar sesión')")
    page.wait_for_selector("text=Sesión programada")
    page.click("button:has-text('Emitir invitación a Invitado 1')")
    page.wait_for_selector("text=Invitación emitida.")
    invitation = page.locator("#invitaciones a:has-text('PDF')").get_attribute("href")
    assert page.request.get(base + invitation).body().startswith(b"%PDF")
    page.fill("#invitaciones input[name=received_by]", "El invitado en persona")
    page.click("button:has-text('Registrar entrega')")
    page.wait_for_selector("text=Entrega registrada.")
    shot(page, "conciliation-04-file-invited")
    page.click("button:has-text('Registrar asistencia')")
    page.wait_for_selector("text=Asistencia registrada.")
    page.fill("#f-amount", "600")
    page.select_option("#f-periodicity", "mensual")
    page.fill("#f-start", "2027-01-05")
    page.fill(
        "#f-desc", "Pensión de alimentos a favor de la menor, depositada en la cuenta de la madre"
    )
    page.click("#form-obligacion button[type=submit]")
    page.wait_for_selector("text=Obligaciones registradas.")
    page.select_option("#f-way", "acuerdo_total")
    page.click("button:has-text('Registrar conclusión')")
    page.wait_for_selector("text=Conclusión registrada.")
    assert "Falta" not in page.locator("#checklist").inner_text()
    shot(page, "conciliation-05-checklist")
    preview = page.locator("#ver-borrador").get_attribute("href")
    assert page.request.get(base + preview).body().startswith(b"%PDF")
    sign_out(page)
    # the verifying lawyer approves the draft
    sign_in(page, server, people["verifier"])
    page.goto(file_url)
    page.click("button:has-text('Dar conformidad al acta')")
    page.wait_for_selector("text=Conformidad del abogado verificador registrada.")
    sign_out(page)
    # the conciliator issues the signed acta
    sign_in(page, server, people["conciliator"])
    page.goto(file_url)
    page.click("#emitir-acta")
    page.wait_for_selector("text=Acta emitida y firmada digitalmente por el centro.")
    assert page.locator("#etapa").inner_text() == "Acta emitida"
    assert "Vigente" in page.locator("#actas").inner_text()
    shot(page, "conciliation-06-acta-issued")
    pdf = page.locator("#actas a:has-text('PDF firmado')").get_attribute("href")
    assert page.request.get(base + pdf).body().startswith(b"%PDF")
    verify = page.locator("#actas a:has-text('Verificación pública')").get_attribute("href")
    sign_out(page)
    page.goto(base + "/verificar/" + verify.rsplit("/", 1)[1])  # no sign-in needed
    assert "auténtico y vigente" in page.locator("#resultado").inner_text()
    assert "Quispe" not in page.content()
    shot(page, "conciliation-07-verification")
