"""HTTP plumbing of central: request ids, structured access logs, and the ONE place where domain
errors, validation errors and unexpected failures become JSON error bodies
``{"code", "message", "fields", "request_id"}`` (codes from contracts.errors, Spanish text)."""

from __future__ import annotations

import contextvars
import itertools
import json
import logging
import os
import re
import sys
import time
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from central.domain.errors import (
    AccountLocked,
    Conflict,
    DomainError,
    NotFound,
    PermissionDenied,
    TotpSetupRequired,
    Unauthenticated,
    ValidationFailed,
)
from contracts.errors import ErrorCode, message_es

log = logging.getLogger("alegra.central")
access_log = logging.getLogger("alegra.central.access")
request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "request_id", default=None
)
_REQUEST_ID_OK = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


# ------------------------------------------------------------------------------ error body


class FieldErrorBody(BaseModel):
    field: str
    message: str


class ErrorBody(BaseModel):
    code: str
    message: str
    fields: list[FieldErrorBody] = []
    request_id: str | None = None
    setup_token: str | None = None  # only with code totp_setup_required


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text}
    for status, text in (
        (400, "Solicitud no válida"),
        (401, "No autenticado"),
        (403, "Sin permiso"),
        (404, "No encontrado"),
        (409, "Conflicto"),
        (422, "Datos no válidos"),
        (429, "Demasiados intentos"),
    )
}

# Domain error class -> HTTP status, most specific first.
STATUS_BY_ERROR: tuple[tuple[type[DomainError], int], ...] = (
    (AccountLocked, 429),
    (TotpSetupRequired, 403),
    (Unauthenticated, 401),
    (PermissionDenied, 403),
    (NotFound, 404),
    (Conflict, 409),
    (ValidationFailed, 422),
    (DomainError, 400),
)


def request_id_of(request: Request) -> str | None:
    return getattr(request.state, "request_id", None) or request_id_var.get()


def error_response(
    request: Request,
    status: int,
    code: ErrorCode | str,
    message: str | None = None,
    fields: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "code": str(code),
        "message": message or message_es(ErrorCode(code)),
        "fields": fields or [],
        "request_id": request_id_of(request),
    }
    body.update({k: v for k, v in extra.items() if v is not None})
    return JSONResponse(body, status_code=status, headers=headers)


def status_for(error: DomainError) -> int:
    return next(status for cls, status in STATUS_BY_ERROR if isinstance(error, cls))


# ------------------------------------------------------------- Spanish validation messages

_TEMPLATES_ES: dict[str, str] = {
    "missing": "Este campo es obligatorio.",
    "string_too_short": "Debe tener al menos {min_length} caracteres.",
    "string_too_long": "Debe tener como máximo {max_length} caracteres.",
    "string_pattern_mismatch": "El formato no es válido.",
    "string_type": "Debe ser un texto.",
    "int_type": "Debe ser un número entero.",
    "int_parsing": "Debe ser un número entero.",
    "int_from_float": "Debe ser un número entero.",
    "float_type": "Debe ser un número.",
    "float_parsing": "Debe ser un número.",
    "bool_type": "Debe ser verdadero o falso.",
    "bool_parsing": "Debe ser verdadero o falso.",
    "greater_than_equal": "Debe ser mayor o igual que {ge}.",
    "greater_than": "Debe ser mayor que {gt}.",
    "less_than_equal": "Debe ser menor o igual que {le}.",
    "less_than": "Debe ser menor que {lt}.",
    "enum": "Valor no permitido. Opciones: {expected}.",
    "literal_error": "Valor no permitido. Opciones: {expected}.",
    "extra_forbidden": "Campo no permitido.",
    "too_short": "Debe tener al menos {min_length} elementos.",
    "too_long": "Debe tener como máximo {max_length} elementos.",
    "time_parsing": "Hora no válida (use HH:MM).",
    "time_type": "Hora no válida (use HH:MM).",
    "datetime_parsing": "Fecha y hora no válidas.",
    "datetime_type": "Fecha y hora no válidas.",
    "datetime_from_date_parsing": "Fecha y hora no válidas.",
    "date_parsing": "Fecha no válida.",
    "date_type": "Fecha no válida.",
    "dict_type": "Debe ser un objeto.",
    "list_type": "Debe ser una lista.",
    "model_type": "Debe ser un objeto.",
    "model_attributes_type": "Debe ser un objeto.",
    "json_invalid": "El JSON no es válido.",
    "json_type": "El JSON no es válido.",
    "string_unicode": "El texto no es válido.",
    "uuid_parsing": "Identificador no válido.",
}


def spanish_message(error: dict[str, Any]) -> str:
    kind = error.get("type", "")
    if kind in {"value_error", "assertion_error"}:
        text = str(error.get("msg", ""))
        for prefix in ("Value error, ", "Assertion failed, "):
            text = text.removeprefix(prefix)
        return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")
    template = _TEMPLATES_ES.get(kind, "Valor no válido.")
    ctx = {k: str(v).replace(" or ", " o ") for k, v in (error.get("ctx") or {}).items()}
    try:
        return template.format(**ctx)
    except (KeyError, IndexError):
        return template.split(":")[0].split("{")[0].strip() or "Valor no válido."


def field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] == "body":
        parts = parts[1:]
    return ".".join(parts) or "(cuerpo)"


# ------------------------------------------------------------------------------ handlers


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        headers = dict(exc.headers)
        if isinstance(exc, Unauthenticated):
            headers.setdefault("WWW-Authenticate", "Bearer")
        return error_response(
            request,
            status_for(exc),
            exc.code,
            exc.message,
            [f.as_dict() for f in exc.fields],
            headers,
            setup_token=getattr(exc, "setup_token", None),
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = list(exc.errors())
        code = (
            ErrorCode.MALFORMED_JSON
            if any(e.get("type") == "json_invalid" for e in errors)
            else ErrorCode.INVALID_PAYLOAD
        )
        fields = [
            {"field": field_path(e.get("loc", ())), "message": spanish_message(e)} for e in errors
        ]
        return error_response(request, 422, code, None, fields)

    @app.exception_handler(IntegrityError)
    async def _integrity(request: Request, exc: IntegrityError) -> JSONResponse:
        log.info("integrity error mapped to 409", extra={"error": exc.__class__.__name__})
        return error_response(request, 409, ErrorCode.DUPLICATE)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {
            401: ErrorCode.UNAUTHENTICATED,
            403: ErrorCode.FORBIDDEN,
            404: ErrorCode.NOT_FOUND,
            413: ErrorCode.PAYLOAD_TOO_LARGE,
            429: ErrorCode.RATE_LIMITED,
        }.get(
            exc.status_code,
            ErrorCode.INVALID_PAYLOAD if exc.status_code < 500 else ErrorCode.INTERNAL,
        )
        message = "Método no permitido." if exc.status_code == 405 else None
        return error_response(
            request, exc.status_code, code, message, None, getattr(exc, "headers", None)
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", extra={"path": request.url.path})
        return error_response(request, 500, ErrorCode.INTERNAL)


# --------------------------------------------------------------- request id + access log


_ids: tuple[int, str, itertools.count[int]] | None = None


def _new_request_id() -> str:
    """32 hex digits, unique across processes: a random per-process prefix and a counter (no
    system call per request, unlike uuid4; the prefix is redrawn in a forked child)."""
    global _ids
    pid = os.getpid()
    if _ids is None or _ids[0] != pid:
        _ids = (pid, uuid.uuid4().hex[:16], itertools.count(1))
    return f"{_ids[1]}{next(_ids[2]):016x}"


class RequestIdMiddleware:
    """Takes a well-formed ``X-Request-ID`` from the client or makes one; exposes it on
    ``request.state.request_id``, in every log record, and on the response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = next(
            (v.decode("latin-1") for k, v in scope.get("headers", []) if k == b"x-request-id"), ""
        )
        request_id = incoming if _REQUEST_ID_OK.match(incoming) else _new_request_id()
        scope.setdefault("state", {})["request_id"] = request_id
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status_holder = {"status": 500}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                status_holder["started"] = 1
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            # answer here rather than in Starlette's outer error middleware, so the 500 carries
            # the request id (header, body and log line)
            log.exception("unhandled error", extra={"path": scope.get("path")})
            if status_holder.get("started"):
                raise
            body = json.dumps(
                {
                    "code": ErrorCode.INTERNAL.value,
                    "message": message_es(ErrorCode.INTERNAL),
                    "fields": [],
                    "request_id": request_id,
                },
                ensure_ascii=False,
            ).encode()
            await send_with_id(
                {
                    "type": "http.response.start",
                    "status": 500,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send_with_id({"type": "http.response.body", "body": body})
        finally:
            # method, route path and status only: no query strings, bodies or personal data
            access_log.info(
                "request",
                extra={
                    "method": scope.get("method"),
                    "path": scope.get("path"),
                    "status": status_holder["status"],
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                },
            )
            request_id_var.reset(token)


class JsonLogFormatter(logging.Formatter):
    """One JSON object per line, with the request id of the request being served."""

    _SKIP = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            "request_id": request_id_var.get(),
        }
        data.update({k: v for k, v in record.__dict__.items() if k not in self._SKIP})
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return json.dumps(data, default=str, ensure_ascii=False)


def configure_logging(level: str = "INFO") -> None:
    root = logging.getLogger("alegra")
    if not any(isinstance(h.formatter, JsonLogFormatter) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonLogFormatter())
        root.addHandler(handler)
        root.propagate = False
    root.setLevel(level.upper())


# --------------------------------------------------------------------------- input hygiene

MAX_BODY_BYTES = 1_048_576
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def _bad_char(text: str) -> bool:
    """NUL and lone UTF-16 surrogates: no database stores them (PostgreSQL refuses NUL, UTF-8
    cannot encode a lone surrogate), so they are refused at the door instead of failing later."""
    return _BAD_CHAR.search(text) is not None


# one scan in C instead of a Python loop over every character of every path, query and field
_BAD_CHAR = re.compile("[\x00\ud800-\udfff]")


def _bad_fields(value: Any, path: str = "") -> list[str]:
    if isinstance(value, str):
        return [path or "(cuerpo)"] if _bad_char(value) else []
    if isinstance(value, dict):
        found = []
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            found += [where] if isinstance(key, str) and _bad_char(key) else []
            found += _bad_fields(item, where)
        return found
    if isinstance(value, list):
        return [
            f
            for index, item in enumerate(value)
            for f in _bad_fields(item, f"{path}.{index}" if path else str(index))
        ]
    return []


class InputHygieneMiddleware:
    """Refuses (422, Spanish, field-level) request paths, query strings, JSON and form bodies that
    carry NUL characters or lone surrogates, and bodies over 1 MiB (413)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def _refuse(
        self, scope: Scope, send: Send, status: int, code: ErrorCode, fields: list[str]
    ) -> None:
        request_id = (scope.get("state") or {}).get("request_id")
        body = json.dumps(
            {
                "code": code.value,
                "message": message_es(code),
                "fields": [
                    {"field": f, "message": "Contiene caracteres no permitidos."} for f in fields
                ],
                "request_id": request_id,
            },
            ensure_ascii=False,
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        from urllib.parse import parse_qsl, unquote

        raw_path = (scope.get("raw_path") or b"").decode("latin-1")
        query = scope.get("query_string", b"").decode("latin-1")
        bad = []
        if _bad_char(scope.get("path", "")) or "%00" in raw_path:
            bad.append("path")
        # a query string without escapes or NUL has nothing to refuse: no parse for it
        if "%" in query or "\x00" in query:
            try:
                pairs = parse_qsl(query, keep_blank_values=True, errors="surrogateescape")
            except ValueError:
                pairs = []
            bad += [f"query.{unquote(k)}" for k, v in pairs if _bad_char(k) or _bad_char(v)]
        if bad:
            await self._refuse(scope, send, 422, ErrorCode.INVALID_PAYLOAD, bad)
            return
        if scope.get("method") not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        content_type = next(
            (v.decode("latin-1") for k, v in scope.get("headers", []) if k == b"content-type"), ""
        )
        kind = content_type.split(";")[0].strip().lower()
        if kind not in {"application/json", "application/x-www-form-urlencoded"}:
            await self.app(scope, receive, send)
            return
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                await self._refuse(scope, send, 413, ErrorCode.PAYLOAD_TOO_LARGE, [])
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        fields: list[str] = []
        if kind == "application/json":
            try:
                fields = _bad_fields(json.loads(body)) if body else []
            except (ValueError, RecursionError):
                fields = []  # malformed JSON: FastAPI answers it (malformed_json)
        else:
            text = body.decode("utf-8", errors="surrogateescape")
            fields = [
                k
                for k, v in parse_qsl(text, keep_blank_values=True)
                if _bad_char(k) or _bad_char(v)
            ]
        if fields:
            await self._refuse(scope, send, 422, ErrorCode.INVALID_PAYLOAD, fields)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
