"""Identity lookup at RENIEC behind an adapter. The real web service is outside our reach from
here, so the only implementation in the repository is ``FakeReniec`` (named as a fake), which
passes the same contract test any real adapter must pass."""

from central.reniec.adapter import FakeReniec, IdentityRecord, ReniecLookup, ReniecUnavailable

__all__ = ["FakeReniec", "IdentityRecord", "ReniecLookup", "ReniecUnavailable"]
