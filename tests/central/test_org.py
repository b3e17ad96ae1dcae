"""Organisation: hub configuration equals the hub's demo TOML after seeding, edits bump the
revision, validation errors are 422 with Spanish field messages, duplicates are 409."""

from __future__ import annotations

from typer.testing import CliRunner

from central.auth.policy import Profile
from central.cli import app as central_cli
from central.seed import DEMO_SEDE, DEMO_TOTP, seed_demo
from hub.config import DEMO_SEDE_FILE, SedeConfig, load_sede_config

from .conftest import sign_in


def test_seeded_hub_config_matches_the_hub_demo_file(client, db, settings, factory):
    report = seed_demo(session=db, settings=settings)
    db.commit()
    assert report.created and set(DEMO_TOTP) <= {u for u, _, _ in report.users}
    assert seed_demo(session=db, settings=settings).created is False  # idempotent
    db.rollback()
    headers = sign_in(client, factory.user(Profile.ADMINISTRADOR_NACIONAL))
    response = client.get(f"/api/v1/sedes/{DEMO_SEDE}/hub-config", headers=headers)
    assert response.status_code == 200
    central = SedeConfig.model_validate(response.json())
    demo = load_sede_config(DEMO_SEDE_FILE)
    assert central.id == demo.id and central.name == demo.name and central.kind == demo.kind
    assert central.services == demo.services
    assert central.counters == demo.counters
    assert central.hours == demo.hours
    assert central.queue == demo.queue
    sedes = client.get("/api/v1/sedes", headers=headers).json()
    assert {s["kind"] for s in sedes} == {"ALEGRA", "Mega ALEGRA"}


def test_edits_bump_revision_and_reach_hub_config(client, world, factory):
    headers = sign_in(client, factory.user(Profile.COORDINADOR_SEDE, sede=world.sede_a1))
    base = f"/api/v1/sedes/{world.sede_a1}"
    first = client.get(f"{base}/hub-config", headers=headers)
    etag = first.headers["ETag"]
    assert (
        client.post(
            f"{base}/services",
            headers=headers,
            json={"code": "conciliacion", "name": "Conciliación", "letter": "C"},
        ).status_code
        == 201
    )
    assert (
        client.post(
            f"{base}/counters",
            headers=headers,
            json={
                "code": "v2",
                "name": "Ventanilla 2",
                "number": 2,
                "services": {"conciliacion": 2, "orientacion": 1},
            },
        ).status_code
        == 201
    )
    assert (
        client.put(
            f"{base}/hours",
            headers=headers,
            json={"hours": [{"weekdays": [0, 1, 2, 3, 4], "opens": "08:30", "closes": "16:30"}]},
        ).status_code
        == 200
    )
    assert (
        client.put(
            f"{base}/queue-policy",
            headers=headers,
            json={"max_recalls": 3, "reset": "keep_overnight"},
        ).status_code
        == 200
    )
    second = client.get(f"{base}/hub-config", headers=headers)
    assert second.headers["ETag"] != etag
    config = SedeConfig.model_validate(second.json())
    assert config.service("conciliacion").letter == "C"
    assert config.counter("v2").services == {"conciliacion": 2, "orientacion": 1}
    assert config.hours[0].opens.hour == 8 and config.hours[0].opens.minute == 30
    assert config.queue.max_recalls == 3 and config.queue.reset.value == "keep_overnight"


def test_conflicts_and_rules(client, world, factory):
    headers = sign_in(client, factory.user(Profile.ADMINISTRADOR_NACIONAL))
    base = f"/api/v1/sedes/{world.sede_a1}"
    dup_letter = client.post(
        f"{base}/services", headers=headers, json={"code": "otro", "name": "Otro", "letter": "A"}
    )
    assert dup_letter.status_code == 409 and dup_letter.json()["code"] == "duplicate"
    dup_sede = client.post(
        "/api/v1/sedes",
        headers=headers,
        json={
            "id": world.sede_a1,
            "district_id": world.district_a,
            "name": "X",
            "ubigeo": "150101",
            "address": "Y",
        },
    )
    assert dup_sede.status_code == 409
    in_use = client.delete(f"{base}/services/orientacion", headers=headers)
    assert in_use.status_code == 409 and "ventanilla" in in_use.json()["message"]
    unknown = client.post(
        f"{base}/counters",
        headers=headers,
        json={"code": "v9", "name": "V9", "number": 9, "services": {"no-existe": 1}},
    )
    assert unknown.status_code == 422
    assert unknown.json()["fields"][0]["field"] == "services.no-existe"
    missing = client.get("/api/v1/sedes/no-existe", headers=headers)
    assert missing.status_code == 404 and missing.json()["message"] == "La sede no existe."


def test_validation_errors_are_spanish_and_field_level(client, world, factory):
    headers = sign_in(client, factory.user(Profile.ADMINISTRADOR_NACIONAL))
    response = client.post(
        "/api/v1/sedes",
        headers=headers,
        json={
            "id": "Con Espacios",
            "district_id": world.district_a,
            "name": "",
            "ubigeo": "12345",
            "kind": "Otro",
            "address": "Av. 1",
            "extra": 1,
        },
    )
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid_payload"
    assert body["message"] == "Los datos enviados no son válidos."
    fields = {f["field"]: f["message"] for f in body["fields"]}
    assert fields["id"] == "El formato no es válido."
    assert fields["name"] == "Debe tener al menos 1 caracteres."
    assert fields["ubigeo"] == "El formato no es válido."
    assert fields["kind"].startswith("Valor no permitido. Opciones:")
    assert fields["extra"] == "Campo no permitido."
    hours = client.put(
        f"/api/v1/sedes/{world.sede_a1}/hours",
        headers=headers,
        json={"hours": [{"weekdays": [1, 1], "opens": "18:00", "closes": "08:00"}]},
    )
    assert hours.status_code == 422
    messages = " ".join(f["message"] for f in hours.json()["fields"])
    assert "días repetidos" in messages.lower() or "hora de apertura" in messages.lower()
    malformed = client.post(
        "/api/v1/sedes",
        headers={**headers, "Content-Type": "application/json"},
        content=b"{no json",
    )
    assert malformed.status_code == 422 and malformed.json()["code"] == "malformed_json"


def test_cli_seed_and_create_admin(tmp_path, monkeypatch):
    monkeypatch.setenv("ALEGRA_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("ALEGRA_DATABASE_URL", raising=False)
    runner = CliRunner()
    seeded = runner.invoke(central_cli, ["seed"])
    assert seeded.exit_code == 0, seeded.output
    assert "admin" in seeded.output
    weak = runner.invoke(
        central_cli,
        ["create-admin", "--username", "jefa", "--display-name", "Jefa", "--password", "corta"],
    )
    assert weak.exit_code == 1 and "12 caracteres" in weak.output
    created = runner.invoke(
        central_cli,
        [
            "create-admin",
            "--username",
            "jefa",
            "--display-name",
            "Jefa",
            "--password",
            "Administra-2026!",
        ],
    )
    assert created.exit_code == 0, created.output
    assert "otpauth://totp/" in created.output
