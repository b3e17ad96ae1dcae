"""Scheduled jobs of Module 05, registered explicitly by the app: turnaround alerts (due soon
and overdue) for the assigned professional."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from central.core.db import session_scope
from central.multidisciplinary import service
from central.multidisciplinary.settings import MultidisciplinarySettings


def deadline_alerts(engine: Engine, settings: MultidisciplinarySettings) -> int:
    with session_scope(engine) as session:
        return service.make_alerts(session=session, settings=settings)


def schedule(scheduler, engine: Engine, settings: MultidisciplinarySettings) -> None:  # noqa: ANN001
    """Alerts every hour and at 07:00 Lima."""
    for job_id, trigger, kwargs in (
        ("md-alerts", "interval", {"hours": 1}),
        ("md-alerts-morning", "cron", {"hour": 7, "timezone": "America/Lima"}),
    ):
        scheduler.add_job(
            deadline_alerts,
            trigger,
            args=[engine, settings],
            id=job_id,
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=600,
            **kwargs,
        )
