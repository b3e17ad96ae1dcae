"""MQTT credentials for the configuration the hub runs on: a counter central added (``v9``)
reaches the hub file through the agent's pull path (``sync.central_records.apply_page``) and the
engine's housekeeping; ``alegra hub provision-mqtt --data-dir`` makes its credential while
keeping the others', ``alegra hub status --mqtt-passwd-file`` names it while it has none, and a
real Mosquitto with the generated passwd and ACL lets it act as itself only."""

from __future__ import annotations

import json
import shutil
import time
import tomllib

import pytest
from typer.testing import CliRunner

from contracts import mqtt as topics
from contracts.sync import Change, RecordType
from hub.cli import app, db_path_for
from hub.config import load_sede_config
from tests.helpers.devtools import store_pulled_page

pytestmark = pytest.mark.skipif(
    shutil.which("mosquitto_passwd") is None, reason="mosquitto_passwd not installed"
)

runner = CliRunner()
V9 = {"id": "v9", "name": "Ventanilla 9", "number": 9, "services": {"victimas": 1}}


def central_config(sede, revision: int, extra_counters: list[dict]) -> Change:
    """Central's ``sede_config`` record: the sede's configuration (no staff) plus counters."""
    body = sede.model_dump(mode="json")
    body.pop("staff")
    body["counters"] = [*body["counters"], *extra_counters]
    return Change(
        record_type=RecordType.SEDE_CONFIG, record_id=sede.id, revision=revision, body=body
    )


@pytest.fixture
def central_data_dir(tmp_path, sede_file):
    """A hub data dir whose hub applied central's revision 4: the TOML's v1-v3 plus v9."""
    from hub.domain.engine import HubEngine

    sede = load_sede_config(sede_file)
    data_dir = tmp_path / "data"
    engine = HubEngine(sede, db_path_for(data_dir, sede.id))
    try:
        store_pulled_page(engine.db_path, [central_config(sede, 4, [V9])])
        assert engine.housekeeping().config_changed
        assert [c.counter_id for c in engine.sede_info().counters] == ["v1", "v2", "v3", "v9"]
    finally:
        engine.close()
    return data_dir


def provision(sede_file, out, *extra: str):
    result = runner.invoke(
        app,
        ["provision-mqtt", "--config", str(sede_file), "--out", str(out),
         "--kiosk", "k1", "--display", "d1", *extra],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return result.output


def passwd_users(out) -> list[str]:
    return [line.split(":", 1)[0] for line in (out / "passwd").read_text().splitlines()]


def passwords(out) -> dict[str, str]:
    devices = tomllib.loads((out / "credentials.toml").read_text())["devices"]
    return {name: entry["password"] for name, entry in devices.items()}


def status(sede_file, data_dir, *extra: str):
    result = runner.invoke(
        app, ["status", "--config", str(sede_file), "--data-dir", str(data_dir), *extra]
    )
    assert result.exit_code == 0, result.output
    return result.output


def test_provision_from_the_hub_file_adds_v9_and_status_shows_the_gap(
    sede_file, central_data_dir, tmp_path, monkeypatch
):
    monkeypatch.delenv("ALEGRA_MQTT_PASSWD_FILE", raising=False)
    monkeypatch.delenv("ALEGRA_DATA_DIR", raising=False)
    first, second = tmp_path / "first", tmp_path / "second"
    # the credentials installed before central added v9: made from the TOML
    output = provision(sede_file, first)
    assert f"Configuración usada: el TOML {sede_file} (sin --data-dir)" in output
    assert passwd_users(first) == ["hub", "v1", "v2", "v3", "k1", "d1"]

    # before: status names v9, in text and JSON, with the command that fixes it
    report = json.loads(
        status(sede_file, central_data_dir, "--json", "--mqtt-passwd-file", str(first / "passwd"))
    )
    assert report["mqtt_credentials"]["missing_counters"] == ["v9"]
    assert f"--data-dir {central_data_dir}" in report["mqtt_credentials"]["fix"]
    assert report["mqtt_credentials"]["other_users"] == ["k1", "d1"]
    text = status(sede_file, central_data_dir, "--mqtt-passwd-file", str(first / "passwd"))
    assert "AVISO: ventanillas sin credencial MQTT" in text and ": v9." in text
    assert "alegra hub provision-mqtt --config" in text
    monkeypatch.setenv("ALEGRA_MQTT_PASSWD_FILE", str(first / "passwd"))  # the setting
    assert "v9" in status(sede_file, central_data_dir).split("AVISO", 1)[1]
    monkeypatch.delenv("ALEGRA_MQTT_PASSWD_FILE")

    # one command: the configuration in effect, old passwords kept, v9 named as new
    output = provision(
        sede_file, second, "--data-dir", str(central_data_dir),
        "--keep", str(first / "credentials.toml"),
    )  # fmt: skip
    db_path = db_path_for(central_data_dir, load_sede_config(sede_file).id)
    assert f"la de la central, revisión 4, aplicada por el hub ({db_path})" in output
    assert "Equipos nuevos, a configurar con su credencial: v9." in output
    assert "Ya sin credencial" not in output
    assert passwd_users(second) == ["hub", "v1", "v2", "v3", "v9", "k1", "d1"]
    old, new = passwords(first), passwords(second)
    assert {name: new[name] for name in old} == old
    assert new["v9"] and new["v9"] not in old.values()
    acl = (second / "acl").read_text()
    assert "user v9\n" in acl and "/counter/v9/request/+" in acl

    # after: nothing missing; without the setting, status says nothing about credentials
    report = json.loads(
        status(sede_file, central_data_dir, "--json", "--mqtt-passwd-file", str(second / "passwd"))
    )
    assert report["mqtt_credentials"]["missing_counters"] == []
    assert "todas las ventanillas tienen la suya" in status(
        sede_file, central_data_dir, "--mqtt-passwd-file", str(second / "passwd")
    )
    assert "mqtt_credentials" not in json.loads(status(sede_file, central_data_dir, "--json"))
    assert "Credenciales MQTT" not in status(sede_file, central_data_dir)


def test_the_source_follows_the_hub_file(sede_file, central_data_dir, tmp_path, monkeypatch):
    monkeypatch.delenv("ALEGRA_DATA_DIR", raising=False)
    sede = load_sede_config(sede_file)
    # no hub file under --data-dir: the TOML, and the output says why
    output = provision(sede_file, tmp_path / "a", "--data-dir", str(tmp_path / "empty"))
    assert "el TOML" in output and "no hay base de datos del hub" in output
    assert "v9" not in passwd_users(tmp_path / "a")
    assert not (tmp_path / "empty").exists()  # reading never creates the file

    # ALEGRA_DATA_DIR is the hub's data dir as for `hub run` and `hub status`
    monkeypatch.setenv("ALEGRA_DATA_DIR", str(central_data_dir))
    assert "revisión 4" in provision(sede_file, tmp_path / "b")
    assert "v9" in passwd_users(tmp_path / "b")
    monkeypatch.delenv("ALEGRA_DATA_DIR")

    # pulled but not applied yet: the revision the hub runs on, and a warning
    db_path = db_path_for(central_data_dir, sede.id)
    store_pulled_page(db_path, [central_config(sede, 5, [V9, {**V9, "id": "v10", "number": 10}])])
    output = provision(sede_file, tmp_path / "c", "--data-dir", str(central_data_dir))
    assert "revisión 4" in output
    assert "Aviso: la central envió la revisión 5, que el hub aún no aplicó" in output
    assert "v10" not in passwd_users(tmp_path / "c")

    # central withdraws its configuration and the hub applies that: the TOML again
    withdrawn = Change(
        record_type=RecordType.SEDE_CONFIG, record_id=sede.id, revision=6, deleted=True
    )
    store_pulled_page(db_path, [withdrawn])
    status(sede_file, central_data_dir)  # opening the hub file applies what was pulled
    output = provision(sede_file, tmp_path / "d", "--data-dir", str(central_data_dir),
                       "--keep", str(tmp_path / "c" / "credentials.toml"))  # fmt: skip
    assert "el TOML" in output and "la central retiró su configuración (revisión 6)" in output
    assert "Aviso" not in output
    assert "Ningún equipo nuevo" in output
    assert "Ya sin credencial (retirados con --drop o ventanillas que ya no están" in output
    assert ": v9." in output
    assert "v9" not in passwd_users(tmp_path / "d")


def test_a_hub_file_of_another_sede_is_refused(sede_file, central_data_dir, tmp_path):
    other = tmp_path / "other.toml"
    sede = load_sede_config(sede_file)
    other.write_text(sede_file.read_text().replace(f'id = "{sede.id}"', 'id = "otra-sede"'))
    db_path_for(central_data_dir, sede.id).rename(db_path_for(central_data_dir, "otra-sede"))
    result = runner.invoke(
        app,
        ["provision-mqtt", "--config", str(other), "--out", str(tmp_path / "x"),
         "--data-dir", str(central_data_dir)],
    )  # fmt: skip
    assert result.exit_code == 2
    assert f"es de la sede {sede.id!r}, no de 'otra-sede'" in result.output


def _hands(counter) -> tuple:
    return counter.status, counter.user_display_name, counter.current, counter.parked


@pytest.mark.mqtt
def test_v9_credential_works_on_mosquitto_for_its_own_counter_only(
    sede_file, central_data_dir, tmp_path, sede_id
):
    from hub.bridge import HubBridge, MqttSettings
    from hub.domain.engine import HubEngine
    from hub.mqtt_client import ClientError, DeviceClient
    from tests.conftest import start_mosquitto
    from tests.hub.test_acl_mosquitto import DENIED_WAIT_S, _conf_for_test

    first, second = tmp_path / "first", tmp_path / "second"
    provision(sede_file, first)
    provision(sede_file, second, "--data-dir", str(central_data_dir),
              "--keep", str(first / "credentials.toml"))  # fmt: skip
    creds = passwords(second)
    proc, port = start_mosquitto(_conf_for_test(second), second)
    # the hub, restarted on its file, runs on central's revision (v9 included)
    engine = HubEngine(load_sede_config(sede_file), db_path_for(central_data_dir, sede_id))
    bridge = HubBridge(
        engine, sede_id=sede_id, mqtt=MqttSettings(port=port, username="hub", password=creds["hub"])
    )
    clients: list[DeviceClient] = []

    def device(device_id: str, password: str) -> DeviceClient:
        client = DeviceClient(
            sede_id=sede_id,
            role="counter",
            device_id=device_id,
            port=port,
            username=device_id,
            password=password,
        ).connect()
        clients.append(client)
        return client

    try:
        assert bridge.start(wait_s=10), "the hub's kept credential was refused"
        v9 = device("v9", creds["v9"])
        signed = v9.request("sign_in", {"username": "ana", "password": "demo-ventanilla-1"})
        assert signed.status == "ok", signed
        assert v9.request("open_counter").status == "ok"
        assert engine.counter_state("v9").status == "open"

        # v9 acting as v1: dropped by the broker, never reaches the hub
        before = _hands(engine.counter_state("v1"))
        received = bridge.stats.received
        hijack = [
            v9.send(action, params, topic=topics.request_topic(sede_id, "counter", "v1", action))
            for action, params in [
                ("sign_in", {"username": "luis", "password": "demo-ventanilla-2"}),
                ("open_counter", {}),
            ]
        ]
        time.sleep(DENIED_WAIT_S)
        assert not any(future.done() for future in hijack)
        assert bridge.stats.received == received
        assert _hands(engine.counter_state("v1")) == before

        # v1's kept password still works; v9's password is not v1's
        v1 = device("v1", creds["v1"])
        assert (
            v1.request("sign_in", {"username": "luis", "password": "demo-ventanilla-2"}).status
            == "ok"
        )
        with pytest.raises(ClientError):
            device("v1", creds["v9"])
    finally:
        for client in clients:
            client.close()
        bridge.stop()
        engine.close()
        proc.terminate()
        proc.wait(5)
