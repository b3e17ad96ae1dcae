"""The sync API's own actions (central/auth/policy.py: sync.read, sync.resolve, sync.publish):
who may watch synchronisation, who may publish to a sede's hub, and that a hub's device
credential opens only the hub endpoints."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from central.auth.policy import POLICY, Profile, Reach, ScopeKind
from tests.sync.conftest import SEDE


def bearer(central, username: str, profile: Profile, scope: ScopeKind, sede_id=None) -> dict:
    from central.auth.service import issue_token_pair, password_hasher
    from central.core.db import new_session
    from central.domain.actor import Actor
    from central.users import service as users
    from central.users.schemas import UserCreate

    settings = central.app.state.settings
    session = new_session(central.app.state.engine)
    user = users.create_user(
        session=session,
        actor=Actor.system("tests"),
        ph=password_hasher(settings),
        check_assignable=False,
        data=UserCreate(
            username=username,
            display_name=username,
            password="Contraseña-segura-1",  # noqa: S106
            profiles=[profile],
            scope_kind=scope,
            sede_id=sede_id,
            district_id=f"dd-{SEDE}" if scope is ScopeKind.DISTRICT else None,
        ),
    )
    user.must_change_password = False
    session.add(user)
    session.flush()
    pair = issue_token_pair(session=session, settings=settings, user=user)
    session.commit()
    session.close()
    return {"Authorization": f"Bearer {pair.access_token}"}


def test_policy_declares_dedicated_sync_actions():
    assert POLICY["sync.read"][Profile.AUDITOR] is Reach.NATIONAL
    assert Profile.AUDITOR not in POLICY["sync.publish"]
    assert Profile.AUDITOR not in POLICY["sync.resolve"]
    assert POLICY["sync.publish"][Profile.COORDINADOR_SEDE] is Reach.ASSIGNED
    assert Profile.ORIENTADOR not in POLICY["sync.read"]


@pytest.mark.parametrize(
    ("profile", "scope", "reads", "publishes"),
    [
        (Profile.AUDITOR, ScopeKind.NATIONAL, True, False),
        (Profile.COORDINADOR_SEDE, ScopeKind.SEDE, True, True),
        (Profile.ORIENTADOR, ScopeKind.SEDE, False, False),
    ],
)
def test_who_may_watch_and_publish(central, profile, scope, reads, publishes):
    headers = bearer(
        central,
        f"u-{profile.value[:10]}",
        profile,
        scope,
        SEDE if scope is ScopeKind.SEDE else None,
    )
    status = central.client.get("/api/v1/sync/status", headers=headers)
    assert status.status_code == (200 if reads else 403), status.text
    message = central.client.put(
        "/api/v1/sync/display-messages",
        json={
            "sede_id": SEDE,
            "text": "Atención gratuita",
            "ends_at": (datetime.now(UTC) + timedelta(days=1)).isoformat(),
        },
        headers=headers,
    )
    assert message.status_code == (200 if publishes else 403), message.text
    if not publishes:
        body = message.json()
        assert body["code"] and "permiso" in body["message"].lower()


def test_the_device_credential_opens_only_the_hub_endpoints(central):
    device = {"Authorization": f"Bearer {central.token}"}
    assert central.client.get("/api/v1/sync/pull", headers=device).status_code == 200
    assert central.client.get("/api/v1/sync/status", headers=device).status_code in (401, 403)
