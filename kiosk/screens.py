"""Render every kiosk screen to PNG from sample state (``alegra screens``; tests look too).

The screens are reached through the real view-model flow: a sample hub answers the commands
the way the hub does, and tickets go through a real (in-memory) printer adapter.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from contracts.errors import ErrorCode
from contracts.messages import (
    CommandRequest,
    CommandResponse,
    CounterInfo,
    IssuedTicket,
    OpeningHours,
    PreferenceCategory,
    SedeInfo,
    ServiceInfo,
    TicketStatus,
    TicketView,
)

FIXED_NOW = datetime(2026, 11, 27, 15, 42, tzinfo=UTC)  # 10:42 in Lima
PORTRAIT = (1080, 1920)
LANDSCAPE = (1920, 1080)
STYLES_DIR = Path(__file__).parent / "styles"


def sample_sede(*, is_open_now: bool = True) -> SedeInfo:
    return SedeInfo(
        sede_id="lima-cercado",
        name="Centro ALEGRA Lima Cercado",
        services=[
            ServiceInfo(code="orientacion", name="Orientación legal", letter="A"),
            ServiceInfo(code="defensa-penal", name="Defensa penal", letter="P"),
            ServiceInfo(code="victimas", name="Defensa de víctimas", letter="V"),
            ServiceInfo(code="conciliacion", name="Conciliación extrajudicial", letter="C"),
        ],
        counters=[
            CounterInfo(counter_id="v1", name="Ventanilla 1", number=1, services={"orientacion": 1})
        ],
        hours=[OpeningHours(weekday=d, opens="08:00", closes="17:00") for d in range(5)]
        + [OpeningHours(weekday=5, opens="08:00", closes="13:00")],
        is_open_now=is_open_now,
    )


def sample_issued(number: str = "A007", preference=PreferenceCategory.NONE) -> IssuedTicket:
    return IssuedTicket(
        ticket=TicketView(
            ticket_id=f"sample-{number.lower()}",
            number=number,
            service_code="orientacion",
            status=TicketStatus.WAITING,
            preference_category=preference,
            issued_at=FIXED_NOW,
            arrived_at=FIXED_NOW,
            people_ahead=4,
            estimated_wait_s=1260,
        ),
        sede_name="Centro ALEGRA Lima Cercado",
        service_name="Orientación legal",
    )


class SampleHub(QObject):
    """A sample stand-in for HubClient used only to draw screens: fixed config, and answers
    chosen by the caller (``answer``: action → CommandResponse factory, None = no answer)."""

    config_changed = Signal(object)
    connection_changed = Signal(bool)
    print_job = Signal(object)

    def __init__(self, sede: SedeInfo | None, *, connected: bool = True) -> None:
        super().__init__()
        self.sede_info = sede
        self._connected = connected
        self.answer: dict[str, Callable[[CommandRequest], CommandResponse | None]] = {}
        self.pending: list[Any] = []

    @property
    def connected(self) -> bool:
        return self._connected

    def request(self, action, params=None, timeout_s: float = 8.0):  # noqa: ANN001
        from qtcommon.hub_client import PendingRequest

        request = CommandRequest.new(params)
        pending = PendingRequest(str(action), "sample", request, timeout_s)
        self.pending.append(pending)
        make = self.answer.get(str(action))
        response = make(request) if make else None
        if response is not None:
            from PySide6.QtCore import QTimer

            QTimer.singleShot(0, lambda: pending.resolve(response))
        return pending


def ok_with(result: dict) -> Callable[[CommandRequest], CommandResponse]:
    def make(request: CommandRequest) -> CommandResponse:
        return CommandResponse(
            correlation_id=request.correlation_id,
            request_id=request.request_id,
            status="ok",
            result=result,
        )

    return make


def unreachable(request: CommandRequest) -> CommandResponse:
    from qtcommon.hub_client import unreachable_response

    return unreachable_response(request.correlation_id, request.request_id)


class _OutOfPaper:
    """A sample printer that is out of paper (for the print-failure screen)."""

    def print_ticket(self, ticket: Any) -> None:
        from hardware.printer import PrinterError, PrinterErrorKind

        raise PrinterError(PrinterErrorKind.PAPER_OUT, "La impresora no tiene papel.")


def render_all(out_dir: Path | str, *, lang: str = "es-PE") -> list[Path]:
    """Render each kiosk step to ``out_dir/kiosk-*.png``; return the files written."""
    from hardware.printer import DummyPrinter, PrinterConfig, PrinterKind
    from kiosk.viewmodel import KioskViewModel, Step, Timeouts
    from kiosk.views import KioskWindow
    from qtcommon.i18n import Translator
    from qtcommon.screenshot import ensure_app, save_png
    from qtcommon.theme import LIGHT, theme_applied

    out = Path(out_dir)
    app = ensure_app()
    theme = LIGHT.for_dpi(96)
    themed = theme_applied(app, theme, STYLES_DIR)
    themed.__enter__()
    tr = Translator.load(lang, packages=("kiosk",))
    written: list[Path] = []
    keep: list[QObject] = []

    def kiosk(
        sede: SedeInfo | None = None, *, connected: bool = True, printer: Any = None
    ) -> tuple[KioskViewModel, SampleHub, KioskWindow]:
        hub = SampleHub(sede if sede is not None else sample_sede(), connected=connected)
        printer = printer or DummyPrinter(PrinterConfig(kind=PrinterKind.DUMMY))
        # long timeouts: screens must not move on by themselves while being drawn
        vm = KioskViewModel(hub, printer, tr, timeouts=Timeouts(3600, 3600, 3600, 3600))
        window = KioskWindow(vm, tr, theme=theme, now=lambda: FIXED_NOW)
        keep.extend([hub, vm, window])
        return vm, hub, window

    def shot(window: KioskWindow, name: str, size: tuple[int, int] = PORTRAIT) -> None:
        written.append(save_png(window, out / f"kiosk-{name}.png", size))

    def wait_for(vm: KioskViewModel, step: Step, timeout_s: float = 5.0) -> None:
        import time

        deadline = time.monotonic() + timeout_s
        while vm.step is not step and time.monotonic() < deadline:
            app.processEvents()
            time.sleep(0.01)
        if vm.step is not step:
            raise RuntimeError(f"kiosk screen did not reach {step} (at {vm.step})")

    try:
        vm, hub, window = kiosk()
        shot(window, "01-home")
        shot(window, "01-home-landscape", LANDSCAPE)

        vm.choose_service("orientacion")
        shot(window, "02-preference")

        vm.choose_preference("adulto_mayor")
        for digit in "4071":
            vm.press_digit(digit)
        shot(window, "03-dni-typing")
        vm.submit_dni()
        shot(window, "04-dni-error")

        for digit in "2345":
            vm.press_digit(digit)
        hub.answer["issue_ticket"] = ok_with(
            sample_issued("A007", PreferenceCategory.ADULTO_MAYOR).model_dump(mode="json")
        )
        vm.submit_dni()
        shot(window, "05-working")
        wait_for(vm, Step.TICKET)
        shot(window, "06-ticket")

        vm, hub, window = kiosk(printer=_OutOfPaper())
        hub.answer["issue_ticket"] = ok_with(sample_issued("A008").model_dump(mode="json"))
        vm.choose_service("orientacion")
        vm.choose_preference("none")
        vm.skip_dni()
        wait_for(vm, Step.TICKET)
        shot(window, "07-print-failed")

        vm, hub, window = kiosk()
        hub.answer["issue_ticket"] = unreachable
        vm.choose_service("victimas")
        vm.choose_preference("none")
        vm.skip_dni()
        wait_for(vm, Step.ERROR)
        shot(window, "08-hub-unreachable")

        vm, hub, window = kiosk()
        vm.start_appointment()
        vm.set_appointment_mode("code")
        for key in "CITA-2":
            vm.press_key(key)
        shot(window, "09-appointment-code")
        vm.set_appointment_mode("dni")
        for key in "4071":
            vm.press_key(key)
        shot(window, "10-appointment-dni")

        hub.answer["checkin_appointment"] = lambda request: CommandResponse(
            correlation_id=request.correlation_id,
            status="error",
            error={"code": ErrorCode.UNKNOWN_APPOINTMENT, "message": "x"},
        )
        for key in "2345":
            vm.press_key(key)
        vm.submit_appointment()
        wait_for(vm, Step.ERROR)
        shot(window, "11-appointment-not-found")

        many = sample_sede().model_copy(
            update={
                "services": sample_sede().services
                + [
                    ServiceInfo(code="familia", name="Familia y alimentos", letter="F"),
                    ServiceInfo(code="laboral", name="Asesoría laboral", letter="L"),
                    ServiceInfo(code="psicologia", name="Psicología", letter="S"),
                    ServiceInfo(code="social", name="Trabajo social", letter="T"),
                ]
            }
        )
        _, _, window = kiosk(many)
        shot(window, "01-home-many-services")

        _, _, window = kiosk(connected=False)
        shot(window, "12-offline")

        _, _, window = kiosk(sample_sede(is_open_now=False))
        shot(window, "13-closed")
    finally:
        for obj in keep:
            if isinstance(obj, KioskWindow):
                obj.close()
        themed.__exit__(None, None, None)
    return written
