"""SQL injection and stored XSS payloads in every free-text field are stored literally, returned
as JSON data (never HTML), and break nothing."""

from __future__ import annotations

import pytest
from sqlmodel import func, select

from central.auth.policy import Profile
from central.org.models import Sede
from central.users.models import User

from .conftest import sign_in

PAYLOADS = [
    "Robert'); DROP TABLE app_user;--",
    "' OR '1'='1",
    "1; DELETE FROM sede WHERE '1'='1",
    '<script>alert("xss")</script>',
    '<img src=x onerror="alert(1)">',
    '"><svg onload=alert(1)>',
    "{{7*7}} ${7*7} %s %(x)s",
]


def _check_json(response) -> None:
    assert response.headers["content-type"].startswith("application/json")


@pytest.mark.parametrize("payload", PAYLOADS)
def test_free_text_is_stored_literally(payload, client, world, factory, db):
    admin = factory.user(Profile.ADMINISTRADOR_NACIONAL)
    psych = factory.user(Profile.PSICOLOGO, sede=world.sede_a1)
    headers = sign_in(client, admin)
    users_before = db.exec(select(func.count()).select_from(User)).one()
    db.rollback()

    district = client.patch(
        f"/api/v1/districts/{world.district_a}", headers=headers, json={"name": payload}
    )
    assert district.status_code == 200 and district.json()["name"] == payload
    _check_json(district)

    sede = client.patch(
        f"/api/v1/sedes/{world.sede_a1}",
        headers=headers,
        json={"name": payload, "address": payload},
    )
    assert sede.status_code == 200
    assert (
        client.get(f"/api/v1/sedes/{world.sede_a1}", headers=headers).json()["address"] == payload
    )

    service = client.patch(
        f"/api/v1/sedes/{world.sede_a1}/services/orientacion",
        headers=headers,
        json={"name": payload[:80]},
    )
    assert service.status_code == 200 and service.json()["name"] == payload[:80]

    counter = client.patch(
        f"/api/v1/sedes/{world.sede_a1}/counters/v1", headers=headers, json={"name": payload[:40]}
    )
    assert counter.status_code == 200 and counter.json()["name"] == payload[:40]

    config = client.get(f"/api/v1/sedes/{world.sede_a1}/hub-config", headers=headers).json()
    assert config["name"] == payload and config["services"][0]["name"] == payload[:80]

    user = client.post(
        "/api/v1/users",
        headers=headers,
        json={
            "username": f"x{len(payload)}-{abs(hash(payload)) % 10000}",
            "display_name": payload,
            "password": "Contraseña-segura-7",
            "profiles": ["orientador"],
            "scope_kind": "sede",
            "sede_id": world.sede_a1,
        },
    )
    assert user.status_code == 201, user.text
    assert (
        client.get(f"/api/v1/users/{user.json()['id']}", headers=headers).json()["display_name"]
        == payload
    )
    searched = client.get("/api/v1/users", headers=headers, params={"q": payload[:64]})
    assert searched.status_code == 200
    assert all(
        payload[:64].lower() in (u["display_name"].lower() + u["username"]) for u in searched.json()
    )

    code = client.post(
        "/api/v1/devices/enrollment-codes",
        headers=headers,
        json={"sede_id": world.sede_a1, "device_name": payload[:80]},
    )
    assert code.status_code == 201 and code.json()["device_name"] == payload[:80]

    psych_headers = sign_in(client, psych)
    note = client.post(
        "/api/v1/sensitive-notes",
        headers=psych_headers,
        json={
            "sede_id": world.sede_a1,
            "category": "victima",
            "subject_ref": payload[:64],
            "title": payload,
            "body": payload,
        },
    )
    assert note.status_code == 201
    read = client.get(f"/api/v1/sensitive-notes/{note.json()['id']}", headers=psych_headers)
    _check_json(read)
    assert read.json()["body"] == payload and read.json()["title"] == payload

    # nothing was dropped or deleted
    db.expire_all()
    assert db.exec(select(func.count()).select_from(User)).one() == users_before + 1
    assert db.exec(select(func.count()).select_from(Sede)).one() == 3
    db.rollback()


@pytest.mark.parametrize("payload", ["' OR 1=1 --", "admin'--", "<script>x</script>"])
def test_injection_in_sign_in_and_path(payload, client, world, factory):
    factory.user(Profile.ADMINISTRADOR_NACIONAL, username="admin")
    response = client.post("/api/v1/auth/token", json={"username": payload, "password": payload})
    assert response.status_code == 401
    headers = sign_in(client, factory.user(Profile.ADMINISTRADOR_NACIONAL))
    assert client.get(f"/api/v1/sedes/{payload}", headers=headers).status_code in {404, 422}
    assert client.get("/api/v1/users", headers=headers, params={"sede_id": payload}).json() == []


def test_nul_and_lone_surrogates_are_refused_everywhere(client, world, factory):
    headers = sign_in(client, factory.user(Profile.ADMINISTRADOR_NACIONAL))
    body = client.post(
        "/api/v1/auth/token",
        content=b'{"username": "a\\u0000b", "password": "x"}',
        headers={"Content-Type": "application/json"},
    )
    assert body.status_code == 422
    assert body.json()["fields"] == [
        {"field": "username", "message": "Contiene caracteres no permitidos."}
    ]
    surrogate = client.patch(
        f"/api/v1/sedes/{world.sede_a1}",
        headers={**headers, "Content-Type": "application/json"},
        content=b'{"address": "\\ud97c calle"}',
    )
    assert surrogate.status_code == 422 and surrogate.json()["fields"][0]["field"] == "address"
    assert client.get("/api/v1/sedes/a%00b", headers=headers).status_code == 422
    query = client.get("/api/v1/users", headers=headers, params={"q": "a\x00b"})
    assert query.status_code == 422 and query.json()["fields"][0]["field"] == "query.q"
    huge = client.post(
        "/api/v1/districts", headers=headers, json={"id": "x", "name": "n" * 1_100_000}
    )
    assert huge.status_code == 413 and huge.json()["code"] == "payload_too_large"
    # nothing changed
    assert (
        client.get(f"/api/v1/sedes/{world.sede_a1}", headers=headers).json()["address"]
        == "Av. Prueba 1"
    )


CONTROL_CHARACTERS = ["\x07", "\x1b", "\x0b", "\x7f", "\x85", "\u2028", "\n"]


@pytest.mark.parametrize("char", CONTROL_CHARACTERS)
def test_control_characters_in_names_are_refused_with_a_spanish_message(
    char, client, world, factory, db
):
    """Names and one-line labels refuse every control character (a BEL in a display name made
    the XLSX export answer 500); free text keeps its line breaks but refuses the rest."""
    headers = sign_in(client, factory.user(Profile.ADMINISTRADOR_NACIONAL))
    name = f"Ana{char}María"
    attempts = [
        ("patch", f"/api/v1/districts/{world.district_a}", {"name": name}, "name"),
        ("patch", f"/api/v1/sedes/{world.sede_a1}", {"address": name}, "address"),
        ("patch", f"/api/v1/sedes/{world.sede_a1}/counters/v1", {"name": name}, "name"),
        (
            "post",
            "/api/v1/users",
            {
                "username": "ctl-user",
                "display_name": name,
                "password": "Contraseña-segura-7",
                "profiles": ["orientador"],
                "scope_kind": "sede",
                "sede_id": world.sede_a1,
            },
            "display_name",
        ),
        (
            "post",
            "/api/v1/citizens",
            {"sede_id": world.sede_a1, "doc_type": "ninguno", "given_names": name},
            "given_names",
        ),
    ]
    for method, url, body, field in attempts:
        response = getattr(client, method)(url, headers=headers, json=body)
        assert response.status_code == 422, (url, response.text)
        assert response.json()["fields"] == [
            {"field": field, "message": "No debe contener caracteres de control."}
        ], url
    db.expire_all()
    assert db.exec(select(func.count()).select_from(User)).one() == 1
    db.rollback()


def test_free_text_keeps_line_breaks_and_refuses_other_controls(client, world, factory):
    psych = sign_in(client, factory.user(Profile.PSICOLOGO, sede=world.sede_a1))
    note = {"sede_id": world.sede_a1, "category": "victima", "subject_ref": "ref-1",
            "title": "Informe"}  # fmt: skip
    ok = client.post(
        "/api/v1/sensitive-notes", headers=psych, json={**note, "body": "Línea 1\r\n\tLínea 2"}
    )
    assert ok.status_code == 201, ok.text
    bad = client.post(
        "/api/v1/sensitive-notes", headers=psych, json={**note, "body": "Línea\x08 1"}
    )
    assert bad.status_code == 422 and bad.json()["fields"][0]["field"] == "body"
