"""User administration: no privilege escalation (assignable profiles, scope inside the actor's
area, no editing of one's own rights or of superiors), profile/scope consistency, unlock and
second-factor reset."""

from __future__ import annotations

from datetime import timedelta

from central.auth.policy import Profile
from central.domain.clock import utcnow
from central.users.models import User

from .conftest import PASSWORD, sign_in

NEW = {"display_name": "Nueva Persona", "password": "Contraseña-segura-5"}


def test_coordinator_cannot_escalate(client, world, factory):
    coordinator = factory.user(Profile.COORDINADOR_SEDE, sede=world.sede_a1)
    headers = sign_in(client, coordinator)
    as_director = client.post(
        "/api/v1/users",
        headers=headers,
        json={
            **NEW,
            "username": "dir-nuevo",
            "profiles": ["director_distrital"],
            "scope_kind": "district",
            "district_id": world.district_a,
        },
    )
    assert as_director.status_code == 403
    as_coordinator = client.post(
        "/api/v1/users",
        headers=headers,
        json={
            **NEW,
            "username": "coord-nuevo",
            "profiles": ["coordinador_sede"],
            "scope_kind": "sede",
            "sede_id": world.sede_a1,
        },
    )
    assert as_coordinator.status_code == 403
    national = client.post(
        "/api/v1/users",
        headers=headers,
        json={
            **NEW,
            "username": "nac-nuevo",
            "profiles": ["defensor_publico"],
            "scope_kind": "district",
            "district_id": world.district_a,
        },
    )
    assert national.status_code == 403
    ok = client.post(
        "/api/v1/users",
        headers=headers,
        json={
            **NEW,
            "username": "defensora",
            "profiles": ["defensor_publico", "conciliador"],
            "scope_kind": "sede",
            "sede_id": world.sede_a1,
        },
    )
    assert ok.status_code == 201 and ok.json()["must_change_password"] is True
    # cannot promote that user either, nor change own profiles
    promote = client.patch(
        f"/api/v1/users/{ok.json()['id']}", headers=headers, json={"profiles": ["coordinador_sede"]}
    )
    assert promote.status_code == 403
    own = client.patch(
        f"/api/v1/users/{coordinator.id}", headers=headers, json={"profiles": ["defensor_publico"]}
    )
    assert own.status_code == 403
    # a peer coordinator of the same sede is out of reach
    peer = factory.user(Profile.COORDINADOR_SEDE, sede=world.sede_a1)
    assert (
        client.patch(
            f"/api/v1/users/{peer.id}", headers=headers, json={"display_name": "X"}
        ).status_code
        == 403
    )
    assert client.post(f"/api/v1/users/{peer.id}/unlock", headers=headers).status_code == 403


def test_profile_scope_consistency_and_spanish_messages(client, world, factory):
    headers = sign_in(client, factory.user(Profile.ADMINISTRADOR_NACIONAL))
    wrong = client.post(
        "/api/v1/users",
        headers=headers,
        json={
            **NEW,
            "username": "auditor-sede",
            "profiles": ["auditor"],
            "scope_kind": "sede",
            "sede_id": world.sede_a1,
        },
    )
    assert wrong.status_code == 422
    assert "Auditor" in wrong.json()["fields"][0]["message"]
    no_sede = client.post(
        "/api/v1/users",
        headers=headers,
        json={**NEW, "username": "sin-sede", "profiles": ["orientador"], "scope_kind": "sede"},
    )
    assert no_sede.status_code == 422 and no_sede.json()["fields"][0]["field"] == "sede_id"
    taken = factory.user(Profile.ORIENTADOR, sede=world.sede_a1)
    duplicate = client.post(
        "/api/v1/users",
        headers=headers,
        json={
            **NEW,
            "username": taken.username.upper(),
            "profiles": ["orientador"],
            "scope_kind": "sede",
            "sede_id": world.sede_a1,
        },
    )
    assert duplicate.status_code == 409 and duplicate.json()["code"] == "duplicate"
    same_as_name = client.post(
        "/api/v1/users",
        headers=headers,
        json={
            "display_name": "X",
            "username": "robertoperez",
            "password": "Clave-robertoperez-1",
            "profiles": ["orientador"],
            "scope_kind": "sede",
            "sede_id": world.sede_a1,
        },
    )
    assert same_as_name.status_code == 422 and same_as_name.json()["code"] == "weak_password"


def test_unlock_and_reset_totp(client, world, factory, db):
    director = factory.user(Profile.DIRECTOR_DISTRITAL, district=world.district_a)
    coordinator = factory.user(Profile.COORDINADOR_SEDE, sede=world.sede_a2)
    locked = db.get(User, coordinator.id)
    locked.failed_attempts, locked.locked_until = 7, utcnow() + timedelta(minutes=30)
    db.add(locked)
    db.commit()
    headers = sign_in(client, director)
    assert client.get(f"/api/v1/users/{coordinator.id}", headers=headers).json()["locked"] is True
    unlocked = client.post(f"/api/v1/users/{coordinator.id}/unlock", headers=headers)
    assert unlocked.status_code == 200 and unlocked.json()["locked"] is False
    coordinator_headers = sign_in(client, coordinator)
    assert (
        client.post(f"/api/v1/users/{coordinator.id}/reset-totp", headers=headers).status_code
        == 204
    )
    # the reset signs the coordinator out and forces a new enrolment at the next sign-in
    assert client.get("/api/v1/auth/me", headers=coordinator_headers).status_code == 401
    again = client.post(
        "/api/v1/auth/token", json={"username": coordinator.username, "password": PASSWORD}
    )
    assert again.status_code == 403 and again.json()["code"] == "totp_setup_required"
