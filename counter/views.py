"""Widgets of the staff counter app. Dumb: they render CounterViewModel and forward clicks and
keyboard shortcuts to it; styles come from counter/styles/*.qss with theme tokens."""

from __future__ import annotations

from PySide6.QtCore import QRegularExpression, Qt
from PySide6.QtGui import QKeySequence, QRegularExpressionValidator, QShortcut
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QFormLayout,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from contracts.messages import Outcome, PreferenceCategory
from counter.viewmodel import (
    INTAKE_SUMMARY_MAX,
    SHORTCUTS,
    CounterViewModel,
    IntakeForm,
    Phase,
    format_duration,
)

#: Work-page buttons in screen order: (action key, catalogue key).
ACTIONS: list[tuple[str, str]] = [
    ("call_next", "counter.action.call_next"),
    ("recall", "counter.action.recall"),
    ("start", "counter.action.start"),
    ("finish", "counter.action.finish"),
    ("transfer", "counter.action.transfer"),
    ("park", "counter.action.park"),
    ("no_show", "counter.action.no_show"),
    ("pause", "counter.action.pause"),
    ("close", "counter.action.close"),
]


def _label(text: str, name: str, *, wrap: bool = False) -> QLabel:
    label = QLabel(text)
    label.setObjectName(name)
    label.setWordWrap(wrap)
    return label


def _restyle(widget: QWidget) -> None:
    widget.style().unpolish(widget)
    widget.style().polish(widget)


# --------------------------------------------------------------------------- dialogs


def _dialog_title(model: CounterViewModel, title: str) -> str:
    """ "Finalizar atención — A030": staff see which ticket the dialog acts on."""
    current = model.current
    return f"{title} — {current.number}" if current is not None else title


class FinishDialog(QDialog):
    """Outcome (attended / no-show) and an optional note."""

    def __init__(self, model: CounterViewModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        tr = model.tr
        self.setObjectName("finishDialog")
        self.setWindowTitle(tr("counter.finish.title"))
        layout = QVBoxLayout(self)
        layout.addWidget(_label(_dialog_title(model, tr("counter.finish.title")), "dialogTitle"))
        layout.addWidget(_label(tr("counter.finish.outcome"), "dialogLabel"))
        self.outcomes = QButtonGroup(self)
        self.outcome_buttons: dict[Outcome, QRadioButton] = {}
        for outcome in (Outcome.ATENDIDO, Outcome.NO_SE_PRESENTO):
            button = QRadioButton(tr(f"outcome.{outcome}"))
            self.outcomes.addButton(button)
            self.outcome_buttons[outcome] = button
            layout.addWidget(button)
        self.outcome_buttons[Outcome.ATENDIDO].setChecked(True)
        layout.addWidget(_label(tr("counter.finish.note"), "dialogLabel"))
        self.note = QPlainTextEdit()
        self.note.setObjectName("noteEdit")
        self.note.setMaximumHeight(120)
        layout.addWidget(self.note)
        buttons = QHBoxLayout()
        self.cancel_button = QPushButton(tr("common.cancel"))
        self.submit_button = QPushButton(tr("counter.finish.submit"))
        self.submit_button.setObjectName("primaryButton")
        self.submit_button.setDefault(True)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.submit_button)
        layout.addLayout(buttons)
        self.cancel_button.clicked.connect(self.reject)
        self.submit_button.clicked.connect(self.accept)

    def outcome(self) -> Outcome:
        for outcome, button in self.outcome_buttons.items():
            if button.isChecked():
                return outcome
        return Outcome.ATENDIDO


class TransferDialog(QDialog):
    """Transfer to another service or to another counter, with a note."""

    def __init__(self, model: CounterViewModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        tr = model.tr
        self.setObjectName("transferDialog")
        self.setWindowTitle(tr("counter.transfer.title"))
        form = QFormLayout(self)
        form.addRow(_label(_dialog_title(model, tr("counter.transfer.title")), "dialogTitle"))
        self.service = QComboBox()
        self.service.addItem("—", None)
        for code, name in model.all_services():
            self.service.addItem(name, code)
        self.counter = QComboBox()
        self.counter.addItem("—", None)
        for counter_id, name in model.other_counters():
            self.counter.addItem(name, counter_id)
        self.note = QLineEdit()
        self.note.setMaxLength(1000)
        form.addRow(tr("counter.transfer.to_service"), self.service)
        form.addRow(tr("counter.transfer.to_counter"), self.counter)
        form.addRow(tr("counter.transfer.note"), self.note)
        buttons = QHBoxLayout()
        self.cancel_button = QPushButton(tr("common.cancel"))
        self.submit_button = QPushButton(tr("counter.transfer.submit"))
        self.submit_button.setObjectName("primaryButton")
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.submit_button)
        form.addRow(buttons)
        self.cancel_button.clicked.connect(self.reject)
        self.submit_button.clicked.connect(self.accept)


class PauseDialog(QDialog):
    """Common reasons as one-click choices, or a free text."""

    def __init__(self, model: CounterViewModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        tr = model.tr
        self.setObjectName("pauseDialog")
        self.setWindowTitle(tr("counter.pause.title"))
        layout = QVBoxLayout(self)
        layout.addWidget(_label(tr("counter.pause.title"), "dialogTitle"))
        self.reasons = QListWidget()
        self.reasons.setObjectName("reasonList")
        self.reasons.addItems([r.strip() for r in tr("counter.pause.reasons").split(",")])
        self.reasons.setCurrentRow(0)
        layout.addWidget(self.reasons)
        layout.addWidget(_label(tr("counter.pause.other"), "dialogLabel"))
        self.other = QLineEdit()
        self.other.setMaxLength(200)
        layout.addWidget(self.other)
        buttons = QHBoxLayout()
        self.cancel_button = QPushButton(tr("common.cancel"))
        self.submit_button = QPushButton(tr("counter.pause.submit"))
        self.submit_button.setObjectName("primaryButton")
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.submit_button)
        layout.addLayout(buttons)
        self.cancel_button.clicked.connect(self.reject)
        self.submit_button.clicked.connect(self.accept)
        self.reasons.itemDoubleClicked.connect(lambda _item: self.accept())

    def reason(self) -> str:
        if self.other.text().strip():
            return self.other.text().strip()
        item = self.reasons.currentItem()
        return item.text() if item else ""


# --------------------------------------------------------------------------- pages


class SignInPage(QWidget):
    def __init__(self, model: CounterViewModel) -> None:
        super().__init__()
        tr = model.tr
        self.setObjectName("signInPage")
        outer = QVBoxLayout(self)
        outer.addStretch(1)
        box = QFrame()
        box.setObjectName("card")
        box.setMaximumWidth(620)
        form = QFormLayout(box)
        form.addRow(_label(tr("counter.signin.title"), "cardTitle"))
        self.username = QLineEdit()
        self.username.setObjectName("usernameEdit")
        self.password = QLineEdit()
        self.password.setObjectName("passwordEdit")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        form.addRow(tr("counter.signin.username"), self.username)
        form.addRow(tr("counter.signin.password"), self.password)
        self.submit = QPushButton(tr("counter.signin.submit"))
        self.submit.setObjectName("primaryButton")
        form.addRow(self.submit)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(box, 2)
        row.addStretch(1)
        outer.addLayout(row)
        outer.addStretch(2)
        self.submit.clicked.connect(self._submit)
        self.password.returnPressed.connect(self._submit)
        self.username.returnPressed.connect(self.password.setFocus)
        self._model = model

    def _submit(self) -> None:
        self._model.sign_in(self.username.text(), self.password.text())
        self.password.clear()


class OpenPage(QWidget):
    """Choose the services this counter attends today, then open it."""

    def __init__(self, model: CounterViewModel) -> None:
        super().__init__()
        self._model = model
        tr = model.tr
        self.setObjectName("openPage")
        outer = QVBoxLayout(self)
        box = QFrame()
        box.setObjectName("card")
        self.box_layout = QVBoxLayout(box)
        self.box_layout.addWidget(_label(tr("counter.open.title"), "cardTitle"))
        self.checks_host = QVBoxLayout()
        self.box_layout.addLayout(self.checks_host)
        self.submit = QPushButton(tr("counter.open.submit"))
        self.submit.setObjectName("primaryButton")
        self.sign_out = QPushButton(tr("counter.signout"))
        buttons = QHBoxLayout()
        buttons.addWidget(self.sign_out)
        buttons.addStretch(1)
        buttons.addWidget(self.submit)
        self.box_layout.addLayout(buttons)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(box, 3)
        row.addStretch(1)
        outer.addStretch(1)
        outer.addLayout(row)
        outer.addStretch(2)
        self.checks: dict[str, QCheckBox] = {}
        self.submit.clicked.connect(self._submit)
        self.sign_out.clicked.connect(model.sign_out)

    def refresh(self) -> None:
        services = self._model.all_services()
        if [code for code, _ in services] != list(self.checks):
            for check in self.checks.values():
                self.checks_host.removeWidget(check)
                check.deleteLater()
            self.checks = {}
            defaults = set(self._model.configured_services())
            for code, name in services:
                check = QCheckBox(name)
                check.setChecked(code in defaults)
                self.checks_host.addWidget(check)
                self.checks[code] = check
        self.submit.setEnabled(self._model.enabled("open"))
        self.sign_out.setEnabled(self._model.enabled("sign_out"))

    def selected(self) -> list[str]:
        return [code for code, check in self.checks.items() if check.isChecked()]

    def _submit(self) -> None:
        self._model.open_counter(self.selected())


class TicketCard(QFrame):
    """The ticket at the counter: number, service, state and time since called / started."""

    def __init__(self, model: CounterViewModel) -> None:
        super().__init__()
        self._model = model
        self.setObjectName("ticketCard")
        layout = QVBoxLayout(self)
        self.number = _label("", "ticketNumber")
        self.number.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.service = _label("", "ticketService")
        self.service.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.elapsed = _label("", "ticketElapsed")
        self.elapsed.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.extra = _label("", "ticketExtra", wrap=True)
        self.extra.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(self.number)
        layout.addWidget(self.service)
        layout.addWidget(self.elapsed)
        layout.addWidget(self.extra)

    def refresh(self) -> None:
        model, tr = self._model, self._model.tr
        current = model.current
        phase = model.phase
        self.setProperty("phase", str(phase))
        _restyle(self)
        if current is None:
            self.number.setText("")
            if phase == Phase.PAUSED and model.counter is not None:
                self.service.setText(
                    tr("counter.current.paused", reason=model.counter.pause_reason or "")
                )
            else:
                self.service.setText(tr("counter.current.none"))
            hint = tr("counter.current.hint_idle") if phase == Phase.IDLE else ""
            self.elapsed.setText(hint)
            self.extra.setText("")
            return
        self.number.setText(current.number)
        self.service.setText(model.service_name(current.service_code))
        self.update_elapsed(model.elapsed_text())
        extras = []
        if current.preference_category != PreferenceCategory.NONE:
            extras.append(f"{tr('pref.mark')}: {tr(f'pref.{current.preference_category}')}")
        if current.recalls:
            extras.append(tr("counter.current.recalls", count=current.recalls))
        self.extra.setText(" · ".join(extras))

    def update_elapsed(self, elapsed: str) -> None:
        current = self._model.current
        if current is None:
            return
        key = (
            "counter.current.serving"
            if self._model.phase == Phase.SERVING
            else "counter.current.called"
        )
        self.elapsed.setText(self._model.tr(key, elapsed=elapsed))


class QueuePanel(QScrollArea):
    """Waiting per attended service: count, preferential count, longest wait and the first
    tickets with their waits; then parked tickets (resume) and tickets to reprint."""

    MAX_TICKETS = 8

    def __init__(self, model: CounterViewModel) -> None:
        super().__init__()
        self._model = model
        self.setObjectName("queuePanel")
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.body = QWidget()
        self.body.setObjectName("queueBody")
        self.layout_ = QVBoxLayout(self.body)
        self.layout_.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.setWidget(self.body)
        self.resume_buttons: dict[str, QPushButton] = {}
        self.reprint_buttons: dict[str, QPushButton] = {}
        self.amend_buttons: dict[str, QPushButton] = {}
        self.refresh_intakes_button: QPushButton | None = None

    def refresh(self) -> None:
        model, tr = self._model, self._model.tr
        while self.layout_.count():
            item = self.layout_.takeAt(0)
            if item.widget() is not None:
                item.widget().hide()  # gone from the screen now, deleted by the event loop
                item.widget().deleteLater()
        self.resume_buttons = {}
        self.reprint_buttons = {}
        self.amend_buttons = {}
        self.refresh_intakes_button = None
        if model.parked:
            self.layout_.addWidget(_label(tr("counter.parked.title"), "sectionTitle"))
            for ticket in model.parked:
                button = QPushButton(f"{tr('counter.action.resume')} {ticket.number}")
                button.setObjectName("listButton")
                button.setEnabled(model.enabled("resume"))
                button.clicked.connect(lambda _=False, t=ticket.ticket_id: model.resume(t))
                self.layout_.addWidget(button)
                self.resume_buttons[ticket.ticket_id] = button
        if model.intakes_today:
            self.layout_.addWidget(_label(tr("counter.intakes.title"), "sectionTitle"))
            for item in model.intakes_today[: self.MAX_TICKETS]:
                number = item.case_number or tr("counter.intakes.pending")
                self.layout_.addWidget(
                    _label(f"{item.ticket_number or '—'} · {number}", "intakeLine")
                )
                if item.case_number is None:  # correctable here until central opens the file
                    amend = QPushButton(
                        f"{tr('counter.action.amend')} {item.ticket_number or ''}".strip()
                    )
                    amend.setObjectName("listButton")
                    amend.setEnabled(model.enabled("amend"))
                    amend.clicked.connect(lambda _=False, i=item.intake_id: model.begin_amend(i))
                    self.layout_.addWidget(amend)
                    self.amend_buttons[item.intake_id] = amend
            self.refresh_intakes_button = QPushButton(tr("counter.intakes.refresh"))
            self.refresh_intakes_button.setObjectName("listButton")
            self.refresh_intakes_button.setEnabled(model.enabled("list_intakes"))
            self.refresh_intakes_button.clicked.connect(model.refresh_intakes)
            self.layout_.addWidget(self.refresh_intakes_button)
        candidates = model.reprint_candidates()
        if candidates:
            self.layout_.addWidget(_label(tr("counter.reprint.title"), "sectionTitle"))
            for ticket in candidates:
                button = QPushButton(f"{tr('counter.action.reprint')} {ticket.number}")
                button.setObjectName("listButton")
                button.setEnabled(model.enabled("reprint"))
                button.clicked.connect(lambda _=False, t=ticket.ticket_id: model.reprint(t))
                self.layout_.addWidget(button)
                self.reprint_buttons[ticket.ticket_id] = button
        self.layout_.addWidget(_label(tr("counter.queue.title"), "sectionTitle"))
        for row in model.service_rows():
            head = f"{row.name}: {row.waiting}"
            details = []
            if row.preferential_waiting:
                details.append(tr("counter.queue.preferential", count=row.preferential_waiting))
            if row.waiting:
                details.append(
                    tr("counter.queue.longest", wait=format_duration(row.longest_wait_s))
                )
            header = _label(head, "serviceRow")
            self.layout_.addWidget(header)
            if details:
                self.layout_.addWidget(_label(" · ".join(details), "serviceDetails"))
            if not row.waiting:
                self.layout_.addWidget(_label(tr("counter.queue.empty"), "ticketLineMuted"))
            for ticket in row.tickets[: self.MAX_TICKETS]:
                mark = " ★" if ticket.preference_category != PreferenceCategory.NONE else ""
                line = _label(f"{ticket.number}{mark}   {model.wait_of(ticket)}", "ticketLine")
                line.setProperty("preferential", bool(mark))
                self.layout_.addWidget(line)
            # the hub caps the list it sends; the count of the rest comes from the total
            more = max(row.waiting, len(row.tickets)) - min(len(row.tickets), self.MAX_TICKETS)
            if more > 0:
                self.layout_.addWidget(
                    _label(tr("counter.queue.more", count=more), "ticketLineMuted")
                )


class IntakePage(QWidget):
    """ "Abrir expediente": the person just attended, typed by staff. Large fields and buttons
    (touch screens at some counters); errors in red under each field; the form is emptied as
    soon as it is sent or cancelled, so no citizen data stays on screen."""

    FIELDS = ("doc_number", "given_names", "surnames", "service_code", "matter", "summary")

    def __init__(self, model: CounterViewModel) -> None:
        super().__init__()
        self._model = model
        tr = model.tr
        self.setObjectName("intakePage")
        outer = QVBoxLayout(self)
        card = QFrame()
        card.setObjectName("card")
        layout = QVBoxLayout(card)
        self.title = _label("", "cardTitle")
        head = QHBoxLayout()
        head.addWidget(self.title)
        head.addSpacing(16)
        self.hint = _label(tr("counter.intake.hint"), "intakeHint", wrap=True)
        self.hint.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        head.addWidget(self.hint, 1)
        layout.addLayout(head)

        self.doc_type_label = _label(tr("counter.intake.doc_type"), "fieldLabel")
        layout.addWidget(self.doc_type_label)
        types = QHBoxLayout()
        self.doc_type_group = QButtonGroup(self)
        self.doc_type_buttons: dict[str, QPushButton] = {}
        for code, _name in model.doc_types():
            button = QPushButton(tr(f"counter.doc_type.{code}"))
            button.setObjectName("docTypeButton")
            button.setCheckable(True)
            self.doc_type_group.addButton(button)
            self.doc_type_buttons[code] = button
            types.addWidget(button)
            button.clicked.connect(lambda _=False, c=code: self._doc_type_chosen(c))
        layout.addLayout(types)

        grid = QGridLayout()
        grid.setHorizontalSpacing(16)
        self.doc_number = QLineEdit()
        self.doc_number.setObjectName("docNumberEdit")
        self.given_names = QLineEdit()
        self.given_names.setObjectName("givenNamesEdit")
        self.given_names.setMaxLength(100)
        self.surnames = QLineEdit()
        self.surnames.setObjectName("surnamesEdit")
        self.surnames.setMaxLength(100)
        self.service = QComboBox()
        self.service.setObjectName("intakeCombo")
        self.matter = QComboBox()
        self.matter.setObjectName("intakeCombo")
        self.summary = QPlainTextEdit()
        self.summary.setObjectName("summaryEdit")
        self.summary_count = _label("", "summaryCount")
        self.errors: dict[str, QLabel] = {
            name: _label("", "fieldError", wrap=True) for name in self.FIELDS
        }
        # document, names and surnames in a row; below, service and matter stacked on the
        # left and the summary beside them (fits a 1366×768 screen with every error shown)
        cells = [
            ("doc_number", "counter.intake.doc_number", self.doc_number, 0, 0),
            ("given_names", "counter.intake.given_names", self.given_names, 0, 1),
            ("surnames", "counter.intake.surnames", self.surnames, 0, 2),
            ("service_code", "counter.intake.service", self.service, 3, 0),
            ("matter", "counter.intake.matter", self.matter, 6, 0),
        ]
        self.field_labels: dict[str, QLabel] = {}
        for name, key, widget, row, column in cells:
            self.field_labels[name] = _label(tr(key), "fieldLabel")
            grid.addWidget(self.field_labels[name], row, column)
            grid.addWidget(widget, row + 1, column)
            grid.addWidget(self.errors[name], row + 2, column)
        summary_head = QHBoxLayout()
        summary_head.addWidget(_label(tr("counter.intake.summary"), "fieldLabel"))
        summary_head.addStretch(1)
        summary_head.addWidget(self.summary_count)
        grid.addLayout(summary_head, 3, 1, 1, 2)
        grid.addWidget(self.summary, 4, 1, 5, 2)
        grid.addWidget(self.errors["summary"], 9, 1, 1, 2)
        for column in range(3):
            grid.setColumnStretch(column, 1)
        layout.addLayout(grid)
        layout.addStretch(1)

        buttons = QHBoxLayout()
        self.cancel_button = QPushButton(tr("common.cancel"))
        self.cancel_button.setObjectName("intakeCancel")
        self.submit_button = QPushButton(tr("counter.intake.submit"))
        self.submit_button.setObjectName("intakeSubmit")
        buttons.addWidget(self.cancel_button)
        buttons.addStretch(1)
        buttons.addWidget(self.submit_button)
        layout.addLayout(buttons)
        outer.addWidget(card)

        self.cancel_button.clicked.connect(model.cancel_intake)
        self.submit_button.clicked.connect(self._submit)
        self.summary.textChanged.connect(self._count)
        model.intake_errors_changed.connect(self.show_errors)
        self._prepared_for: str | None = None
        self.clear()

    # -- form state

    def prepare(self) -> None:
        """Fill the choices and defaults for the attention the form is opened for (once).
        Correcting one of today's intakes ("Corregir") shows only its matter and summary."""
        model, tr = self._model, self._model.tr
        amending = model.amending
        ticket = model.last_attended
        if amending is not None:
            key = f"amend:{amending.intake_id}"
            self.title.setText(tr("counter.amend.title", number=amending.ticket_number or "—"))
        else:
            key = ticket.ticket_id if ticket else ""
            self.title.setText(
                tr("counter.intake.title", number=ticket.number)
                if ticket
                else tr("counter.action.intake")
            )
        if self._prepared_for == key:
            return
        self.clear()
        self._prepared_for = key
        defaults = model.intake_defaults()
        self.service.clear()
        for code, name in model.all_services():
            self.service.addItem(name, code)
        index = self.service.findData(defaults.service_code)
        self.service.setCurrentIndex(max(index, 0))
        self.matter.clear()
        self.matter.addItem(tr("counter.intake.choose"), "")
        for code, name in model.matters():
            self.matter.addItem(name, code)
        person = amending is None
        for widget in (
            self.doc_type_label, *self.doc_type_buttons.values(), self.doc_number,
            self.given_names, self.surnames, self.service,
            *(self.field_labels[n] for n in ("doc_number", "given_names", "surnames",
                                              "service_code")),
        ):  # fmt: skip
            widget.setVisible(person)
        self.hint.setText(tr("counter.intake.hint" if person else "counter.amend.hint"))
        self.submit_button.setText(
            tr("counter.intake.submit" if person else "counter.amend.submit")
        )
        if person:
            self.given_names.setFocus()
            return
        self.matter.setCurrentIndex(max(self.matter.findData(defaults.matter), 0))
        self.summary.setPlainText(defaults.summary)
        self.summary.setFocus()

    @property
    def prepared(self) -> bool:
        return self._prepared_for is not None

    def clear(self) -> None:
        """Forget everything typed (after sending or cancelling: privacy)."""
        self._prepared_for = None
        for widget in (self.doc_number, self.given_names, self.surnames):
            widget.clear()
        self.summary.clear()
        self.matter.setCurrentIndex(0 if self.matter.count() else -1)
        self._doc_type_chosen("dni")
        self.show_errors({})

    def form(self) -> IntakeForm:
        doc_type = next(
            (code for code, button in self.doc_type_buttons.items() if button.isChecked()), "dni"
        )
        return IntakeForm(
            doc_type=doc_type,
            doc_number=self.doc_number.text(),
            given_names=self.given_names.text(),
            surnames=self.surnames.text(),
            service_code=self.service.currentData() or "",
            matter=self.matter.currentData() or "",
            summary=self.summary.toPlainText(),
        )

    def show_errors(self, errors: dict) -> None:
        for name, label in self.errors.items():
            label.setText(errors.get(name, ""))
            label.setVisible(bool(errors.get(name)))
        for name, widget in (
            ("doc_number", self.doc_number),
            ("given_names", self.given_names),
            ("surnames", self.surnames),
            ("service_code", self.service),
            ("matter", self.matter),
            ("summary", self.summary),
        ):
            widget.setProperty("invalid", name in errors)
            _restyle(widget)

    def refresh(self) -> None:
        self.prepare()
        busy = self._model.busy_action is not None
        enabled = self._model.connected and not busy
        self.submit_button.setEnabled(enabled)
        self.cancel_button.setEnabled(not busy)

    # -- internals

    def _doc_type_chosen(self, code: str) -> None:
        self.doc_type_buttons[code].setChecked(True)
        if code == "dni":  # 8 digits, nothing else can be typed
            self.doc_number.setValidator(
                QRegularExpressionValidator(QRegularExpression(r"\d{0,8}"), self.doc_number)
            )
            self.doc_number.setMaxLength(8)
        else:
            self.doc_number.setValidator(None)
            self.doc_number.setMaxLength(20)
        if code == "ninguno":
            self.doc_number.clear()
        self.doc_number.setEnabled(code != "ninguno")

    def _count(self) -> None:
        self.summary_count.setText(
            self._model.tr(
                "counter.intake.summary_count",
                count=len(self.summary.toPlainText().strip()),
                max=INTAKE_SUMMARY_MAX,
            )
        )

    def _submit(self) -> None:
        self._model.submit_intake(self.form())


class WorkPage(QWidget):
    def __init__(self, model: CounterViewModel, window: CounterWindow) -> None:
        super().__init__()
        self._model = model
        tr = model.tr
        self.setObjectName("workPage")
        layout = QHBoxLayout(self)
        left = QVBoxLayout()
        self.card = TicketCard(model)
        left.addWidget(self.card, 3)
        grid = QGridLayout()
        grid.setSpacing(10)
        self.buttons: dict[str, QPushButton] = {}
        for index, (action, key) in enumerate(ACTIONS):
            button = QPushButton(f"{SHORTCUTS[action]}\n{tr(key)}")
            button.setObjectName("actionButton")
            button.setProperty("action", action)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys go to the shortcuts
            button.clicked.connect(lambda _=False, a=action: window.trigger(a))
            grid.addWidget(button, index // 3, index % 3)
            self.buttons[action] = button
        for column in range(3):
            grid.setColumnStretch(column, 1)
        self.resume_counter = QPushButton(tr("counter.action.resume_counter"))
        self.resume_counter.setObjectName("primaryButton")
        self.resume_counter.clicked.connect(lambda: model.open_counter(model.attended_services()))
        self.intake_button = QPushButton("")
        self.intake_button.setObjectName("intakeOffer")
        self.intake_button.clicked.connect(lambda: window.trigger("intake"))
        self.intake_button.setVisible(False)  # shown after an attended ticket
        left.addLayout(grid, 2)
        left.addWidget(self.intake_button)
        left.addWidget(self.resume_counter)
        left.addWidget(_label(tr("counter.shortcuts"), "shortcutsHelp", wrap=True))
        layout.addLayout(left, 5)
        self.queue = QueuePanel(model)
        layout.addWidget(self.queue, 3)

    def refresh(self) -> None:
        model = self._model
        self.card.refresh()
        for action, button in self.buttons.items():
            button.setEnabled(model.enabled(action))
            button.setProperty("main", action == _main_action(model.phase))
            _restyle(button)
        self.resume_counter.setVisible(model.phase == Phase.PAUSED)
        self.resume_counter.setEnabled(model.enabled("open"))
        offered = model.last_attended is not None and model.phase in (Phase.IDLE, Phase.PAUSED)
        self.intake_button.setVisible(offered)
        self.intake_button.setEnabled(model.enabled("intake"))
        if offered:
            number = model.last_attended.number  # type: ignore[union-attr]
            self.intake_button.setText(
                f"{SHORTCUTS['intake']}  {model.tr('counter.intake.offer', number=number)}"
            )
        self.queue.refresh()


def _main_action(phase: Phase) -> str:
    """The button most likely needed next, drawn as the primary one."""
    return {Phase.IDLE: "call_next", Phase.CALLING: "start", Phase.SERVING: "finish"}.get(phase, "")


# --------------------------------------------------------------------------- window


class CounterWindow(QWidget):
    def __init__(self, model: CounterViewModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        tr = model.tr
        self.setObjectName("counterRoot")
        self.setWindowTitle(tr("counter.window_title"))
        root = QVBoxLayout(self)
        root.setContentsMargins(0, 0, 0, 0)
        root.setSpacing(0)

        header = QFrame()
        header.setObjectName("header")
        header_layout = QHBoxLayout(header)
        self.title = _label("", "counterTitle")
        self.status = _label("", "statusChip")
        self.staff = _label("", "staffName")
        self.waiting = _label("", "waitingTotal")
        self.sign_out_button = QPushButton(tr("counter.signout"))
        self.sign_out_button.setObjectName("headerButton")
        self.sign_out_button.clicked.connect(model.sign_out)
        header_layout.addWidget(self.title)
        header_layout.addWidget(self.status)
        header_layout.addStretch(1)
        header_layout.addWidget(self.waiting)
        header_layout.addSpacing(24)
        header_layout.addWidget(self.staff)
        header_layout.addWidget(self.sign_out_button)
        root.addWidget(header)

        self.banner = _label(tr("counter.unreachable"), "connectionBanner", wrap=True)
        root.addWidget(self.banner)
        self.error_label = _label("", "errorBar", wrap=True)
        root.addWidget(self.error_label)
        self.notice_label = _label("", "noticeBar", wrap=True)
        root.addWidget(self.notice_label)

        self.pages = QStackedWidget()
        self.sign_in_page = SignInPage(model)
        self.open_page = OpenPage(model)
        self.work_page = WorkPage(model, self)
        self.intake_page = IntakePage(model)
        for page in (self.sign_in_page, self.open_page, self.work_page, self.intake_page):
            self.pages.addWidget(page)
        root.addWidget(self.pages, 1)

        self.finish_dialog: FinishDialog | None = None
        self.transfer_dialog: TransferDialog | None = None
        self.pause_dialog: PauseDialog | None = None

        self.shortcuts: dict[str, QShortcut] = {}
        for action, key in SHORTCUTS.items():
            shortcut = QShortcut(QKeySequence(key), self)
            shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
            shortcut.activated.connect(lambda a=action: self.trigger(a))
            self.shortcuts[action] = shortcut

        model.changed.connect(self.refresh)
        model.error_changed.connect(self._on_error)
        model.notice_changed.connect(self._on_notice)
        model.elapsed_changed.connect(self.work_page.card.update_elapsed)
        self._on_error(model.error)
        self._on_notice(model.notice)
        self.refresh()

    def trigger(self, action: str) -> None:
        """A button or its shortcut: act only when the action is allowed now."""
        model = self.model
        if not model.enabled(action):
            return
        if action == "finish":
            self.finish_dialog = FinishDialog(model, self)
            self.finish_dialog.accepted.connect(self._finish_accepted)
            self.finish_dialog.open()
        elif action == "transfer":
            self.transfer_dialog = TransferDialog(model, self)
            self.transfer_dialog.accepted.connect(self._transfer_accepted)
            self.transfer_dialog.open()
        elif action == "pause":
            self.pause_dialog = PauseDialog(model, self)
            self.pause_dialog.accepted.connect(self._pause_accepted)
            self.pause_dialog.open()
        elif action == "intake":
            model.begin_intake()
        else:
            {
                "call_next": model.call_next,
                "recall": model.recall,
                "start": model.start_attention,
                "park": model.park,
                "no_show": model.no_show,
                "close": model.close,
            }[action]()

    def _finish_accepted(self) -> None:
        dialog = self.finish_dialog
        if dialog is not None:
            self.model.finish(dialog.outcome(), dialog.note.toPlainText())

    def _transfer_accepted(self) -> None:
        dialog = self.transfer_dialog
        if dialog is not None:
            self.model.transfer(
                to_service_code=dialog.service.currentData(),
                to_counter_id=dialog.counter.currentData(),
                note=dialog.note.text(),
            )

    def _pause_accepted(self) -> None:
        dialog = self.pause_dialog
        if dialog is not None:
            self.model.pause(dialog.reason())

    def refresh(self) -> None:
        model, tr = self.model, self.model.tr
        counter_name = model.counter.name if model.counter else model.counter_id
        if model.sede is not None:
            for info in model.sede.counters:
                if info.counter_id == model.counter_id:
                    counter_name = info.name
        self.title.setText(counter_name)
        phase = model.phase
        self.status.setText(tr(f"counter.status.{phase}"))
        self.status.setProperty("phase", str(phase))
        _restyle(self.status)
        self.staff.setText(
            tr("counter.staff", name=model.user_display_name) if model.signed_in else ""
        )
        self.waiting.setText(
            tr("counter.waiting_total", count=model.waiting_total())
            if phase not in (Phase.SIGNED_OUT, Phase.CLOSED)
            else ""
        )
        self.sign_out_button.setVisible(phase in (Phase.IDLE, Phase.PAUSED))
        self.sign_out_button.setEnabled(model.enabled("sign_out"))
        self.banner.setVisible(not model.connected)
        if phase == Phase.SIGNED_OUT:
            self.pages.setCurrentWidget(self.sign_in_page)
            self.sign_in_page.submit.setEnabled(model.enabled("sign_in"))
        elif phase == Phase.CLOSED:
            self.pages.setCurrentWidget(self.open_page)
            self.open_page.refresh()
        elif model.intake_open and phase in (Phase.IDLE, Phase.PAUSED):
            self.pages.setCurrentWidget(self.intake_page)
            self.intake_page.refresh()
            return
        else:
            self.pages.setCurrentWidget(self.work_page)
            self.work_page.refresh()
        if self.intake_page.prepared:  # sent, cancelled or signed out: nothing stays typed
            self.intake_page.clear()

    def _on_error(self, text: str) -> None:
        self.error_label.setText(text)
        self.error_label.setVisible(bool(text))

    def _on_notice(self, text: str) -> None:
        self.notice_label.setText(text)
        self.notice_label.setVisible(bool(text))
