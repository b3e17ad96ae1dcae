"""Business-day arithmetic over a Peruvian calendar. Deadlines (plazos) are counted from the day
after the start date, skipping Saturdays, Sundays, holidays and configured days off."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache

import holidays


@lru_cache(maxsize=64)
def _peru_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("PE", years=[year]).keys())


@dataclass(frozen=True)
class BusinessCalendar:
    """Working days of the service: Monday to Friday minus Peru's holidays and ``extra_days_off``
    (configuration), plus ``extra_working_days`` (a recovered day that is worked)."""

    extra_days_off: frozenset[date] = field(default_factory=frozenset)
    extra_working_days: frozenset[date] = field(default_factory=frozenset)

    @classmethod
    def peru(
        cls, days_off: Iterable[date] = (), working_days: Iterable[date] = ()
    ) -> BusinessCalendar:
        return cls(frozenset(days_off), frozenset(working_days))

    def is_business_day(self, day: date) -> bool:
        if day in self.extra_working_days:
            return True
        if day.weekday() >= 5 or day in self.extra_days_off:
            return False
        return day not in _peru_holidays(day.year)

    def add_business_days(self, start: date, days: int) -> date:
        """The date ``days`` business days after ``start`` (``start`` itself is not counted; 0
        gives ``start`` if it is a business day, else the next business day)."""
        if days < 0:
            raise ValueError("days must be >= 0")
        current = start
        if days == 0:
            while not self.is_business_day(current):
                current += timedelta(days=1)
            return current
        remaining = days
        while remaining:
            current += timedelta(days=1)
            if self.is_business_day(current):
                remaining -= 1
        return current

    def business_days_between(self, start: date, end: date) -> int:
        """Business days in (start, end]; negative when end is before start."""
        if end < start:
            return -self.business_days_between(end, start)
        count, current = 0, start
        while current < end:
            current += timedelta(days=1)
            if self.is_business_day(current):
                count += 1
        return count
