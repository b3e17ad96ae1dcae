"""Lima wall-clock formatting for screens (storage stays UTC; people read America/Lima)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from qtcommon.i18n import Translator

LIMA = ZoneInfo("America/Lima")


def now_utc() -> datetime:
    return datetime.now(UTC)


def to_local(moment: datetime, tz: str | ZoneInfo = LIMA) -> datetime:
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    if moment.tzinfo is None:
        raise ValueError("se esperaba una fecha con zona horaria (UTC)")
    return moment.astimezone(zone)


def format_time(moment: datetime, tz: str | ZoneInfo = LIMA) -> str:
    return to_local(moment, tz).strftime("%H:%M")


def format_date(moment: datetime, tr: Translator, tz: str | ZoneInfo = LIMA) -> str:
    """``"viernes 27 de noviembre"`` in the catalogue's language."""
    local = to_local(moment, tz)
    weekdays = tr("clock.weekdays").split(",")
    months = tr("clock.months").split(",")
    return tr(
        "clock.date",
        weekday=weekdays[local.weekday()] if len(weekdays) == 7 else "",
        day=local.day,
        month=months[local.month - 1] if len(months) == 12 else local.month,
        year=local.year,
    )
