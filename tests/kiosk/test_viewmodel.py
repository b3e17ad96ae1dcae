"""Kiosk view-model without widgets: flow, validation, resets, and never printing a ticket the
hub did not confirm."""

from __future__ import annotations

import pytest

from contracts.errors import ErrorCode
from contracts.messages import PreferenceCategory, PrintJob
from kiosk.viewmodel import KioskViewModel, Step, Timeouts

from .conftest import FakeHub, demo_sede, issued_ticket


@pytest.fixture
def make_vm(qtbot, tr, dummy_printer):
    def make(hub=None, printer=None, timeouts=None) -> tuple[KioskViewModel, FakeHub]:
        hub = hub or FakeHub(demo_sede())
        vm = KioskViewModel(hub, printer or dummy_printer, tr, timeouts=timeouts)
        return vm, hub

    return make


def walk_to_dni(vm: KioskViewModel, service="orientacion", preference="none") -> None:
    vm.choose_service(service)
    vm.choose_preference(preference)
    assert vm.step is Step.DNI


def type_digits(vm: KioskViewModel, digits: str) -> None:
    for digit in digits:
        vm.press_digit(digit)


def test_starts_home_with_the_hubs_services(make_vm):
    vm, _ = make_vm()
    assert vm.step is Step.HOME
    assert [s.code for s in vm.services] == [
        "orientacion",
        "defensa-penal",
        "victimas",
        "conciliacion",
    ]


def test_waits_for_the_hub_then_follows_its_config(qtbot, make_vm):
    hub = FakeHub(sede=None, connected=False)
    vm, _ = make_vm(hub)
    assert vm.step is Step.STARTING
    hub.set_connected(True)
    assert vm.step is Step.STARTING  # connected but no config yet
    with qtbot.waitSignal(vm.services_changed):
        hub.set_sede(demo_sede(is_open_now=False))
    assert vm.step is Step.CLOSED
    assert vm.opening_hours() == ["lunes a viernes: 08:00 a 17:00", "sábado: 08:00 a 13:00"]
    # outside hours, but this sede's policy issues tickets anyway: the hub says so
    hub.set_sede(demo_sede(is_open_now=False).model_copy(update={"accepts_tickets": True}))
    assert vm.step is Step.HOME
    hub.set_sede(demo_sede(is_open_now=True).model_copy(update={"accepts_tickets": False}))
    assert vm.step is Step.CLOSED
    hub.set_sede(demo_sede(is_open_now=True))
    assert vm.step is Step.HOME
    hub.set_connected(False)
    assert vm.step is Step.OFFLINE
    vm.choose_service("orientacion")  # nothing to choose while offline
    assert vm.step is Step.OFFLINE and vm.service is None


def test_walk_in_issues_prints_reports_and_shows_the_ticket(qtbot, make_vm, dummy_printer):
    vm, hub = make_vm()
    walk_to_dni(vm, "orientacion", "adulto_mayor")
    type_digits(vm, "12345678")
    vm.submit_dni()
    assert vm.step is Step.WORKING
    params, _ = hub.last("issue_ticket")
    assert params == {
        "service_code": "orientacion",
        "preference_category": "adulto_mayor",
        "dni": "12345678",
    }
    assert vm.dni == ""  # sent: not kept on screen or in memory
    assert dummy_printer.jobs == []  # nothing printed before the hub says ok

    issued = issued_ticket("A007", preference=PreferenceCategory.ADULTO_MAYOR)
    with qtbot.waitSignal(vm.ticket_changed, timeout=5000) as blocker:
        hub.answer_ok("issue_ticket", issued.model_dump(mode="json"))
    screen = blocker.args[0]
    assert vm.step is Step.TICKET
    assert screen.number == "A007" and screen.printed
    assert screen.people_ahead == "Personas antes que usted: 3"
    assert screen.wait == "Espera aproximada: 14 min"
    assert screen.preference == "Adulto mayor"
    assert len(dummy_printer.jobs) == 1 and b"A007" in dummy_printer.jobs[0]
    report, _ = hub.last("report_print")
    assert report == {"ticket_id": "tk-a007", "ok": True}


def test_dni_keypad_validation(make_vm):
    vm, hub = make_vm()
    walk_to_dni(vm)
    type_digits(vm, "1234")
    vm.submit_dni()
    assert vm.step is Step.DNI
    assert vm.dni_error == "El DNI tiene 8 números"
    assert "issue_ticket" not in hub.actions()
    vm.press_digit("5")  # typing clears the error
    assert vm.dni_error == ""
    type_digits(vm, "678999")  # a 9th/10th digit is ignored
    assert vm.dni == "12345678"
    vm.backspace()
    assert vm.dni == "1234567"
    vm.press_digit("x")
    assert vm.dni == "1234567"
    vm.clear()
    assert vm.dni == ""


def test_skip_dni_sends_no_dni(make_vm):
    vm, hub = make_vm()
    walk_to_dni(vm, "victimas", "gestante")
    type_digits(vm, "123")
    vm.skip_dni()
    params, _ = hub.last("issue_ticket")
    assert params == {"service_code": "victimas", "preference_category": "gestante"}


def test_back_goes_one_step_and_cancel_forgets(make_vm):
    vm, _ = make_vm()
    walk_to_dni(vm, "orientacion", "gestante")
    type_digits(vm, "12")
    vm.back()
    assert vm.step is Step.PREFERENCE
    vm.back()
    assert vm.step is Step.HOME
    assert vm.service is None and vm.dni == "" and vm.preference is PreferenceCategory.NONE


def test_timeout_shows_unreachable_and_never_prints(qtbot, make_vm, dummy_printer):
    vm, hub = make_vm()
    walk_to_dni(vm)
    vm.skip_dni()
    with qtbot.waitSignal(vm.step_changed, check_params_cb=lambda s: s == "error"):
        hub.time_out("issue_ticket")
    assert vm.error == (
        "No hay conexión con el servidor de la sede. Por favor, acérquese a orientación."
    )
    qtbot.wait(100)
    assert dummy_printer.jobs == []
    assert "report_print" not in hub.actions()


def test_hub_error_is_shown_in_spanish_and_nothing_printed(qtbot, make_vm, dummy_printer):
    vm, hub = make_vm()
    walk_to_dni(vm)
    vm.skip_dni()
    hub.answer_error("issue_ticket", ErrorCode.SEDE_CLOSED)
    assert vm.step is Step.ERROR
    assert vm.error == "La sede está cerrada en este horario."
    assert dummy_printer.jobs == []


def test_ok_without_a_ticket_is_not_printed(qtbot, make_vm, dummy_printer):
    vm, hub = make_vm()
    walk_to_dni(vm)
    vm.skip_dni()
    hub.answer_ok("issue_ticket", {"unexpected": True})
    assert vm.step is Step.ERROR
    assert dummy_printer.jobs == []


def test_print_failure_reports_and_tells_the_person(qtbot, make_vm, broken_printer):
    vm, hub = make_vm(printer=broken_printer)
    walk_to_dni(vm)
    vm.skip_dni()
    with qtbot.waitSignal(vm.ticket_changed, timeout=5000) as blocker:
        hub.answer_ok("issue_ticket", issued_ticket("A007").model_dump(mode="json"))
    screen = blocker.args[0]
    assert not screen.printed
    assert screen.number == "A007"
    assert screen.instruction == (
        "No pudimos imprimir su ticket. Anote su número: A007. Acérquese a orientación."
    )
    report, _ = hub.last("report_print")
    assert report["ticket_id"] == "tk-a007" and report["ok"] is False
    assert report["error"]  # the printer's reason, for the hub's log


def test_inactivity_resets_input_steps_but_touch_keeps_them(qtbot, make_vm):
    vm, _ = make_vm(timeouts=Timeouts(inactivity_s=0.3, ticket_s=0.3, error_s=0.3))
    walk_to_dni(vm)
    type_digits(vm, "123")
    qtbot.wait(200)
    vm.touch()
    qtbot.wait(200)
    assert vm.step is Step.DNI  # the touch restarted the timer
    with qtbot.waitSignal(vm.step_changed, timeout=2000, check_params_cb=lambda s: s == "home"):
        pass
    assert vm.dni == "" and vm.service is None


def test_ticket_and_error_screens_go_home_by_themselves(qtbot, make_vm):
    vm, hub = make_vm(timeouts=Timeouts(inactivity_s=5, ticket_s=0.2, error_s=0.2))
    walk_to_dni(vm)
    vm.skip_dni()
    with qtbot.waitSignal(vm.ticket_changed, timeout=5000):
        hub.answer_ok("issue_ticket", issued_ticket().model_dump(mode="json"))
    with qtbot.waitSignal(vm.step_changed, timeout=2000, check_params_cb=lambda s: s == "home"):
        pass
    walk_to_dni(vm)
    vm.skip_dni()
    hub.time_out("issue_ticket")
    assert vm.step is Step.ERROR
    with qtbot.waitSignal(vm.step_changed, timeout=2000, check_params_cb=lambda s: s == "home"):
        pass


def test_working_step_is_not_reset_by_inactivity(qtbot, make_vm, dummy_printer):
    vm, hub = make_vm(timeouts=Timeouts(inactivity_s=0.1))
    walk_to_dni(vm)
    vm.skip_dni()
    qtbot.wait(300)
    assert vm.step is Step.WORKING
    with qtbot.waitSignal(vm.ticket_changed, timeout=5000):
        hub.answer_ok("issue_ticket", issued_ticket().model_dump(mode="json"))
    assert len(dummy_printer.jobs) == 1


def test_answer_to_an_abandoned_flow_is_dropped(qtbot, make_vm, dummy_printer):
    vm, hub = make_vm()
    walk_to_dni(vm)
    vm.skip_dni()
    vm.reset()  # e.g. staff restarted the screen
    hub.answer_ok("issue_ticket", issued_ticket().model_dump(mode="json"))
    qtbot.wait(100)
    assert vm.step is Step.HOME
    assert dummy_printer.jobs == []


def test_appointment_by_dni_and_by_code(qtbot, make_vm, dummy_printer):
    vm, hub = make_vm()
    vm.start_appointment()
    assert vm.step is Step.APPOINTMENT
    for key in "4567":
        vm.press_key(key)
    vm.submit_appointment()
    assert vm.appointment_error == "El DNI tiene 8 números"
    for key in "8901":
        vm.press_key(key)
    vm.submit_appointment()
    params, _ = hub.last("checkin_appointment")
    assert params == {"dni": "45678901"}
    hub.answer_error("checkin_appointment", ErrorCode.UNKNOWN_APPOINTMENT)
    assert vm.step is Step.ERROR
    assert vm.error.startswith("No encontramos una cita para hoy")

    vm.reset()
    vm.start_appointment()
    vm.set_appointment_mode("code")
    for key in "ab-":
        vm.press_key(key)
    vm.submit_appointment()
    assert vm.appointment_error == "El código tiene de 4 a 32 letras o números"
    for key in "12*":
        vm.press_key(key)  # '*' is not a code character
    assert vm.appointment_entry == "AB-12"
    vm.submit_appointment()
    params, _ = hub.last("checkin_appointment")
    assert params == {"appointment_code": "AB-12"}
    with qtbot.waitSignal(vm.ticket_changed, timeout=5000):
        hub.answer_ok("checkin_appointment", issued_ticket("A010").model_dump(mode="json"))
    assert vm.ticket.number == "A010"
    assert len(dummy_printer.jobs) == 1


def test_reprint_jobs_are_printed_and_reported_fresh_jobs_ignored(qtbot, make_vm, dummy_printer):
    vm, hub = make_vm()
    issued = issued_ticket("A003")
    fresh = PrintJob(
        ticket=issued.ticket, sede_name=issued.sede_name, service_name=issued.service_name
    )
    hub.print_job.emit(fresh)  # the hub's copy of a just-issued ticket: printed from the answer
    qtbot.wait(100)
    assert dummy_printer.jobs == []
    reprint = fresh.model_copy(update={"reprint": True, "msg_id": "reprint-1"})
    hub.print_job.emit(reprint)
    hub.print_job.emit(reprint)  # QoS 1 may deliver twice
    qtbot.waitUntil(lambda: "report_print" in hub.actions(), timeout=5000)
    qtbot.wait(100)
    assert len(dummy_printer.jobs) == 1
    assert b"A003" in dummy_printer.jobs[0]
    assert hub.last("report_print")[0] == {"ticket_id": "tk-a003", "ok": True}
    assert vm.step is Step.HOME  # the person at the screen is not disturbed


def test_first_in_line_is_told_so(qtbot, make_vm):
    vm, hub = make_vm()
    walk_to_dni(vm)
    vm.skip_dni()
    with qtbot.waitSignal(vm.ticket_changed, timeout=5000) as blocker:
        hub.answer_ok(
            "issue_ticket", issued_ticket("A001", people_ahead=0, wait_s=20).model_dump(mode="json")
        )
    assert blocker.args[0].people_ahead == "Usted es el siguiente"
    assert blocker.args[0].wait == "Espera aproximada: menos de 1 min"


def test_network_printer_offline_is_a_print_failure(qtbot, make_vm):
    """A real TCP 9100 printer adapter pointed at a port nobody listens on."""
    from hardware.printer import PrinterConfig, PrinterKind, make_printer
    from tests.conftest import free_port

    printer = make_printer(
        PrinterConfig(kind=PrinterKind.NETWORK, host="127.0.0.1", port=free_port(), timeout_s=1)
    )
    vm, hub = make_vm(printer=printer)
    walk_to_dni(vm)
    vm.skip_dni()
    with qtbot.waitSignal(vm.ticket_changed, timeout=10_000) as blocker:
        hub.answer_ok("issue_ticket", issued_ticket("A009").model_dump(mode="json"))
    assert not blocker.args[0].printed
    report, _ = hub.last("report_print")
    assert report["ok"] is False and report["ticket_id"] == "tk-a009"
    assert "impresora" in report["error"].lower()
