"""Structured JSON logs for the hub: one JSON object per line on stderr.

Log records carry machine fields (request id, action, code, device) and never citizen data:
callers pass only the fields below, and ``log_event`` drops any key that is not on the
allow-list, so a DNI or a name handed in by mistake never reaches the log.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

#: Fields a log line may carry besides the message. Anything else is dropped on purpose.
ALLOWED_FIELDS = frozenset(
    {
        "event",
        "sede",
        "role",
        "device",
        "action",
        "request_id",
        "correlation_id",
        "status",
        "code",
        "field",
        "replayed",
        "duration_ms",
        "topic",
        "bytes",
        "host",
        "port",
        "reason",
        "count",
        "published",
        "db_path",
        "queued",
        "error",
    }
)

_EXTRA_KEY = "alegra_fields"


class JsonFormatter(logging.Formatter):
    """Render a record as one JSON line: ts (UTC), level, logger, msg and the allowed fields."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        fields = getattr(record, _EXTRA_KEY, None)
        if fields:
            line.update(fields)
        if record.exc_info:
            # The exception type and traceback help operators; exception messages coming from
            # the engine never include citizen data (they carry codes and ids).
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def configure_logging(level: str | int = "INFO", stream: Any = None) -> None:
    """Send every ``hub``/``alegra`` log record to ``stream`` (stderr) as JSON lines."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    for existing in list(root.handlers):
        if isinstance(existing.formatter, JsonFormatter):
            root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level if isinstance(level, int) else level.upper())
    # paho logs through its own logger only when enabled; keep third parties quiet.
    for noisy in ("amqtt", "transitions", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def log_event(logger: logging.Logger, level: int, message: str, /, **fields: Any) -> dict[str, Any]:
    """Log ``message`` with the allowed ``fields``; returns what was kept (for tests)."""
    kept = {k: v for k, v in fields.items() if k in ALLOWED_FIELDS and v is not None}
    logger.log(level, message, extra={_EXTRA_KEY: kept})
    return kept
