"""Scheduled work of Module 02 (APScheduler): deadline alerts and the ingestion of counter
intakes. The job functions open their own transaction; ``schedule`` adds them to a scheduler
the process owns (``alegra central`` or tests)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy import Engine

from central.cases import service
from central.cases.intake import ingest_intakes
from central.cases.settings import CasesSettings
from central.core.db import session_scope

log = logging.getLogger(__name__)

# a busy server may start a job late; APScheduler's default (1 s) would skip the run instead
MISFIRE_GRACE_S = 30


def deadline_alerts_job(engine: Engine, settings: CasesSettings) -> int:
    with session_scope(engine) as session:
        created = service.run_deadline_alerts(session=session, settings=settings)
    log.info("deadline alerts", extra={"created": created})
    return created


def intake_job(engine: Engine, settings: CasesSettings) -> int:
    with session_scope(engine) as session:
        report = ingest_intakes(session=session, settings=settings)
    return report.created + report.updated


def schedule(scheduler, engine: Engine, settings: CasesSettings) -> None:  # noqa: ANN001
    """Alerts every hour (and at 07:00 Lima), intakes every minute."""
    scheduler.add_job(
        deadline_alerts_job,
        "interval",
        hours=1,
        args=[engine, settings],
        id="case-alerts",
        replace_existing=True,
        coalesce=True,
        max_instances=1,
        misfire_grace_time=MISFIRE_GRACE_S,
    )
    scheduler.add_job(
        deadline_alerts_job,
        "cron",
        hour=7,
        timezone="America/Lima",
        args=[engine, settings],
        id="case-alerts-morning",
        replace_existing=True,
        coalesce=True,
        misfire_grace_time=MISFIRE_GRACE_S,
    )
    scheduler.add_job(
        intake_job,
        "interval",
        minutes=1,
        args=[engine, settings],
        id="case-intakes",
        replace_existing=True,
        coalesce=True,
        max_instances=1,
        misfire_grace_time=MISFIRE_GRACE_S,
    )


def wake_intake_job(scheduler) -> None:  # noqa: ANN001
    """Run the intake ingestion now (a push just brought intakes); the minute schedule stays
    as the safety net. Coalesced and single-instance, so a burst of pushes runs it once."""
    job = scheduler.get_job("case-intakes")
    if job is not None:
        job.modify(next_run_time=datetime.now(UTC))
