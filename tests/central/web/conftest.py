"""Fixtures of the web UI tests: a real uvicorn server (subprocess) on a free port with a seeded
temp database, Debian's Chromium driven by Playwright, fresh accounts made through the service
layer, and screenshots under test-artifacts/screens/."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pyotp
import pytest

from central.audit import keys as audit_keys
from central.auth.policy import Profile, ScopeKind, requires_totp
from central.auth.service import password_hasher
from central.core.db import make_engine, migrate, session_scope
from central.domain.actor import Actor
from central.seed import DEMO_PASSWORD, DEMO_TOTP, seed_demo
from central.settings import CentralSettings
from central.users import service as users
from central.users.schemas import UserCreate
from tests.conftest import REPO_ROOT, free_port

SCREENS = REPO_ROOT / "test-artifacts" / "screens"
CHROMIUM = "/usr/bin/chromium"
PASSWORD = "Clave-de-prueba-2026"
LAPTOP = {"width": 1366, "height": 800}
TABLET_PORTRAIT = {"width": 768, "height": 1024}
TABLET_LANDSCAPE = {"width": 1024, "height": 768}


@dataclass
class WebServer:
    base_url: str
    database_url: str
    settings: CentralSettings
    process: subprocess.Popen
    last_totp_step: dict[str, int] = field(default_factory=dict)

    def totp_code(self, username: str, secret: str) -> str:
        """A code for a time step the server has not seen for this account yet (codes are
        single-use); waits for the next 30 s window only when both spare steps are spent."""
        while True:
            now = int(time.time() // 30)
            last = self.last_totp_step.get(username, now - 2)
            step = max(now, last + 1)
            if step <= now + 1:
                self.last_totp_step[username] = step
                return pyotp.TOTP(secret).at(step * 30)
            time.sleep(1)

    def make_user(
        self,
        profiles: list[Profile] | Profile,
        *,
        scope: ScopeKind = ScopeKind.NATIONAL,
        sede: str | None = None,
        district: str | None = None,
        display_name: str | None = None,
        must_change_password: bool = False,
        totp: bool | None = None,
    ) -> Account:
        """A fresh account written through the service layer (not through the UI under test)."""
        profiles = [profiles] if isinstance(profiles, Profile) else profiles
        username = f"t-{uuid.uuid4().hex[:8]}"
        engine = make_engine(self.database_url)
        audit_keys.bind(engine, self.settings.resolved_audit_key())
        try:
            with session_scope(engine) as session:
                user = users.create_user(
                    session=session,
                    actor=Actor.system("tests"),
                    ph=password_hasher(self.settings),
                    check_assignable=False,
                    data=UserCreate(
                        username=username,
                        display_name=display_name or f"Persona {username}",
                        password=PASSWORD,
                        profiles=profiles,
                        scope_kind=scope,
                        sede_id=sede,
                        district_id=district,
                    ),
                    must_change_password=must_change_password,
                )
                secret = None
                if totp or (totp is None and requires_totp(p.value for p in profiles)):
                    secret = pyotp.random_base32()
                    user.totp_secret = secret
                    session.add(user)
        finally:
            engine.dispose()
        return Account(username, PASSWORD, secret)


@dataclass(frozen=True)
class Account:
    username: str
    password: str
    totp_secret: str | None = None


ADMIN = Account("admin", DEMO_PASSWORD, DEMO_TOTP["admin"])
AUDITOR = Account("auditora", DEMO_PASSWORD, DEMO_TOTP["auditora"])


def _start(database_url: str, workdir: Path) -> WebServer:
    settings = CentralSettings(
        data_dir=workdir,
        database_url=database_url,
        secret_key="web-test-" + uuid.uuid4().hex,
        cookie_secure=False,  # plain http on 127.0.0.1 in tests
        argon2_time_cost=1,
        argon2_memory_kib=8192,
        log_level="WARNING",
    )
    migrate(database_url)
    engine = make_engine(database_url)
    audit_keys.bind(engine, settings.resolved_audit_key())
    with session_scope(engine) as session:
        seed_demo(session=session, settings=settings)
    engine.dispose()
    port = free_port()
    env = {
        **os.environ,
        "ALEGRA_DATA_DIR": str(workdir),
        "ALEGRA_DATABASE_URL": database_url,
        "ALEGRA_SECRET_KEY": settings.resolved_secret_key(),
        "ALEGRA_COOKIE_SECURE": "false",
        "ALEGRA_ARGON2_TIME_COST": "1",
        "ALEGRA_ARGON2_MEMORY_KIB": "8192",
        "ALEGRA_LOG_LEVEL": "WARNING",
    }
    log = (workdir / "server.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "central.app:create_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=env,
        cwd=REPO_ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError((workdir / "server.log").read_text())
        try:
            if httpx.get(base_url + "/api/v1/health", timeout=1).status_code == 200:
                return WebServer(base_url, database_url, settings, process)
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    process.kill()
    raise RuntimeError("central did not start:\n" + (workdir / "server.log").read_text())


def _stop(server: WebServer) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()


@pytest.fixture(scope="module")
def web_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    """central on a temp SQLite database, seeded with the demo district."""
    workdir = tmp_path_factory.mktemp("central-web")
    server = _start(f"sqlite:///{workdir / 'central.sqlite3'}", workdir)
    yield server
    _stop(server)


@pytest.fixture
def pg_web_server(tmp_path: Path) -> Iterator[WebServer]:
    """central on a fresh PostgreSQL database (skipped when PostgreSQL is unreachable)."""
    from sqlalchemy import create_engine, text

    from tests.central.conftest import IN_CI, PG_ADMIN_URL, _pg_reachable, _pg_url

    if not _pg_reachable():
        if IN_CI:
            pytest.fail("PostgreSQL on 127.0.0.1:5432 is required in CI")
        pytest.skip("PostgreSQL not reachable")
    name = f"alegra_web_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    server = _start(_pg_url(name), tmp_path)
    yield server
    _stop(server)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


# One Playwright (sync API) and one Chromium for the whole test session, however many modules
# request ``browser`` (other modules import this fixture by name, which makes a second fixture
# definition; two sync Playwright instances cannot run at once in one thread).
_SHARED: dict[str, Any] = {"users": 0}


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (scripts/setup.sh installs it)")
    if _SHARED["users"] == 0:
        from playwright.sync_api import sync_playwright

        _SHARED["playwright"] = sync_playwright().start()
        _SHARED["browser"] = _SHARED["playwright"].chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
    _SHARED["users"] += 1
    try:
        yield _SHARED["browser"]
    finally:
        _SHARED["users"] -= 1
        if _SHARED["users"] == 0:
            _SHARED.pop("browser").close()
            _SHARED.pop("playwright").stop()


class Dialogs(list):
    """Every alert/confirm/prompt the page opened (accepted, so a flow can continue)."""


def _new_page(browser, viewport):  # noqa: ANN001, ANN202
    context = browser.new_context(
        viewport=viewport, locale="es-PE", timezone_id="America/Lima", accept_downloads=True
    )
    page = context.new_page()
    page.set_default_timeout(30_000)  # the shared 2-core machine can be slow
    dialogs = Dialogs()

    def on_dialog(dialog) -> None:  # noqa: ANN001
        dialogs.append((dialog.type, dialog.message))
        dialog.accept()

    page.on("dialog", on_dialog)
    page.dialogs = dialogs  # type: ignore[attr-defined]
    return context, page


@pytest.fixture
def page(browser):
    context, tab = _new_page(browser, LAPTOP)
    yield tab
    context.close()


@pytest.fixture
def tablet_page(browser):
    context, tab = _new_page(browser, TABLET_PORTRAIT)
    yield tab
    context.close()


def shot(page, name: str) -> Path:  # noqa: ANN001
    SCREENS.mkdir(parents=True, exist_ok=True)
    path = SCREENS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def sign_in(page, server: WebServer, account: Account, *, screenshot: str | None = None) -> None:  # noqa: ANN001
    """Through the sign-in page: password, then (administrative profiles) the TOTP step."""
    page.goto(server.base_url + "/ingresar")
    page.fill("#f-username", account.username)
    page.fill("#f-password", account.password)
    if screenshot:
        shot(page, f"{screenshot}-1-password")
    page.click("button[type=submit]")
    if account.totp_secret:
        page.wait_for_selector(".signin-totp:not([hidden])")
        page.fill("#f-totp_code", server.totp_code(account.username, account.totp_secret))
        if screenshot:
            shot(page, f"{screenshot}-2-totp")
        page.click("button[type=submit]")
    page.wait_for_url(server.base_url + "/")


def sign_out(page) -> None:  # noqa: ANN001
    page.click("header form[action='/salir'] button")
    page.wait_for_url("**/ingresar?aviso=salida")


def no_horizontal_scroll(page) -> bool:  # noqa: ANN001
    return page.evaluate(
        "() => document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )


@pytest.fixture
def app(settings: CentralSettings):
    """The app with the web UI mounted (tests/central/conftest.py's app is the API alone)."""
    from central.app import create_app

    application = create_app(settings, run_migrations=False, web=True)
    yield application
    application.state.engine.dispose()
