"""Domain errors of the queue: a stable code from contracts.errors plus a Spanish message.

Handlers raise them anywhere inside a command's transaction; the engine rolls back and turns
the error into a CommandOutcome with status "error", so a rejected command changes nothing.
"""

from __future__ import annotations

from contracts.errors import ErrorCode, message_es
from contracts.messages import ErrorBody


class DomainError(Exception):
    def __init__(self, code: ErrorCode, message: str | None = None, *, field: str | None = None):
        self.code = code
        self.message = message or message_es(code)
        self.field = field
        super().__init__(f"{code}: {self.message}")

    def body(self) -> ErrorBody:
        return ErrorBody(code=str(self.code), message=self.message, field=self.field)
