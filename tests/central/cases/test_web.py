# ruff: noqa: F811 - the web fixtures are imported by name and then requested by name
"""The case-file pages in Debian's Chromium (Playwright): open a file, add an action with a
deadline in business days, upload a document, see refusals in Spanish; screenshots under
test-artifacts/screens/cases-*.png."""

from __future__ import annotations

import re

import pytest

from central.auth.policy import Profile, ScopeKind
from central.seed import DEMO_SEDE
from tests.central.cases.conftest import next_dni
from tests.central.web.conftest import (  # noqa: F401 - fixtures reused
    browser,
    page,
    shot,
    sign_in,
    web_server,
)

pytestmark = pytest.mark.browser
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def test_open_case_add_action_upload_document(web_server, page):
    account = web_server.make_user(
        Profile.DEFENSOR_PUBLICO,
        scope=ScopeKind.SEDE,
        sede=DEMO_SEDE,
        display_name="Dora Defensora",
    )
    sign_in(page, web_server, account)
    base = web_server.base_url
    page.goto(base + "/expedientes")
    assert page.locator("h1").inner_text() == "Expedientes"
    page.click("text=Abrir expediente")
    page.wait_for_url(base + "/expedientes/nuevo")
    # a bad DNI first: the form comes back with the Spanish message on the field
    page.select_option("#f-doc_type", "dni")
    page.fill("#f-doc_number", "1234")
    page.fill("#f-given_names", "Rosa Elena")
    page.fill("#f-surnames", "Quispe Mamani")
    page.select_option("#f-service", "defensa_victimas")
    page.select_option("#f-matter", "alimentos")
    page.select_option("#f-attention_type", "patrocinio")
    page.click("button:has-text('Abrir expediente')")
    assert "El DNI debe tener 8 dígitos." in page.locator("#e-doc_number").inner_text()
    shot(page, "cases-1-new-invalid-dni")
    page.fill("#f-doc_number", next_dni())
    page.fill("#f-birth_date", "1985-03-14")
    page.fill("#f-judicial_number", "00123-2024-0-1801-JR-FA-01")
    page.fill("#f-court", "1.er Juzgado de Paz Letrado de Lima")
    page.fill("#f-summary", "Demanda de alimentos para dos hijos menores de edad.")
    shot(page, "cases-2-new-filled")
    page.click("button:has-text('Abrir expediente')")
    page.wait_for_url(re.compile(r".*/expedientes/[0-9a-f-]+\?aviso=abierto"))
    assert "Expediente abierto." in page.locator(".notice").inner_text()
    number = page.locator("h1").inner_text().removeprefix("Expediente ")
    assert re.match(r"^DD-LIMA-\d{4}-\d{6}$", number), number
    shot(page, "cases-3-detail-opened")

    # an action whose deadline ends before it: refused, nothing added
    page.select_option("#f-action_type", "escrito")
    page.fill("#f-action_date", "2024-12-23")
    page.fill("#f-notes", "Se presentó la demanda de alimentos.")
    page.fill("#f-deadline_title", "Absolver traslado")
    page.fill("#f-deadline_due_date", "2024-12-20")
    page.click("button:has-text('Registrar actuación')")
    assert "anterior a la fecha de inicio" in page.locator("[role=alert]").inner_text()
    assert page.locator("#actuaciones tbody tr").first.inner_text() == "Sin actuaciones."
    shot(page, "cases-4-action-refused")
    page.fill("#f-deadline_due_date", "")
    page.fill("#f-deadline_business_days", "3")
    page.click("button:has-text('Registrar actuación')")
    page.wait_for_url(re.compile(r".*aviso=actuacion.*"))
    rows = page.locator("#actuaciones tbody tr")
    assert "Escrito presentado" in rows.first.inner_text()
    # 23 Dec 2024 + 3 business days skips Christmas: 27/12/2024
    assert "27/12/2024" in page.locator("#h-plazos + .table-wrap").inner_text()
    assert page.locator(".status").first.inner_text() == "En trámite"

    # a forbidden file type, then a real PDF
    page.set_input_files(
        "#f-file",
        files=[
            {
                "name": "programa.exe",
                "mimeType": "application/octet-stream",
                "buffer": b"MZ\x90\x00",
            }
        ],
    )
    page.click("button:has-text('Adjuntar documento')")
    assert "Tipo de archivo no permitido" in page.locator("#e-file").inner_text()
    shot(page, "cases-5-upload-refused")
    page.set_input_files(
        "#f-file", files=[{"name": "demanda.pdf", "mimeType": "application/pdf", "buffer": PDF}]
    )
    page.select_option("#f-category", "escrito")
    page.click("button:has-text('Adjuntar documento')")
    page.wait_for_url(re.compile(r".*aviso=documento.*"))
    link = page.locator("#documentos a", has_text="demanda.pdf")
    assert link.count() == 1
    with page.expect_download() as download:
        link.click()
    assert open(download.value.path(), "rb").read() == PDF
    timeline = page.locator(".timeline").inner_text()
    for expected in (
        "Apertura del expediente",
        "Actuación",
        "Plazo registrado",
        "Documento adjuntado",
        "Cambio de estado",
    ):
        assert expected in timeline, timeline
    shot(page, "cases-6-detail-complete")

    # the list finds it by document-less name search and by number
    page.goto(base + "/expedientes?q=quispe+rosa")
    assert number in page.locator("table").inner_text()
    page.goto(base + f"/expedientes?numero={number}")
    assert page.locator("tbody tr").count() == 1
    shot(page, "cases-7-list")
