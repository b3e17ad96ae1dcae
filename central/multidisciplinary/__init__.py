"""Multidisciplinary services (Module 05, process MD05): social work, forensic psychology,
forensic medicine and criminalistics — requests on a case or conciliation file, the
professional's agenda, structured reports signed by the professional, the socio-economic
evaluation with its effect on free service, and audited access to sensitive content."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI


def install(app: FastAPI, *, web: bool = True) -> None:
    """Mount the API (and pages), the shared signing identity, encrypted document storage and
    the alert job."""
    from central.core import verify_pages
    from central.core.signing import ensure_signing_identity
    from central.documents.storage import (
        EncryptedStorage,
        LocalDirectoryStorage,
        keys_from_file,
        parse_keys,
    )
    from central.multidisciplinary import views
    from central.multidisciplinary.flows import Paper
    from central.multidisciplinary.settings import MultidisciplinarySettings

    settings = app.state.settings
    section = MultidisciplinarySettings()
    section.signing_dir = section.signing_dir or settings.data_dir / "signing"
    section.documents_dir = section.documents_dir or settings.data_dir / "md-documents"
    app.state.md_settings = section
    identity = getattr(app.state, "signing_identity", None) or ensure_signing_identity(
        section.signing_dir,
        common_name=f"{settings.system_name} - firma de documentos",
        organization=settings.institution_name,
    )
    app.state.signing_identity = identity
    keys = section.document_keys or keys_from_file(settings.data_dir / "md-documents.keys")
    app.state.md_paper = Paper(
        identity=identity,
        professionals_dir=section.signing_dir / "professionals",
        storage=EncryptedStorage(LocalDirectoryStorage(section.documents_dir), parse_keys(keys)),
        base_url=settings.public_base_url,
        institution=settings.institution_name,
    )
    api = APIRouter(prefix="/api/v1")
    api.include_router(views.router)
    app.include_router(api)
    if not any(getattr(r, "path", "") == "/verificar/{code}" for r in app.router.routes):
        app.include_router(verify_pages.router)
    if web:
        from central.multidisciplinary import pages

        app.include_router(pages.router)
    if section.run_jobs:
        _run_jobs_with(app, section)


def _run_jobs_with(app: FastAPI, section) -> None:  # noqa: ANN001
    from contextlib import asynccontextmanager

    original = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(application: FastAPI):  # noqa: ANN202
        from apscheduler.schedulers.background import BackgroundScheduler

        from central.multidisciplinary.jobs import schedule

        scheduler = BackgroundScheduler(timezone="UTC")
        schedule(scheduler, application.state.engine, section)
        scheduler.start()
        try:
            async with original(application) as state:
                yield state
        finally:
            scheduler.shutdown(wait=False)

    app.router.lifespan_context = lifespan
