"""JSON payloads carried on the MQTT topics of contracts.mqtt (schema version 1).

Every payload carries ``v`` (schema version), ``msg_id`` and ``ts`` (UTC). Pure pydantic.
Nothing here ever holds a citizen's name; a DNI travels only inside a kiosk request and is
never echoed in state, events or responses.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, Strict, StringConstraints

SCHEMA_VERSION = 1

Dni = Annotated[str, StringConstraints(pattern=r"^\d{8}$")]
Code = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_-]{1,64}$")]


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return str(uuid.uuid4())


class Envelope(BaseModel):
    """What a device sends the hub: unknown fields are refused (a clear ``invalid_payload``),
    so the hub is upgraded before the devices that use a new field."""

    model_config = ConfigDict(extra="forbid")

    v: Literal[1] = SCHEMA_VERSION
    msg_id: str = Field(default_factory=new_id, min_length=1, max_length=64)
    ts: datetime = Field(default_factory=utcnow)


class HubMessage(Envelope):
    """What the hub publishes for the devices (states, events, answers, print jobs,
    availability): read tolerantly, the fields a device knows and nothing else. A field added
    to schema ``v`` 1 (always optional, with a default) thus reaches an upgraded hub without
    breaking the counters, kiosks and displays not upgraded yet; a device that is off during
    the sede's upgrade still reads the queue when it comes back (docs/mqtt.md, Versioning).
    The hub's own tests check it publishes only declared fields."""

    model_config = ConfigDict(extra="ignore")


class PreferenceCategory(StrEnum):
    """Ley 28683 (as amended): preferential attention, exempted from turns."""

    NONE = "none"
    GESTANTE = "gestante"
    ADULTO_MAYOR = "adulto_mayor"
    DISCAPACIDAD = "discapacidad"
    NINO_ACOMPANANTE = "nino_acompanante"


class TicketOrigin(StrEnum):
    WALK_IN = "walk_in"
    APPOINTMENT = "appointment"


class TicketStatus(StrEnum):
    WAITING = "waiting"
    CALLED = "called"
    SERVING = "serving"
    PARKED = "parked"
    DONE = "done"
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"


class Outcome(StrEnum):
    ATENDIDO = "atendido"
    DERIVADO = "derivado"
    NO_SE_PRESENTO = "no_se_presento"


class CounterStatus(StrEnum):
    OPEN = "open"
    PAUSED = "paused"
    CLOSED = "closed"


# --------------------------------------------------------------------------- commands


class CommandRequest(Envelope):
    """A command to the hub. ``request_id`` is the idempotency key: a retry carries the same
    one and gets the first answer back; ``correlation_id`` pairs the answer with the ask.

    Read strictly: every envelope field is required (a request without ``request_id`` would
    get an invented one, and its retry a second ticket) and nothing is coerced (``"1"`` is not
    a number, ``"no"`` not a boolean). A device builds one with ``CommandRequest.new``."""

    model_config = ConfigDict(extra="forbid", strict=True)

    msg_id: str = Field(min_length=1, max_length=64)
    ts: datetime
    correlation_id: str = Field(min_length=1, max_length=64)
    request_id: str = Field(min_length=8, max_length=64)
    params: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def new(
        cls,
        params: dict[str, Any] | None = None,
        *,
        request_id: str | None = None,
        correlation_id: str | None = None,
    ) -> CommandRequest:
        """A fresh request (new ids, now); pass the first ``request_id`` again to retry."""
        return cls(
            msg_id=new_id(),
            ts=utcnow(),
            correlation_id=correlation_id or new_id(),
            request_id=request_id or new_id(),
            params=dict(params or {}),
        )


class ErrorBody(BaseModel):
    code: str  # stable, machine-readable (contracts.errors)
    message: str  # Spanish, for people
    field: str | None = None


class CommandResponse(HubMessage):
    correlation_id: str
    request_id: str | None = None
    status: Literal["ok", "error"]
    result: dict[str, Any] | None = None
    error: ErrorBody | None = None


# Params of each action (validated by the hub; unknown fields are refused, and nothing is
# coerced: a boolean is true or false, a number a JSON number, a text a JSON string).


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


# An enum param takes its value as JSON carries it (a string; anything else is still refused):
# strict mode alone would want an instance of the Python enum.
PreferenceParam = Annotated[PreferenceCategory, Strict(False)]
OutcomeParam = Annotated[Outcome, Strict(False)]


class IssueTicketParams(_Params):
    service_code: Code
    preference_category: PreferenceParam = PreferenceCategory.NONE
    dni: Dni | None = None


class CheckinAppointmentParams(_Params):
    dni: Dni | None = None
    appointment_code: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9-]{4,32}$")] | None = (
        None
    )


class ReportPrintParams(_Params):
    ticket_id: str
    ok: bool
    error: Annotated[str, StringConstraints(max_length=200)] | None = None


class SignInParams(_Params):
    username: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=256)]


class OpenCounterParams(_Params):
    services: list[Code] | None = None  # None: the services the config gives the counter


class PauseCounterParams(_Params):
    reason: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class TicketRef(_Params):
    ticket_id: str | None = None
    number: Annotated[str, StringConstraints(pattern=r"^[A-Z]{1,3}\d{3,4}$")] | None = None


class FinishAttentionParams(_Params):
    outcome: OutcomeParam
    note: Annotated[str, StringConstraints(max_length=1000)] | None = None


class TransferTicketParams(_Params):
    to_service_code: Code | None = None
    to_counter_id: Code | None = None
    note: Annotated[str, StringConstraints(max_length=1000)] | None = None


class OpenCaseIntakeParams(_Params):
    """A case intake taken at the end of an attention. Lengths are checked here; the hub checks
    the document number against its type, the service and the matter (stable error codes)."""

    ticket_id: Annotated[str, StringConstraints(max_length=64)] | None = None
    doc_type: Literal["dni", "ce", "pasaporte", "cpp", "ninguno"]
    doc_number: Annotated[str, StringConstraints(max_length=20)] | None = None
    given_names: Annotated[str, StringConstraints(max_length=100)]
    surnames: Annotated[str, StringConstraints(max_length=100)] = ""
    service_code: Code
    matter: Code
    summary: Annotated[str, StringConstraints(max_length=1000)]


class AmendCaseIntakeParams(_Params):
    """A correction of an intake this counter opened today, before central opened its file:
    a new matter, a new summary, or both (the person's names and document are not amended
    here; that is central's, with its audit)."""

    intake_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    matter: Code | None = None
    summary: Annotated[str, StringConstraints(max_length=1000)] | None = None


class Empty(_Params):
    pass


class CaseIntakeView(BaseModel):
    """An intake as its counter sees it afterwards: no names, no document. ``case_number`` is
    central's file number once central has opened the file and the hub has pulled it; until
    then ``matter`` and ``summary`` can be corrected (``amend_case_intake``)."""

    intake_id: str
    ticket_number: str | None = None
    status: str
    created_at: datetime
    case_number: str | None = None
    matter: str | None = None
    summary: str | None = None


# --------------------------------------------------------------------------- results


class TicketView(BaseModel):
    """A ticket as devices see it. No names, no DNI."""

    ticket_id: str
    number: str  # "A007"
    service_code: str
    status: TicketStatus
    preference_category: PreferenceCategory = PreferenceCategory.NONE
    origin: TicketOrigin = TicketOrigin.WALK_IN
    issued_at: datetime
    arrived_at: datetime  # original arrival, kept across transfers for fairness
    called_at: datetime | None = None
    started_at: datetime | None = None
    counter_id: str | None = None
    recalls: int = 0
    people_ahead: int | None = None
    estimated_wait_s: int | None = None
    needs_reprint: bool = False


class IssuedTicket(BaseModel):
    ticket: TicketView
    sede_name: str
    service_name: str


# --------------------------------------------------------------------------- retained state


class ServiceInfo(BaseModel):
    code: str
    name: str  # Spanish
    letter: str


class CounterInfo(BaseModel):
    counter_id: str
    name: str  # "Ventanilla 3"
    number: int
    services: dict[str, int]  # service code -> weight


class MatterInfo(BaseModel):
    code: str
    name: str  # Spanish


class OpeningHours(BaseModel):
    weekday: int  # 0 = Monday
    opens: str  # "08:00", Lima time
    closes: str


class SedeInfo(HubMessage):
    sede_id: str
    name: str
    timezone: str = "America/Lima"
    services: list[ServiceInfo]
    counters: list[CounterInfo]
    hours: list[OpeningHours]
    is_open_now: bool
    # Whether the hub issues walk-in tickets right now: opening hours, or always when the sede's
    # queue policy issues outside hours (demo, extended days). None: same as is_open_now.
    accepts_tickets: bool | None = None
    # the matter catalogue counters offer when opening a case intake (central's, once pulled)
    matters: list[MatterInfo] = Field(default_factory=list)


class QueueState(HubMessage):
    service_code: str
    service_name: str
    waiting: int
    preferential_waiting: int
    longest_wait_s: int
    average_wait_s: int | None
    average_service_s: int | None
    served_today: int
    open_counters: int
    estimated_wait_s: int | None  # for a ticket issued now
    # Waiting tickets flagged needs_reprint that `tickets` does not list (further back than
    # the head), in line order with their true people_ahead; at most 50 (the hub's
    # QUEUE_STATE_MAX_REPRINTS). Counters offer them for reprint along with the flagged ones
    # of `tickets`. Empty from a hub that predates it.
    reprints: list[TicketView] = Field(default_factory=list)
    tickets: list[TicketView]  # waiting tickets, in the order they will be served (the head)


class CounterState(HubMessage):
    counter_id: str
    name: str
    number: int
    status: CounterStatus
    pause_reason: str | None = None
    services: list[str]
    user_display_name: str | None = None  # staff, never citizens
    current: TicketView | None = None
    parked: list[TicketView] = Field(default_factory=list)
    since: datetime | None = None


class CallView(BaseModel):
    number: str
    service_code: str
    counter_id: str
    counter_name: str
    counter_number: int
    called_at: datetime
    recalls: int = 0


class DisplayState(HubMessage):
    current: list[CallView]  # one per counter with a called/serving ticket, newest first
    recent: list[CallView]  # last calls, newest first
    waiting: dict[str, int]  # service code -> people waiting
    # central's display messages valid now, oldest start first (hub/domain/sede_sync.py);
    # republished whenever that set changes (docs/mqtt.md)
    messages: list[str] = Field(default_factory=list)


class CallEvent(HubMessage):
    call: CallView


class PrintJob(HubMessage):
    """Sent to the device that should print (re)print a ticket."""

    ticket: TicketView
    sede_name: str
    service_name: str
    reprint: bool = False


class Availability(HubMessage):
    state: Literal["online", "offline"]
    device_id: str
    role: str
