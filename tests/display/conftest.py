"""Display test fixtures: the real hub and HubClients shared with the counter tests."""

from tests.qt_live_hub import hub, make_client  # noqa: F401 (fixtures)
