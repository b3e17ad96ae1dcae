"""The citizens tests share the case-file fixtures."""

from tests.central.cases.conftest import defender, people, storage  # noqa: F401
