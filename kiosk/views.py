"""Kiosk widgets: one page per step in a QStackedWidget, bound to KioskViewModel. No logic
here beyond showing what the view-model says and forwarding presses to it. Styling lives in
``kiosk/styles/*.qss`` (objectNames below); sizes come from the theme's touch-target size."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from PySide6.QtCore import QEvent, QObject, QSize, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractButton,
    QButtonGroup,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QStackedWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from contracts.messages import ServiceInfo
from kiosk.icons import pictogram_icon
from kiosk.viewmodel import PREFERENCE_ORDER, AppointmentMode, KioskViewModel, Step, TicketScreen
from qtcommon.clock import now_utc
from qtcommon.i18n import Translator
from qtcommon.theme import LIGHT, Theme
from qtcommon.widgets import HeaderBar

DIGIT_ROWS = ("123", "456", "789")
CODE_KEYS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-"


def _label(text: str = "", name: str = "", *, wrap: bool = True, centre: bool = True) -> QLabel:
    label = QLabel(text)
    if name:
        label.setObjectName(name)
    label.setWordWrap(wrap)
    if centre:
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    return label


def _button(text: str, name: str, on_click: Callable[[], None] | None = None) -> QPushButton:
    button = QPushButton(text)
    button.setObjectName(name)
    button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # touch screen: no focus rectangles
    button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
    if on_click is not None:
        button.clicked.connect(on_click)
    return button


class Page(QWidget):
    def __init__(self, name: str) -> None:
        super().__init__()
        self.setObjectName(name)
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.body = QVBoxLayout(self)
        self.body.setContentsMargins(40, 24, 40, 24)
        self.body.setSpacing(16)


class NavBar(QWidget):
    """Back and cancel, always in the same place at the bottom."""

    def __init__(self, vm: KioskViewModel, tr: Translator) -> None:
        super().__init__()
        self.setObjectName("navBar")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(24)
        self.back = _button(tr("kiosk.nav.back"), "navButton", vm.back)
        self.home = _button(tr("kiosk.nav.home"), "navButton", vm.reset)
        layout.addWidget(self.back)
        layout.addWidget(self.home)


class Keypad(QWidget):
    """On-screen keys. Digit mode: 3×4 like a phone; code mode: letters, digits and '-'."""

    key_pressed = Signal(str)
    backspace = Signal()
    clear = Signal()

    def __init__(self, tr: Translator, *, keys: str | None = None, columns: int = 3) -> None:
        super().__init__()
        self.setObjectName("keypad")
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setSpacing(16)
        self.buttons: dict[str, QPushButton] = {}
        if keys is None:  # digits
            for row, digits in enumerate(DIGIT_ROWS):
                for column, digit in enumerate(digits):
                    grid.addWidget(self._key(digit, "digitKey"), row, column)
            grid.addWidget(self._special(tr("kiosk.keypad.clear"), self.clear), 3, 0)
            grid.addWidget(self._key("0", "digitKey"), 3, 1)
            grid.addWidget(self._special(tr("kiosk.keypad.backspace"), self.backspace), 3, 2)
        else:
            for index, key in enumerate(keys):
                grid.addWidget(self._key(key, "letterKey"), index // columns, index % columns)
            # backspace takes the free cells after the last key (or a row of its own)
            row, used = divmod(len(keys), columns)
            if columns - used < 2:
                row, used = row + 1, 0
            grid.addWidget(
                self._special(tr("kiosk.keypad.backspace"), self.backspace),
                row,
                used,
                1,
                columns - used,
            )
            grid.setSpacing(12)

    def _key(self, key: str, name: str) -> QPushButton:
        button = _button(key, name, lambda: self.key_pressed.emit(key))
        self.buttons[key] = button
        return button

    def _special(self, text: str, signal: Signal) -> QPushButton:
        button = _button(text, "specialKey", signal.emit)
        self.buttons[text] = button
        return button


MAX_SERVICES_ONE_COLUMN = 6


def _two_lines(name: str, limit: int = 16) -> str:
    """Break a long service name at the space nearest its middle (half-width buttons)."""
    if len(name) <= limit or " " not in name:
        return name
    middle = len(name) // 2
    spaces = [i for i, ch in enumerate(name) if ch == " "]
    cut = min(spaces, key=lambda i: abs(i - middle))
    return name[:cut] + "\n" + name[cut + 1 :]


class HomePage(Page):
    def __init__(self, vm: KioskViewModel, tr: Translator) -> None:
        super().__init__("homePage")
        self.vm = vm
        self.body.addWidget(_label(tr("kiosk.home.title"), "title"))
        self.body.addWidget(_label(tr("kiosk.home.subtitle"), "subtitle"))
        self.services_box = QGridLayout()
        self.services_box.setSpacing(24)
        self.body.addLayout(self.services_box, 5)
        self.service_buttons: dict[str, QPushButton] = {}
        self.body.addSpacing(24)
        self.appointment = _button(
            tr("kiosk.home.appointment"), "appointmentButton", vm.start_appointment
        )
        self.body.addWidget(self.appointment, 1)
        self.body.addWidget(_label(tr("kiosk.home.free"), "hint"))
        vm.services_changed.connect(self.set_services)
        self.set_services(vm.services)

    def set_services(self, services: list[ServiceInfo]) -> None:
        for button in self.service_buttons.values():
            self.services_box.removeWidget(button)
            button.deleteLater()
        self.service_buttons = {}
        # one column while the buttons stay big; two when a sede offers many services
        columns = 1 if len(services) <= MAX_SERVICES_ONE_COLUMN else 2
        for index, service in enumerate(services):
            text = service.name if columns == 1 else _two_lines(service.name)
            button = _button(
                text,
                "serviceButton",
                lambda _=False, code=service.code: self.vm.choose_service(code),
            )
            self.services_box.addWidget(button, index // columns, index % columns)
            self.service_buttons[service.code] = button


class PreferencePage(Page):
    def __init__(self, vm: KioskViewModel, tr: Translator, theme: Theme) -> None:
        super().__init__("preferencePage")
        self.body.addWidget(_label(tr("kiosk.pref.title"), "title"))
        self.body.addWidget(_label(tr("kiosk.pref.law"), "subtitle"))
        grid = QGridLayout()
        grid.setSpacing(24)
        grid.setColumnStretch(0, 1)
        grid.setColumnStretch(1, 1)
        self.buttons: dict[str, QAbstractButton] = {}
        icon_px = round(theme.touch_px * 2.6)
        categories = [c for c in PREFERENCE_ORDER if c != "none"]
        for index, category in enumerate(categories):
            button = QToolButton()
            button.setObjectName("preferenceButton")
            button.setText(tr(f"kiosk.pref.{category}"))
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextUnderIcon)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
            button.setIcon(pictogram_icon(str(category), icon_px * 2, theme.fg))
            button.setIconSize(QSize(icon_px, icon_px))
            button.clicked.connect(lambda _=False, c=str(category): vm.choose_preference(c))
            grid.addWidget(button, index // 2, index % 2)
            self.buttons[str(category)] = button
        self.body.addLayout(grid, 4)
        none = _button(
            tr("kiosk.pref.none"), "preferenceNone", lambda: vm.choose_preference("none")
        )
        self.buttons["none"] = none
        self.body.addWidget(none, 1)
        self.body.addSpacing(16)
        self.nav = NavBar(vm, tr)
        self.body.addWidget(self.nav)


class DniPage(Page):
    def __init__(self, vm: KioskViewModel, tr: Translator) -> None:
        super().__init__("dniPage")
        self.body.addWidget(_label(tr("kiosk.dni.title"), "title"))
        self.body.addWidget(_label(tr("kiosk.dni.subtitle"), "subtitle"))
        self.display = _label("", "entryDisplay", wrap=False)
        self.body.addWidget(self.display)
        self.error = _label("", "fieldError")
        self.body.addWidget(self.error)
        self.keypad = Keypad(tr)
        self.keypad.key_pressed.connect(vm.press_digit)
        self.keypad.backspace.connect(vm.backspace)
        self.keypad.clear.connect(vm.clear)
        self.body.addWidget(self.keypad, 5)
        actions = QHBoxLayout()
        actions.setSpacing(24)
        self.skip = _button(tr("kiosk.dni.skip"), "secondaryButton", vm.skip_dni)
        self.submit = _button(tr("kiosk.dni.continue"), "primaryButton", vm.submit_dni)
        actions.addWidget(self.skip)
        actions.addWidget(self.submit)
        self.body.addLayout(actions, 1)
        self.nav = NavBar(vm, tr)
        self.body.addWidget(self.nav)
        vm.dni_changed.connect(self.set_dni)
        vm.dni_error_changed.connect(self.set_error)
        self.set_dni(vm.dni)
        self.set_error(vm.dni_error)

    def set_dni(self, dni: str) -> None:
        self.display.setText(_slots(dni, 8))

    def set_error(self, message: str) -> None:
        self.error.setText(message)
        self.error.setVisible(bool(message))


def _slots(entry: str, length: int) -> str:
    """``"1234"`` → ``"1 2 3 4 _ _ _ _"`` so the person sees how many numbers are left."""
    return " ".join(list(entry) + ["_"] * max(0, length - len(entry)))


class AppointmentPage(Page):
    def __init__(self, vm: KioskViewModel, tr: Translator) -> None:
        super().__init__("appointmentPage")
        self.tr = tr
        self.body.addWidget(_label(tr("kiosk.appointment.title"), "title"))
        modes = QHBoxLayout()
        modes.setSpacing(24)
        self.mode_group = QButtonGroup(self)
        self.mode_buttons: dict[str, QPushButton] = {}
        for mode, key in (
            (AppointmentMode.DNI, "kiosk.appointment.mode_dni"),
            (AppointmentMode.CODE, "kiosk.appointment.mode_code"),
        ):
            button = _button(
                tr(key), "modeButton", lambda _=False, m=str(mode): vm.set_appointment_mode(m)
            )
            button.setCheckable(True)
            self.mode_group.addButton(button)
            modes.addWidget(button)
            self.mode_buttons[str(mode)] = button
        self.body.addLayout(modes, 1)
        self.subtitle = _label("", "subtitle")
        self.body.addWidget(self.subtitle)
        self.display = _label("", "entryDisplay", wrap=False)
        self.body.addWidget(self.display)
        self.error = _label("", "fieldError")
        self.body.addWidget(self.error)
        self.keypads = QStackedWidget()
        self.digit_keypad = Keypad(tr)
        self.code_keypad = Keypad(tr, keys=CODE_KEYS, columns=10)
        for keypad in (self.digit_keypad, self.code_keypad):
            keypad.key_pressed.connect(vm.press_key)
            keypad.backspace.connect(vm.backspace)
            keypad.clear.connect(vm.clear)
            self.keypads.addWidget(keypad)
        self.body.addWidget(self.keypads, 5)
        self.submit = _button(
            tr("kiosk.appointment.submit"), "primaryButton", vm.submit_appointment
        )
        self.body.addWidget(self.submit, 1)
        self.nav = NavBar(vm, tr)
        self.body.addWidget(self.nav)
        vm.appointment_changed.connect(self.set_entry)
        vm.appointment_error_changed.connect(self.set_error)
        self.set_entry(str(vm.appointment_mode), vm.appointment_entry)
        self.set_error(vm.appointment_error)

    def set_entry(self, mode: str, entry: str) -> None:
        self.mode_buttons[mode].setChecked(True)
        is_dni = mode == AppointmentMode.DNI
        self.keypads.setCurrentWidget(self.digit_keypad if is_dni else self.code_keypad)
        self.subtitle.setText(
            self.tr(
                "kiosk.appointment.subtitle_dni" if is_dni else "kiosk.appointment.subtitle_code"
            )
        )
        self.display.setText(_slots(entry, 8) if is_dni else (entry or "_"))

    def set_error(self, message: str) -> None:
        self.error.setText(message)
        self.error.setVisible(bool(message))


class WorkingPage(Page):
    def __init__(self, vm: KioskViewModel) -> None:
        super().__init__("workingPage")
        self.body.addStretch(1)
        self.symbol = _label("◷", "messageSymbol")
        self.body.addWidget(self.symbol, 0, Qt.AlignmentFlag.AlignHCenter)
        self.message = _label(vm.working_message, "workingMessage")
        self.body.addWidget(self.message)
        self.body.addStretch(1)
        vm.working_message_changed.connect(self.message.setText)


class TicketPage(Page):
    def __init__(self, vm: KioskViewModel, tr: Translator) -> None:
        super().__init__("ticketPage")
        self.body.addWidget(_label(tr("kiosk.ticket.title"), "title"))
        self.number = _label("", "ticketNumber", wrap=False)
        self.body.addWidget(self.number)
        self.service = _label("", "ticketService")
        self.body.addWidget(self.service)
        self.preference = _label("", "preferenceMark")
        self.body.addWidget(self.preference, 0, Qt.AlignmentFlag.AlignHCenter)
        self.people_ahead = _label("", "ticketDetail")
        self.wait = _label("", "ticketDetail")
        self.body.addWidget(self.people_ahead)
        self.body.addWidget(self.wait)
        self.body.addStretch(1)
        self.instruction = _label("", "instruction")
        self.body.addWidget(self.instruction)
        self.body.addStretch(1)
        self.done = _button(tr("kiosk.ticket.done"), "primaryButton", vm.reset)
        self.body.addWidget(self.done)
        vm.ticket_changed.connect(self.set_ticket)

    def set_ticket(self, screen: TicketScreen) -> None:
        self.number.setText(screen.number)
        self.service.setText(screen.service_name)
        self.preference.setText(screen.preference or "")
        self.preference.setVisible(bool(screen.preference))
        self.people_ahead.setText(screen.people_ahead)
        self.wait.setText(screen.wait)
        self.instruction.setText(screen.instruction)
        # a failed print is an instruction the person must act on: a different, louder box
        self.instruction.setObjectName("instruction" if screen.printed else "instructionAlert")
        self.instruction.style().unpolish(self.instruction)
        self.instruction.style().polish(self.instruction)


class MessagePage(Page):
    """A big symbol, a title, a few words and maybe one button (error, offline, closed)."""

    def __init__(self, name: str, symbol: str, title: str = "", body: str = "") -> None:
        super().__init__(name)
        self.body.addStretch(1)
        self.symbol = _label(symbol, "messageSymbol")
        self.title = _label(title, "title")
        self.text = _label(body, "messageBody")
        self.extra = _label("", "messageExtra")
        self.body.addWidget(self.symbol, 0, Qt.AlignmentFlag.AlignHCenter)
        for widget in (self.title, self.text, self.extra):
            self.body.addWidget(widget)
        self.extra.setVisible(False)
        self.body.addStretch(1)

    def add_button(self, text: str, on_click: Callable[[], None]) -> QPushButton:
        button = _button(text, "primaryButton", on_click)
        self.body.addWidget(button)
        return button


class KioskWindow(QWidget):
    """The full-screen kiosk: header with the sede and clock, then the page of the step."""

    def __init__(
        self,
        vm: KioskViewModel,
        tr: Translator,
        *,
        theme: Theme = LIGHT,
        now: Callable[[], datetime] = now_utc,
    ) -> None:
        super().__init__()
        self.setObjectName("kioskWindow")
        self.setWindowTitle("ALEGRA")
        self.vm = vm
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.header = HeaderBar(tr, now=now)
        self.header.set_title(vm.sede.name if vm.sede else "ALEGRA")
        layout.addWidget(self.header)
        self.stack = QStackedWidget()
        layout.addWidget(self.stack, 1)

        self.home = HomePage(vm, tr)
        self.preference = PreferencePage(vm, tr, theme)
        self.dni = DniPage(vm, tr)
        self.appointment = AppointmentPage(vm, tr)
        self.working = WorkingPage(vm)
        self.ticket = TicketPage(vm, tr)
        self.error = MessagePage("errorPage", "!", tr("kiosk.error.title"))
        self.error_home = self.error.add_button(tr("kiosk.error.home"), vm.reset)
        self.offline = MessagePage(
            "offlinePage", "!", tr("kiosk.offline.title"), tr("kiosk.offline.body")
        )
        self.starting = MessagePage("startingPage", "…", "", tr("kiosk.starting.body"))
        self.closed = MessagePage(
            "closedPage", "☾", tr("kiosk.closed.title"), tr("kiosk.closed.body")
        )
        self.pages: dict[Step, QWidget] = {
            Step.HOME: self.home,
            Step.PREFERENCE: self.preference,
            Step.DNI: self.dni,
            Step.APPOINTMENT: self.appointment,
            Step.WORKING: self.working,
            Step.TICKET: self.ticket,
            Step.ERROR: self.error,
            Step.OFFLINE: self.offline,
            Step.STARTING: self.starting,
            Step.CLOSED: self.closed,
        }
        for page in self.pages.values():
            self.stack.addWidget(page)

        vm.step_changed.connect(self.show_step)
        vm.sede_changed.connect(self.header.set_title)
        vm.error_changed.connect(self.error.text.setText)
        vm.services_changed.connect(lambda _services: self._refresh_hours())
        self.error.text.setText(vm.error)
        self._refresh_hours()
        self.show_step(str(vm.step))

    def _refresh_hours(self) -> None:
        lines = self.vm.opening_hours()
        self.closed.extra.setText("\n".join(lines))
        self.closed.extra.setVisible(bool(lines))

    def show_step(self, step: str) -> None:
        self.stack.setCurrentWidget(self.pages[Step(step)])

    def current_step(self) -> Step:
        return next(s for s, page in self.pages.items() if page is self.stack.currentWidget())


class TouchWatcher(QObject):
    """Any press anywhere counts as activity (restarts the inactivity timer)."""

    def __init__(self, vm: KioskViewModel) -> None:
        super().__init__()
        self.vm = vm

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802  (Qt API)
        if event.type() in (QEvent.Type.MouseButtonPress, QEvent.Type.TouchBegin):
            self.vm.touch()
        return False
