"""Identity lookup at RENIEC behind an adapter. The real web service is outside our reach from
here, so the only implementation in the repository is ``FakeReniec`` (named as a fake), which
passes the same contract test any real adapter must pass (tests/central/citizens/
test_reniec_contract.py); ``make_lookup`` builds the one configured by ``ALEGRA_RENIEC_*``."""

from central.reniec.adapter import (
    FakeReniec,
    IdentityRecord,
    ReniecLookup,
    ReniecSettings,
    ReniecUnavailable,
    make_lookup,
)

__all__ = [
    "FakeReniec",
    "IdentityRecord",
    "ReniecLookup",
    "ReniecSettings",
    "ReniecUnavailable",
    "make_lookup",
]
