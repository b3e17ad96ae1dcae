"""View-model of the ticket kiosk: the steps a person goes through to get a ticket.

No widgets here (views bind to the signals). The kiosk holds no state of record: a ticket exists
only once the hub has answered ``ok`` to ``issue_ticket`` / ``checkin_appointment``; only then
is it printed, and the printer's outcome is reported back with ``report_print`` so a ticket that
did not come out is flagged for reprint at the counter.
"""

from __future__ import annotations

import logging
import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from pydantic import ValidationError
from PySide6.QtCore import QObject, QTimer, Signal, Slot

from contracts.errors import ErrorCode
from contracts.messages import (
    CommandResponse,
    IssuedTicket,
    PreferenceCategory,
    PrintJob,
    SedeInfo,
    ServiceInfo,
)
from contracts.mqtt import Action
from contracts.waits import format_wait
from kiosk.printing import PrintWorker
from qtcommon.i18n import Translator

log = logging.getLogger(__name__)

DNI_LENGTH = 8
APPOINTMENT_CODE_RE = re.compile(r"^[A-Za-z0-9-]{4,32}$")
APPOINTMENT_CODE_MAX = 32

#: Order of the preference buttons (Ley 28683 as amended; "none" last, set apart).
PREFERENCE_ORDER: tuple[PreferenceCategory, ...] = (
    PreferenceCategory.ADULTO_MAYOR,
    PreferenceCategory.GESTANTE,
    PreferenceCategory.DISCAPACIDAD,
    PreferenceCategory.NINO_ACOMPANANTE,
    PreferenceCategory.NONE,
)


class Step(StrEnum):
    STARTING = "starting"  # no word from the hub yet
    OFFLINE = "offline"  # hub unreachable: no tickets
    CLOSED = "closed"  # outside opening hours
    HOME = "home"  # choose a service (or "I have an appointment")
    PREFERENCE = "preference"
    DNI = "dni"
    APPOINTMENT = "appointment"
    WORKING = "working"  # waiting for the hub or the printer
    TICKET = "ticket"
    ERROR = "error"


#: Steps where the person is typing or choosing: inactivity sends them home.
INPUT_STEPS = frozenset({Step.PREFERENCE, Step.DNI, Step.APPOINTMENT})
#: Steps the kiosk rests on; a change of connection or config re-picks among them.
RESTING_STEPS = frozenset({Step.STARTING, Step.OFFLINE, Step.CLOSED, Step.HOME})


class AppointmentMode(StrEnum):
    DNI = "dni"
    CODE = "code"


class HubPort(Protocol):
    """What the kiosk needs from qtcommon.hub_client.HubClient."""

    config_changed: Any  # Signal(SedeInfo)
    connection_changed: Any  # Signal(bool)
    print_job: Any  # Signal(PrintJob)
    sede_info: SedeInfo | None

    @property
    def connected(self) -> bool: ...

    def request(
        self, action: Action | str, params: dict[str, Any] | None = None, timeout_s: float = ...
    ) -> Any: ...  # PendingRequest with finished(CommandResponse)


@dataclass(frozen=True)
class TicketScreen:
    """What the ticket step shows (already in the person's language)."""

    number: str
    service_name: str
    people_ahead: str
    wait: str
    preference: str | None
    printed: bool
    instruction: str


@dataclass(frozen=True)
class Timeouts:
    inactivity_s: float = 45.0  # on an input step with no touch
    ticket_s: float = 20.0  # how long the ticket stays on screen
    error_s: float = 20.0
    request_s: float = 8.0  # hub answer


class KioskViewModel(QObject):
    step_changed = Signal(str)
    sede_changed = Signal(str)  # sede name
    services_changed = Signal(list)  # list[ServiceInfo]
    selection_changed = Signal()  # service / preference chosen
    dni_changed = Signal(str)
    dni_error_changed = Signal(str)
    appointment_changed = Signal(str, str)  # mode, entry
    appointment_error_changed = Signal(str)
    working_message_changed = Signal(str)
    ticket_changed = Signal(object)  # TicketScreen
    error_changed = Signal(str)
    connection_changed = Signal(bool)

    def __init__(
        self,
        hub: HubPort,
        printer: Any,
        tr: Translator,
        *,
        timeouts: Timeouts | None = None,
        to_printable: Callable[[Any], Any] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.hub = hub
        self.tr = tr
        self.timeouts = timeouts or Timeouts()
        self.step = Step.STARTING
        self.sede: SedeInfo | None = None
        self.services: list[ServiceInfo] = []
        self.service: ServiceInfo | None = None
        self.preference = PreferenceCategory.NONE
        self.dni = ""
        self.dni_error = ""
        self.appointment_mode = AppointmentMode.DNI
        self.appointment_entry = ""
        self.appointment_error = ""
        self.working_message = ""
        self.ticket: TicketScreen | None = None
        self.issued: IssuedTicket | None = None
        self.error = ""
        self.connected = False
        self._flow = 0  # bumped on every reset, so late answers of an abandoned flow are dropped
        self._in_flight: list[Any] = []  # keep PendingRequests alive until they finish
        self._seen_print_jobs: deque[str] = deque(maxlen=200)

        self._printer = PrintWorker(printer, to_printable=to_printable, parent=self)
        self._printer.finished.connect(self._on_printed)

        self._idle = QTimer(self)
        self._idle.setSingleShot(True)
        self._idle.timeout.connect(self.reset)

        hub.config_changed.connect(self._on_config)
        hub.connection_changed.connect(self._on_connection)
        hub.print_job.connect(self._on_print_job)
        self.connected = bool(hub.connected)
        if hub.sede_info is not None:
            self._on_config(hub.sede_info)
        else:
            self._set_step(self._resting_step())

    # ------------------------------------------------------------------ hub state

    @Slot(object)
    def _on_config(self, sede: SedeInfo) -> None:
        self.sede = sede
        self.services = list(sede.services)
        self.sede_changed.emit(sede.name)
        self.services_changed.emit(self.services)
        if self.step in RESTING_STEPS:
            self._set_step(self._resting_step())

    @Slot(bool)
    def _on_connection(self, connected: bool) -> None:
        self.connected = connected
        self.connection_changed.emit(connected)
        if self.step in RESTING_STEPS:
            self._set_step(self._resting_step())

    def opening_hours(self) -> list[str]:
        """The sede's hours as short lines, consecutive days with the same hours joined:
        ``["lunes a viernes: 08:00 a 17:00", "sábado: 08:00 a 13:00"]``."""
        if self.sede is None:
            return []
        names = self.tr("clock.weekdays").split(",")
        if len(names) != 7:
            names = [str(day) for day in range(7)]
        groups: list[tuple[int, int, str, str]] = []
        for hours in sorted(self.sede.hours, key=lambda h: h.weekday):
            last = groups[-1] if groups else None
            if (
                last
                and last[1] == hours.weekday - 1
                and (last[2], last[3]) == (hours.opens, hours.closes)
            ):
                groups[-1] = (last[0], hours.weekday, last[2], last[3])
            else:
                groups.append((hours.weekday, hours.weekday, hours.opens, hours.closes))
        lines = []
        for first, last_day, opens, closes in groups:
            days = (
                names[first]
                if first == last_day
                else self.tr("kiosk.closed.range", first=names[first], last=names[last_day])
            )
            lines.append(self.tr("kiosk.closed.hours_line", days=days, opens=opens, closes=closes))
        return lines

    def _resting_step(self) -> Step:
        if not self.connected:
            return Step.OFFLINE if self.sede is not None else Step.STARTING
        if self.sede is None:
            return Step.STARTING
        accepts = self.sede.accepts_tickets
        if not (self.sede.is_open_now if accepts is None else accepts):
            return Step.CLOSED
        return Step.HOME

    # ------------------------------------------------------------------ steps

    def _set_step(self, step: Step) -> None:
        self.step = step
        self._arm_idle_timer()
        self.step_changed.emit(str(step))

    def _arm_idle_timer(self) -> None:
        seconds = {
            Step.TICKET: self.timeouts.ticket_s,
            Step.ERROR: self.timeouts.error_s,
        }.get(self.step, self.timeouts.inactivity_s if self.step in INPUT_STEPS else None)
        if seconds is None:
            self._idle.stop()
        else:
            self._idle.start(int(seconds * 1000))

    @Slot()
    def touch(self) -> None:
        """Any touch on the screen: the person is still there."""
        if self.step in INPUT_STEPS:
            self._arm_idle_timer()

    @Slot()
    def reset(self) -> None:
        """Back to the start, forgetting everything the person entered."""
        self._flow += 1
        self.service = None
        self.preference = PreferenceCategory.NONE
        self.dni = ""
        self.dni_error = ""
        self.appointment_mode = AppointmentMode.DNI
        self.appointment_entry = ""
        self.appointment_error = ""
        self.ticket = None
        self.issued = None
        self.error = ""
        self.dni_changed.emit("")
        self.dni_error_changed.emit("")
        self.appointment_changed.emit(str(self.appointment_mode), "")
        self.appointment_error_changed.emit("")
        self.selection_changed.emit()
        self._set_step(self._resting_step())

    @Slot()
    def back(self) -> None:
        previous = {
            Step.PREFERENCE: None,
            Step.DNI: Step.PREFERENCE,
            Step.APPOINTMENT: None,
        }.get(self.step)
        if self.step not in INPUT_STEPS:
            return
        if previous is None:
            self.reset()
        else:
            self._set_step(previous)

    # ------------------------------------------------------------------ walk-in path

    @Slot(str)
    def choose_service(self, service_code: str) -> None:
        if self.step is not Step.HOME:
            return
        service = next((s for s in self.services if s.code == service_code), None)
        if service is None:
            return
        self.service = service
        self.preference = PreferenceCategory.NONE
        self.selection_changed.emit()
        self._set_step(Step.PREFERENCE)

    @Slot(str)
    def choose_preference(self, category: str) -> None:
        if self.step is not Step.PREFERENCE:
            return
        self.preference = PreferenceCategory(category)
        self.selection_changed.emit()
        self.dni_error = ""
        self.dni_error_changed.emit("")
        self._set_step(Step.DNI)

    @Slot(str)
    def press_digit(self, digit: str) -> None:
        if self.step is Step.APPOINTMENT:
            self.press_key(digit)
            return
        if self.step is not Step.DNI or not (len(digit) == 1 and digit.isdigit()):
            return
        self.touch()
        if len(self.dni) < DNI_LENGTH:
            self.dni += digit
            self.dni_changed.emit(self.dni)
        self._clear_dni_error()

    @Slot()
    def backspace(self) -> None:
        self.touch()
        if self.step is Step.DNI:
            self.dni = self.dni[:-1]
            self.dni_changed.emit(self.dni)
            self._clear_dni_error()
        elif self.step is Step.APPOINTMENT:
            self._set_entry(self.appointment_entry[:-1])

    @Slot()
    def clear(self) -> None:
        self.touch()
        if self.step is Step.DNI:
            self.dni = ""
            self.dni_changed.emit("")
            self._clear_dni_error()
        elif self.step is Step.APPOINTMENT:
            self._set_entry("")

    def _clear_dni_error(self) -> None:
        if self.dni_error:
            self.dni_error = ""
            self.dni_error_changed.emit("")

    @Slot()
    def submit_dni(self) -> None:
        if self.step is not Step.DNI:
            return
        if len(self.dni) != DNI_LENGTH:
            self.dni_error = self.tr("kiosk.dni.error_length", length=DNI_LENGTH)
            self.dni_error_changed.emit(self.dni_error)
            self.touch()
            return
        self._issue(dni=self.dni)

    @Slot()
    def skip_dni(self) -> None:
        if self.step is not Step.DNI:
            return
        self.dni = ""
        self.dni_changed.emit("")
        self._issue(dni=None)

    def _issue(self, *, dni: str | None) -> None:
        assert self.service is not None
        params: dict[str, Any] = {
            "service_code": self.service.code,
            "preference_category": str(self.preference),
        }
        if dni:
            params["dni"] = dni
        self._send(Action.ISSUE_TICKET, params)
        self._forget_dni()

    def _forget_dni(self) -> None:
        """The DNI has gone to the hub; it is not kept on screen or in memory a moment longer."""
        self.dni = ""
        self.dni_changed.emit("")
        if self.appointment_mode is AppointmentMode.DNI and self.appointment_entry:
            self.appointment_entry = ""
            self.appointment_changed.emit(str(self.appointment_mode), "")

    # ------------------------------------------------------------------ appointment path

    @Slot()
    def start_appointment(self) -> None:
        if self.step is not Step.HOME:
            return
        self.appointment_mode = AppointmentMode.DNI
        self._set_entry("")
        self._set_step(Step.APPOINTMENT)

    @Slot(str)
    def set_appointment_mode(self, mode: str) -> None:
        if self.step is not Step.APPOINTMENT:
            return
        self.touch()
        self.appointment_mode = AppointmentMode(mode)
        self._set_entry("")

    @Slot(str)
    def press_key(self, key: str) -> None:
        """A key of the appointment keypad (digits; letters and '-' in code mode)."""
        if self.step is not Step.APPOINTMENT or len(key) != 1:
            return
        self.touch()
        if self.appointment_mode is AppointmentMode.DNI:
            if key.isdigit() and len(self.appointment_entry) < DNI_LENGTH:
                self._set_entry(self.appointment_entry + key)
        elif (key.isascii() and key.isalnum()) or key == "-":
            if len(self.appointment_entry) < APPOINTMENT_CODE_MAX:
                self._set_entry(self.appointment_entry + key.upper())

    def _set_entry(self, entry: str) -> None:
        self.appointment_entry = entry
        self.appointment_error = ""
        self.appointment_changed.emit(str(self.appointment_mode), entry)
        self.appointment_error_changed.emit("")

    @Slot()
    def submit_appointment(self) -> None:
        if self.step is not Step.APPOINTMENT:
            return
        entry = self.appointment_entry
        if self.appointment_mode is AppointmentMode.DNI:
            if len(entry) != DNI_LENGTH or not entry.isdigit():
                self._appointment_error(self.tr("kiosk.dni.error_length", length=DNI_LENGTH))
                return
            params = {"dni": entry}
        else:
            if not APPOINTMENT_CODE_RE.match(entry):
                self._appointment_error(self.tr("kiosk.appointment.error_code"))
                return
            params = {"appointment_code": entry}
        self._send(Action.CHECKIN_APPOINTMENT, params)
        self._forget_dni()

    def _appointment_error(self, message: str) -> None:
        self.appointment_error = message
        self.appointment_error_changed.emit(message)
        self.touch()

    # ------------------------------------------------------------------ talking to the hub

    def _send(self, action: Action, params: dict[str, Any]) -> None:
        self._working(self.tr("kiosk.working.issuing"))
        flow = self._flow
        pending = self.hub.request(action, params, timeout_s=self.timeouts.request_s)
        self._in_flight.append(pending)

        def done(response: CommandResponse) -> None:
            self._forget(pending)
            self._on_issued(flow, response)

        pending.finished.connect(done)

    def _forget(self, pending: Any) -> None:
        if pending in self._in_flight:
            self._in_flight.remove(pending)

    def _working(self, message: str) -> None:
        self.working_message = message
        self.working_message_changed.emit(message)
        self._set_step(Step.WORKING)

    def _on_issued(self, flow: int, response: CommandResponse) -> None:
        if flow != self._flow:
            return
        if response.status != "ok":
            error = response.error
            code = error.code if error else ErrorCode.INTERNAL
            message = self.tr.tr_error(code, error.message if error else "")
            if code == ErrorCode.HUB_UNREACHABLE:
                message = self.tr("kiosk.error.unreachable")
            self._show_error(message)
            return
        try:
            issued = IssuedTicket.model_validate(response.result or {})
        except ValidationError:
            log.error("hub answered ok without a ticket: %s", response.result)
            self._show_error(self.tr("kiosk.error.generic"))
            return
        self.issued = issued
        self._working(self.tr("kiosk.working.printing"))
        self._printer.submit(issued, token=(flow, issued.ticket.ticket_id, False))

    def _show_error(self, message: str) -> None:
        self.error = message
        self.error_changed.emit(message)
        self._set_step(Step.ERROR)

    @Slot(object, bool, str)
    def _on_printed(self, token: tuple[int, str, bool], ok: bool, error: str) -> None:
        flow, ticket_id, reprint = token
        self._report_print(ticket_id, ok, error)
        if reprint or flow != self._flow or self.issued is None:
            return
        self.ticket = self._ticket_screen(self.issued, printed=ok)
        self.ticket_changed.emit(self.ticket)
        self._set_step(Step.TICKET)

    def _report_print(self, ticket_id: str, ok: bool, error: str) -> None:
        params: dict[str, Any] = {"ticket_id": ticket_id, "ok": ok}
        if not ok:
            params["error"] = (error or "error de impresión")[:200]
        pending = self.hub.request(Action.REPORT_PRINT, params, timeout_s=self.timeouts.request_s)
        self._in_flight.append(pending)

        def done(response: CommandResponse) -> None:
            self._forget(pending)
            if response.status != "ok":
                log.warning("report_print for %s not accepted: %s", ticket_id, response.error)

        pending.finished.connect(done)

    @Slot(object)
    def _on_print_job(self, job: PrintJob) -> None:
        """A reprint ordered from a counter. Fresh tickets are printed from the issue answer,
        so the hub's copy of that job is ignored (it would print the ticket twice)."""
        if not job.reprint or job.msg_id in self._seen_print_jobs:
            return
        self._seen_print_jobs.append(job.msg_id)
        self._printer.submit(job, token=(-1, job.ticket.ticket_id, True))

    def _ticket_screen(self, issued: IssuedTicket, *, printed: bool) -> TicketScreen:
        ticket = issued.ticket
        ahead = ticket.people_ahead
        preference = (
            self.tr(f"pref.{ticket.preference_category}")
            if ticket.preference_category != PreferenceCategory.NONE
            else None
        )
        instruction = (
            self.tr("kiosk.ticket.take_it")
            if printed
            else self.tr("kiosk.ticket.print_failed", number=ticket.number)
        )
        if ahead is None:
            people_ahead = ""
        elif ahead == 0:
            people_ahead = self.tr("kiosk.ticket.next")
        else:
            people_ahead = self.tr("kiosk.ticket.people_ahead", count=ahead)
        return TicketScreen(
            number=ticket.number,
            service_name=issued.service_name,
            people_ahead=people_ahead,
            wait=self.tr("kiosk.ticket.wait", wait=format_wait(ticket.estimated_wait_s, self.tr)),
            preference=preference,
            printed=printed,
            instruction=instruction,
        )
