"""Turn one raw MQTT request (topic + bytes) into a checked command or an error answer.

Pure functions, no paho: the bridge calls ``decode_request`` for every message and either runs
the command or publishes the rejection. The checks run in a fixed order (size, JSON, version,
envelope, action, role) so every kind of bad input maps to one stable error code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from contracts.errors import ErrorCode, message_es
from contracts.messages import SCHEMA_VERSION, CommandRequest, CommandResponse, ErrorBody
from contracts.mqtt import MAX_PAYLOAD_BYTES, ROLE_ACTIONS, Action, Role, parse_request_topic

UNKNOWN_CORRELATION = "unknown"


@dataclass(frozen=True)
class RequestTopic:
    sede: str
    role: str  # as written in the topic; may be a role we do not know
    device_id: str
    action: str


@dataclass(frozen=True)
class Command:
    """A request that passed every transport check and may be handed to the engine."""

    topic: RequestTopic
    role: Role
    action: Action
    request: CommandRequest


@dataclass(frozen=True)
class Rejection:
    """A request refused before reaching the engine; ``response`` goes back to the device."""

    topic: RequestTopic
    response: CommandResponse

    @property
    def code(self) -> str:
        assert self.response.error is not None
        return self.response.error.code


def error_body(code: ErrorCode, field: str | None = None, message: str | None = None) -> ErrorBody:
    return ErrorBody(code=code.value, message=message or message_es(code), field=field)


def error_response(
    code: ErrorCode,
    *,
    correlation_id: str = UNKNOWN_CORRELATION,
    request_id: str | None = None,
    field: str | None = None,
    message: str | None = None,
) -> CommandResponse:
    return CommandResponse(
        correlation_id=correlation_id,
        request_id=request_id,
        status="error",
        error=error_body(code, field, message),
    )


def parse_topic(topic: str, sede: str) -> RequestTopic | None:
    """The request topic's parts, or None when it is not a request of this sede (ignored)."""
    parts = parse_request_topic(topic)
    if parts is None or parts[0] != sede:
        return None
    return RequestTopic(*parts)


def _salvage_ids(document: Any) -> tuple[str, str | None]:
    """Best-effort correlation and request ids from a payload that failed validation, so the
    device can still pair the error with what it asked."""
    if not isinstance(document, dict):
        return UNKNOWN_CORRELATION, None
    correlation = document.get("correlation_id")
    request = document.get("request_id")
    correlation_ok = isinstance(correlation, str) and 1 <= len(correlation) <= 64
    request_ok = isinstance(request, str) and 1 <= len(request) <= 64
    return (
        correlation if correlation_ok else UNKNOWN_CORRELATION,
        request if request_ok else None,
    )


def _refuse_constant(name: str) -> Any:
    """``NaN`` and ``Infinity`` are not JSON (Python's parser reads them unless told not to)."""
    raise ValueError(f"not JSON: {name}")


def _first_problem(error: ValidationError) -> tuple[str | None, str | None]:
    """The first offending field and a Spanish message naming it (never echoing the value:
    it may hold a DNI or a password)."""
    for item in error.errors():
        location = ".".join(str(part) for part in item.get("loc", ()))
        if not location:
            continue
        if item["type"] == "missing":
            return location, f"Falta el campo obligatorio: {location}."
        if item["type"] == "extra_forbidden":
            return location, f"Campo no admitido: {location}."
        return location, f"Valor no válido en el campo {location}."
    return None, None


def decode_request(topic: RequestTopic, payload: bytes) -> Command | Rejection:
    """Check one request; never raises for bad input."""

    def reject(code: ErrorCode, correlation: str = UNKNOWN_CORRELATION, **kw: Any) -> Rejection:
        return Rejection(topic, error_response(code, correlation_id=correlation, **kw))

    if len(payload) > MAX_PAYLOAD_BYTES:
        return reject(ErrorCode.PAYLOAD_TOO_LARGE)
    try:
        document = json.loads(payload, parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):  # JSONDecodeError is a ValueError
        return reject(ErrorCode.MALFORMED_JSON)
    correlation, request_id = _salvage_ids(document)
    if not isinstance(document, dict):
        return reject(ErrorCode.INVALID_PAYLOAD, correlation)
    version = document.get("v")
    if type(version) is not int or version != SCHEMA_VERSION:
        return reject(ErrorCode.UNSUPPORTED_VERSION, correlation, request_id=request_id, field="v")
    try:
        # strict and from the JSON itself: every envelope field present, nothing coerced
        request = CommandRequest.model_validate_json(payload)
    except ValidationError as exc:
        field, message = _first_problem(exc)
        return reject(
            ErrorCode.INVALID_PAYLOAD,
            correlation,
            request_id=request_id,
            field=field,
            message=message,
        )
    ids = {"correlation": request.correlation_id, "request_id": request.request_id}
    try:
        action = Action(topic.action)
    except ValueError:
        return reject(ErrorCode.UNKNOWN_ACTION, ids["correlation"], request_id=ids["request_id"])
    try:
        role = Role(topic.role)
    except ValueError:
        return reject(ErrorCode.FORBIDDEN, ids["correlation"], request_id=ids["request_id"])
    if action not in ROLE_ACTIONS[role]:
        return reject(ErrorCode.FORBIDDEN, ids["correlation"], request_id=ids["request_id"])
    return Command(topic=topic, role=role, action=action, request=request)
