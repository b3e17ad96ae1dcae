"""Device enrollment: one-time expiring codes, hashed credentials, revocation, scope."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from central.auth.policy import Profile
from central.devices.models import Device, EnrollmentCode
from central.domain.clock import utcnow
from hub.config import SedeConfig

from .conftest import sign_in


def _issue(client, headers, sede_id: str, name: str = "Hub principal"):
    return client.post(
        "/api/v1/devices/enrollment-codes",
        headers=headers,
        json={"sede_id": sede_id, "device_name": name},
    )


def test_enroll_use_once_and_authenticate(client, world, factory, db):
    coordinator = factory.user(Profile.COORDINADOR_SEDE, sede=world.sede_a1)
    headers = sign_in(client, coordinator)
    issued = _issue(client, headers, world.sede_a1)
    assert issued.status_code == 201
    code = issued.json()["code"]
    # only the hash is stored
    stored = db.exec(select(EnrollmentCode)).one()
    assert code not in stored.code_hash
    db.rollback()
    credential = client.post(
        "/api/v1/devices/enroll", json={"code": code.lower()}
    )  # typed in lower case
    assert credential.status_code == 201
    token = credential.json()["token"]
    device = db.get(Device, credential.json()["device_id"])
    assert device.sede_id == world.sede_a1 and token.split(".")[-1] not in device.secret_hash
    db.rollback()
    # single use
    again = client.post("/api/v1/devices/enroll", json={"code": code})
    assert again.status_code == 401
    assert again.json()["code"] == "enrollment_code_invalid"
    # the device authenticates and gets its sede's hub configuration, in the hub's own model
    device_headers = {"Authorization": f"Bearer {token}"}
    me = client.get("/api/v1/devices/me", headers=device_headers)
    assert me.status_code == 200 and me.json()["sede_id"] == world.sede_a1
    config = client.get("/api/v1/devices/me/hub-config", headers=device_headers)
    assert config.status_code == 200
    parsed = SedeConfig.model_validate(config.json())
    assert parsed.id == world.sede_a1
    assert [s.username for s in parsed.staff] == [coordinator.username]
    # a wrong secret is refused, and a user token is not a device token
    bad = token[:-3] + ("xyz" if not token.endswith("xyz") else "abc")
    assert (
        client.get("/api/v1/devices/me", headers={"Authorization": f"Bearer {bad}"}).status_code
        == 401
    )
    assert client.get("/api/v1/devices/me", headers=headers).status_code == 401


def test_expired_code_is_refused(client, world, factory, db):
    headers = sign_in(client, factory.user(Profile.ADMINISTRADOR_NACIONAL))
    code = _issue(client, headers, world.sede_b1).json()["code"]
    row = db.exec(select(EnrollmentCode)).one()
    row.expires_at = utcnow() - timedelta(seconds=1)
    db.add(row)
    db.commit()
    response = client.post("/api/v1/devices/enroll", json={"code": code})
    assert response.status_code == 401
    assert response.json()["code"] == "enrollment_code_invalid"
    assert db.exec(select(Device)).all() == []
    db.rollback()


def test_revocation(client, world, factory):
    headers = sign_in(client, factory.user(Profile.DIRECTOR_DISTRITAL, district=world.district_a))
    code = _issue(client, headers, world.sede_a2).json()["code"]
    credential = client.post("/api/v1/devices/enroll", json={"code": code}).json()
    device_headers = {"Authorization": f"Bearer {credential['token']}"}
    assert client.get("/api/v1/devices/me", headers=device_headers).status_code == 200
    listed = client.get("/api/v1/devices", headers=headers).json()
    assert [d["id"] for d in listed] == [credential["device_id"]] and listed[0]["active"] is True
    revoked = client.post(f"/api/v1/devices/{credential['device_id']}/revoke", headers=headers)
    assert revoked.status_code == 200 and revoked.json()["active"] is False
    refused = client.get("/api/v1/devices/me", headers=device_headers)
    assert refused.status_code == 401
    assert refused.json()["code"] == "device_revoked"


def test_coordinator_cannot_enroll_for_another_sede(client, world, factory, db):
    headers = sign_in(client, factory.user(Profile.COORDINADOR_SEDE, sede=world.sede_a1))
    assert _issue(client, headers, world.sede_a2).status_code == 403
    assert db.exec(select(EnrollmentCode)).all() == []
    db.rollback()


def test_bad_codes(client, world):
    for body in ({"code": "AAAA-BBBB-CCCC-DDDD"}, {"code": "' OR 1=1 --"}, {"code": ""}, {}):
        response = client.post("/api/v1/devices/enroll", json=body)
        assert response.status_code in {401, 422}
        assert response.json()["message"]
