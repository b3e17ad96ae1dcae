"""Kiosk widgets driven with qtbot clicks (view-model + real printer adapter, fake hub port)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from kiosk.viewmodel import KioskViewModel, Step
from kiosk.views import KioskWindow
from qtcommon.theme import LIGHT, mm_to_px, theme_applied

from .conftest import FakeHub, demo_sede, issued_ticket

STYLES = __import__("kiosk.screens", fromlist=["STYLES_DIR"]).STYLES_DIR


@pytest.fixture
def kiosk(qtbot, qapp, tr, dummy_printer):
    with theme_applied(qapp, LIGHT.for_dpi(96), STYLES):
        hub = FakeHub(demo_sede())
        vm = KioskViewModel(hub, dummy_printer, tr)
        window = KioskWindow(vm, tr)
        qtbot.addWidget(window)
        window.resize(1080, 1920)
        window.show()
        yield window, vm, hub
        window.close()


def click(qtbot, button):
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def test_click_through_walk_in_with_dni(qtbot, kiosk, dummy_printer):
    window, vm, hub = kiosk
    assert window.current_step() is Step.HOME
    assert [b.text() for b in window.home.service_buttons.values()] == [
        "Orientación legal",
        "Defensa penal",
        "Defensa de víctimas",
        "Conciliación extrajudicial",
    ]
    click(qtbot, window.home.service_buttons["defensa-penal"])
    assert window.current_step() is Step.PREFERENCE
    click(qtbot, window.preference.buttons["discapacidad"])
    assert window.current_step() is Step.DNI

    keys = window.dni.keypad.buttons
    for digit in "1234":
        click(qtbot, keys[digit])
    click(qtbot, window.dni.submit)
    assert window.dni.error.isVisible()
    assert window.dni.error.text() == "El DNI tiene 8 números"
    assert window.dni.display.text() == "1 2 3 4 _ _ _ _"
    for digit in "56789":  # the 9th digit is refused
        click(qtbot, keys[digit])
    assert window.dni.display.text() == "1 2 3 4 5 6 7 8"
    click(qtbot, keys["⌫ Borrar"])
    assert window.dni.display.text() == "1 2 3 4 5 6 7 _"
    click(qtbot, keys["Borrar todo"])
    assert window.dni.display.text() == "_ _ _ _ _ _ _ _"
    for digit in "12345678":
        click(qtbot, keys[digit])
    assert not window.dni.error.isVisible()
    click(qtbot, window.dni.submit)
    assert window.current_step() is Step.WORKING
    assert hub.last("issue_ticket")[0] == {
        "service_code": "defensa-penal",
        "preference_category": "discapacidad",
        "dni": "12345678",
    }
    with qtbot.waitSignal(vm.ticket_changed, timeout=5000):
        hub.answer_ok("issue_ticket", issued_ticket("P012").model_dump(mode="json"))
    assert window.current_step() is Step.TICKET
    assert window.ticket.number.text() == "P012"
    assert window.ticket.instruction.objectName() == "instruction"
    assert len(dummy_printer.jobs) == 1
    click(qtbot, window.ticket.done)
    assert window.current_step() is Step.HOME


def test_cancel_and_back_buttons(qtbot, kiosk):
    window, vm, _ = kiosk
    click(qtbot, window.home.service_buttons["orientacion"])
    click(qtbot, window.preference.buttons["none"])
    click(qtbot, window.dni.nav.back)
    assert window.current_step() is Step.PREFERENCE
    click(qtbot, window.preference.nav.home)
    assert window.current_step() is Step.HOME and vm.service is None


def test_appointment_code_keyboard(qtbot, kiosk):
    window, _, hub = kiosk
    click(qtbot, window.home.appointment)
    assert window.current_step() is Step.APPOINTMENT
    click(qtbot, window.appointment.mode_buttons["code"])
    assert window.appointment.keypads.currentWidget() is window.appointment.code_keypad
    for key in "CITA-7":
        click(qtbot, window.appointment.code_keypad.buttons[key])
    assert window.appointment.display.text() == "CITA-7"
    click(qtbot, window.appointment.submit)
    assert hub.last("checkin_appointment")[0] == {"appointment_code": "CITA-7"}


def test_error_page_and_offline_page(qtbot, kiosk):
    window, vm, hub = kiosk
    click(qtbot, window.home.service_buttons["orientacion"])
    click(qtbot, window.preference.buttons["none"])
    click(qtbot, window.dni.skip)
    hub.time_out("issue_ticket")
    assert window.current_step() is Step.ERROR
    assert "No hay conexión con el servidor de la sede" in window.error.text.text()
    click(qtbot, window.error_home)
    assert window.current_step() is Step.HOME
    hub.set_connected(False)
    assert window.current_step() is Step.OFFLINE
    hub.set_connected(True)
    assert window.current_step() is Step.HOME


def test_every_button_is_at_least_20mm(qtbot, kiosk):
    window, vm, _ = kiosk
    minimum = mm_to_px(20, 96) - 1
    pages = {
        Step.HOME: lambda: None,
        Step.PREFERENCE: lambda: vm.choose_service("orientacion"),
        Step.DNI: lambda: vm.choose_preference("none"),
    }
    from PySide6.QtWidgets import QAbstractButton

    for step, go in pages.items():
        go()
        qtbot.wait(10)
        page = window.pages[step]
        buttons = [b for b in page.findChildren(QAbstractButton) if b.isVisible()]
        assert buttons, step
        for button in buttons:
            assert button.height() >= minimum, (step, button.text(), button.height())
            assert button.width() >= minimum, (step, button.text(), button.width())
    vm.reset()
    vm.start_appointment()
    vm.set_appointment_mode("code")
    qtbot.wait(10)
    for button in window.appointment.code_keypad.buttons.values():
        assert min(button.width(), button.height()) >= minimum, button.text()
