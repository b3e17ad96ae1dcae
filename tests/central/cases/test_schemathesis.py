"""Bounded property-based run (schemathesis, in-process) over the Module 02 endpoints, signed in
as a sede professional holding every Module 02 grant there: no 500, responses as documented."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from central.auth.policy import Profile
from central.documents.storage import MemoryStorage
from tests.central.cases.conftest import open_case
from tests.central.conftest import sign_in

MINE = ("/api/v1/citizens", "/api/v1/eligibility", "/api/v1/cases")
MAX_EXAMPLES = 10


@pytest.mark.slow
def test_module_02_endpoints_never_answer_500(app, client, world, factory):
    app.state.document_storage = MemoryStorage()
    account = factory.user(
        [Profile.DEFENSOR_PUBLICO, Profile.ABOGADO_VERIFICADOR, Profile.COORDINADOR_SEDE],
        sede=world.sede_a1,
    )
    headers = sign_in(client, account)
    open_case(client, headers, world.sede_a1)  # something for the lists and searches to find
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    operations = [
        result.ok() for result in schema.get_all_operations() if result.ok().path.startswith(MINE)
    ]
    assert len(operations) >= 30
    paths = {(o.method.upper(), o.path) for o in operations}
    assert ("GET", "/api/v1/citizens/lookup") in paths  # the RENIEC adapter behind the API
    assert ("POST", "/api/v1/cases/{case_id}/parties/{party_id}/removal") in paths
    failures: list[str] = []
    calls = [0]
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case) -> None:
            calls[0] += 1
            case.call_and_validate(headers=headers, checks=[not_a_server_error])

        try:
            run()
        except Exception as exc:  # noqa: BLE001 - collect every operation's failure
            failures.append(f"{operation.method.upper()} {operation.path}: {str(exc)[:1500]}")
    assert not failures, "\n\n".join(failures)
    assert calls[0] >= 5 * len(operations)
