"""Deadline arithmetic in business days over Peru's calendar: weekends, holidays (including
movable Easter days), year ends and configured days off."""

from datetime import date

import pytest

from central.calendar.business_days import BusinessCalendar

PE = BusinessCalendar.peru()


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        (date(2024, 12, 23), 3, date(2024, 12, 27)),  # skips Christmas (Wed 25)
        (date(2024, 12, 30), 1, date(2024, 12, 31)),
        (date(2024, 12, 31), 1, date(2025, 1, 2)),  # year end: 1 Jan is a holiday
        (date(2025, 12, 26), 5, date(2026, 1, 5)),  # across year end and New Year (Thu)
        (date(2025, 4, 16), 1, date(2025, 4, 21)),  # Maundy Thursday + Good Friday + weekend
        (date(2024, 7, 26), 1, date(2024, 7, 30)),  # 27-28 weekend, 29 July holiday
        (date(2024, 12, 6), 1, date(2024, 12, 10)),  # Sun 8 Dec, Mon 9 Dec Ayacucho
        (date(2024, 8, 29), 2, date(2024, 9, 3)),  # Santa Rosa Fri 30 Aug
        (date(2025, 1, 3), 0, date(2025, 1, 3)),
        (date(2025, 1, 4), 0, date(2025, 1, 6)),  # Saturday: next business day
    ],
)
def test_add_business_days(start, days, expected):
    assert PE.add_business_days(start, days) == expected


def test_holidays_are_not_business_days():
    for holiday in (
        date(2025, 1, 1),
        date(2025, 7, 28),
        date(2025, 7, 29),
        date(2025, 12, 8),
        date(2025, 12, 25),
    ):
        assert not PE.is_business_day(holiday)
    assert PE.is_business_day(date(2025, 7, 30))


def test_configured_days_off_and_recovered_days():
    day_off = date(2025, 3, 10)  # a Monday declared non-working
    calendar = BusinessCalendar.peru(days_off=[day_off], working_days=[date(2025, 3, 15)])
    assert not calendar.is_business_day(day_off)
    assert calendar.is_business_day(date(2025, 3, 15))  # Saturday worked to recover it
    assert calendar.add_business_days(date(2025, 3, 7), 1) == date(2025, 3, 11)


def test_business_days_between_is_the_inverse():
    start = date(2024, 12, 20)
    for days in range(0, 40):
        end = PE.add_business_days(start, days)
        if days:
            assert PE.business_days_between(start, end) == days


def test_negative_days_refused():
    with pytest.raises(ValueError):
        PE.add_business_days(date(2025, 1, 2), -1)
