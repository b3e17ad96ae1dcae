"""'Abrir expediente' at the counter: offered after an attended ticket, checked locally (DNI of
8 digits, names, matter from the hub's catalogue, summary), sent as one open_case_intake
command, and forgotten once sent or cancelled. View-model without widgets, then the form with
qtbot, rendered to PNG."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QLabel

from contracts.messages import CounterState
from counter.screens import FIXED_NOW, attended_ticket, counter_state, sample_intakes
from counter.style import stylesheet
from counter.viewmodel import IntakeForm
from counter.views import CounterWindow
from qtcommon.screenshot import distinct_colours, save_png

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "counter"
GOOD = IntakeForm(
    doc_type="dni",
    doc_number="40718293",
    given_names=" María  Elena ",
    surnames="Condori Huanca",
    service_code="orientacion",
    matter="alimentos",
    summary="  Pide pensión de alimentos para sus dos hijos.  ",
)


def serving() -> CounterState:
    return counter_state("serving")


def finish_attended(model, sender) -> None:
    """F4 → Atendido, answered by the hub with the finished ticket, then the idle state."""
    model.apply_counter_state(serving())
    model.finish()
    assert sender.actions[-1] == "finish_attention"
    sender.reply_ok({"ticket": attended_ticket().model_dump(mode="json")})
    model.apply_counter_state(counter_state("idle"))


def test_offered_only_after_an_attended_ticket(model, sender):
    model.apply_counter_state(counter_state("idle"))
    assert not model.enabled("intake")
    finish_attended(model, sender)
    assert model.enabled("intake") and model.last_attended.number == "A030"
    # a no-show gives nothing to open a file for
    model.apply_counter_state(serving())
    model.no_show()
    sender.reply_ok({"ticket": attended_ticket().model_dump(mode="json")})
    model.apply_counter_state(counter_state("idle"))
    assert model.last_attended.number == "A030"  # still the earlier attended one
    # calling the next person forgets the offer
    model.call_next()
    sender.reply_ok({})
    assert model.last_attended is None and not model.enabled("intake")


def test_form_locks_other_actions_and_sends_one_clean_command(model, sender):
    finish_attended(model, sender)
    model.begin_intake()
    assert model.intake_open
    assert not any(model.enabled(a) for a in ("call_next", "pause", "close", "sign_out"))
    model.submit_intake(GOOD)
    sent = sender.sent[-1]
    assert sent.action == "open_case_intake"
    assert sent.params == {
        "doc_type": "dni",
        "doc_number": "40718293",
        "given_names": "María Elena",
        "surnames": "Condori Huanca",
        "service_code": "orientacion",
        "matter": "alimentos",
        "summary": "Pide pensión de alimentos para sus dos hijos.",
        "ticket_id": "t-A030",
    }
    sender.reply_ok({"intake": {"intake_id": "i-1", "status": "open", "ticket_number": "A030"}})
    assert not model.intake_open and model.last_attended is None
    assert model.notice.startswith("Expediente registrado en la sede para el turno A030")
    assert "Condori" not in model.notice and "40718293" not in model.notice


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"doc_number": "4071829"}, "doc_number", "El DNI debe tener 8 dígitos."),
        ({"doc_number": "4071829A"}, "doc_number", "El DNI debe tener 8 dígitos."),
        (
            {"doc_type": "ninguno", "doc_number": "12"},
            "doc_number",
            "Sin documento: no indique un número.",
        ),
        ({"given_names": "  "}, "given_names", "Ingrese los nombres de la persona."),
        ({"surnames": ""}, "surnames", "Ingrese los apellidos de la persona."),
        ({"matter": ""}, "matter", "Elija la materia."),
        ({"matter": "inventada"}, "matter", "Elija la materia."),
        ({"summary": "\n"}, "summary", "Escriba un breve resumen de la consulta."),
        ({"summary": "x" * 1001}, "summary", "El resumen admite hasta 1000 caracteres."),
    ],
)
def test_bad_input_is_refused_before_sending(model, sender, changes, field, message):
    finish_attended(model, sender)
    model.begin_intake()
    before = len(sender.sent)
    model.submit_intake(IntakeForm(**{**GOOD.__dict__, **changes}))
    assert len(sender.sent) == before
    assert model.intake_errors[field] == message
    assert model.error == "Revise los datos marcados en rojo." and model.intake_open


def test_a_hub_refusal_marks_its_field_and_keeps_the_form(model, sender):
    finish_attended(model, sender)
    model.begin_intake()
    model.submit_intake(GOOD)
    sender.reply_error("unknown_matter", "La materia indicada no está en el catálogo.")
    assert model.intake_open and model.last_attended is not None
    assert model.error == "La materia indicada no está en el catálogo."
    # the hub names the field; the recording sender has none, so only the bar shows it
    model.submit_intake(GOOD)
    sent = sender.sent[-1]
    from contracts.messages import CommandResponse, ErrorBody

    sent.on_reply(
        CommandResponse(
            correlation_id="c",
            status="error",
            error=ErrorBody(
                code="invalid_dni", message="El DNI debe tener 8 dígitos.", field="doc_number"
            ),
        )
    )
    assert model.intake_errors == {"doc_number": "El DNI debe tener 8 dígitos."}


@pytest.fixture
def window(qtbot, model):
    window = CounterWindow(model)
    window.setStyleSheet(stylesheet())
    qtbot.addWidget(window)
    window.resize(1366, 768)
    window.show()
    qtbot.waitExposed(window)
    return window


def test_filling_the_form_with_keyboard_and_touch(window, model, sender, qtbot):
    finish_attended(model, sender)
    offer = window.work_page.intake_button
    assert offer.isVisible() and "A030" in offer.text()
    assert offer.height() >= 56  # a large target
    qtbot.keyClick(window, Qt.Key.Key_F10)
    page = window.intake_page
    assert window.pages.currentWidget() is page
    assert page.doc_type_buttons["dni"].isChecked()
    assert page.service.currentData() == "orientacion"  # the attended ticket's service
    # the DNI field takes digits only, eight at most
    qtbot.keyClicks(page.doc_number, "4071a8293999")
    assert page.doc_number.text() == "40718293"
    page.given_names.insert("María Elena")  # QTest types ASCII only
    qtbot.keyClicks(page.surnames, "Condori Huanca")
    page.matter.setCurrentIndex(page.matter.findData("alimentos"))
    page.summary.insertPlainText("Pide pensión de alimentos.")
    assert page.summary_count.text() == "26 de 1000 caracteres"
    for button in page.doc_type_buttons.values():
        assert button.height() >= 56
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = save_png(window, ARTIFACTS / "counter-intake-filled.png", (1366, 768))
    image = QImage(str(shot))
    assert (image.width(), image.height()) == (1366, 768) and distinct_colours(image) > 4

    qtbot.mouseClick(page.submit_button, Qt.MouseButton.LeftButton)
    assert sender.actions[-1] == "open_case_intake"
    assert sender.sent[-1].params["doc_number"] == "40718293"
    assert not page.submit_button.isEnabled()  # one command at a time
    sender.reply_ok({"intake": {"intake_id": "i-1", "status": "open", "ticket_number": "A030"}})
    assert window.pages.currentWidget() is window.work_page
    assert not window.work_page.intake_button.isVisible()
    # nothing the person told us stays in the widgets
    assert page.doc_number.text() == page.given_names.text() == page.surnames.text() == ""
    assert page.summary.toPlainText() == ""


def test_other_document_types_and_cancel_forgets_the_form(window, model, sender, qtbot):
    finish_attended(model, sender)
    window.trigger("intake")
    page = window.intake_page
    qtbot.mouseClick(page.doc_type_buttons["ce"], Qt.MouseButton.LeftButton)
    qtbot.keyClicks(page.doc_number, "ab-12345")
    assert page.doc_number.text() == "ab-12345"
    qtbot.mouseClick(page.doc_type_buttons["ninguno"], Qt.MouseButton.LeftButton)
    assert page.doc_number.text() == "" and not page.doc_number.isEnabled()
    qtbot.keyClicks(page.given_names, "Rosa")
    qtbot.mouseClick(page.submit_button, Qt.MouseButton.LeftButton)
    assert sender.actions[-1] == "finish_attention"  # refused locally: nothing sent
    assert page.errors["surnames"].text() == "Ingrese los apellidos de la persona."
    assert page.errors["surnames"].isVisible()
    qtbot.mouseClick(page.cancel_button, Qt.MouseButton.LeftButton)
    assert window.pages.currentWidget() is window.work_page
    assert page.given_names.text() == ""
    assert window.work_page.intake_button.isVisible()  # still offered until the next call


def test_intake_screens_fit_a_1366x768_counter_screen_even_with_every_error(qtbot):
    from counter.screens import render_intake

    paths = render_intake(ARTIFACTS)
    assert [p.name for p in paths] == [
        "counter-intake-offer.png",
        "counter-intake-form.png",
        "counter-intake-errors.png",
        "counter-intake-numbers.png",
        "counter-intake-amend.png",
    ]
    for path in paths:
        image = QImage(str(path))
        assert (image.width(), image.height()) == (1366, 768), path.name
        assert distinct_colours(image) > 4


def test_signed_out_by_the_hub_drops_the_open_form(window, model, sender):
    finish_attended(model, sender)
    window.trigger("intake")
    window.intake_page.given_names.insert("Rosa")
    signed_out = counter_state("closed").model_copy(update={"user_display_name": None})
    model.apply_counter_state(signed_out)
    assert window.pages.currentWidget() is window.sign_in_page
    assert not model.intake_open and model.last_attended is None
    assert window.intake_page.given_names.text() == ""


def test_todays_intakes_show_the_file_number_once_the_hub_has_it(window, model, sender):
    finish_attended(model, sender)
    window.trigger("intake")
    model.submit_intake(GOOD)
    sender.reply_ok({"intake": {"intake_id": "i-9", "status": "open", "ticket_number": "A030"}})
    [pending] = model.intakes_today
    assert (pending.ticket_number, pending.case_number) == ("A030", None)
    panel = window.work_page.queue
    texts = [w.text() for w in panel.body.findChildren(QLabel)]
    assert "A030 · número pendiente" in texts
    panel.refresh_intakes_button.click()
    assert sender.actions[-1] == "list_case_intakes" and sender.sent[-1].params == {}
    sender.reply_ok(
        {
            "intakes": [
                {
                    "intake_id": "i-9",
                    "ticket_number": "A030",
                    "status": "open",
                    "created_at": FIXED_NOW.isoformat(),
                    "case_number": "LIMA-2026-000042",
                }
            ]
        }
    )
    texts = [w.text() for w in window.work_page.queue.body.findChildren(QLabel)]
    assert "A030 · LIMA-2026-000042" in texts


# --------------------------------------------------------------------------- "Corregir"

FIXED = "Pide pensión de alimentos y régimen de visitas."


def idle_with_intakes(model) -> None:
    """Between people, with today's intakes: A030 pending (correctable), A027 numbered."""
    model.apply_counter_state(counter_state("idle"))
    model.intakes_today = sample_intakes()


def test_amend_sends_matter_and_summary_only_and_updates_todays_list(model, sender):
    idle_with_intakes(model)
    model.begin_amend("i-1")  # central already numbered it: corrected there, not here
    assert not model.intake_open
    model.begin_amend("i-2")
    assert model.intake_open and model.amending.ticket_number == "A030"
    assert not any(model.enabled(a) for a in ("call_next", "pause", "close", "amend"))
    defaults = model.intake_defaults()
    assert (defaults.matter, defaults.summary) == ("alimentos", sample_intakes()[0].summary)

    before = len(sender.sent)  # the same text again: nothing to send
    model.submit_intake(defaults)
    assert len(sender.sent) == before and not model.intake_open
    assert model.notice == "Sin cambios: no se envió nada."

    model.begin_amend("i-2")
    model.submit_intake(IntakeForm(matter="alimentos", summary=f"  {FIXED} "))
    sent = sender.sent[-1]
    assert sent.action == "amend_case_intake"
    assert sent.params == {"intake_id": "i-2", "matter": "alimentos", "summary": FIXED}
    sender.reply_ok(
        {"intake": {"intake_id": "i-2", "ticket_number": "A030", "status": "open",
                    "matter": "alimentos", "summary": FIXED}}
    )  # fmt: skip
    assert not model.intake_open and model.amending is None
    assert model.notice.startswith("Corrección del expediente del turno A030 guardada")
    assert [i.summary for i in model.intakes_today][0] == FIXED
    assert model.intakes_today[1].case_number == "LIMA-2026-000042"  # untouched


def test_amend_checks_its_two_fields_before_sending(model, sender):
    idle_with_intakes(model)
    model.begin_amend("i-2")
    before = len(sender.sent)
    model.submit_intake(IntakeForm(matter="", summary="  "))
    assert len(sender.sent) == before
    assert model.intake_errors == {
        "matter": "Elija la materia.",
        "summary": "Escriba un breve resumen de la consulta.",
    }
    assert model.intake_open


def test_amend_refused_by_the_hub_once_central_numbered_it(model, sender):
    idle_with_intakes(model)
    model.begin_amend("i-2")
    model.submit_intake(IntakeForm(matter="alimentos", summary=FIXED))
    message = "La central ya abrió el expediente N.º LIMA-2026-000043: corríjalo allí."
    sender.reply_error("invalid_transition", message, field="intake_id")
    assert not model.intake_open and model.amending is None  # the form closes...
    assert model.error == message  # ...and the bar says why
    # a refusal about a field keeps the form, with that field marked
    model.begin_amend("i-2")
    model.submit_intake(IntakeForm(matter="alimentos", summary=FIXED))
    sender.reply_error("unknown_matter", "(el texto del hub)", field="matter")
    assert model.intake_open and model.intake_errors == {
        "matter": "La materia indicada no está en el catálogo."  # the counter's catalogue
    }


def test_correct_button_opens_the_form_with_only_matter_and_summary(window, model, sender, qtbot):
    idle_with_intakes(model)
    model.changed.emit()
    panel = window.work_page.queue
    assert set(panel.amend_buttons) == {"i-2"}  # not the one central already numbered
    button = panel.amend_buttons["i-2"]
    assert button.text() == "Corregir A030" and button.isEnabled()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    page = window.intake_page
    assert window.pages.currentWidget() is page
    assert page.title.text() == "Corregir expediente — turno A030"
    assert page.submit_button.text() == "Guardar corrección"
    for hidden in (page.doc_number, page.given_names, page.surnames, page.service):
        assert not hidden.isVisible()
    assert page.matter.currentData() == "alimentos"
    assert page.summary.toPlainText() == sample_intakes()[0].summary
    qtbot.mouseClick(page.cancel_button, Qt.MouseButton.LeftButton)
    assert window.pages.currentWidget() is window.work_page
    assert page.summary.toPlainText() == ""  # nothing stays on screen
    # the next "Abrir expediente" shows the person's fields again
    finish_attended(model, sender)
    window.trigger("intake")
    assert page.given_names.isVisible() and page.title.text().startswith("Abrir expediente")
    assert page.submit_button.text() == "Abrir expediente"
