"""Domain errors raised by central's services; one HTTP handler (central.core.http) maps them."""

from __future__ import annotations

from dataclasses import dataclass

from contracts.errors import ErrorCode, message_es


@dataclass(frozen=True)
class FieldError:
    """One invalid input field: its location (e.g. ``body.password``) and a Spanish message."""

    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


class DomainError(Exception):
    """Base of every expected failure; carries a stable code and a Spanish message."""

    default_code = ErrorCode.INVALID_PAYLOAD

    def __init__(
        self,
        message: str | None = None,
        *,
        code: ErrorCode | None = None,
        fields: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.code = code or self.default_code
        self.message = message or message_es(self.code)
        self.fields = list(fields or [])
        self.headers = dict(headers or {})
        super().__init__(self.message)


class ValidationFailed(DomainError):
    default_code = ErrorCode.INVALID_PAYLOAD


class NotFound(DomainError):
    default_code = ErrorCode.NOT_FOUND


class Conflict(DomainError):
    default_code = ErrorCode.CONFLICT


class Duplicate(Conflict):
    default_code = ErrorCode.DUPLICATE


class InvalidTransition(Conflict):
    default_code = ErrorCode.INVALID_TRANSITION


class PermissionDenied(DomainError):
    default_code = ErrorCode.FORBIDDEN


class Unauthenticated(DomainError):
    """Missing, wrong, expired or revoked credentials (HTTP 401)."""

    default_code = ErrorCode.UNAUTHENTICATED


class AccountLocked(DomainError):
    default_code = ErrorCode.ACCOUNT_LOCKED

    def __init__(self, retry_after_s: int) -> None:
        minutes = max(1, -(-retry_after_s // 60))
        super().__init__(
            f"La cuenta está bloqueada temporalmente por intentos fallidos. "
            f"Intente nuevamente en {minutes} minuto{'s' if minutes != 1 else ''}.",
            headers={"Retry-After": str(retry_after_s)},
        )
        self.retry_after_s = retry_after_s


class SignInThrottled(AccountLocked):
    """Too many failed sign-ins from one client address (HTTP 429, like a locked account)."""

    default_code = ErrorCode.RATE_LIMITED

    def __init__(self, retry_after_s: int) -> None:
        minutes = max(1, -(-retry_after_s // 60))
        DomainError.__init__(
            self,
            "Demasiados intentos de ingreso fallidos desde esta dirección. "
            f"Intente nuevamente en {minutes} minuto{'s' if minutes != 1 else ''}.",
            headers={"Retry-After": str(retry_after_s)},
        )
        self.retry_after_s = retry_after_s


class TotpSetupRequired(DomainError):
    """Password was right but the account must enrol a second factor first; ``setup_token``
    lets the client (and only for that) fetch and confirm a TOTP secret."""

    default_code = ErrorCode.TOTP_SETUP_REQUIRED

    def __init__(self, setup_token: str) -> None:
        super().__init__()
        self.setup_token = setup_token
