"""Schemathesis over Module 01's endpoints, signed in as a district director (who programmes,
records and supervises): whatever the input, no 500, and every answer as documented."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from central.auth.policy import Profile, ScopeKind
from tests.central.conftest import sign_in

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
PREFIXES = ("/api/v1/activity-plans", "/api/v1/activities", "/api/v1/supervision")


def test_module_01_endpoints_never_fail_on_any_input(app, client, world, factory, staff):
    account = factory.user(
        Profile.DIRECTOR_DISTRITAL, ScopeKind.DISTRICT, district=world.district_a
    )
    headers = sign_in(client, account)
    # data to find: a plan and an activity (ids are random to schemathesis, but lists are not)
    client.post(
        "/api/v1/activity-plans",
        json={
            "sede_id": world.sede_a1,
            "professional_id": staff.defensor_a1.id,
            "month": "2026-03",
            "targets": {"attentions": 5},
        },  # fmt: skip
        headers=headers,
    )
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    operations = [
        result.ok()
        for result in schema.get_all_operations()
        if result.ok().path.startswith(PREFIXES)
    ]
    assert len(operations) == 9
    failures: list[str] = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=25,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            run()
        except Exception as exc:  # noqa: BLE001 - collect every operation's failure
            failures.append(f"{operation.method.upper()} {operation.path}: {str(exc)[:1500]}")
    assert not failures, "\n\n".join(failures)
