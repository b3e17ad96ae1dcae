"""Property-based run of the whole OpenAPI (schemathesis, in-process ASGI, signed in as a national
administrator who is also auditor): no 500, every status code and body as documented."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from central.auth.policy import Profile

from .conftest import sign_in

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
MAX_EXAMPLES = 12


@pytest.mark.slow
def test_openapi_conformance(app, client, world, factory):
    account = factory.user([Profile.ADMINISTRADOR_NACIONAL, Profile.AUDITOR])
    headers = sign_in(client, account)
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 40
    failures: list[str] = []
    for operation in operations:
        if operation.path in {"/api/v1/auth/logout", "/api/v1/auth/password"}:
            continue  # would end or change the session the other operations run with

        @given(case=operation.as_strategy())
        @settings(
            max_examples=MAX_EXAMPLES,
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
