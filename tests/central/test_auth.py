"""Authentication: password policy, lockout, tokens (expiry, tampering, refresh rotation and
reuse), TOTP for administrative profiles, sign-out, password change."""

from __future__ import annotations

import time
from datetime import timedelta

import jwt
import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from central.audit.models import AuditEvent
from central.auth import passwords, tokens
from central.auth.policy import Profile
from central.users.models import User

from .conftest import PASSWORD, next_totp, sign_in

TOKEN = "/api/v1/auth/token"


def _audit_actions(db) -> list[str]:
    db.expire_all()
    actions = [e.action for e in db.exec(select(AuditEvent).order_by(AuditEvent.seq)).all()]
    db.rollback()  # end the read transaction (SQLite: BEGIN IMMEDIATE holds the write lock)
    return actions


@pytest.mark.parametrize(
    ("password", "fragment"),
    [
        ("Corta-1", "al menos 12"),
        ("todoenminusculas", "dos tipos"),
        ("123456789012345", "dos tipos"),
        ("mi-usuario-es-pepe-99", "nombre de usuario"),
        ("aaaaaaaaaaaa1", "repite"),
    ],
)
def test_password_policy_rejects_with_spanish_reason(password, fragment):
    problems = passwords.password_problems(password, username="pepe", min_length=12)
    assert any(fragment in p for p in problems), problems


@pytest.mark.parametrize(
    "password",
    ["Password1234!", "QWERTYUIOP12", "Iloveyou-2026", "Contraseña2026", "superman12345",
     "Baseball!!2026", "Teamo-123456", "1234Princesa!"],
)  # fmt: skip
def test_common_passwords_are_refused_whatever_their_case_and_trimmings(password):
    """Each of these passed every other rule of the policy; the shipped list of common and
    breached passwords (case-insensitive, digits and symbols around the word ignored) refuses
    them with a Spanish reason."""
    problems = passwords.password_problems(password, username="pepe", min_length=12)
    assert problems == [
        "La contraseña es demasiado común (figura en listas de contraseñas filtradas); elija otra."
    ]


def test_the_common_password_list_ships_with_the_code():
    listed = passwords.common_passwords()
    assert len(listed) > 30_000 and {"password", "qwerty", "contraseña"} <= listed
    assert passwords.COMMON_PASSWORDS_FILE.stat().st_size < 200_000


def test_password_policy_accepts_good_password():
    assert passwords.password_problems("Defensa-publica-2026", username="pepe") == []


def test_default_argon2_parameters_are_argon2id_with_stated_cost():
    from central.settings import CentralSettings

    settings = CentralSettings(_env_file=None)
    ph = passwords.hasher(
        settings.argon2_time_cost, settings.argon2_memory_kib, settings.argon2_parallelism
    )
    encoded = ph.hash("Defensa-publica-2026")
    assert encoded.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    started = time.perf_counter()
    assert passwords.verify_password(encoded, "Defensa-publica-2026", ph)
    assert time.perf_counter() - started < 1.0  # generous: the bench measures p99 precisely


def test_sign_in_success_and_me(client, world, factory, db):
    account = factory.user(Profile.DEFENSOR_PUBLICO, sede=world.sede_a1)
    headers = sign_in(client, account)
    me = client.get("/api/v1/auth/me", headers=headers)
    assert me.status_code == 200
    assert me.json()["username"] == account.username
    assert me.json()["profiles"] == ["defensor_publico"]
    assert "auth.signin" in _audit_actions(db)


def test_wrong_password_and_unknown_user_look_the_same(client, world, factory, db):
    account = factory.user(Profile.DEFENSOR_PUBLICO, sede=world.sede_a1)
    wrong = client.post(TOKEN, json={"username": account.username, "password": "Incorrecta-123"})
    unknown = client.post(TOKEN, json={"username": "nadie-existe", "password": "Incorrecta-123"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["code"] == unknown.json()["code"] == "bad_credentials"
    assert wrong.json()["message"] == "Usuario o contraseña incorrectos."
    assert _audit_actions(db).count("auth.signin_failed") == 2


def test_an_unknown_username_locks_exactly_like_a_real_one(client, world, factory, settings):
    """Unknown usernames never locked, so the lockout told which usernames exist: now both
    answer the same, failure after failure (status, code, message, Retry-After)."""
    account = factory.user(Profile.DEFENSOR_PUBLICO, sede=world.sede_a1)

    def answers(username: str) -> list[tuple]:
        out = []
        for _ in range(settings.lockout_threshold + 1):
            r = client.post(TOKEN, json={"username": username, "password": "Incorrecta-123"})
            out.append((r.status_code, r.json()["code"], r.json()["message"],
                        r.headers.get("Retry-After")))  # fmt: skip
        return out

    real, unknown = answers(account.username), answers("nadie-existe")
    assert real == unknown
    assert real[-2][:2] == (429, "account_locked") and real[-1][:2] == (429, "account_locked")


def test_failed_sign_ins_from_one_address_are_throttled(app, client, world, factory, db):
    """Per client address, in the database (every worker sees it): after the configured
    number of failures within the window, even a right password is answered 429 with a Spanish
    message and Retry-After, until the window ends; the throttling is audited once."""
    settings = app.state.settings
    settings.signin_ip_max_failures = 4
    settings.signin_ip_window_seconds = 600
    account = factory.user(Profile.DEFENSOR_PUBLICO, sede=world.sede_a1)
    for n in range(4):  # four different names: no single account locks
        r = client.post(TOKEN, json={"username": f"prueba-{n}", "password": "Incorrecta-123"})
        assert r.status_code == 401
    throttled = client.post(TOKEN, json={"username": account.username, "password": PASSWORD})
    assert throttled.status_code == 429
    assert throttled.json()["code"] == "rate_limited"
    assert "Demasiados intentos de ingreso" in throttled.json()["message"]
    assert 500 < int(throttled.headers["Retry-After"]) <= 601
    assert _audit_actions(db).count("auth.signin_throttled") == 1
    # the window ends: the address may sign in again
    from central.auth.models import SignInGuard

    row = db.get(SignInGuard, "ip:testclient")
    row.window_started_at = row.window_started_at - timedelta(minutes=11)
    db.add(row)
    db.commit()
    assert client.post(TOKEN, json={"username": account.username, "password": PASSWORD}).is_success


def test_progressive_lockout(client, world, factory, db, settings):
    account = factory.user(Profile.DEFENSOR_PUBLICO, sede=world.sede_a1)
    bad = {"username": account.username, "password": "Incorrecta-123"}
    for _ in range(settings.lockout_threshold - 1):
        assert client.post(TOKEN, json=bad).json()["code"] == "bad_credentials"
    locking = client.post(TOKEN, json=bad)
    assert locking.status_code == 429
    assert locking.json()["code"] == "account_locked"
    assert int(locking.headers["Retry-After"]) == settings.lockout_base_seconds
    # even the right password is refused while locked
    right = client.post(TOKEN, json={"username": account.username, "password": PASSWORD})
    assert right.status_code == 429
    # after the lock expires, one more failure doubles the lock
    user = db.get(User, account.id)
    user.locked_until = user.locked_until - timedelta(hours=2)
    db.add(user)
    db.commit()
    again = client.post(TOKEN, json=bad)
    assert again.status_code == 429
    assert int(again.headers["Retry-After"]) == settings.lockout_base_seconds * 2
    # an administrator unlocks; then the right password works and the counter resets
    db.expire_all()
    user = db.get(User, account.id)
    user.locked_until = None
    db.add(user)
    db.commit()
    assert (
        client.post(TOKEN, json={"username": account.username, "password": PASSWORD}).status_code
        == 200
    )
    db.expire_all()
    assert db.get(User, account.id).failed_attempts == 0
    db.rollback()


def test_tampered_expired_and_wrong_purpose_tokens_are_refused(client, world, factory, settings):
    account = factory.user(Profile.DEFENSOR_PUBLICO, sede=world.sede_a1)
    headers = sign_in(client, account)
    token = headers["Authorization"].split()[1]
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 200
    # flip one character of the signature
    tampered = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    response = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {tampered}"})
    assert response.status_code == 401
    assert response.json()["code"] == "token_invalid"
    # forged with another key
    claims = jwt.decode(token, options={"verify_signature": False})
    forged = jwt.encode(
        claims, "not-the-key-but-long-enough-for-hs256-0123456789", algorithm="HS256"
    )
    assert (
        client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {forged}"}).status_code
        == 401
    )
    # alg=none
    unsigned = jwt.encode(claims, None, algorithm="none")
    assert (
        client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {unsigned}"}).status_code
        == 401
    )
    # expired, properly signed
    key = settings.resolved_secret_key()
    expired = tokens.encode_token(
        key=key,
        subject=claims["sub"],
        purpose="access",
        lifetime=timedelta(minutes=1),
        claims={"fam": claims["fam"]},
        now=tokens.utcnow() - timedelta(minutes=5),
    )
    response = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {expired}"})
    assert response.status_code == 401
    assert response.json()["code"] == "token_expired"
    # a TOTP setup token is not an access token
    setup = tokens.encode_token(
        key=key, subject=claims["sub"], purpose="totp_setup", lifetime=timedelta(minutes=5)
    )
    assert (
        client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {setup}"}).status_code
        == 401
    )


def test_refresh_rotation_and_reuse_revokes_family(client, world, factory, db):
    account = factory.user(Profile.DEFENSOR_PUBLICO, sede=world.sede_a1)
    first = client.post(TOKEN, json={"username": account.username, "password": PASSWORD}).json()
    second = client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200
    second = second.json()
    assert second["refresh_token"] != first["refresh_token"]
    third = client.post(
        "/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]}
    ).json()
    access = {"Authorization": f"Bearer {third['access_token']}"}
    assert client.get("/api/v1/auth/me", headers=access).status_code == 200
    # replaying a spent refresh token: refused, and the whole family is revoked
    replay = client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert replay.status_code == 401
    assert replay.json()["code"] == "token_reused"
    assert (
        client.post(
            "/api/v1/auth/refresh", json={"refresh_token": third["refresh_token"]}
        ).status_code
        == 401
    )
    assert client.get("/api/v1/auth/me", headers=access).status_code == 401
    assert "auth.refresh_reuse" in _audit_actions(db)
    # garbage
    assert client.post("/api/v1/auth/refresh", json={"refresh_token": "x.y"}).status_code == 401


def test_logout_revokes_tokens(client, world, factory):
    account = factory.user(Profile.DEFENSOR_PUBLICO, sede=world.sede_a1)
    pair = client.post(TOKEN, json={"username": account.username, "password": PASSWORD}).json()
    headers = {"Authorization": f"Bearer {pair['access_token']}"}
    assert client.post("/api/v1/auth/logout", headers=headers).status_code == 204
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 401
    assert (
        client.post(
            "/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]}
        ).status_code
        == 401
    )


def test_totp_required_for_administrative_profiles(client, world, factory, db):
    account = factory.user(Profile.DIRECTOR_DISTRITAL, district=world.district_a)
    base = {"username": account.username, "password": PASSWORD}
    missing = client.post(TOKEN, json=base)
    assert missing.status_code == 401
    assert missing.json()["code"] == "totp_required"
    wrong = client.post(
        TOKEN, json={**base, "totp_code": "000000" if next_totp(account) != "000000" else "111111"}
    )
    assert wrong.json()["code"] == "totp_invalid"
    code = next_totp(account)
    assert client.post(TOKEN, json={**base, "totp_code": code}).status_code == 200
    # the same code cannot be replayed
    assert client.post(TOKEN, json={**base, "totp_code": code}).json()["code"] == "totp_invalid"


def test_totp_enrollment_on_first_sign_in(client, world, factory, db):
    account = factory.user(Profile.COORDINADOR_SEDE, sede=world.sede_a1, totp=False)
    answer = client.post(TOKEN, json={"username": account.username, "password": PASSWORD})
    assert answer.status_code == 403
    assert answer.json()["code"] == "totp_setup_required"
    setup_token = answer.json()["setup_token"]
    secret = client.post("/api/v1/auth/totp/setup", json={"setup_token": setup_token}).json()
    assert secret["provisioning_uri"].startswith("otpauth://totp/")
    bad = client.post(
        "/api/v1/auth/totp/activate", json={"setup_token": setup_token, "code": "123"}
    )
    assert bad.status_code == 422
    done = client.post(
        "/api/v1/auth/totp/activate",
        json={"setup_token": setup_token, "code": pyotp.TOTP(secret["secret"]).now()},
    )
    assert done.status_code == 200
    assert client.get(
        "/api/v1/auth/me", headers={"Authorization": f"Bearer {done.json()['access_token']}"}
    ).json()["totp_enabled"]
    # the setup token is useless once a factor is active
    assert (
        client.post("/api/v1/auth/totp/setup", json={"setup_token": setup_token}).status_code == 401
    )
    assert "user.totp_enable" in _audit_actions(db)


def test_password_change_policy_and_revocation(client, world, factory):
    account = factory.user(Profile.DEFENSOR_PUBLICO, sede=world.sede_a1)
    other = client.post(TOKEN, json={"username": account.username, "password": PASSWORD}).json()
    headers = sign_in(client, account)
    weak = client.post(
        "/api/v1/auth/password",
        headers=headers,
        json={"current_password": PASSWORD, "new_password": "corta"},
    )
    assert weak.status_code == 422
    assert weak.json()["code"] == "weak_password"
    assert all(f["field"] == "new_password" for f in weak.json()["fields"])
    wrong = client.post(
        "/api/v1/auth/password",
        headers=headers,
        json={"current_password": "No-es-la-actual-1", "new_password": "Nueva-contraseña-2026"},
    )
    assert wrong.status_code == 422
    ok = client.post(
        "/api/v1/auth/password",
        headers=headers,
        json={"current_password": PASSWORD, "new_password": "Nueva-contraseña-2026"},
    )
    assert ok.status_code == 204
    # the other session is gone, this one survives, the old password no longer works
    assert (
        client.get(
            "/api/v1/auth/me", headers={"Authorization": f"Bearer {other['access_token']}"}
        ).status_code
        == 401
    )
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 200
    assert (
        client.post(TOKEN, json={"username": account.username, "password": PASSWORD}).status_code
        == 401
    )
    assert (
        client.post(
            TOKEN, json={"username": account.username, "password": "Nueva-contraseña-2026"}
        ).status_code
        == 200
    )


def test_must_change_password_blocks_actions(client, world, factory):
    account = factory.user(Profile.COORDINADOR_SEDE, sede=world.sede_a1, must_change_password=True)
    headers = sign_in(client, account)
    assert client.get("/api/v1/users", headers=headers).status_code == 403
    assert client.get("/api/v1/auth/me", headers=headers).json()["must_change_password"] is True


def test_deactivated_user_is_signed_out(client, world, factory):
    admin = factory.user(Profile.ADMINISTRADOR_NACIONAL)
    target = factory.user(Profile.DEFENSOR_PUBLICO, sede=world.sede_a1)
    admin_headers = sign_in(client, admin)
    target_headers = sign_in(client, target)
    response = client.patch(
        f"/api/v1/users/{target.id}", headers=admin_headers, json={"active": False}
    )
    assert response.status_code == 200
    assert client.get("/api/v1/auth/me", headers=target_headers).status_code == 401
    assert (
        client.post(TOKEN, json={"username": target.username, "password": PASSWORD}).status_code
        == 401
    )


def test_request_id_round_trip_and_error_shape(client):
    response = client.get("/api/v1/users", headers={"X-Request-ID": "abc-123"})
    assert response.headers["X-Request-ID"] == "abc-123"
    body = response.json()
    assert body == {
        "code": "unauthenticated",
        "message": "Debe iniciar sesión.",
        "fields": [],
        "request_id": "abc-123",
    }
    # a malformed id is replaced
    response = client.get("/api/v1/health", headers={"X-Request-ID": "bad id;drop"})
    assert response.headers["X-Request-ID"] != "bad id;drop"
    assert len(response.headers["X-Request-ID"]) == 32


def test_unexpected_error_is_json_500_with_request_id(app, client):
    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("fallo inesperado con datos internos")

    with TestClient(app, raise_server_exceptions=False) as plain:
        response = plain.get("/boom", headers={"X-Request-ID": "req-500"})
    assert response.status_code == 500
    assert response.headers["X-Request-ID"] == "req-500"
    assert response.json() == {
        "code": "internal",
        "message": "Ocurrió un error interno. Intente nuevamente.",
        "fields": [],
        "request_id": "req-500",
    }


def test_secret_key_generated_once_into_data_dir(tmp_path):
    from central.settings import CentralSettings

    first = CentralSettings(
        _env_file=None, data_dir=tmp_path, secret_key=None
    ).resolved_secret_key()
    path = tmp_path / "central-secret.key"
    assert path.stat().st_mode & 0o777 == 0o600
    assert len(first) >= 48
    assert (
        CentralSettings(_env_file=None, data_dir=tmp_path, secret_key=None).resolved_secret_key()
        == first
    )


def test_access_log_is_json_with_request_id_and_no_personal_data(client, world, factory):
    import io
    import json
    import logging

    from central.core.http import JsonLogFormatter

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonLogFormatter())
    access = logging.getLogger("alegra.central.access")
    old_level = access.level
    access.addHandler(handler)
    access.setLevel(logging.INFO)
    try:
        account = factory.user(
            Profile.DEFENSOR_PUBLICO, sede=world.sede_a1, username="maria-quispe"
        )
        client.post(
            TOKEN,
            json={"username": account.username, "password": PASSWORD},
            headers={"X-Request-ID": "log-1"},
        )
        client.get("/api/v1/users", params={"q": "12345678"}, headers={"X-Request-ID": "log-2"})
    finally:
        access.removeHandler(handler)
        access.setLevel(old_level)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line["request_id"] for line in lines] == ["log-1", "log-2"]
    assert lines[0]["path"] == "/api/v1/auth/token" and lines[0]["status"] == 200
    text = stream.getvalue()
    assert "maria-quispe" not in text and "12345678" not in text and PASSWORD not in text
