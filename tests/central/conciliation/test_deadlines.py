"""Art. 12 day counts in business days with Peruvian holidays (configuration, legal defaults):
a solicitud just before Fiestas Patrias, before 8 December, in Semana Santa."""

from __future__ import annotations

from datetime import date

import pytest

from central.conciliation.models import ConcFile
from central.conciliation.service import deadlines
from central.conciliation.settings import ConciliationSettings

# (solicitud, designation due [1 business day], invitation delivered due from that day [2])
TABLE = [
    # Mon 27 Jul 2026: 28 (Independencia) and 29 Jul (Gran Parada Militar) are holidays
    (date(2026, 7, 27), date(2026, 7, 30), date(2026, 7, 31)),
    # Fri 24 Jul 2026: weekend, then 27 Jul, then the holidays
    (date(2026, 7, 24), date(2026, 7, 27), date(2026, 7, 30)),
    # Mon 7 Dec 2026: 8 Dec (Inmaculada Concepción) and 9 Dec (Batalla de Ayacucho)
    (date(2026, 12, 7), date(2026, 12, 10), date(2026, 12, 11)),
    # Wed 1 Apr 2026, Semana Santa: Jueves 2 and Viernes Santo 3 Apr
    (date(2026, 4, 1), date(2026, 4, 6), date(2026, 4, 7)),
    # an ordinary week
    (date(2026, 9, 14), date(2026, 9, 15), date(2026, 9, 16)),
]


@pytest.mark.parametrize(("requested", "designation_due", "delivery_due"), TABLE)
def test_art12_day_counts_across_holidays(requested, designation_due, delivery_due):
    settings = ConciliationSettings()
    calendar = settings.calendar()
    assert (
        calendar.add_business_days(requested, settings.designation_business_days) == designation_due
    )
    assert calendar.add_business_days(requested, settings.invitation_business_days) == delivery_due


def test_day_counts_are_configuration():
    settings = ConciliationSettings(designation_business_days=3, days_off=[date(2026, 7, 30)])
    file = ConcFile(
        number="X",
        sede_id="s",
        district_id="d",
        year=2026,
        seq=1,
        matter="alimentos",
        facts="f",
        controversy="c",
        requested_on=date(2026, 7, 27),
    )
    due = {
        d["code"]: d["due"]
        for d in deadlines(file=file, settings=settings, session=_NoInvitations())
    }
    # 28, 29 Jul holidays, 30 Jul a configured day off: 31 Jul, 3 Aug, 4 Aug
    assert due["designacion"] == date(2026, 8, 4)


def test_thirty_calendar_days_are_configuration():
    from central.conciliation.service import audiencia_limit

    file = ConcFile(
        number="X",
        sede_id="s",
        district_id="d",
        year=2026,
        seq=1,
        matter="alimentos",
        facts="f",
        controversy="c",
        requested_on=date(2026, 7, 1),
        first_session_on=date(2026, 7, 10),
    )
    assert audiencia_limit(file, ConciliationSettings()) == date(2026, 8, 9)
    assert audiencia_limit(file, ConciliationSettings(audiencia_max_calendar_days=20)) == date(
        2026, 7, 30
    )
    file.extension_until = date(2026, 8, 31)
    assert audiencia_limit(file, ConciliationSettings()) == date(2026, 8, 31)


class _NoInvitations:
    def exec(self, _query):
        return self

    def all(self):
        return []
