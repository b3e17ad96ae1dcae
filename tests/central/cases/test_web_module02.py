# ruff: noqa: F811 - the web fixtures are imported by name and then requested by name
"""Module 02 pages in Debian's Chromium (Playwright) against a real central server: a party
refused for a conflict of interest (the warning names the other file) and a party withdrawn;
an internal referral accepted by the receiving sede, then an external one with its letter as
PDF; a sworn statement with a bad income (Spanish field error) then a good one, verified as
"no gratuidad"; two duplicate people merged with confirmation and history; the RENIEC prefill.
Laptop and tablet widths, screenshots under test-artifacts/screens/m02-*.png."""

from __future__ import annotations

import re

import httpx
import pytest

from central.auth.policy import Profile, ScopeKind
from central.seed import DEMO_MEGA, DEMO_SEDE
from tests.central.cases.conftest import next_dni
from tests.central.web.conftest import (  # noqa: F401 - fixtures reused
    LAPTOP,
    TABLET_PORTRAIT,
    Account,
    WebServer,
    _new_page,
    browser,
    no_horizontal_scroll,
    page,
    shot,
    sign_in,
    web_server,
)

pytestmark = pytest.mark.browser


def api(server: WebServer, account: Account) -> httpx.Client:
    """An API client signed in as the account (arranging data without the pages under test)."""
    body = {"username": account.username, "password": account.password}
    if account.totp_secret:
        body["totp_code"] = server.totp_code(account.username, account.totp_secret)
    http = httpx.Client(base_url=server.base_url + "/api/v1", timeout=30)
    token = http.post("/auth/token", json=body)
    assert token.status_code == 200, token.text
    http.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
    return http


def open_case(http: httpx.Client, sede: str, **client) -> dict:
    person = {
        "sede_id": sede,
        "doc_type": "dni",
        "doc_number": next_dni(),
        "given_names": "Carmen Rosa",
        "surnames": "Ticona Flores",
        **client,
    }
    response = http.post(
        "/cases",
        json={
            "sede_id": sede,
            "service": "asistencia_legal",
            "matter": "alimentos",
            "attention_type": "patrocinio",
            "client": person,
            "summary": "Demanda de alimentos.",
        },
    )
    assert response.status_code == 201, response.text
    return response.json()


def check_widths(page, name: str) -> None:  # noqa: ANN001
    """The current page at laptop and tablet widths: no sideways scrolling; screenshots."""
    for label, viewport in (("laptop", LAPTOP), ("tablet", TABLET_PORTRAIT)):
        page.set_viewport_size(viewport)
        assert no_horizontal_scroll(page), f"{name} scrolls sideways at {label} width"
        shot(page, f"{name}-{label}")
    page.set_viewport_size(LAPTOP)


def test_reniec_prefill_then_party_conflict_warning_and_withdrawal(web_server, page):
    base = web_server.base_url
    defender = web_server.make_user(
        Profile.DEFENSOR_PUBLICO, scope=ScopeKind.SEDE, sede=DEMO_SEDE, display_name="Dora"
    )
    http = api(web_server, defender)
    sign_in(page, web_server, defender)

    # first file, opened through the form with the names prefilled from RENIEC (the fake)
    page.goto(base + "/expedientes/nuevo")
    page.fill("#f-doc_number", "1234")
    page.click("button:has-text('Consultar RENIEC')")
    page.wait_for_selector("#reniec-status.reniec-warn")
    assert "8 dígitos" in page.locator("#reniec-status").inner_text()
    page.fill("#f-doc_number", "70000002")  # a fictitious person the fake knows
    page.click("button:has-text('Consultar RENIEC')")
    page.wait_for_selector(".reniec-ok")
    assert page.input_value("#f-given_names") == "Juan Carlos"
    assert page.input_value("#f-surnames") == "Huamán Torres"
    assert page.input_value("#f-birth_date") == "1979-11-02"
    shot(page, "m02-01-reniec-prefill")
    page.select_option("#f-service", "defensa_penal")
    page.select_option("#f-matter", "penal_defensa")
    page.click("button:has-text('Abrir expediente')")
    page.wait_for_url(re.compile(r".*/expedientes/[0-9a-f-]+\?aviso=abierto"))
    first_number = page.locator("h1").inner_text().removeprefix("Expediente ")

    # second file: its counterpart is the client of the first one
    second = open_case(http, DEMO_SEDE)
    page.goto(base + f"/expedientes/{second['id']}")
    page.select_option("#f-party_role", "counterpart")
    page.fill("#f-party_name", "Juan Carlos Huamán Torres")
    page.select_option("#f-party_doc_type", "dni")
    page.fill("#f-party_doc_number", "70000002")
    page.click("button:has-text('Agregar parte')")
    warning = page.locator("#conflicto")
    assert "Conflicto de intereses" in warning.inner_text()
    assert first_number in warning.inner_text()
    assert "la parte no se registró" in warning.inner_text()
    assert warning.inner_text().count("Conflicto de intereses") == 1
    assert page.locator("#partes tbody tr").count() == 1  # only the client
    assert page.input_value("#f-party_doc_number") == "70000002"  # the form keeps what was typed
    check_widths(page, "m02-02-party-conflict")
    page.click("#conflicto a:has-text('Derivar el expediente')")
    assert page.url.endswith("#derivaciones")

    # a counterpart without a conflict, then withdrawn with a reason
    page.select_option("#f-party_role", "counterpart")
    page.fill("#f-party_name", "Pedro Quispe Lazo")
    page.fill("#f-party_doc_number", next_dni())
    page.click("button:has-text('Agregar parte')")
    page.wait_for_url(re.compile(r".*aviso=parte#partes"))
    row = page.locator("#partes tbody tr", has_text="Pedro Quispe Lazo")
    assert "Contraparte" in row.inner_text()
    row.locator("summary:has-text('Retirar')").click()
    row.locator("input[name=removal_reason]").fill("Registrado por error: es testigo")
    shot(page, "m02-03-party-remove")
    row.locator("button:has-text('Retirar')").click()
    page.wait_for_url(re.compile(r".*aviso=parte-retirada.*"))
    assert page.locator("#partes tbody tr", has_text="Pedro Quispe Lazo").count() == 0
    assert "Parte retirada" in page.locator(".timeline").inner_text()
    assert any("Retirar a esta parte" in message for _, message in page.dialogs)


def test_internal_referral_accepted_then_external_letter(web_server, page, browser):
    base = web_server.base_url
    sender = web_server.make_user(Profile.DEFENSOR_PUBLICO, scope=ScopeKind.SEDE, sede=DEMO_SEDE)
    receiver = web_server.make_user(
        Profile.DEFENSOR_PUBLICO, scope=ScopeKind.SEDE, sede=DEMO_MEGA, display_name="Rita"
    )
    case = open_case(api(web_server, sender), DEMO_SEDE)
    sign_in(page, web_server, sender)
    page.goto(base + f"/expedientes/{case['id']}")
    # the referral form shows only the fields of the chosen kind
    assert page.locator("#f-institution").is_hidden()
    page.click("button:has-text('Registrar derivación')")  # no reason
    assert "obligatorio" in page.locator("#e-ref_reason").inner_text().lower()
    page.check("input[name=ref_kind][value=internal]")
    page.select_option("#f-to_sede_id", DEMO_MEGA)
    page.select_option("#f-to_service", "defensa_victimas")
    page.fill("#f-ref_reason", "Requiere peritaje psicológico del equipo multidisciplinario.")
    shot(page, "m02-04-referral-form")
    page.click("button:has-text('Registrar derivación')")
    page.wait_for_url(re.compile(r".*aviso=derivado#derivaciones"))
    assert page.locator(".page-head .status").inner_text() == "Derivado"
    assert "Pendiente de aceptación" in page.locator("#derivaciones tbody").inner_text()
    check_widths(page, "m02-05-referral-pending")

    context, other = _new_page(browser, LAPTOP)
    try:
        sign_in(other, web_server, receiver)
        other.goto(base + "/expedientes")
        other.click("a:has-text('Derivaciones recibidas')")
        other.wait_for_url(base + "/derivaciones")
        row = other.locator("tbody tr", has_text=case["number"])
        assert "Requiere peritaje" in row.inner_text()
        check_widths(other, "m02-06-incoming")
        row.locator("button:has-text('Aceptar')").click()
        other.wait_for_url(re.compile(r".*aviso=aceptada#derivaciones"))
        assert "Aceptada" in other.locator("#derivaciones tbody").inner_text()
        assert other.locator(".page-head .status").inner_text() == "En trámite"
        # now the receiving sede refers it outside, with a letter
        other.check("input[name=ref_kind][value=external]")
        assert other.locator("#f-to_sede_id").is_hidden()
        other.select_option("#f-institution", "cem")
        other.fill("#f-institution_detail", "CEM Cercado de Lima")
        other.fill("#f-ref_reason", "Acompañamiento psicológico y social a la víctima.")
        other.click("button:has-text('Registrar derivación')")
        other.wait_for_url(re.compile(r".*aviso=derivado#derivaciones"))
        external = other.locator("#derivaciones tbody tr", has_text="Centro Emergencia Mujer")
        assert "Enviada" in external.inner_text()
        shot(other, "m02-07-referrals-done")
        with other.expect_popup() as popup:
            external.locator("a:has-text('Ver e imprimir')").click()
        letter = popup.value
        letter.wait_for_load_state()
        assert "DERIVACIÓN DE CASO" in letter.locator("body").inner_text()
        assert case["number"] in letter.locator("body").inner_text()
        shot(letter, "m02-08-letter")
        letter.close()
        with other.expect_download() as download:
            external.locator("a:has-text('Descargar PDF')").click()
        with open(download.value.path(), "rb") as handle:
            assert handle.read(5) == b"%PDF-"
    finally:
        context.close()


def test_sworn_statement_bad_income_then_good_then_no_gratuidad(web_server, page):
    base = web_server.base_url
    verifier = web_server.make_user(
        Profile.ABOGADO_VERIFICADOR, scope=ScopeKind.SEDE, sede=DEMO_SEDE
    )
    case = open_case(api(web_server, verifier), DEMO_SEDE, given_names="Nélida")
    person = case["client_citizen_id"]
    sign_in(page, web_server, verifier)
    page.goto(base + f"/personas/{person}")
    page.fill("#f-household_size", "4")
    page.fill("#f-dependants", "2")
    page.fill("#f-monthly_income_soles", "mil soles")
    page.click("button:has-text('Registrar declaración')")
    assert "solo números" in page.locator("#e-monthly_income_soles").inner_text()
    assert page.locator("#f-monthly_income_soles").get_attribute("aria-invalid") == "true"
    assert page.input_value("#f-household_size") == "4"  # nothing typed is lost
    assert "Sin declaración jurada" in page.locator("#declaracion tbody").inner_text()
    check_widths(page, "m02-09-statement-bad-income")
    page.fill("#f-dependants", "9")
    page.fill("#f-monthly_income_soles", "S/ 1,250.50")
    page.click("button:has-text('Registrar declaración')")
    assert "más que los integrantes" in page.locator("#e-dependants").inner_text()
    page.fill("#f-dependants", "2")
    page.click("button:has-text('Registrar declaración')")
    page.wait_for_url(re.compile(r".*aviso=declaracion#declaracion"))
    assert "Pendiente de verificación" in page.locator("#declaracion tbody").inner_text()
    # the income is shown only on the audited page
    assert page.input_value("#f-monthly_income_soles") == ""
    assert "S/ 1250" not in page.locator("main").inner_text()

    # verification: "no gratuidad" needs its resolution number
    page.check("input[name=outcome][value=no_gratuidad]")
    page.click("button:has-text('Registrar verificación')")
    assert "resolución" in page.locator("#e-resolution_number").inner_text().lower()
    shot(page, "m02-10-verification-error")
    page.check("input[name=outcome][value=no_gratuidad]")
    page.fill("#f-resolution_number", "RNG-0042-2026")
    page.click("button:has-text('Registrar verificación')")
    page.wait_for_url(re.compile(r".*aviso=verificada#declaracion"))
    assert "No gratuidad" in page.locator("#declaracion tbody").inner_text()
    check_widths(page, "m02-11-no-gratuidad")

    page.click("a:has-text('Ver ingresos declarados')")
    assert "S/ 1250.50" in page.locator("tbody").inner_text()
    assert "auditoría" in page.locator(".alert-info").inner_text()
    shot(page, "m02-12-income-audited")
    page.goto(base + f"/expedientes/{case['id']}")
    assert "resolución de no gratuidad" in page.locator(".eligibility-line").inner_text()


def test_merge_two_duplicate_people(web_server, page):
    base = web_server.base_url
    coordinator = web_server.make_user(
        Profile.COORDINADOR_SEDE, scope=ScopeKind.SEDE, sede=DEMO_SEDE, display_name="Coco"
    )
    http = api(web_server, coordinator)
    first = open_case(
        http,
        DEMO_SEDE,
        given_names="Hilda",
        surnames="Mamani Choque",
        birth_date="1970-06-15",
    )
    kept = first["client_citizen_id"]
    sign_in(page, web_server, coordinator)
    # the same person comes back without her DNI; the clerk registers her and is warned
    page.goto(base + "/personas")
    page.click("a:has-text('Registrar persona')")
    page.select_option("#f-doc_type", "ninguno")
    assert page.locator("button:has-text('Consultar RENIEC')").is_hidden()  # DNI only
    page.fill("#f-given_names", "Hilda")
    page.fill("#f-surnames", "Mamany Choque")  # typed differently at another visit
    page.fill("#f-birth_date", "1970-06-15")
    page.check("input[name=flags][value=adulto_mayor]")
    page.click("button:has-text('Registrar persona')")
    box = page.locator(".duplicates-box")
    assert "datos muy parecidos" in box.inner_text()
    assert "Mamani Choque Hilda" in box.inner_text()
    assert page.is_checked("input[name=flags][value=adulto_mayor]")  # nothing typed is lost
    check_widths(page, "m02-13a-register-possible-duplicate")
    page.check("input[name=confirm_not_duplicate]")
    page.click("button:has-text('Registrar persona')")
    page.wait_for_url(re.compile(r".*/personas/[0-9a-f-]+\?aviso=registrada"))
    absorbed = page.url.split("/personas/")[1].split("?")[0]
    page.goto(base + "/personas?q=choque+hilda")
    assert page.locator("tbody tr").count() >= 2
    page.goto(base + f"/personas/{kept}")
    candidates = page.locator("#duplicados tbody tr")
    assert "misma fecha de nacimiento" in candidates.first.inner_text()
    assert "Mamany Choque Hilda" in candidates.first.inner_text()
    check_widths(page, "m02-13-duplicates")
    candidates.first.locator("a:has-text('Comparar y fusionar')").click()
    page.wait_for_url(re.compile(r".*/fusionar\?con=.*"))
    page.click("button:has-text('Fusionar registros')")  # no reason, no confirmation
    assert "misma persona" in page.locator("#e-confirm").inner_text()
    assert page.locator("#e-reason").count() == 1
    check_widths(page, "m02-14-merge-errors")
    page.check(f"input[name=survivor_id][value='{kept}']")
    page.fill("#f-reason", "Misma persona: el segundo registro se hizo sin documento")
    page.check("input[name=confirm]")
    page.click("button:has-text('Fusionar registros')")
    page.wait_for_url(re.compile(rf".*/personas/{kept}\?aviso=fusionado"))
    assert "Registros fusionados" in page.locator(".notice").inner_text()
    assert "Adulto mayor" in page.locator("#h-datos + dl").inner_text()  # flags carried over
    assert "se absorbió el registro de Mamany Choque Hilda" in page.locator("main").inner_text()
    assert any("Fusionar los dos registros" in m for _, m in page.dialogs)
    shot(page, "m02-15-merged")
    page.goto(base + f"/personas/{absorbed}")
    assert "fue fusionado en" in page.locator(".alert-info").inner_text()
    assert page.locator("#duplicados").count() == 0
    shot(page, "m02-16-merged-record")
