"""``alegra hub``: status (text and JSON, hub stopped), provision-mqtt, config errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from hub.cli import app, db_path_for
from hub.config import DEMO_SEDE_FILE, load_sede_config
from hub.ports import Actor

runner = CliRunner()


@pytest.fixture
def filled_data_dir(tmp_path, sede_file):
    """A data dir whose hub issued tickets and has a counter serving, then stopped."""
    from hub.domain.engine import HubEngine

    config = load_sede_config(sede_file)
    data_dir = tmp_path / "data"
    engine = HubEngine(config, db_path_for(data_dir, config.id))
    kiosk, counter = Actor("kiosk", "k1"), Actor("counter", "v2")
    try:
        for index, service in enumerate(["orientacion", "orientacion", "defensa-penal"]):
            outcome = engine.execute(
                actor=kiosk,
                action="issue_ticket",
                params={"service_code": service},
                request_id=f"req-issue-{index}",
            )
            assert outcome.ok
        for index, (action, params) in enumerate(
            [("sign_in", {"username": "luis", "password": "demo-ventanilla-2"}),
             ("open_counter", {}), ("call_next", {})]
        ):  # fmt: skip
            assert engine.execute(
                actor=counter, action=action, params=params, request_id=f"req-counter-{index}"
            ).ok
    finally:
        engine.close()
    return data_dir


def test_status_json_reads_the_stopped_hub(sede_file, filled_data_dir):
    result = runner.invoke(
        app, ["status", "--json", "--config", str(sede_file), "--data-dir", str(filled_data_dir)]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    waiting = {code: queue["waiting"] for code, queue in report["queues"].items()}
    # v2 attends orientacion (1) and defensa-penal (2): one of the three was called
    assert sum(waiting.values()) == 2
    assert report["counters"]["v2"]["status"] == "open"
    assert report["counters"]["v2"]["current"] in {"A001", "P001"}
    assert report["outbox"]["pending"] > 0


def test_status_text_lists_queues_counters_and_outbox(sede_file, filled_data_dir):
    result = runner.invoke(
        app, ["status", "--config", str(sede_file), "--data-dir", str(filled_data_dir)]
    )
    assert result.exit_code == 0, result.output
    assert "orientacion" in result.output and "v2" in result.output
    assert "Outbox" in result.output
    assert "Luis Mamani" in result.output  # staff names are fine; no citizen data exists here


def test_status_without_data_says_so(sede_file, tmp_path):
    result = runner.invoke(
        app, ["status", "--config", str(sede_file), "--data-dir", str(tmp_path / "none")]
    )
    assert result.exit_code == 1
    assert "No hay datos" in result.output


@pytest.mark.parametrize("command", ["status", "run"])
def test_bad_config_names_the_field(tmp_path, command):
    bad = tmp_path / "bad.toml"
    bad.write_text(
        DEMO_SEDE_FILE.read_text(encoding="utf-8").replace('letter = "P"', 'letter = "p1"'),
        encoding="utf-8",
    )
    result = runner.invoke(app, [command, "--config", str(bad), "--data-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "services.1.letter" in result.output
    assert not list(tmp_path.glob("*.sqlite3"))  # nothing was created


def test_provision_mqtt_writes_passwd_acl_and_credentials(sede_file, tmp_path, sede_id):
    out = tmp_path / "mqtt"
    result = runner.invoke(
        app,
        ["provision-mqtt", "--config", str(sede_file), "--out", str(out),
         "--kiosk", "k1", "--kiosk", "k2", "--display", "d1"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    users = [line.split(":", 1)[0] for line in (out / "passwd").read_text().splitlines()]
    assert users == ["hub", "v1", "v2", "v3", "k1", "k2", "d1"]
    # hashed, not plain: the plain password is only in credentials.toml (0600)
    credentials = (out / "credentials.toml").read_text()
    for line in (out / "passwd").read_text().splitlines():
        assert line.split(":", 1)[1].startswith("$")
    assert oct((out / "credentials.toml").stat().st_mode & 0o777) == "0o600"
    assert '[devices."k1"]' in credentials
    acl = (out / "acl").read_text()
    assert f"topic write alegra/v1/{sede_id}/kiosk/k1/request/issue_ticket" in acl
    assert f"topic write alegra/v1/{sede_id}/counter/v3/request/+" in acl


def test_provision_refuses_duplicate_device_ids(sede_file, tmp_path):
    result = runner.invoke(
        app,
        ["provision-mqtt", "--config", str(sede_file), "--out", str(tmp_path / "x"),
         "--kiosk", "v1"],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "repetido" in result.output


def test_hub_help_starts_without_heavy_imports():
    probe = (
        "import sys; from alegra.cli import main; "
        "sys.argv=['alegra','hub','--help']\n"
        "try:\n main()\nexcept SystemExit:\n pass\n"
        "heavy=[m for m in ('paho','hub.domain.engine','PySide6','fastapi') if m in sys.modules]\n"
        "print('HEAVY', heavy)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60
    )
    assert "run" in result.stdout and "status" in result.stdout
    assert "HEAVY []" in result.stdout


def test_reprovisioning_keeps_given_passwords(sede_file, tmp_path):
    import tomllib

    first, second = tmp_path / "first", tmp_path / "second"
    args = ["provision-mqtt", "--config", str(sede_file), "--kiosk", "k1"]
    assert runner.invoke(app, [*args, "--out", str(first)]).exit_code == 0
    result = runner.invoke(
        app,
        [*args, "--kiosk", "k2", "--out", str(second), "--keep", str(first / "credentials.toml")],
    )
    assert result.exit_code == 0, result.output
    old = tomllib.loads((first / "credentials.toml").read_text())["devices"]
    new = tomllib.loads((second / "credentials.toml").read_text())["devices"]
    assert new["k1"]["password"] == old["k1"]["password"]
    assert new["hub"]["password"] == old["hub"]["password"]
    assert "k2" in new and "k2" not in old


def test_keep_carries_kiosks_displays_and_consoles_and_drop_retires_one(sede_file, tmp_path):
    """Adding a counter must not silently take the kiosks' and displays' credentials away:
    --keep carries every non-counter device forward with its recorded role; --drop retires
    one on purpose."""
    import tomllib

    first, second, third = tmp_path / "first", tmp_path / "second", tmp_path / "third"
    base = ["provision-mqtt", "--config", str(sede_file)]
    made = runner.invoke(
        app, [*base, "--kiosk", "k1", "--display", "d1", "--admin", "a1", "--out", str(first)]
    )
    assert made.exit_code == 0, made.output
    kept_file = str(first / "credentials.toml")

    # nothing named again: the same devices, the same roles and passwords, the same ACL
    again = runner.invoke(app, [*base, "--out", str(second), "--keep", kept_file])
    assert again.exit_code == 0, again.output
    old = tomllib.loads((first / "credentials.toml").read_text())["devices"]
    new = tomllib.loads((second / "credentials.toml").read_text())["devices"]
    assert new == old
    assert (second / "acl").read_text() == (first / "acl").read_text()
    assert "Ningún equipo nuevo" in again.output and "Ya sin credencial" not in again.output

    # the display retired, a new kiosk added
    retired = runner.invoke(
        app, [*base, "--out", str(third), "--keep", kept_file, "--drop", "d1", "--kiosk", "k2"]
    )
    assert retired.exit_code == 0, retired.output
    third_devices = tomllib.loads((third / "credentials.toml").read_text())["devices"]
    assert "d1" not in third_devices and "user d1\n" not in (third / "acl").read_text()
    assert third_devices["k1"] == old["k1"] and third_devices["a1"] == old["a1"]
    assert third_devices["k2"]["role"] == "kiosk"
    assert "Ya sin credencial" in retired.output and "d1." in retired.output
    assert "Equipos nuevos, a configurar con su credencial: k2." in retired.output


@pytest.mark.parametrize(
    ("with_keep", "extra", "message"),
    [
        (True, ["--drop", "k9"], "--drop de equipos que no están en --keep: k9"),
        (True, ["--drop", "k1", "--kiosk", "k1"], "nombrados y retirados a la vez: k1"),
        (False, ["--drop", "k1"], "indique también --keep"),
    ],
)
def test_bad_drop_is_refused_and_writes_nothing(sede_file, tmp_path, with_keep, extra, message):
    first, second = tmp_path / "first", tmp_path / "second"
    base = ["provision-mqtt", "--config", str(sede_file)]
    assert runner.invoke(app, [*base, "--kiosk", "k1", "--out", str(first)]).exit_code == 0
    keep = ["--keep", str(first / "credentials.toml")] if with_keep else []
    refused = runner.invoke(app, [*base, "--out", str(second), *keep, *extra])
    assert refused.exit_code == 2 and message in refused.output
    assert not second.exists()
