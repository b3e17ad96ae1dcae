"""Kiosk → real hub (engine + MQTT bridge) over Mosquitto → ESC/POS bytes at the file printer.

Tests may import the hub; the kiosk package may not (import-linter)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from hub.bridge import HubBridge, MqttSettings
from hub.config import DEMO_SEDE_FILE, load_sede_config
from hub.mqtt_client import DeviceClient
from kiosk.viewmodel import KioskViewModel, Step, Timeouts
from kiosk.views import KioskWindow
from qtcommon.hub_client import HubClient

pytestmark = pytest.mark.mqtt


@pytest.fixture
def real_hub(tmp_path, sede_id, mqtt_broker):
    from datetime import time

    from hub.config import HoursConfig
    from hub.domain.engine import HubEngine

    demo = load_sede_config(DEMO_SEDE_FILE)
    always_open = [HoursConfig(weekdays=list(range(7)), opens=time(0, 0), closes=time(23, 59, 59))]
    config = demo.model_copy(update={"id": sede_id, "hours": always_open})
    engine = HubEngine(config, tmp_path / "hub.sqlite3")
    bridge = HubBridge(
        engine,
        sede_id=sede_id,
        mqtt=MqttSettings(host=mqtt_broker.host, port=mqtt_broker.port),
        housekeeping_interval_s=0.5,
    )
    assert bridge.start(wait_s=10)
    yield engine, bridge
    bridge.stop()
    engine.close()


@pytest.fixture
def file_printer(tmp_path):
    from hardware.printer import PrinterConfig, PrinterKind, make_printer

    return make_printer(PrinterConfig(kind=PrinterKind.FILE, file_dir=tmp_path / "tickets"))


@pytest.fixture
def kiosk_app(qtbot, tr, mqtt_broker, sede_id):
    made = []

    def make(printer, *, request_s: float = 5.0):
        client = HubClient(
            host=mqtt_broker.host,
            port=mqtt_broker.port,
            sede=sede_id,
            role="kiosk",
            device_id="kiosk-1",
            reconnect_min_s=0.2,
            reconnect_max_s=1.0,
        )
        vm = KioskViewModel(client, printer, tr, timeouts=Timeouts(request_s=request_s))
        window = KioskWindow(vm, tr)
        qtbot.addWidget(window)
        window.resize(1080, 1920)
        window.show()
        made.append(client)
        return client, vm, window

    yield make
    for client in made:
        client.stop()


def click(qtbot, button):
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def issue_through_the_screen(qtbot, vm, window, service="orientacion", pref="adulto_mayor"):
    qtbot.waitUntil(lambda: vm.step is Step.HOME, timeout=10_000)
    click(qtbot, window.home.service_buttons[service])
    click(qtbot, window.preference.buttons[pref])
    for digit in "40712345":
        click(qtbot, window.dni.keypad.buttons[digit])
    click(qtbot, window.dni.submit)


def test_ticket_printed_only_after_the_hub_confirms(qtbot, real_hub, kiosk_app, file_printer):
    engine, _ = real_hub
    client, vm, window = kiosk_app(file_printer)
    client.start()
    issue_through_the_screen(qtbot, vm, window)
    qtbot.waitUntil(lambda: vm.step is Step.TICKET, timeout=10_000)

    number = window.ticket.number.text()
    assert number == "A001"
    files = list(file_printer.directory.glob("*.bin"))
    assert [f.name.split("-")[0] for f in files] == ["A001"]
    data = files[0].read_bytes()
    assert b"A001" in data
    assert b"\x1dV" in data  # the paper is cut
    assert b"40712345" not in data  # the DNI never reaches paper

    queue = engine.queue_state("orientacion")
    (ticket,) = queue.tickets
    assert ticket.number == "A001"
    assert ticket.preference_category == "adulto_mayor"
    qtbot.waitUntil(lambda: client.pending_count == 0, timeout=5000)  # report_print answered
    assert engine.queue_state("orientacion").tickets[0].needs_reprint is False


def test_print_failure_is_reported_and_flagged_for_reprint(
    qtbot, real_hub, kiosk_app, tmp_path, sede_id, mqtt_broker, file_printer
):
    from hardware.printer import PrinterConfig, PrinterKind, make_printer

    engine, _ = real_hub
    blocker = tmp_path / "blocked"
    blocker.write_text("x")
    broken = make_printer(PrinterConfig(kind=PrinterKind.FILE, file_dir=blocker / "t"))
    client, vm, window = kiosk_app(broken)
    client.start()
    issue_through_the_screen(qtbot, vm, window, service="victimas", pref="none")
    qtbot.waitUntil(lambda: vm.step is Step.TICKET, timeout=10_000)
    assert window.ticket.instruction.objectName() == "instructionAlert"
    assert "Anote su número: V001" in window.ticket.instruction.text()
    qtbot.waitUntil(
        lambda: engine.queue_state("victimas").tickets[0].needs_reprint is True, timeout=5000
    )

    # staff reprint it from counter v1: the hub sends the job to this kiosk, which prints it
    vm._printer.printer = file_printer  # the paper was refilled
    with DeviceClient(
        sede_id=sede_id,
        role="counter",
        device_id="v1",
        host=mqtt_broker.host,
        port=mqtt_broker.port,
    ) as counter:
        signed = counter.request("sign_in", {"username": "ana", "password": "demo-ventanilla-1"})
        assert signed.status == "ok", signed.error
        reprint = counter.request("reprint_ticket", {"number": "V001"})
        assert reprint.status == "ok", reprint.error
    qtbot.waitUntil(
        lambda: len(list(file_printer.directory.glob("V001-*.bin"))) == 1, timeout=10_000
    )
    qtbot.waitUntil(
        lambda: engine.queue_state("victimas").tickets[0].needs_reprint is False, timeout=5000
    )


def test_hub_down_means_no_ticket(qtbot, real_hub, kiosk_app, file_printer):
    engine, bridge = real_hub
    client, vm, window = kiosk_app(file_printer, request_s=1.0)
    client.start()
    qtbot.waitUntil(lambda: vm.step is Step.HOME, timeout=10_000)
    click(qtbot, window.home.service_buttons["orientacion"])
    click(qtbot, window.preference.buttons["none"])
    bridge.stop()  # clean stop: retained "offline"
    qtbot.waitUntil(lambda: not client.connected, timeout=5000)
    click(qtbot, window.dni.skip)
    qtbot.waitUntil(lambda: vm.step is Step.ERROR, timeout=5000)
    assert "No hay conexión con el servidor de la sede" in vm.error
    assert list(file_printer.directory.glob("*.bin")) == []
    assert engine.queue_state("orientacion").tickets == []
    click(qtbot, window.error_home)
    assert vm.step is Step.OFFLINE
