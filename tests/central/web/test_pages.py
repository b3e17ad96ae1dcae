"""The web UI through HTTP (no browser), on SQLite and PostgreSQL: redirects, policy and area on
every page, CSRF on every form post, escaping, security headers, TOTP enrolment, and that every
write is audited like the API's."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from types import SimpleNamespace

import pyotp
import pytest
from sqlmodel import select

from central.audit.models import AuditEvent
from central.auth.deps import route_permission
from central.auth.policy import Profile
from central.devices import service as devices
from central.devices.schemas import EnrollmentCodeCreate
from central.domain.actor import Actor
from central.users.models import User
from central.web import views_admin, views_audit, views_auth, views_org
from tests.central.conftest import PASSWORD, next_totp

WEB_ROUTERS = (views_auth.router, views_admin.router, views_org.router, views_audit.router)
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    assert match, "no CSRF field on the page"
    return match.group(1)


def web_sign_in(client, account) -> str:  # noqa: ANN001
    """Sign in through the form; returns the session's CSRF token."""
    form = {"csrf_token": csrf_of(client.get("/ingresar").text),
            "username": account.username, "password": account.password}  # fmt: skip
    if account.totp_secret:
        form["totp_code"] = next_totp(account)
    response = client.post("/ingresar", data=form, follow_redirects=False)
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/"
    return csrf_of(client.get("/").text)


def audit_rows(db, action: str) -> list[SimpleNamespace]:  # noqa: ANN001
    """Copies of the audit rows of ``action``; the read transaction is ended at once (a SQLite
    transaction here would hold the write lock the app under test needs)."""
    db.expire_all()
    rows = db.exec(
        select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)
    ).all()
    copies = [SimpleNamespace(**row.model_dump()) for row in rows]
    db.rollback()
    return copies


def user_row(db, **where: str) -> SimpleNamespace | None:  # noqa: ANN001
    db.expire_all()
    row = db.exec(select(User).filter_by(**where)).first()
    copy = None if row is None else SimpleNamespace(**row.model_dump())
    db.rollback()
    return copy


def test_every_web_route_declares_an_access_rule(app):
    for router in WEB_ROUTERS:
        for route in router.routes:
            assert route_permission(route.dependant) is not None, route.path


def test_signed_out_pages_redirect_to_sign_in_and_back(client):
    response = client.get("/usuarios?q=ana", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/ingresar?siguiente=%2Fusuarios%3Fq%3Dana"
    page = client.get(response.headers["location"])
    assert 'name="siguiente" value="/usuarios?q=ana"' in page.text
    assert client.get("/", follow_redirects=False).headers["location"] == "/ingresar"


def test_pages_carry_security_headers_and_api_errors_stay_json(client):
    page = client.get("/ingresar")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["content-type"].startswith("text/html")
    cookie = page.headers["set-cookie"]
    assert "alegra_csrf=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    css = client.get("/static/alegra.css")
    assert css.status_code == 200 and "text/css" in css.headers["content-type"]
    missing = client.get("/no-existe")
    assert missing.status_code == 404 and "Página no encontrada" in missing.text
    api = client.get("/api/v1/users")
    assert api.status_code == 401 and api.json()["code"] == "unauthenticated"
    assert "content-security-policy" not in api.headers


def test_every_asset_is_served_by_central_itself(client, world, factory):
    admin = factory.user(Profile.ADMINISTRADOR_NACIONAL)
    web_sign_in(client, admin)
    for path in ("/", "/usuarios", "/usuarios/nuevo", "/perfiles", "/sedes", "/dispositivos"):
        html = client.get(path).text
        for url in re.findall(r'(?:src|href)="([^"]+)"', html):
            assert url.startswith(("/", "#", "data:")) and not url.startswith("//"), (path, url)
            if url.startswith("/static/"):
                assert client.get(url).status_code == 200, url


def test_session_cookie_flags_and_open_redirect_refused(client, world, factory):
    person = factory.user(Profile.ORIENTADOR, sede=world.sede_a1)
    form = {"csrf_token": csrf_of(client.get("/ingresar").text), "username": person.username,
            "password": person.password, "siguiente": "//evil.example/robar"}  # fmt: skip
    response = client.post("/ingresar", data=form, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/"
    cookie = response.headers["set-cookie"]
    assert "alegra_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie


def test_bad_password_and_totp_steps_answer_in_spanish(client, world, factory, db):
    admin = factory.user(Profile.ADMINISTRADOR_NACIONAL)
    token = csrf_of(client.get("/ingresar").text)
    base = {"csrf_token": token, "username": admin.username}
    wrong = client.post("/ingresar", data={**base, "password": "equivocada"})
    assert wrong.status_code == 401 and "Usuario o contraseña incorrectos." in wrong.text
    step = client.post(
        "/ingresar", data={**base, "password": admin.password},
        headers={"X-Requested-With": "fetch"},
    )  # fmt: skip
    assert step.status_code == 200
    assert step.json() == {
        "step": "totp",
        "message": "Ingrese el código de verificación de su aplicación autenticadora.",
    }
    assert "alegra_session" not in step.headers.get("set-cookie", "")
    bad = client.post("/ingresar", data={**base, "password": admin.password, "totp_code": "000000"})
    assert bad.status_code == 401 and "El código de verificación no es válido." in bad.text
    assert [e.after_json for e in audit_rows(db, "auth.signin_failed")][-1].find("bad_totp") > 0
    good = client.post(
        "/ingresar",
        data={**base, "password": admin.password, "totp_code": next_totp(admin)},
        headers={"X-Requested-With": "fetch"},
    )
    assert good.json() == {"redirect": "/"}
    assert client.get("/").status_code == 200


def test_first_sign_in_of_an_administrator_enrols_totp(client, world, factory, db):
    admin = factory.user(Profile.ADMINISTRADOR_NACIONAL, totp=False)
    form = {"csrf_token": csrf_of(client.get("/ingresar").text), "username": admin.username,
            "password": admin.password}  # fmt: skip
    response = client.post("/ingresar", data=form, follow_redirects=False)
    assert response.headers["location"] == "/ingresar/verificacion"
    page = client.get("/ingresar/verificacion")
    assert page.status_code == 200 and 'src="data:image/svg+xml;base64,' in page.text
    secret = re.search(r'<code class="secret">([A-Z2-7 ]+)</code>', page.text).group(1)
    secret = secret.replace(" ", "")
    csrf = csrf_of(page.text)
    bad = client.post("/ingresar/verificacion", data={"csrf_token": csrf, "code": "123456"})
    assert bad.status_code == 422 and "El código de verificación no es válido." in bad.text
    # the failed attempt did not replace the pending secret shown to the person
    assert secret.replace(" ", "") in bad.text.replace(" ", "")
    done = client.post(
        "/ingresar/verificacion",
        data={"csrf_token": csrf, "code": pyotp.TOTP(secret).now()},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == "/"
    assert client.get("/").status_code == 200
    assert user_row(db, id=admin.id).totp_secret == secret
    assert audit_rows(db, "user.totp_enable")[-1].actor_user_id == admin.id
    assert audit_rows(db, "auth.signin")[-1].actor_user_id == admin.id


def test_every_form_post_without_the_csrf_token_is_refused(client, world, factory, app):
    admin = factory.user(Profile.ADMINISTRADOR_NACIONAL)
    web_sign_in(client, admin)
    params = {"user_id": admin.id, "sede_id": world.sede_a1, "code": "v1", "device_id": "x"}
    checked = 0
    for router in WEB_ROUTERS:
        for route in router.routes:
            if "POST" not in route.methods or route.path.startswith("/ingresar"):
                continue
            path = route.path.format(**{k: params[k] for k in route.param_convertors})
            for form in ({}, {"csrf_token": "forjado"}):
                response = client.post(path, data=form, follow_redirects=False)
                assert response.status_code == 403, (path, response.status_code)
                assert "El formulario expiró o no es válido" in response.text
            checked += 1
    assert checked >= 12
    assert client.get("/").status_code == 200  # still signed in: sign-out was refused too


def test_web_writes_go_through_the_services_and_are_audited(client, world, factory, db):
    admin = factory.user(Profile.ADMINISTRADOR_NACIONAL)
    csrf = web_sign_in(client, admin)
    form = {"csrf_token": csrf, "username": "nueva-persona", "display_name": XSS,
            "email": "", "password": "Inicial-segura-2026", "profiles": ["orientador", "conciliador"],
            "scope_kind": "sede", "sede_id": world.sede_a1, "district_id": ""}  # fmt: skip
    response = client.post("/usuarios/nuevo", data=form, follow_redirects=False)
    assert response.status_code == 303, response.text
    created = audit_rows(db, "user.create")[-1]
    assert created.actor_username == admin.username
    assert created.request_id and created.sede_id == world.sede_a1
    user = user_row(db, username="nueva-persona")
    assert user.must_change_password and user.display_name == XSS

    listing = client.get("/usuarios").text
    assert XSS not in listing
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in listing

    again = client.post("/usuarios/nuevo", data=form)
    assert again.status_code == 422
    assert "Ya existe un usuario con ese nombre." in again.text
    assert 'id="e-username"' in again.text

    invalid = client.post(
        "/usuarios/nuevo",
        data={**form, "username": "Con Espacios", "profiles": [], "email": "no-es-correo"},
    )
    assert invalid.status_code == 422
    assert "Seleccione al menos un perfil." in invalid.text
    assert "Ingrese un correo electrónico válido." in invalid.text
    assert "Use de 3 a 64 caracteres" in invalid.text

    disable = client.post(f"/usuarios/{user.id}/desactivar", data={"csrf_token": csrf},
                          follow_redirects=False)  # fmt: skip
    assert disable.status_code == 303
    update = audit_rows(db, "user.update")[-1]
    assert '"active":false' in update.after_json and '"active":true' in update.before_json

    code_page = client.post(
        "/dispositivos/codigos",
        data={"csrf_token": csrf, "sede_id": world.sede_b1, "device_name": "Hub B1"},
    )
    assert code_page.status_code == 201
    assert re.search(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}", code_page.text)
    issued = audit_rows(db, "device.enrollment_code_issue")[-1]
    assert issued.sede_id == world.sede_b1 and issued.actor_username == admin.username


def test_pages_and_writes_are_limited_to_the_area_of_the_policy(client, world, factory, db):
    coordinator = factory.user(Profile.COORDINADOR_SEDE, sede=world.sede_a1)
    colleague = factory.user(Profile.DEFENSOR_PUBLICO, sede=world.sede_a1)
    stranger = factory.user(Profile.DEFENSOR_PUBLICO, sede=world.sede_b1)
    csrf = web_sign_in(client, coordinator)
    listing = client.get("/usuarios").text
    assert colleague.username in listing and stranger.username not in listing
    assert client.get(f"/usuarios/{stranger.id}").status_code == 404
    response = client.post(
        f"/usuarios/{stranger.id}/desactivar", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert response.status_code == 404
    assert user_row(db, id=stranger.id).active
    assert client.get(f"/sedes/{world.sede_b1}").status_code == 404
    assert client.get("/auditoria").status_code == 403
    # a coordinator cannot hand out a profile above their own
    form = {"csrf_token": csrf, "username": "escalada", "display_name": "Escalada",
            "password": "Inicial-segura-2026", "profiles": ["coordinador_sede"],
            "scope_kind": "sede", "sede_id": world.sede_a1}  # fmt: skip
    refused = client.post("/usuarios/nuevo", data=form)
    assert refused.status_code == 422 and "No puede asignar el perfil" in refused.text
    assert user_row(db, username="escalada") is None
    # devices of another district cannot be revoked
    device, _ = devices.enroll(
        session=db,
        actor=Actor.system("tests"),
        code=devices.issue_enrollment_code(
            session=db, actor=Actor.system("tests"),
            data=EnrollmentCodeCreate(sede_id=world.sede_b1, device_name="Hub B1"),
            lifetime=timedelta(minutes=5),
        )[1],
    )  # fmt: skip
    db.commit()
    revoke = client.post(f"/dispositivos/{device.id}/baja", data={"csrf_token": csrf})
    assert revoke.status_code == 404


def test_disabling_an_account_ends_its_web_sessions(app, world, factory, db):
    from fastapi.testclient import TestClient

    admin = factory.user(Profile.ADMINISTRADOR_NACIONAL)
    person = factory.user(Profile.ORIENTADOR, sede=world.sede_a1)
    with TestClient(app) as admin_client, TestClient(app) as person_client:
        csrf = web_sign_in(admin_client, admin)
        web_sign_in(person_client, person)
        assert person_client.get("/sedes").status_code == 200
        admin_client.post(f"/usuarios/{person.id}/desactivar", data={"csrf_token": csrf})
        gone = person_client.get("/sedes", follow_redirects=False)
        assert gone.status_code == 303 and gone.headers["location"].startswith("/ingresar")


def test_auditor_searches_and_exports_and_both_are_audited(client, world, factory, db):
    auditor = factory.user(Profile.AUDITOR)
    web_sign_in(client, auditor)
    page = client.get("/auditoria", params={"accion": "sede.create"})
    assert page.status_code == 200 and "3 eventos." in page.text
    assert audit_rows(db, "audit.search")[-1].actor_user_id == auditor.id
    bad = client.get("/auditoria", params={"desde": "2026-13-45"})
    assert bad.status_code == 422 and "Fecha no válida" in bad.text
    export = client.get("/auditoria/exportar", params={"formato": "csv", "accion": "sede.create"})
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    lines = export.text.strip().splitlines()
    assert lines[0].startswith("seq,id,occurred_at") and len(lines) == 4
    assert "attachment" in export.headers["content-disposition"]
    assert audit_rows(db, "audit.export")[-1].actor_user_id == auditor.id
    as_json = client.get("/auditoria/exportar", params={"formato": "json", "sede": world.sede_a1})
    assert all(row["sede_id"] == world.sede_a1 for row in as_json.json())


def test_the_api_and_web_audit_exports_agree_on_time_zone_and_columns(client, world, factory):
    """One writer for both files: the same columns (UTC as hashed, and Lima), the same rows,
    and both file names stamped in Lima time (the API's used the server's zone)."""
    import csv
    import io
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from tests.central.conftest import sign_in

    auditor = factory.user(Profile.AUDITOR)
    headers = sign_in(client, auditor)
    api = client.get(
        "/api/v1/audit/export", headers=headers, params={"format": "csv", "entity": "sede"}
    )
    web_sign_in(client, auditor)
    web = client.get("/auditoria/exportar", params={"formato": "csv", "entidad": "sede"})
    assert api.status_code == web.status_code == 200
    assert api.text == web.text
    rows = list(csv.DictReader(io.StringIO(api.text)))
    assert len(rows) == 3
    lima = ZoneInfo("America/Lima")
    for row in rows:
        utc = datetime.fromisoformat(row["occurred_at"].replace("Z", "+00:00"))
        local = datetime.fromisoformat(row["occurred_at_lima"])
        assert row["occurred_at"].endswith("Z") and local.utcoffset().total_seconds() == -5 * 3600
        assert abs((utc - local).total_seconds()) < 1
    now_lima = datetime.now(UTC).astimezone(lima).replace(tzinfo=None)
    for response in (api, web):
        stamp = re.search(r"auditoria-(\d{8}-\d{6})\.csv", response.headers["content-disposition"])
        assert stamp, response.headers["content-disposition"]
        taken = datetime.strptime(stamp.group(1), "%Y%m%d-%H%M%S")
        assert abs((now_lima - taken).total_seconds()) < 120


def test_the_audit_page_filters_sensitive_reads_and_shows_what_changed(client, world, factory):
    from central.audit.actions import SENSITIVE_READS_FILTER
    from tests.central.test_audit_actions import make_sensitive_reads

    make_sensitive_reads(client, world, factory)
    auditor = factory.user(Profile.AUDITOR)
    web_sign_in(client, auditor)
    page = client.get("/auditoria")
    assert f'<option value="{SENSITIVE_READS_FILTER}"' in page.text
    assert "Lectura de información sensible</option>" in page.text
    assert "Listado de información sensible</option>" in page.text
    only = client.get("/auditoria", params={"accion": SENSITIVE_READS_FILTER})
    assert only.status_code == 200 and "2 eventos." in only.text
    assert "Lectura de información sensible" in only.text
    # every action in the page has its Spanish label, never its bare code
    codes = re.findall(r"<td>([^<]*)<br><code class=\"small\">([a-z_.]+)</code>", page.text)
    assert codes and all(label != code for label, code in codes)
    # an update shows the changed field with its old and new value, not a cut prefix
    client.cookies.clear()
    admin = factory.user(Profile.ADMINISTRADOR_NACIONAL)
    from tests.central.conftest import sign_in

    headers = sign_in(client, admin)
    changed = client.patch(
        f"/api/v1/sedes/{world.sede_a1}", headers=headers, json={"address": "Jr. Nuevo 456"}
    )
    assert changed.status_code == 200
    web_sign_in(client, auditor)
    updates = client.get("/auditoria", params={"accion": "sede.update"}).text
    assert "address: Av. Prueba 1 → Jr. Nuevo 456" in updates


@pytest.mark.parametrize("profile", [Profile.ADMINISTRADOR_NACIONAL, Profile.COORDINADOR_SEDE])
def test_managers_cannot_read_the_audit_log(client, world, factory, profile):
    manager = factory.user(profile, sede=None if profile is Profile.ADMINISTRADOR_NACIONAL
                           else world.sede_a1)  # fmt: skip
    web_sign_in(client, manager)
    assert client.get("/auditoria").status_code == 403
    assert client.get("/auditoria/exportar").status_code == 403


def test_home_figures_are_counted_in_the_database(client, world, factory):
    admin = factory.user(Profile.ADMINISTRADOR_NACIONAL)
    web_sign_in(client, admin)
    html = client.get("/").text

    def figure(label: str) -> int:
        match = re.search(
            r'figure-value">([\d ]+)</span>\s*<span class="figure-label">' + label, html
        )
        assert match, label
        return int(match.group(1).replace(" ", ""))

    assert figure("Sedes activas") == 3
    assert figure("Usuarios activos") == 1
    assert figure("Ingresos hoy") == 1
    assert figure("Dispositivos activos") == 0
    assert PASSWORD not in html


def test_user_list_filters_by_profile_status_and_sede_with_pages(client, world, factory, db):
    admin = factory.user(Profile.ADMINISTRADOR_NACIONAL)
    for number in range(27):
        factory.user(Profile.ORIENTADOR, sede=world.sede_a1, username=f"ori-{number:02d}")
    defender = factory.user(Profile.DEFENSOR_PUBLICO, sede=world.sede_b1, username="def-b1")
    csrf = web_sign_in(client, admin)
    client.post(f"/usuarios/{defender.id}/desactivar", data={"csrf_token": csrf})

    first = client.get("/usuarios", params={"perfil": "orientador"}).text
    assert "27 usuarios." in first
    assert len(re.findall(r'href="/usuarios/[0-9a-f]{8}-', first)) == 25
    assert "pagina=2" in first and "perfil=orientador" in first
    second = client.get("/usuarios", params={"perfil": "orientador", "pagina": 2}).text
    assert "ori-25" in second and "ori-26" in second and "ori-00" not in second
    assert "Siguiente" not in second

    disabled = client.get("/usuarios", params={"estado": "desactivado"}).text
    assert "1 usuario." in disabled and "def-b1" in disabled and "ori-00" not in disabled
    by_sede = client.get("/usuarios", params={"sede": world.sede_b1}).text
    assert "def-b1" in by_sede and "ori-00" not in by_sede
    searched = client.get("/usuarios", params={"q": "ORI-0"}).text
    assert "10 usuarios." in searched


def test_an_unexpected_failure_in_a_page_answers_the_html_error_page(
    client, world, factory, monkeypatch
):
    from central.web import views_admin as admin_views

    person = factory.user(Profile.ORIENTADOR, sede=world.sede_a1)
    web_sign_in(client, person)

    def broken(*args, **kwargs):
        raise RuntimeError("simulated failure")

    monkeypatch.setattr(admin_views, "home_figures", broken)
    with_client = client.get("/")
    assert with_client.status_code == 500
    assert with_client.headers["content-type"].startswith("text/html")
    assert "Error interno" in with_client.text and "simulated" not in with_client.text


def test_error_pages_keep_the_menu_without_waiting_on_the_database(client, world, factory):
    # a NotFound raised after a query leaves the request's SQLite transaction (and its write
    # lock) open while the error page renders: the page must not query the database again
    person = factory.user(Profile.DEFENSOR_PUBLICO, sede=world.sede_a1)
    web_sign_in(client, person)
    for path, status in ((f"/sedes/{world.sede_b1}", 404), ("/usuarios", 403), ("/nada", 404)):
        started = time.monotonic()
        response = client.get(path)
        assert response.status_code == status, path
        assert time.monotonic() - started < 5, path
        assert 'action="/salir"' in response.text and 'aria-label="Menú principal"' in response.text
