"""Sync status where people look: ``alegra hub status`` on the hub, the sync status API and the
``/sincronizacion`` page at central."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

from typer.testing import CliRunner

from contracts.mqtt import Role
from hub.cli import app as hub_app
from hub.domain import store
from hub.ports import Actor

KIOSK = Actor(role=Role.KIOSK, device_id="k1")


def issue_ticket(engine) -> None:
    """A walk-in ticket from the kiosk: one more event in the hub's outbox."""
    engine.execute(
        actor=KIOSK,
        action="issue_ticket",
        params={"service_code": "orientacion"},
        request_id=str(uuid.uuid4()),
    )


def _sede_toml(tmp_path, sede_id: str):
    from hub.config import DEMO_SEDE_FILE

    path = tmp_path / "sede.toml"
    path.write_text(
        DEMO_SEDE_FILE.read_text(encoding="utf-8").replace(
            'id = "lima-cercado"', f'id = "{sede_id}"'
        ),
        encoding="utf-8",
    )
    return path


def test_hub_status_shows_backlog_last_success_and_last_error(tmp_path, monkeypatch):
    from hub.cli import db_path_for
    from hub.config import load_sede_config
    from hub.domain.engine import HubEngine

    monkeypatch.delenv("ALEGRA_SYNC_CENTRAL_URL", raising=False)
    sede_file = _sede_toml(tmp_path, "sede-status")
    data_dir = tmp_path / "data"
    db_path = db_path_for(data_dir, "sede-status")
    engine = HubEngine(load_sede_config(sede_file), db_path)
    for _ in range(3):
        issue_ticket(engine)
    engine.close()
    conn = store.open_db(db_path)
    store.write_sync_state(
        conn,
        last_push_ok_at="2026-11-27T10:00:00.000000+00:00",
        last_error="push: la central respondió 503: central no disponible",
        last_error_at="2026-11-27T10:05:00.000000+00:00",
    )
    conn.close()
    runner = CliRunner()
    args = ["status", "--config", str(sede_file), "--data-dir", str(data_dir)]
    report = json.loads(runner.invoke(hub_app, [*args, "--json"]).output)
    assert report["sync"]["backlog"] == 3
    assert report["sync"]["last_push_ok_at"].startswith("2026-11-27T10:00")
    assert "503" in report["sync"]["last_error"]
    assert report["sync"]["configured"] is False
    text = runner.invoke(hub_app, args).output
    assert "pendientes de enviar / backlog: 3" in text
    assert "último envío correcto / last push ok: 2026-11-27T10:00" in text
    assert "central respondió 503" in text
    assert report["sync"]["sede_config_revision"] is None
    assert "sede config: TOML local" in text


def test_central_status_flags_silent_sedes_and_reports_lag(
    central, hub_engine, agent, admin_headers
):
    from sqlalchemy import update

    from central.sync import models as m

    for _ in range(2):
        issue_ticket(hub_engine)
    agent.push_once()
    rows = central.client.get("/api/v1/sync/status", headers=admin_headers).json()
    assert len(rows) == 1
    row = rows[0]
    assert row["sede_id"] == "sede-sync" and row["backlog"] == 0 and row["silent"] is False
    assert row["events_total"] >= 2
    with central.connect() as conn:  # last heard of two hours ago
        conn.execute(
            update(m.sync_sede_state).values(last_contact_at=datetime.now(UTC) - timedelta(hours=2))
        )
    assert central.client.get("/api/v1/sync/status", headers=admin_headers).json()[0]["silent"]
    # without credentials: refused
    assert central.client.get("/api/v1/sync/status").status_code == 401


def _older_hub_clock_ahead(central, *, hours: int) -> None:
    """Make the last push say it came from release 0.0.9 with the hub's clock ``hours`` ahead
    (what an older hub with a wrong clock reports in its health)."""
    from sqlalchemy import select, update

    from central.sync import models as m

    with central.connect() as conn:
        health = json.loads(conn.execute(select(m.sync_sede_state.c.health)).scalar_one())
        pushed = conn.execute(select(m.sync_sede_state.c.last_push_at)).scalar_one()
        pushed = pushed if pushed.tzinfo else pushed.replace(tzinfo=UTC)
        health["agent_version"] = "0.0.9"
        health["hub_time"] = (pushed + timedelta(hours=hours)).isoformat()
        conn.execute(update(m.sync_sede_state).values(health=json.dumps(health)))


def test_central_status_shows_the_hubs_release_and_clock(central, hub_engine, agent, admin_headers):
    """The staged upgrade (docs/sync.md, Versioning) and a hub clock gone wrong, as central's
    status shows them: from what the hub itself reports with each push."""
    from contracts.sync import software_release

    issue_ticket(hub_engine)
    agent.push_once()
    [row] = central.client.get("/api/v1/sync/status", headers=admin_headers).json()
    assert row["hub_release"] == software_release() and row["release_differs"] is False
    assert abs(row["clock_skew_s"]) < 60 and row["clock_off"] is False

    _older_hub_clock_ahead(central, hours=3)
    [row] = central.client.get("/api/v1/sync/status", headers=admin_headers).json()
    assert row["hub_release"] == "0.0.9" and row["release_differs"] is True
    assert row["clock_skew_s"] == 3 * 3600 and row["clock_off"] is True


def test_status_page_shows_each_sede_in_spanish(central, hub_engine, agent, tmp_path):
    from fastapi.testclient import TestClient

    from central.app import create_app
    from central.auth.policy import Profile, ScopeKind
    from central.auth.service import create_web_session, password_hasher
    from central.core.db import new_session
    from central.domain.actor import Actor as CentralActor
    from central.users import service as users
    from central.users.schemas import UserCreate

    issue_ticket(hub_engine)
    agent.push_once()
    app = create_app(central.app.state.settings, run_migrations=False, web=True)
    session = new_session(app.state.engine)
    user = users.create_user(
        session=session,
        actor=CentralActor.system("tests"),
        ph=password_hasher(app.state.settings),
        check_assignable=False,
        data=UserCreate(
            username="auditora",
            display_name="Auditora",
            password="Contraseña-segura-1",  # noqa: S106
            profiles=[Profile.AUDITOR],
            scope_kind=ScopeKind.NATIONAL,
        ),
    )
    user.must_change_password = False
    cookie, _ = create_web_session(session=session, settings=app.state.settings, user=user)
    session.commit()
    session.close()
    with TestClient(app) as client:
        anonymous = client.get("/sincronizacion", follow_redirects=False)
        assert anonymous.status_code != 200
        client.cookies.set("alegra_session", cookie)
        page = client.get("/sincronizacion")
        _older_hub_clock_ahead(central, hours=3)
        flagged = client.get("/sincronizacion").text
    app.state.engine.dispose()
    assert "Versión distinta de la central" in flagged and "Reloj adelantado 3 h" in flagged
    (tmp_path / "sync_status_flagged.html").write_text(flagged, encoding="utf-8")
    assert page.status_code == 200, page.text[:500]
    html = page.text
    assert "Sincronización de sedes" in html and "sede-sync" in html and "Al día" in html
    from contracts.sync import software_release

    assert f"<td>{software_release()}</td>" in html  # the hub's release, nothing flagged
    assert "Versión distinta" not in html and "Reloj adelantado" not in html
    (tmp_path / "sync_status.html").write_text(html, encoding="utf-8")
