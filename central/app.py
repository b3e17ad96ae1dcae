"""The central server's FastAPI application factory."""

from __future__ import annotations

import gc
import importlib
import importlib.util
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI

from central.audit import keys as audit_keys
from central.audit.views import router as audit_router
from central.auth.deps import Principal, public, signed_in
from central.auth.policy import ACTIONS, PROFILE_LABELS_ES, policy_table
from central.auth.views import router as auth_router
from central.core.db import make_engine, migrate
from central.core.hotread import hot_reader as make_hot_reader
from central.core.http import (
    ERROR_RESPONSES,
    InputHygieneMiddleware,
    RequestIdMiddleware,
    configure_logging,
    install_error_handlers,
)
from central.devices.views import router as devices_router
from central.org.views import router as org_router
from central.sensitive.views import router as sensitive_router
from central.settings import CentralSettings
from central.users.views import router as users_router

API_PREFIX = "/api/v1"


def _meta_router(settings: CentralSettings) -> APIRouter:
    router = APIRouter(tags=["sistema"], responses=ERROR_RESPONSES)

    @router.get("/health", dependencies=[Depends(public)])
    def health() -> dict[str, str]:
        return {
            "status": "ok",
            "system": settings.system_name,
            "institution": settings.institution_name,
        }

    @router.get("/policy")
    def policy(_: Annotated[Principal, Depends(signed_in)]) -> dict[str, object]:
        """Profiles, actions and the grants between them (the declared policy)."""
        return {
            "profiles": {p.value: label for p, label in PROFILE_LABELS_ES.items()},
            "actions": ACTIONS,
            "grants": policy_table(),
        }

    return router


_FROZEN = False


def _freeze_startup_objects() -> None:
    """The app, its routes, schemas and modules live as long as the process: move them out of
    the cyclic collector's reach, so that a full collection under load only walks what requests
    made (measured: without it a 10-100 ms pause lands in the list endpoint's p99; docs/central.md
    "Third round"). Once per process: a process that builds several apps (the tests) does not
    keep freezing, and so never pins a discarded app."""
    global _FROZEN
    if not _FROZEN:
        _FROZEN = True
        gc.collect()
        gc.freeze()


def create_app(
    settings: CentralSettings | None = None, *, run_migrations: bool = True, web: bool = True
) -> FastAPI:
    """The central app on ``settings``' database (migrated first unless told otherwise); ``web``
    mounts the server-rendered UI of central/web/ when it is present."""
    settings = settings or CentralSettings()
    configure_logging(settings.log_level)
    url = settings.resolved_database_url()
    if run_migrations:
        migrate(url)
    settings.resolved_secret_key()  # generate it now rather than under the first request
    engine = make_engine(url)
    audit_keys.bind(engine, settings.resolved_audit_key())
    hot_reader = make_hot_reader(engine)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        _freeze_startup_objects()
        yield
        await hot_reader.close()
        engine.dispose()

    app = FastAPI(
        title=f"{settings.system_name} — servidor central",
        version="1.0.0",
        description=f"{settings.institution_name} — {settings.service_name}",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.hot_reader = hot_reader
    install_error_handlers(app)
    app.add_middleware(InputHygieneMiddleware)
    app.add_middleware(RequestIdMiddleware)  # outermost: every answer carries the request id

    for router in (
        _meta_router(settings),
        auth_router,
        users_router,
        org_router,
        devices_router,
        audit_router,
        sensitive_router,
    ):
        app.include_router(router, prefix=API_PREFIX)

    # Hub <-> central synchronisation (central/sync/): its API and status page.
    if importlib.util.find_spec("central.sync") is not None:
        importlib.import_module("central.sync").install(app)

    # Citizens and case files (Module 02: central/citizens, central/cases): API, and pages with web.
    if importlib.util.find_spec("central.cases") is not None:
        importlib.import_module("central.cases").install(app, web=web)

    # Module 04, extrajudicial conciliation (central/conciliation/): API, pages, verification.
    importlib.import_module("central.conciliation").install(app, web=web)

    # Module 05, multidisciplinary services (central/multidisciplinary/): API, pages, alerts.
    importlib.import_module("central.multidisciplinary").install(app, web=web)

    # Module 01 (central/activities/): its API and, with the web UI, its pages.
    importlib.import_module("central.activities.views").install(app, web=web)

    # The server-rendered web UI (central/web/) plugs in through install(app) when present.
    if web and importlib.util.find_spec("central.web") is not None:
        web_ui = importlib.import_module("central.web")
        if hasattr(web_ui, "install"):
            web_ui.install(app)
    return app
