"""The web UI in Debian's Chromium against a real central server: sign-in with TOTP, user
creation, hub enrollment and the auditor seeing each of them; stored XSS rendered as text;
CSRF-less posts refused; tablet viewports without horizontal scroll. Screenshots of every page
go to test-artifacts/screens/."""

from __future__ import annotations

import csv
import io
import re

import httpx
import pytest

from central.auth.policy import ACTIONS, Profile, ScopeKind
from central.seed import DEMO_SEDE

from .conftest import (
    ADMIN,
    AUDITOR,
    LAPTOP,
    TABLET_LANDSCAPE,
    TABLET_PORTRAIT,
    Account,
    WebServer,
    _new_page,
    no_horizontal_scroll,
    shot,
    sign_in,
    sign_out,
)

pytestmark = pytest.mark.browser
CODE_PATTERN = re.compile(r"^[A-HJ-NP-Z2-9]{4}(-[A-HJ-NP-Z2-9]{4}){3}$")


def _figure(page, label: str) -> int:  # noqa: ANN001
    item = page.locator(".figure", has_text=label)
    return int(item.locator(".figure-value").inner_text().replace(" ", ""))


def _admin_creates_user_and_enrolls_hub(page, server: WebServer, prefix: str) -> dict[str, str]:  # noqa: ANN001
    page.goto(server.base_url + "/")
    assert "/ingresar" in page.url  # not signed in: sent to the sign-in page
    sign_in(page, server, ADMIN, screenshot=f"{prefix}-01-signin")
    assert page.locator("h1").inner_text() == "Inicio"
    assert _figure(page, "Sedes activas") == 2  # the seeded district has two sedes
    users_before = _figure(page, "Usuarios activos")
    assert users_before >= 11
    assert _figure(page, "Ingresos hoy") >= 1
    shot(page, f"{prefix}-02-home")

    # create a user
    page.click("nav >> text=Usuarios")
    shot(page, f"{prefix}-03-users")
    page.click("text=Nuevo usuario")
    page.fill("#f-username", "jperez")
    page.fill("#f-display_name", "Juana Pérez Huamán")
    page.fill("#f-email", "jperez@example.org")
    page.fill("#f-password", "Inicial-segura-2026")
    page.check("input[name=profiles][value=defensor_publico]")
    page.check("input[name=scope_kind][value=sede]")
    page.select_option("#f-sede_id", DEMO_SEDE)
    shot(page, f"{prefix}-04-user-new")
    page.click("button:has-text('Crear usuario')")
    page.wait_for_url("**/usuarios?aviso=creado")
    row = page.locator("tr", has_text="jperez")
    assert "Juana Pérez Huamán" in row.inner_text()
    assert "Defensor público" in row.inner_text()
    shot(page, f"{prefix}-05-user-created")

    # edit the user: add a profile
    row.locator("a", has_text="jperez").click()
    page.check("input[name=profiles][value=conciliador]")
    shot(page, f"{prefix}-06-user-edit")
    page.click("button:has-text('Guardar cambios')")
    page.wait_for_url("**/usuarios?aviso=guardado")
    assert "Conciliador" in page.locator("tr", has_text="jperez").inner_text()

    # enroll a hub: the code is shown once, with its expiry
    page.click("nav >> text=Dispositivos")
    page.select_option("#f-sede_id", DEMO_SEDE)
    page.fill("#f-device_name", "Hub principal Cercado")
    shot(page, f"{prefix}-07-devices")
    page.click("button:has-text('Emitir código')")
    code = page.locator(".enroll-code code").inner_text().strip()
    assert CODE_PATTERN.match(code), code
    assert "se muestra una sola vez" in page.content()
    assert re.search(r"Vence el \d{2}/\d{2}/\d{4} a las \d{2}:\d{2}", page.content())
    shot(page, f"{prefix}-08-device-code")

    # the hub exchanges the code (sede side, through the API)
    response = httpx.post(server.base_url + "/api/v1/devices/enroll", json={"code": code})
    assert response.status_code == 201, response.text
    device_id = response.json()["device_id"]
    again = httpx.post(server.base_url + "/api/v1/devices/enroll", json={"code": code})
    assert again.status_code == 401  # one-time

    page.goto(server.base_url + "/dispositivos")
    device_row = page.locator("tr", has_text="Hub principal Cercado")
    assert "Activo" in device_row.inner_text()
    page.goto(server.base_url + "/")
    assert _figure(page, "Usuarios activos") == users_before + 1
    assert _figure(page, "Dispositivos activos") == 1
    sign_out(page)
    assert "Cerró su sesión" in page.content()
    return {"code": code, "device_id": device_id}


def _auditor_sees_entries(page, server: WebServer, prefix: str, device_id: str) -> None:  # noqa: ANN001
    sign_in(page, server, AUDITOR, screenshot=f"{prefix}-09-auditor")
    page.click("nav >> text=Usuarios")  # auditors read accounts but do not manage them
    assert page.locator("text=Nuevo usuario").count() == 0
    assert page.locator("table a", has_text="jperez").count() == 0
    page.click("nav >> text=Auditoría")
    shot(page, f"{prefix}-10-audit")
    table = page.locator("table.audit tbody")
    for action, label in (
        ("user.create", "Creación de usuario"),
        ("user.update", "Modificación de usuario"),
        ("device.enrollment_code_issue", "Emisión de código de registro"),
        ("device.enroll", "Registro de dispositivo"),
        ("auth.signin", "Inicio de sesión"),
    ):
        page.select_option("#f-accion", action)
        page.click("button:has-text('Buscar')")
        rows = table.locator("tr")
        assert rows.count() >= 1, action
        first = rows.first.inner_text()
        assert label in first, (action, first)
        if action in {"user.create", "user.update", "device.enrollment_code_issue"}:
            assert "admin" in first
        if action == "user.create":
            rows.first.locator("summary").click()
            assert "jperez" in rows.first.inner_text()
            shot(page, f"{prefix}-11-audit-user-create")
        if action == "device.enroll":
            assert device_id in first
    # export what the filter selects
    page.select_option("#f-accion", "user.create")
    page.click("button:has-text('Buscar')")
    with page.expect_download() as download:
        page.click("text=Exportar CSV")
    content = open(download.value.path(), encoding="utf-8").read()
    exported = list(csv.DictReader(io.StringIO(content)))
    assert exported and all(row["action"] == "user.create" for row in exported)
    assert any("jperez" in row["after_json"] for row in exported)
    # the search and the export were themselves audited
    page.select_option("#f-accion", "audit.export")
    page.click("button:has-text('Buscar')")
    assert "Exportación de auditoría" in table.locator("tr").first.inner_text()


def test_admin_creates_user_and_enrolls_hub_auditor_sees_both(page, web_server):
    result = _admin_creates_user_and_enrolls_hub(page, web_server, "laptop")
    _auditor_sees_entries(page, web_server, "laptop", result["device_id"])
    assert page.dialogs == []  # type: ignore[attr-defined]


@pytest.mark.postgres
def test_same_flow_on_postgresql(page, pg_web_server):
    result = _admin_creates_user_and_enrolls_hub(page, pg_web_server, "pg")
    _auditor_sees_entries(page, pg_web_server, "pg", result["device_id"])


XSS = "<img src=x onerror=\"alert('xss')\"><script>alert('xss')</script><svg onload=alert(1)>"


def _assert_inert(page) -> None:  # noqa: ANN001
    """The payload is on the page as text, not as markup."""
    assert page.locator("img[src='x']").count() == 0
    assert page.locator("svg[onload]").count() == 0
    assert page.locator("main script").count() == 0
    assert "<script>alert('xss')</script>" in page.locator("main").inner_text()


def test_stored_xss_in_free_text_renders_as_text(browser, page, web_server):
    admin = web_server.make_user(Profile.ADMINISTRADOR_NACIONAL)
    sign_in(page, web_server, admin)
    base = web_server.base_url

    page.goto(base + "/usuarios/nuevo")
    page.fill("#f-username", "xss-victima")
    page.fill("#f-display_name", XSS)
    page.fill("#f-password", "Inicial-segura-2026")
    page.check("input[name=profiles][value=orientador]")
    page.check("input[name=scope_kind][value=sede]")
    page.select_option("#f-sede_id", DEMO_SEDE)
    page.click("button:has-text('Crear usuario')")
    page.wait_for_url("**/usuarios?aviso=creado")
    _assert_inert(page)
    shot(page, "xss-users")
    page.click("table a:has-text('xss-victima')")
    assert page.input_value("#f-display_name") == XSS  # the value attribute kept it intact
    assert page.locator("img[src='x']").count() == 0

    page.goto(base + "/dispositivos")
    page.select_option("#f-sede_id", DEMO_SEDE)
    page.fill("#f-device_name", XSS[:80])
    page.click("button:has-text('Emitir código')")
    assert page.locator("img[src='x']").count() == 0
    page.goto(base + "/dispositivos")
    assert XSS[:40] in page.locator("main").inner_text()
    assert page.locator("img[src='x']").count() == 0

    page.goto(base + f"/sedes/{DEMO_SEDE}/editar")
    page.fill("#f-address", XSS)
    page.click("button:has-text('Guardar cambios')")
    page.wait_for_url(f"**/sedes/{DEMO_SEDE}?aviso=guardado")
    _assert_inert(page)
    shot(page, "xss-sede")

    # SQL metacharacters in a search are just text
    page.goto(base + "/usuarios?q=' OR 1=1 --")
    assert "No hay usuarios que coincidan." in page.content()

    # the auditor sees the payload inside the audit detail, still as text
    auditor = web_server.make_user(Profile.AUDITOR)
    context, audit_page = _new_page(browser, LAPTOP)
    try:
        sign_in(audit_page, web_server, auditor)
        audit_page.goto(base + f"/auditoria?accion=user.create&usuario={admin.username}")
        audit_page.locator("table.audit tbody tr").first.locator("summary").click()
        assert audit_page.locator("img[src='x']").count() == 0
        assert "xss-victima" in audit_page.locator("table.audit").inner_text()
        shot(audit_page, "xss-audit")
        assert audit_page.dialogs == []  # type: ignore[attr-defined]
    finally:
        context.close()
    assert page.dialogs == []  # type: ignore[attr-defined]


def test_posts_without_the_csrf_token_are_refused(page, web_server):
    admin = web_server.make_user(Profile.ADMINISTRADOR_NACIONAL)
    sign_in(page, web_server, admin)
    base = web_server.base_url
    form = {
        "username": "csrf-victima",
        "display_name": "Sin token",
        "password": "Inicial-segura-2026",
        "profiles": "orientador",
        "scope_kind": "sede",
        "sede_id": DEMO_SEDE,
    }
    # the browser's own cookies go with these requests: only the token is missing or wrong
    for extra in ({}, {"csrf_token": "forged-token"}):
        response = page.request.post(base + "/usuarios/nuevo", form={**form, **extra})
        assert response.status == 403
        assert "El formulario expiró o no es válido" in response.text()
    response = page.request.post(base + "/salir", form={})
    assert response.status == 403
    page.goto(base + "/usuarios?q=csrf-victima")
    assert "No hay usuarios que coincidan." in page.content()  # nothing was created
    assert page.url.startswith(base + "/usuarios")  # and the session is still open
    shot(page, "csrf-nothing-created")

    # the sign-in form carries its own (double-submit) token
    refused = httpx.post(
        base + "/ingresar", data={"username": admin.username, "password": admin.password}
    )
    assert refused.status_code == 403
    assert "alegra_session" not in refused.headers.get("set-cookie", "")


def test_lockout_is_explained_in_spanish(page, web_server):
    person = web_server.make_user(Profile.ORIENTADOR, scope=ScopeKind.SEDE, sede=DEMO_SEDE)
    page.goto(web_server.base_url + "/ingresar")
    box = page.locator("[data-signin-message]")
    threshold = web_server.settings.lockout_threshold

    def attempt(password: str) -> str:
        page.evaluate("() => { document.querySelector('[data-signin-message]').textContent = ''; }")
        page.fill("#f-username", person.username)
        page.fill("#f-password", password)
        page.click("button[type=submit]")
        page.wait_for_function(
            "() => document.querySelector('[data-signin-message]').textContent !== ''"
        )
        return box.inner_text()

    for number in range(threshold - 1):
        assert attempt(f"equivocada-{number}") == "Usuario o contraseña incorrectos."
    locked = attempt("equivocada-final")
    assert "bloqueada temporalmente" in locked
    assert "Intente nuevamente en 1 minuto." in locked
    shot(page, "signin-locked")
    # even the right password is refused while locked
    assert "bloqueada temporalmente" in attempt(person.password)
    assert page.url.endswith("/ingresar")


def test_first_sign_in_forces_a_password_change_with_spanish_policy_errors(page, web_server):
    person = web_server.make_user(
        Profile.DEFENSOR_PUBLICO, scope=ScopeKind.SEDE, sede=DEMO_SEDE, must_change_password=True
    )
    base = web_server.base_url
    page.goto(base + "/ingresar")
    page.fill("#f-username", person.username)
    page.fill("#f-password", person.password)
    page.click("button[type=submit]")
    page.wait_for_url("**/cuenta/contrasena")
    assert "Antes de continuar debe elegir una contraseña propia." in page.content()
    page.goto(base + "/sedes")  # every other page sends back here
    page.wait_for_url("**/cuenta/contrasena")

    page.fill("#f-current_password", person.password)
    page.fill("#f-new_password", "corta")
    page.fill("#f-confirm_password", "corta")
    page.click("button:has-text('Guardar contraseña')")
    error = page.locator("#e-new_password").inner_text()
    assert "al menos 12 caracteres" in error
    assert page.get_attribute("#f-new_password", "aria-invalid") == "true"
    shot(page, "password-policy-errors")

    page.fill("#f-current_password", "no-es-la-actual")
    page.fill("#f-new_password", "Nueva-clave-segura-7")
    page.fill("#f-confirm_password", "Nueva-clave-segura-7")
    page.click("button:has-text('Guardar contraseña')")
    assert (
        "La contraseña actual no es correcta." in page.locator("#e-current_password").inner_text()
    )

    page.fill("#f-current_password", person.password)
    page.fill("#f-new_password", "Nueva-clave-segura-7")
    page.fill("#f-confirm_password", "Otra-cosa-distinta-7")
    page.click("button:has-text('Guardar contraseña')")
    assert "Las contraseñas no coinciden." in page.locator("#e-confirm_password").inner_text()

    page.fill("#f-current_password", person.password)
    page.fill("#f-new_password", "Nueva-clave-segura-7")
    page.fill("#f-confirm_password", "Nueva-clave-segura-7")
    page.click("button:has-text('Guardar contraseña')")
    page.wait_for_url("**/?aviso=contrasena")
    assert "Su contraseña fue cambiada." in page.content()
    sign_out(page)
    sign_in(page, web_server, Account(person.username, "Nueva-clave-segura-7"))


def test_staff_see_only_what_the_policy_grants(page, web_server):
    person = web_server.make_user(Profile.DEFENSOR_PUBLICO, scope=ScopeKind.SEDE, sede=DEMO_SEDE)
    sign_in(page, web_server, person)
    base = web_server.base_url
    menu = page.locator("nav.sidenav").inner_text()
    assert "Sedes" in menu and "Perfiles" in menu
    assert "Usuarios" not in menu and "Dispositivos" not in menu and "Auditoría" not in menu
    assert _figure(page, "Sedes activas") == 1  # only their own sede
    assert page.locator(".figure", has_text="Usuarios activos").count() == 0
    shot(page, "staff-home")
    for path in ("/usuarios", "/usuarios/nuevo", "/dispositivos", "/auditoria", "/sedes/nueva"):
        response = page.goto(base + path)
        assert response is not None and response.status == 403, path
        assert "Acceso denegado" in page.content()
    shot(page, "staff-forbidden")
    response = page.goto(base + "/sedes/mega-lima-centro")  # another sede: as if absent
    assert response is not None and response.status == 404
    page.goto(base + f"/sedes/{DEMO_SEDE}")
    assert page.locator("text=Agregar servicio").count() == 0  # reads, does not configure
    page.goto(base + "/perfiles")
    assert page.locator("table.matrix tbody tr").count() == len(ACTIONS)
    shot(page, "staff-profiles")


def test_sedes_services_and_counters_are_managed_with_field_errors(page, web_server):
    admin = web_server.make_user(Profile.ADMINISTRADOR_NACIONAL)
    sign_in(page, web_server, admin)
    base = web_server.base_url
    page.goto(base + "/sedes")
    shot(page, "sedes")
    page.click("text=Nueva sede")
    page.fill("#f-id", "Lima Norte")  # spaces and capitals are not a valid code
    page.fill("#f-ubigeo", "15a")
    page.click("button:has-text('Crear sede')")
    assert "sin espacios" in page.locator("#e-id").inner_text()
    assert page.locator("#e-ubigeo").inner_text() == "El ubigeo tiene 6 dígitos."
    assert page.locator("#e-name").inner_text() == "Este campo es obligatorio."
    assert page.locator("#e-district_id").count() == 1
    shot(page, "sede-new-errors")
    page.fill("#f-id", "lima-norte")
    page.select_option("#f-district_id", "dd-lima")
    page.fill("#f-name", "Centro ALEGRA Lima Norte")
    page.fill("#f-ubigeo", "150110")
    page.fill("#f-address", "Av. Túpac Amaru 100, Comas")
    page.click("button:has-text('Crear sede')")
    page.wait_for_url("**/sedes/lima-norte?aviso=creada")

    page.fill("#f-code", "orientacion")
    page.fill("#f-name", "Orientación legal")
    page.fill("#f-letter", "a")
    page.click("button:has-text('Agregar servicio')")
    page.wait_for_url("**/sedes/lima-norte?aviso=servicio")
    page.fill("#f-code", "victimas")
    page.fill("#f-name", "Defensa de víctimas")
    page.fill("#f-letter", "A")  # taken by the first queue
    page.click("button:has-text('Agregar servicio')")
    assert "Otra cola de la sede ya usa esa letra." in page.content()
    assert page.locator("#e-letter").inner_text() == "Letra repetida"
    page.fill("#f-letter", "V")
    page.click("button:has-text('Agregar servicio')")
    page.wait_for_url("**/sedes/lima-norte?aviso=servicio")

    page.click("text=Nueva ventanilla")
    page.click("button:has-text('Crear ventanilla')")
    assert "Asigne al menos un servicio" in page.locator("#e-services").inner_text()
    page.fill("input[name=peso_orientacion]", "3")
    page.fill("input[name=peso_victimas]", "1")
    shot(page, "counter-new")
    page.click("button:has-text('Crear ventanilla')")
    page.wait_for_url("**/sedes/lima-norte?aviso=ventanilla")
    row = page.locator("tr", has_text="Ventanilla 1")
    assert "orientacion × 3" in row.inner_text() and "victimas × 1" in row.inner_text()
    row.locator("a", has_text="Editar").click()
    shot(page, "counter-edit")
    page.fill("#f-name", "Ventanilla preferencial")
    page.fill("input[name=peso_victimas]", "")
    page.click("button:has-text('Guardar cambios')")
    page.wait_for_url("**/sedes/lima-norte?aviso=ventanilla")
    row = page.locator("tr", has_text="Ventanilla preferencial")
    assert "victimas" not in row.inner_text()
    shot(page, "sede-detail")
    page.click("tr:has-text('Orientación legal') >> text=Editar")
    page.fill("#f-name", "Orientación y derivación")
    shot(page, "service-edit")
    page.click("button:has-text('Guardar')")
    page.wait_for_url("**/sedes/lima-norte?aviso=servicio")
    assert "Orientación y derivación" in page.content()
    page.click("text=Editar datos")
    page.uncheck("input[name=active]")
    shot(page, "sede-edit")
    page.click("button:has-text('Guardar cambios')")
    page.wait_for_url("**/sedes/lima-norte?aviso=guardado")
    assert "Inactiva" in page.locator("dl.facts").inner_text()


@pytest.mark.parametrize(
    "viewport", [TABLET_PORTRAIT, TABLET_LANDSCAPE], ids=["portrait", "landscape"]
)
def test_tablet_viewports_render_without_horizontal_scroll(browser, web_server, viewport):
    name = "portrait" if viewport is TABLET_PORTRAIT else "landscape"
    admin = web_server.make_user(Profile.ADMINISTRADOR_NACIONAL)
    auditor = web_server.make_user(Profile.AUDITOR)
    context, page = _new_page(browser, viewport)
    base = web_server.base_url
    try:
        page.goto(base + "/ingresar")
        assert no_horizontal_scroll(page)
        shot(page, f"tablet-{name}-signin")
        sign_in(page, web_server, admin)
        for path, label in (
            ("/", "home"),
            ("/usuarios", "users"),
            ("/usuarios/nuevo", "user-new"),
            ("/perfiles", "profiles"),
            ("/sedes", "sedes"),
            (f"/sedes/{DEMO_SEDE}", "sede"),
            (f"/sedes/{DEMO_SEDE}/ventanillas/v1", "counter"),
            ("/dispositivos", "devices"),
            ("/cuenta/contrasena", "password"),
        ):
            page.goto(base + path)
            assert no_horizontal_scroll(page), path
            shot(page, f"tablet-{name}-{label}")
        sign_out(page)
        sign_in(page, web_server, auditor)
        page.goto(base + "/auditoria")
        page.locator("table.audit summary").first.click()
        assert no_horizontal_scroll(page)
        shot(page, f"tablet-{name}-audit")
    finally:
        context.close()


def test_administrator_without_second_factor_enrols_it_at_first_sign_in(page, web_server):
    admin = web_server.make_user(Profile.ADMINISTRADOR_NACIONAL, totp=False)
    page.goto(web_server.base_url + "/ingresar")
    page.fill("#f-username", admin.username)
    page.fill("#f-password", admin.password)
    page.click("button[type=submit]")
    page.wait_for_url("**/ingresar/verificacion")
    assert page.locator("img[alt^='Código QR']").is_visible()
    secret = page.locator("code.secret").inner_text().replace(" ", "")
    shot(page, "totp-setup")
    page.fill("#f-code", "000000")
    page.click("button:has-text('Activar e ingresar')")
    assert "El código de verificación no es válido." in page.locator("#e-code").inner_text()
    page.fill("#f-code", web_server.totp_code(admin.username, secret))
    page.click("button:has-text('Activar e ingresar')")
    page.wait_for_url(web_server.base_url + "/")
    assert page.locator("h1").inner_text() == "Inicio"
    sign_out(page)
    sign_in(page, web_server, Account(admin.username, admin.password, secret))
