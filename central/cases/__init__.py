"""Case files (Module 02): expedientes opened at a counter (synced intakes) or centrally, their
parties, actions, deadlines in business days, referrals, documents and timeline. ``install(app)``
mounts the API (and, with ``web=True``, the pages) of citizens and case files."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI


def install(app: FastAPI, *, web: bool = True) -> None:
    from central.cases import views as case_views
    from central.cases.settings import CasesSettings
    from central.citizens import views as citizen_views

    settings = app.state.settings
    cases_settings = CasesSettings()
    if cases_settings.documents_dir is None:
        cases_settings.documents_dir = settings.data_dir / "documents"
    app.state.cases_settings = cases_settings
    if getattr(app.state, "identity_lookup", None) is None:
        from central.reniec import make_lookup

        app.state.identity_lookup = make_lookup()  # FakeReniec unless ALEGRA_RENIEC_ADAPTER
    api = APIRouter(prefix="/api/v1")
    api.include_router(citizen_views.router)
    api.include_router(case_views.router)
    app.include_router(api)
    if web:
        from central.cases import web as case_web
        from central.citizens import web as citizen_web

        app.include_router(case_web.router)
        app.include_router(citizen_web.router)
    if cases_settings.run_jobs:
        _run_jobs_with(app, cases_settings)


def _run_jobs_with(app: FastAPI, cases_settings) -> None:  # noqa: ANN001
    """Deadline alerts and intake ingestion on a background scheduler for the app's lifetime."""
    from contextlib import asynccontextmanager

    original = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(application: FastAPI):  # noqa: ANN202
        from apscheduler.schedulers.background import BackgroundScheduler

        from central.cases.jobs import schedule, wake_intake_job

        scheduler = BackgroundScheduler(timezone="UTC")
        schedule(scheduler, application.state.engine, cases_settings)
        scheduler.start()
        application.state.intake_listeners = [*getattr(application.state, "intake_listeners", ())]
        application.state.intake_listeners.append(lambda: wake_intake_job(scheduler))
        try:
            async with original(application) as state:
                yield state
        finally:
            scheduler.shutdown(wait=False)

    app.router.lifespan_context = lifespan
