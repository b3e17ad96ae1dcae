"""Where the sync agent's configuration lives, so that ``alegra hub status`` run from any shell
tells the truth: the enrolment recorded in the hub file (``alegra sync enroll --db``) and what
the agent last started with, not only the ``ALEGRA_SYNC_*`` variables of the shell."""

from __future__ import annotations

import json
import os
import stat
from datetime import timedelta

import httpx
from typer.testing import CliRunner

from hub.cli import app as hub_app
from hub.domain import store
from sync.agent import AgentSettings, SyncAgent
from sync.cli import app as sync_app

SEDE = "sede-sync"
SYNC_VARS = (
    "ALEGRA_SYNC_CENTRAL_URL",
    "ALEGRA_SYNC_DEVICE_TOKEN",
    "ALEGRA_SYNC_DEVICE_TOKEN_FILE",
)


def _hub(tmp_path):
    """A hub file where ``alegra hub status --config … --data-dir …`` looks for it."""
    from hub.cli import db_path_for
    from hub.config import load_sede_config
    from hub.domain.engine import HubEngine

    from .test_status import _sede_toml

    sede_file = _sede_toml(tmp_path, SEDE)
    data_dir = tmp_path / "data"
    db_path = db_path_for(data_dir, SEDE)
    HubEngine(load_sede_config(sede_file), db_path).close()
    return db_path, ["status", "--config", str(sede_file), "--data-dir", str(data_dir)]


def _status(args) -> tuple[dict, str]:
    runner = CliRunner()
    report = json.loads(runner.invoke(hub_app, [*args, "--json"]).output)["sync"]
    return report, runner.invoke(hub_app, args).output


def _clean_env(monkeypatch) -> None:
    for name in SYNC_VARS:
        monkeypatch.delenv(name, raising=False)


def test_status_from_a_shell_without_the_agents_variables_sees_the_running_agent(
    tmp_path, monkeypatch
):
    """The agent runs as a service with /etc/alegra/hub.env; the operator's shell has none of
    it. Status used to say "not configured" while the agent was syncing."""
    _clean_env(monkeypatch)
    db_path, args = _hub(tmp_path)
    token_file = tmp_path / "hub.token"
    token_file.write_text("not-a-real-token")
    service_env = AgentSettings(
        central_url="http://127.0.0.1:9",  # nothing listens: the agent just keeps retrying
        device_token_file=token_file,
        push_interval_s=60,
        pull_interval_s=60,
    )
    agent = SyncAgent.from_settings(db_path, service_env)
    assert agent is not None
    agent.start()
    try:
        report, text = _status(args)
        assert report["configured"] is True
        assert report["central_url"] == "http://127.0.0.1:9"
        assert report["credential"] == str(token_file)
        assert report["agent_started_at"] and report["agent_stopped_at"] is None
        assert "configurada sí, con http://127.0.0.1:9" in text
        assert "not-a-real-token" not in text and "not-a-real-token" not in json.dumps(report)
    finally:
        agent.stop()
    report, text = _status(args)
    assert report["configured"] is True and report["agent_stopped_at"]
    assert "detenido / stopped" in text


def test_status_of_a_hub_never_configured_says_so(tmp_path, monkeypatch):
    _clean_env(monkeypatch)
    _, args = _hub(tmp_path)
    report, text = _status(args)
    assert report["configured"] is False and report["central_url"] is None
    assert "configurada no" in text and "alegra sync enroll" in text
    assert "nunca iniciado" in text


def test_enrolling_with_the_hub_file_configures_agent_and_status_without_variables(
    tmp_path, monkeypatch, central
):
    from central.core.db import new_session
    from central.devices import service as devices
    from central.devices.schemas import EnrollmentCodeCreate
    from central.domain.actor import Actor

    _clean_env(monkeypatch)
    db_path, args = _hub(tmp_path)
    session = new_session(central.app.state.engine)
    _, code = devices.issue_enrollment_code(
        session=session,
        actor=Actor.system("tests"),
        data=EnrollmentCodeCreate(sede_id=SEDE, device_name="Hub de la sede"),
        lifetime=timedelta(minutes=10),
    )
    session.commit()
    session.close()

    def post(url: str, **kwargs) -> httpx.Response:  # central in-process, same API
        return central.client.post(url.removeprefix("http://central.test"), **kwargs)

    monkeypatch.setattr(httpx, "post", post)
    token_file = tmp_path / "etc" / "hub.token"
    result = CliRunner().invoke(
        sync_app,
        [
            "enroll",
            "--central-url",
            "http://central.test/",
            "--code",
            code,
            "--out",
            str(token_file),
            "--db",
            str(db_path),
        ],
    )
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(os.stat(token_file).st_mode) == 0o600
    token = token_file.read_text()
    conn = store.open_db(db_path)
    try:
        assert token not in json.dumps(store.sync_state(conn))  # only where it is kept
    finally:
        conn.close()

    agent = SyncAgent.from_settings(db_path)  # no ALEGRA_SYNC_* at all
    assert agent is not None
    try:
        assert agent.central_url == "http://central.test"
        assert agent.credential_source == str(token_file.resolve())
        ack = central.client.post(
            "/api/v1/sync/push",
            headers={**agent._headers},
            content=agent._body(1, [], dispatched=0),
        )
        assert ack.status_code == 200, ack.text  # the credential central issued works
    finally:
        agent.conn.close()
    report, text = _status(args)
    assert report["configured"] is True
    assert report["central_url"] == "http://central.test"
    assert report["credential"] == str(token_file.resolve())
    # the environment still wins over the hub file
    monkeypatch.setenv("ALEGRA_SYNC_CENTRAL_URL", "https://otra.central")
    assert _status(args)[0]["central_url"] == "https://otra.central"


def test_enrolling_into_a_hub_file_that_does_not_exist_is_refused(tmp_path):
    result = CliRunner().invoke(
        sync_app,
        [
            "enroll",
            "--central-url",
            "http://central.test",
            "--code",
            "ABCD",
            "--out",
            str(tmp_path / "t"),
            "--db",
            str(tmp_path / "missing.sqlite3"),
        ],
    )
    assert result.exit_code == 2
    assert not (tmp_path / "missing.sqlite3").exists() and not (tmp_path / "t").exists()
