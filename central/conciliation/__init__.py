"""Extrajudicial conciliation (Module 04, process MD04): from the solicitud to an acta the
centre signs. ``install(app, web=...)`` mounts its API (and pages), makes sure the centre's
signing identity exists and registers the public verification page of signed documents."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI


def install(app: FastAPI, *, web: bool = True) -> None:
    from central.conciliation import views
    from central.conciliation.flows import Paper
    from central.conciliation.settings import ConciliationSettings
    from central.core import verify_pages
    from central.core.signing import ensure_signing_identity
    from central.documents.storage import LocalDirectoryStorage

    settings = app.state.settings
    section = ConciliationSettings()
    section.signing_dir = section.signing_dir or settings.data_dir / "signing"
    section.documents_dir = section.documents_dir or settings.data_dir / "documents"
    app.state.conciliation_settings = section
    identity = getattr(app.state, "signing_identity", None) or ensure_signing_identity(
        section.signing_dir,
        common_name=f"{settings.system_name} - firma de documentos",
        organization=settings.institution_name,
    )
    app.state.signing_identity = identity
    app.state.conciliation_paper = Paper(
        identity=identity,
        storage=LocalDirectoryStorage(section.documents_dir),
        base_url=settings.public_base_url,
        institution=settings.institution_name,
    )
    api = APIRouter(prefix="/api/v1")
    api.include_router(views.router)
    app.include_router(api)
    app.include_router(verify_pages.router)  # public, with or without the web UI
    if web:
        from central.conciliation import pages

        app.include_router(pages.router)
