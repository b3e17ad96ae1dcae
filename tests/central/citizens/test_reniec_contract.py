"""The RENIEC lookup contract. Only the fake exists here (the real service is out of reach);
any real adapter must pass the same checks, parametrised below."""

from __future__ import annotations

from datetime import date

import pytest

from central.reniec import FakeReniec, IdentityRecord, ReniecLookup, ReniecUnavailable

KNOWN = IdentityRecord("45671234", "María Ysabel", "Condori Apaza", date(1990, 5, 1), "F", "150101")


@pytest.fixture(params=["fake"])
def lookup(request) -> ReniecLookup:
    fake = FakeReniec()
    fake.add(KNOWN)
    return fake


def test_known_dni(lookup):
    record = lookup.lookup("45671234")
    assert record == KNOWN
    assert record.ubigeo and len(record.ubigeo) == 6


def test_unknown_dni_is_none(lookup):
    assert lookup.lookup("00000001") is None


@pytest.mark.parametrize("bad", ["1234567", "123456789", "ABCDEFGH", "", "4567 123"])
def test_malformed_dni_is_refused(lookup, bad):
    with pytest.raises(ValueError):
        lookup.lookup(bad)


def test_unavailable_service_says_so():
    fake = FakeReniec()
    fake.available = False
    with pytest.raises(ReniecUnavailable):
        fake.lookup("45671234")
    assert fake.calls == 1
