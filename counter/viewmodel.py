"""View-model of the staff counter app: sign in, open the counter, call and serve tickets.

Holds no state of record: every change is a command to the hub, and what is shown comes from
the hub's retained CounterState / QueueState. No widgets here; the views bind to the signals.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

from PySide6.QtCore import QObject, QTimer, Signal

from contracts.cases import DOC_TYPES, normalize_document
from contracts.errors import ErrorCode, message_es
from contracts.messages import (
    CaseIntakeView,
    CommandResponse,
    CounterState,
    CounterStatus,
    Outcome,
    QueueState,
    SedeInfo,
    TicketStatus,
    TicketView,
)
from contracts.mqtt import Action
from qtcommon.i18n import Translator

#: Keyboard shortcuts, shown on screen next to each button.
SHORTCUTS: dict[str, str] = {
    "call_next": "F1",
    "recall": "F2",
    "start": "F3",
    "finish": "F4",
    "transfer": "F5",
    "park": "F6",
    "no_show": "F7",
    "pause": "F8",
    "close": "F9",
    "intake": "F10",
}


class Phase(StrEnum):
    """What the counter screen is showing; the buttons follow from it."""

    SIGNED_OUT = "signed_out"
    CLOSED = "closed"  # signed in, counter not open: choose services
    IDLE = "idle"  # open, nobody at the counter
    CALLING = "calling"  # a ticket was called, the person is on the way
    SERVING = "serving"
    PAUSED = "paused"


ReplyCallback = Callable[[CommandResponse | None], None]
WAITS_REFRESH_TICKS = 15  # seconds between refreshes of the waiting lists' wait times

#: Commands that change this counter's state: after the answer the view waits for the new
#: CounterState before taking another command (reprint changes nothing here).
SETTLING_ACTIONS = frozenset(
    {
        Action.OPEN_COUNTER,
        Action.PAUSE_COUNTER,
        Action.CLOSE_COUNTER,
        Action.CALL_NEXT,
        Action.CALL_TICKET,
        Action.RECALL,
        Action.START_ATTENTION,
        Action.FINISH_ATTENTION,
        Action.TRANSFER_TICKET,
        Action.PARK_TICKET,
        Action.RESUME_TICKET,
        Action.CANCEL_TICKET,
        Action.SIGN_OUT,
    }
)


class CommandSender(Protocol):
    """Sends one command to the hub and calls back with its answer (None: no answer arrived,
    the client gave up). Retries of one command reuse its request id (hub idempotency)."""

    def __call__(self, action: str, params: dict[str, Any], on_reply: ReplyCallback) -> None: ...


@dataclass(frozen=True)
class IntakeForm:
    """What the staff member typed in "Abrir expediente". Held only until it is sent."""

    doc_type: str = "dni"
    doc_number: str = ""
    given_names: str = ""
    surnames: str = ""
    service_code: str = ""
    matter: str = ""
    summary: str = ""


INTAKE_SUMMARY_MAX = 1000


@dataclass(frozen=True)
class ServiceRow:
    code: str
    name: str
    waiting: int
    preferential_waiting: int
    longest_wait_s: int
    tickets: list[TicketView]


def format_duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def error_text(response: CommandResponse | None, tr: Translator) -> str:
    """The Spanish text for a failed command: the catalogue's, else the hub's own message."""
    if response is None:
        return tr.tr_error(ErrorCode.HUB_UNREACHABLE, message_es(ErrorCode.HUB_UNREACHABLE))
    if response.error is None:
        return tr.tr_error(ErrorCode.INTERNAL, message_es(ErrorCode.INTERNAL))
    fallback = response.error.message
    if not fallback:
        try:
            fallback = message_es(ErrorCode(response.error.code))
        except ValueError:
            fallback = message_es(ErrorCode.INTERNAL)
    return tr.tr_error(response.error.code, fallback)


class CounterViewModel(QObject):
    changed = Signal()  # phase, ticket, queues, enabled actions or connection changed
    error_changed = Signal(str)  # "" clears
    notice_changed = Signal(str)  # short confirmation of the last action, "" clears
    elapsed_changed = Signal(str)
    intake_errors_changed = Signal(dict)  # field -> Spanish message, {} clears

    def __init__(
        self,
        counter_id: str,
        send: CommandSender,
        parent: QObject | None = None,
        *,
        tr: Translator | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        settle_ms: int = 1500,
    ) -> None:
        super().__init__(parent)
        self.tr = tr or Translator.load(packages=("counter",))
        self.counter_id = counter_id
        self._send = send
        self._now = now
        self.connected = False
        self.sede: SedeInfo | None = None
        self.counter: CounterState | None = None
        self.queues: dict[str, QueueState] = {}
        self.user_display_name: str | None = None
        self.busy_action: str | None = None
        # The hub answers first and publishes the new CounterState right after: until that
        # state is here the screen still shows the old phase, and a held F1 (key repeat) would
        # call a second ticket. So a command stays "busy" until the state arrives (or a
        # short grace time passes, e.g. for a replayed answer that publishes nothing).
        self._settle_timer = QTimer(self)
        self._settle_timer.setSingleShot(True)
        self._settle_timer.setInterval(settle_ms)
        self._settle_timer.timeout.connect(self._settled)
        self.error = ""
        self.notice = ""
        # "Abrir expediente": the attention just finished here, and whether its form is open
        self.last_attended: TicketView | None = None
        self.intake_open = False
        self.intake_errors: dict[str, str] = {}
        # "Corregir": the intake of today whose matter/summary the open form corrects (the same
        # form, with only those two fields), until central has opened its file
        self.amending: CaseIntakeView | None = None
        # today's intakes of this counter (no names), with central's file number once known
        self.intakes_today: list[CaseIntakeView] = []
        self._ticks = 0
        self._elapsed_timer = QTimer(self)
        self._elapsed_timer.setInterval(1000)
        self._elapsed_timer.timeout.connect(self.tick)

    def start_clock(self) -> None:
        """Tick the elapsed time of the current ticket every second."""
        self._elapsed_timer.start()

    # ------------------------------------------------------------------ inputs from the hub

    def apply_sede_info(self, info: SedeInfo) -> None:
        self.sede = info
        self.changed.emit()

    def apply_counter_state(self, state: CounterState) -> None:
        if state.counter_id != self.counter_id:
            return
        self.counter = state
        # the hub's retained state is the truth: signed in here, elsewhere, or replaced
        self.user_display_name = state.user_display_name
        if state.user_display_name is None:  # signed out (here or by the hub): nothing pending
            self._forget_attended()
        if self._settle_timer.isActive():
            self._settle_timer.stop()
            self.busy_action = None
        self.changed.emit()
        self.tick()

    def apply_queue_state(self, state: QueueState) -> None:
        self.queues[state.service_code] = state
        self.changed.emit()

    def remove_queue(self, service_code: str) -> None:
        """The hub took a service out (central's configuration no longer has it)."""
        if self.queues.pop(service_code, None) is not None:
            self.changed.emit()

    def remove_counter(self, counter_id: str) -> None:
        """The hub took this counter out of the sede's configuration: whoever was signed in
        here was signed out by the hub; say so instead of keeping the last screen."""
        if counter_id != self.counter_id:
            return
        self.counter = None
        self.user_display_name = None
        self._forget_attended()
        if self._settle_timer.isActive():
            self._settle_timer.stop()
            self.busy_action = None
        self._set_error(self.tr("counter.removed"))
        self.changed.emit()

    def set_connected(self, connected: bool) -> None:
        if connected == self.connected:
            return
        self.connected = connected
        self.changed.emit()

    # ------------------------------------------------------------------ derived state

    @property
    def signed_in(self) -> bool:
        return self.user_display_name is not None

    @property
    def current(self) -> TicketView | None:
        return self.counter.current if self.counter else None

    @property
    def phase(self) -> Phase:
        if not self.signed_in:
            return Phase.SIGNED_OUT
        if self.counter is None or self.counter.status == CounterStatus.CLOSED:
            return Phase.CLOSED
        current = self.counter.current
        if current is not None and current.status == TicketStatus.SERVING:
            return Phase.SERVING
        if current is not None:
            return Phase.CALLING
        if self.counter.status == CounterStatus.PAUSED:
            return Phase.PAUSED
        return Phase.IDLE

    @property
    def parked(self) -> list[TicketView]:
        return list(self.counter.parked) if self.counter else []

    def attended_services(self) -> list[str]:
        if self.counter and self.counter.services:
            return list(self.counter.services)
        return self.configured_services()

    def configured_services(self) -> list[str]:
        """The services the sede config assigns to this counter (the defaults to open with)."""
        if self.sede is None:
            return []
        for counter in self.sede.counters:
            if counter.counter_id == self.counter_id:
                return list(counter.services)
        return []

    def service_name(self, code: str) -> str:
        if self.sede is not None:
            for service in self.sede.services:
                if service.code == code:
                    return service.name
        return code

    def all_services(self) -> list[tuple[str, str]]:
        return [(s.code, s.name) for s in self.sede.services] if self.sede else []

    def other_counters(self) -> list[tuple[str, str]]:
        if self.sede is None:
            return []
        return [
            (c.counter_id, c.name) for c in self.sede.counters if c.counter_id != self.counter_id
        ]

    def waiting_total(self) -> int:
        return sum(
            self.queues[code].waiting for code in self.attended_services() if code in self.queues
        )

    def service_rows(self) -> list[ServiceRow]:
        rows = []
        for code in self.attended_services():
            queue = self.queues.get(code)
            rows.append(
                ServiceRow(
                    code=code,
                    name=self.service_name(code),
                    waiting=queue.waiting if queue else 0,
                    preferential_waiting=queue.preferential_waiting if queue else 0,
                    longest_wait_s=queue.longest_wait_s if queue else 0,
                    tickets=list(queue.tickets) if queue else [],
                )
            )
        return rows

    def wait_of(self, ticket: TicketView) -> str:
        return format_duration((self._now() - ticket.arrived_at).total_seconds())

    def reprint_candidates(self) -> list[TicketView]:
        """Tickets the hub flagged for reprint (their print failed at the kiosk): the flagged
        ones of each queue's head and those further back (``QueueState.reprints``), once each,
        and the ticket in hand; oldest issued first."""
        found: dict[str, TicketView] = {}
        for queue in self.queues.values():
            for ticket in (*queue.tickets, *queue.reprints):
                if ticket.needs_reprint:
                    found.setdefault(ticket.ticket_id, ticket)
        current = self.current
        if current is not None and current.needs_reprint:
            found[current.ticket_id] = current
        return sorted(found.values(), key=lambda t: t.issued_at)

    def elapsed_text(self) -> str:
        current = self.current
        if current is None:
            return ""
        since = current.started_at if current.status == TicketStatus.SERVING else current.called_at
        if since is None:
            return ""
        return format_duration((self._now() - since).total_seconds())

    def enabled(self, action: str) -> bool:
        """Whether the button/shortcut for ``action`` can be used now."""
        if not self.connected or self.busy_action is not None:
            return False
        if self.intake_open:  # the form is on screen: finish or cancel it first
            return False
        phase = self.phase
        allowed: dict[Phase, set[str]] = {
            Phase.SIGNED_OUT: {"sign_in"},
            Phase.CLOSED: {"open", "sign_out"},
            Phase.IDLE: {"call_next", "pause", "close", "sign_out"},
            Phase.CALLING: {"recall", "start", "no_show", "transfer", "park"},
            Phase.SERVING: {"finish", "transfer", "park"},
            Phase.PAUSED: {"open", "close", "sign_out"},
        }
        if action == "call_next":
            return phase == Phase.IDLE and self.waiting_total() > 0
        if action == "resume":
            return phase == Phase.IDLE and bool(self.parked)
        if action == "reprint":
            return phase != Phase.SIGNED_OUT and bool(self.reprint_candidates())
        if action == "intake":
            return phase in (Phase.IDLE, Phase.PAUSED) and self.last_attended is not None
        if action == "list_intakes":
            return phase != Phase.SIGNED_OUT
        if action == "amend":  # between people, not while someone is at the counter
            return phase in (Phase.IDLE, Phase.PAUSED)
        return action in allowed[phase]

    # ------------------------------------------------------------------ commands

    def sign_in(self, username: str, password: str) -> None:
        username = username.strip()
        if not username or not password:
            self._set_error(self.tr("counter.signin.missing"))
            return

        def done(response: CommandResponse) -> None:
            result = response.result or {}
            if not isinstance(result.get("counter"), dict):  # else _command applies it
                self.user_display_name = str(result.get("user_display_name") or username)

        self._command(Action.SIGN_IN, {"username": username, "password": password}, done)

    def sign_out(self) -> None:
        def done(response: CommandResponse) -> None:
            self.user_display_name = None
            self._forget_attended(response)

        self._command(Action.SIGN_OUT, {}, done)

    def _forget_attended(self, _: CommandResponse | None = None) -> None:
        """The next person (or nobody): the previous attention's "Abrir expediente" is gone."""
        self.last_attended = None
        self.intake_open = False
        self.amending = None
        if self.user_display_name is None:
            self.intakes_today = []

    def open_counter(self, services: list[str] | None = None) -> None:
        """Open with ``services`` (None: the ones the sede config gives this counter)."""
        if services is not None and not services:
            self._set_error(self.tr("counter.open.none"))
            return
        params: dict[str, Any] = {"services": list(services)} if services else {}
        self._command(Action.OPEN_COUNTER, params)

    def call_next(self) -> None:
        self._command(Action.CALL_NEXT, {}, self._forget_attended)

    def recall(self) -> None:
        self._command(Action.RECALL, {})

    def start_attention(self) -> None:
        self._command(Action.START_ATTENTION, {})

    def finish(self, outcome: Outcome = Outcome.ATENDIDO, note: str | None = None) -> None:
        params: dict[str, Any] = {"outcome": str(outcome)}
        if note and note.strip():
            params["note"] = note.strip()[:1000]

        def done(response: CommandResponse) -> None:
            ticket = (response.result or {}).get("ticket")
            if outcome is Outcome.ATENDIDO and isinstance(ticket, dict):
                self.last_attended = TicketView.model_validate(ticket)  # offer "Abrir expediente"

        self._command(Action.FINISH_ATTENTION, params, done)

    # ------------------------------------------------------------------ case intake

    def doc_types(self) -> list[tuple[str, str]]:
        return list(DOC_TYPES.items())

    def matters(self) -> list[tuple[str, str]]:
        """The hub's matter catalogue (central's once the hub has pulled it)."""
        return [(m.code, m.name) for m in self.sede.matters] if self.sede else []

    def refresh_intakes(self) -> None:
        """Ask the hub for today's intakes of this counter and their file numbers."""

        def done(response: CommandResponse) -> None:
            listed = (response.result or {}).get("intakes")
            if isinstance(listed, list):
                self.intakes_today = [CaseIntakeView.model_validate(i) for i in listed]

        self._command(Action.LIST_CASE_INTAKES, {}, done)

    def begin_intake(self) -> None:
        """Open the "Abrir expediente" form for the attention just finished."""
        if not self.enabled("intake"):
            return
        self.intake_open = True
        self._set_intake_errors({})
        self._set_error("")
        self.changed.emit()

    def begin_amend(self, intake_id: str) -> None:
        """Open the form on one of today's intakes to correct its matter and summary (only
        while central has not opened its file: then it is corrected there)."""
        item = next((i for i in self.intakes_today if i.intake_id == intake_id), None)
        if item is None or item.case_number or not self.enabled("amend"):
            return
        self.amending = item
        self.intake_open = True
        self._set_intake_errors({})
        self._set_error("")
        self._set_notice("")
        self.changed.emit()

    def cancel_intake(self) -> None:
        self.intake_open = False
        self.amending = None
        self._set_intake_errors({})
        self.changed.emit()

    def intake_defaults(self) -> IntakeForm:
        if self.amending is not None:
            return IntakeForm(
                matter=self.amending.matter or "", summary=self.amending.summary or ""
            )
        ticket = self.last_attended
        return IntakeForm(service_code=ticket.service_code if ticket else "")

    def _check_matter_and_summary(self, form: IntakeForm) -> dict[str, str]:
        errors: dict[str, str] = {}
        if form.matter not in {code for code, _ in self.matters()}:
            errors["matter"] = self.tr("counter.intake.missing.matter")
        if not form.summary.strip():
            errors["summary"] = self.tr("counter.intake.missing.summary")
        elif len(form.summary.strip()) > INTAKE_SUMMARY_MAX:
            errors["summary"] = self.tr("counter.intake.too_long", max=INTAKE_SUMMARY_MAX)
        return errors

    def check_intake(self, form: IntakeForm) -> dict[str, str]:
        """Field -> Spanish message for what the hub would refuse (checked again there)."""
        errors: dict[str, str] = {}
        _, problem = normalize_document(form.doc_type, form.doc_number)
        if problem:
            errors["doc_number"] = problem
        if not form.given_names.strip():
            errors["given_names"] = self.tr("counter.intake.missing.given_names")
        if not form.surnames.strip():
            errors["surnames"] = self.tr("counter.intake.missing.surnames")
        if not form.service_code:
            errors["service_code"] = self.tr("counter.intake.missing.service")
        errors.update(self._check_matter_and_summary(form))
        return errors

    def submit_intake(self, form: IntakeForm) -> None:
        if self.amending is not None:
            self._submit_amend(self.amending, form)
            return
        errors = self.check_intake(form)
        self._set_intake_errors(errors)
        if errors:
            self._set_error(self.tr("counter.intake.fix"))
            return
        ticket = self.last_attended
        number, _ = normalize_document(form.doc_type, form.doc_number)
        params: dict[str, Any] = {
            "doc_type": form.doc_type,
            "doc_number": number,
            "given_names": " ".join(form.given_names.split()),
            "surnames": " ".join(form.surnames.split()),
            "service_code": form.service_code,
            "matter": form.matter,
            "summary": form.summary.strip(),
        }
        if ticket is not None:
            params["ticket_id"] = ticket.ticket_id

        def done(response: CommandResponse) -> None:
            self.intake_open = False
            self.last_attended = None
            opened = (response.result or {}).get("intake")
            if isinstance(opened, dict) and opened.get("intake_id"):
                self.intakes_today.insert(
                    0,
                    CaseIntakeView(
                        intake_id=str(opened["intake_id"]),
                        ticket_number=opened.get("ticket_number"),
                        status=str(opened.get("status") or "open"),
                        created_at=self._now(),
                    ),
                )

        def failed(response: CommandResponse | None) -> None:
            error = response.error if response is not None else None
            if error is not None and error.field:
                self._set_intake_errors({error.field: error_text(response, self.tr)})

        self._command(Action.OPEN_CASE_INTAKE, params, done, on_error=failed)

    def _submit_amend(self, item: CaseIntakeView, form: IntakeForm) -> None:
        errors = self._check_matter_and_summary(form)
        self._set_intake_errors(errors)
        if errors:
            self._set_error(self.tr("counter.intake.fix"))
            return
        summary = form.summary.strip()
        if form.matter == item.matter and summary == (item.summary or "").strip():
            self.cancel_intake()  # nothing to correct: nothing sent
            self._set_notice(self.tr("counter.amend.unchanged"))
            return
        params = {"intake_id": item.intake_id, "matter": form.matter, "summary": summary}

        def done(response: CommandResponse) -> None:
            self.intake_open = False
            self.amending = None
            amended = (response.result or {}).get("intake")
            fields = {"matter": form.matter, "summary": summary}
            if isinstance(amended, dict):
                fields = {k: amended.get(k, v) for k, v in fields.items()}
            self.intakes_today = [
                i.model_copy(update=fields) if i.intake_id == item.intake_id else i
                for i in self.intakes_today
            ]

        def failed(response: CommandResponse | None) -> None:
            error = response.error if response is not None else None
            if error is not None and error.field in ("matter", "summary"):
                self._set_intake_errors({error.field: error_text(response, self.tr)})
            elif error is not None and error.field == "intake_id":
                # not correctable here any more (central opened the file meanwhile, or it is
                # gone): the form closes, the bar keeps the hub's explanation
                self.intake_open = False
                self.amending = None

        self._command(Action.AMEND_CASE_INTAKE, params, done, on_error=failed)

    def no_show(self) -> None:
        self._command(
            Action.FINISH_ATTENTION,
            {"outcome": str(Outcome.NO_SE_PRESENTO)},
            notice_key="counter.notice.no_show",
        )

    def transfer(
        self,
        *,
        to_service_code: str | None = None,
        to_counter_id: str | None = None,
        note: str | None = None,
    ) -> None:
        if not to_service_code and not to_counter_id:
            self._set_error(self.tr("counter.transfer.missing"))
            return
        params: dict[str, Any] = {}
        if to_service_code:
            params["to_service_code"] = to_service_code
        if to_counter_id:
            params["to_counter_id"] = to_counter_id
        if note and note.strip():
            params["note"] = note.strip()[:1000]
        self._command(Action.TRANSFER_TICKET, params)

    def park(self) -> None:
        self._command(Action.PARK_TICKET, {})

    def resume(self, ticket_id: str) -> None:
        self._command(Action.RESUME_TICKET, {"ticket_id": ticket_id})

    def pause(self, reason: str) -> None:
        reason = reason.strip()
        if not reason:
            self._set_error(self.tr("counter.pause.missing"))
            return
        self._command(Action.PAUSE_COUNTER, {"reason": reason[:200]})

    def close(self) -> None:
        self._command(Action.CLOSE_COUNTER, {})

    def reprint(self, ticket_id: str) -> None:
        self._command(Action.REPRINT_TICKET, {"ticket_id": ticket_id})

    # ------------------------------------------------------------------ internals

    def show_error(self, text: str) -> None:
        """Show a message in the error bar (screens and the app's own checks)."""
        self._set_error(text)

    def _settled(self) -> None:
        self.busy_action = None
        self.changed.emit()

    def tick(self) -> None:
        self.elapsed_changed.emit(self.elapsed_text())
        self._ticks += 1
        if self._ticks % WAITS_REFRESH_TICKS == 0 and self.queues:
            self.changed.emit()  # the waits shown in the lists grow while nothing else moves

    def _set_error(self, text: str) -> None:
        self.error = text
        self.error_changed.emit(text)

    def _set_intake_errors(self, errors: dict[str, str]) -> None:
        self.intake_errors = dict(errors)
        self.intake_errors_changed.emit(dict(errors))

    def _set_notice(self, text: str) -> None:
        self.notice = text
        self.notice_changed.emit(text)

    def _command(
        self,
        action: Action,
        params: dict[str, Any],
        on_ok: Callable[[CommandResponse], None] | None = None,
        *,
        notice_key: str | None = None,
        on_error: Callable[[CommandResponse | None], None] | None = None,
    ) -> None:
        if self.busy_action is not None:
            return  # one command at a time: a double press never sends twice
        if not self.connected:
            self._set_error(error_text(None, self.tr))
            return
        notice_key = notice_key or f"counter.notice.{action}"
        self.busy_action = str(action)
        self._set_error("")
        self.changed.emit()

        def on_reply(response: CommandResponse | None) -> None:
            self.busy_action = None
            if response is not None and response.status == "ok":
                result = response.result or {}
                if action in SETTLING_ACTIONS and not isinstance(result.get("counter"), dict):
                    self.busy_action = str(action)  # until the new CounterState arrives
                    self._settle_timer.start()
                if on_ok is not None:
                    on_ok(response)
                if isinstance(result.get("counter"), dict):
                    self.apply_counter_state(CounterState.model_validate(result["counter"]))
                number = _ticket_number(response)
                has_notice = self.tr.has(notice_key)
                self._set_notice(self.tr(notice_key, number=number) if has_notice else "")
            else:
                self._set_notice("")
                self._set_error(error_text(response, self.tr))
                if on_error is not None:
                    on_error(response)
            self.changed.emit()

        self._send(str(action), params, on_reply)


def _ticket_number(response: CommandResponse) -> str:
    result = response.result or {}
    ticket = result.get("ticket")
    if isinstance(ticket, dict) and ticket.get("number"):
        return str(ticket["number"])
    intake = result.get("intake")
    if isinstance(intake, dict) and intake.get("ticket_number"):
        return str(intake["ticket_number"])
    return str(result.get("number") or "")
