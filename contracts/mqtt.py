"""MQTT topic contract between the sede hub and its devices (kiosk, display, counter).

Defined once here and documented in docs/mqtt.md. Pure data: no I/O, no paho.

Layout (all segments match ``[a-z0-9_-]+``)::

    alegra/v1/{sede}/hub/availability                     retained  Availability (hub, last will)
    alegra/v1/{sede}/device/{device_id}/availability      retained  Availability (device, last will)
    alegra/v1/{sede}/config                               retained  SedeInfo
    alegra/v1/{sede}/queue/{service_code}/state           retained  QueueState
    alegra/v1/{sede}/counter/{counter_id}/state           retained  CounterState
    alegra/v1/{sede}/display/state                        retained  DisplayState
    alegra/v1/{sede}/event/call                           event     CallEvent
    alegra/v1/{sede}/device/{device_id}/print             event     PrintJob
    alegra/v1/{sede}/{role}/{device_id}/request/{action}  command   CommandRequest
    alegra/v1/{sede}/{role}/{device_id}/response/{action} reply     CommandResponse

``role`` is one of kiosk, counter, display, admin. For the counter role ``device_id`` *is*
the counter id: the hub takes the counter from the topic, never from the payload, so the
broker ACL (a counter credential may only publish under its own id) is what binds a
counter to its actions.
"""

from __future__ import annotations

import re
from enum import StrEnum

BASE = "alegra/v1"
SEGMENT_RE = re.compile(r"^[a-z0-9_-]{1,64}$")
MAX_PAYLOAD_BYTES = 16 * 1024


class Role(StrEnum):
    KIOSK = "kiosk"
    COUNTER = "counter"
    DISPLAY = "display"
    ADMIN = "admin"


class Action(StrEnum):
    # kiosk
    ISSUE_TICKET = "issue_ticket"
    CHECKIN_APPOINTMENT = "checkin_appointment"
    REPORT_PRINT = "report_print"
    # counter
    SIGN_IN = "sign_in"
    SIGN_OUT = "sign_out"
    OPEN_COUNTER = "open_counter"
    PAUSE_COUNTER = "pause_counter"
    CLOSE_COUNTER = "close_counter"
    CALL_NEXT = "call_next"
    CALL_TICKET = "call_ticket"
    RECALL = "recall"
    START_ATTENTION = "start_attention"
    FINISH_ATTENTION = "finish_attention"
    TRANSFER_TICKET = "transfer_ticket"
    PARK_TICKET = "park_ticket"
    RESUME_TICKET = "resume_ticket"
    CANCEL_TICKET = "cancel_ticket"
    REPRINT_TICKET = "reprint_ticket"
    OPEN_CASE_INTAKE = "open_case_intake"  # a case file opened at the end of an attention
    LIST_CASE_INTAKES = "list_case_intakes"  # today's intakes of this counter, file numbers
    AMEND_CASE_INTAKE = "amend_case_intake"  # matter/summary corrected before central's file


#: Which role may send which action. The hub enforces it; the Mosquitto ACL in
#: installers/ enforces the same table at the broker.
ROLE_ACTIONS: dict[Role, frozenset[Action]] = {
    Role.KIOSK: frozenset({Action.ISSUE_TICKET, Action.CHECKIN_APPOINTMENT, Action.REPORT_PRINT}),
    Role.COUNTER: frozenset(
        {
            Action.SIGN_IN,
            Action.SIGN_OUT,
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
            Action.REPRINT_TICKET,
            Action.OPEN_CASE_INTAKE,
            Action.AMEND_CASE_INTAKE,
            Action.LIST_CASE_INTAKES,
        }
    ),
    Role.DISPLAY: frozenset(),
    # citizen intakes are taken only by the counter that served the person, acting as itself
    Role.ADMIN: frozenset(Action)
    - {Action.OPEN_CASE_INTAKE, Action.LIST_CASE_INTAKES, Action.AMEND_CASE_INTAKE},
}


def _check(segment: str) -> str:
    if not SEGMENT_RE.match(segment):
        raise ValueError(f"invalid MQTT topic segment: {segment!r}")
    return segment


def sede_base(sede: str) -> str:
    return f"{BASE}/{_check(sede)}"


def hub_availability(sede: str) -> str:
    return f"{sede_base(sede)}/hub/availability"


def device_availability(sede: str, device_id: str) -> str:
    return f"{sede_base(sede)}/device/{_check(device_id)}/availability"


def config_topic(sede: str) -> str:
    return f"{sede_base(sede)}/config"


def queue_state(sede: str, service_code: str) -> str:
    return f"{sede_base(sede)}/queue/{_check(service_code)}/state"


def queue_state_filter(sede: str) -> str:
    return f"{sede_base(sede)}/queue/+/state"


def counter_state(sede: str, counter_id: str) -> str:
    return f"{sede_base(sede)}/counter/{_check(counter_id)}/state"


def counter_state_filter(sede: str) -> str:
    return f"{sede_base(sede)}/counter/+/state"


def display_state(sede: str) -> str:
    return f"{sede_base(sede)}/display/state"


def call_event(sede: str) -> str:
    return f"{sede_base(sede)}/event/call"


def print_job(sede: str, device_id: str) -> str:
    return f"{sede_base(sede)}/device/{_check(device_id)}/print"


def request_topic(sede: str, role: Role | str, device_id: str, action: Action | str) -> str:
    return (
        f"{sede_base(sede)}/{_check(str(role))}/{_check(device_id)}/request/{_check(str(action))}"
    )


def response_topic(sede: str, role: Role | str, device_id: str, action: Action | str) -> str:
    return (
        f"{sede_base(sede)}/{_check(str(role))}/{_check(device_id)}/response/{_check(str(action))}"
    )


def request_filter(sede: str) -> str:
    """What the hub subscribes to: every request of every device of the sede."""
    return f"{sede_base(sede)}/+/+/request/+"


def response_filter(sede: str, role: Role | str, device_id: str) -> str:
    """What a device subscribes to for the answers to its own requests."""
    return f"{sede_base(sede)}/{_check(str(role))}/{_check(device_id)}/response/+"


def parse_request_topic(topic: str) -> tuple[str, str, str, str] | None:
    """Split a request topic into (sede, role, device_id, action); None when it is not one."""
    parts = topic.split("/")
    if len(parts) != 7 or f"{parts[0]}/{parts[1]}" != BASE or parts[5] != "request":
        return None
    sede, role, device_id, action = parts[2], parts[3], parts[4], parts[6]
    if not all(SEGMENT_RE.match(s) for s in (sede, role, device_id, action)):
        return None
    return sede, role, device_id, action
