"""The demo seed programmes the demo district's professionals and records hand-entered
activities, so the supervision dashboard of the demo has real figures."""

from __future__ import annotations

from datetime import timedelta

from central.activities import service
from central.activities.schemas import GroupBy, SupervisionQuery
from central.activities.seed import DEMO_PLANS
from central.auth.policy import EVERYWHERE
from central.seed import DEMO_DISTRICT, seed_demo


def test_demo_seed_gives_the_supervision_dashboard_real_figures(db, settings):
    assert seed_demo(session=db, settings=settings).created
    db.commit()
    last_month = (service.lima_today().replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    report = service.supervision_report(
        session=db,
        area=EVERYWHERE,
        query=SupervisionQuery(
            month_from=last_month, district_id=DEMO_DISTRICT, group_by=GroupBy.PROFESSIONAL
        ),
    )
    figures = {f.activity_type.value: f for f in report.totals.figures}
    assert figures["attentions"].planned == sum(
        t.get("attentions", 0) for _, t in DEMO_PLANS.values()
    )
    # last month is complete: every hand-entered activity of the script is in it
    assert (figures["talks"].executed, figures["visits"].executed) == (6, 6)
    assert figures["evaluations"].executed == 7
    assert report.totals.other_activities == 1  # the training counts towards no target
    assert len(report.rows) == len(DEMO_PLANS)
    assert all(any(f.planned for f in row.figures) for row in report.rows)
    # this month is programmed too
    this_month = service.lima_today().strftime("%Y-%m")
    plans = service.list_plans(
        session=db, area=EVERYWHERE, month_from=this_month, month_to=this_month
    )
    assert len(plans) == len(DEMO_PLANS)
