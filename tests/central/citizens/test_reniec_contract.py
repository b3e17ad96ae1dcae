"""The RENIEC lookup contract, run against every adapter. Only the fake exists here (the real
service is out of reach); a real adapter joins by adding a parameter to ``subject`` that builds
it against a test endpoint, with a DNI it knows, one it does not know, and a way to make it
unreachable (see docs/cases.md, "RENIEC adapter contract")."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import pytest

from central.reniec import (
    FakeReniec,
    IdentityRecord,
    ReniecLookup,
    ReniecSettings,
    ReniecUnavailable,
    make_lookup,
)

KNOWN = IdentityRecord("45671234", "María Ysabel", "Condori Apaza", date(1990, 5, 1), "F", "150101")


@dataclass
class Subject:
    adapter: ReniecLookup
    known: IdentityRecord
    unknown_dni: str
    make_unavailable: Callable[[], ReniecLookup]


def _fake() -> Subject:
    fake = FakeReniec()
    fake.add(KNOWN)

    def down() -> ReniecLookup:
        broken = FakeReniec({KNOWN.dni: KNOWN})
        broken.available = False
        return broken

    return Subject(fake, KNOWN, "00000001", down)


@pytest.fixture(params=["fake"])
def subject(request) -> Subject:
    return {"fake": _fake}[request.param]()


def test_known_dni_gives_the_whole_record(subject):
    record = subject.adapter.lookup(subject.known.dni)
    assert record == subject.known
    assert record.dni == subject.known.dni
    assert record.given_names and record.surnames
    assert record.sex in {"F", "M", None}
    assert record.ubigeo is None or (len(record.ubigeo) == 6 and record.ubigeo.isdigit())
    assert record.birth_date is None or isinstance(record.birth_date, date)


def test_unknown_dni_is_none(subject):
    assert subject.adapter.lookup(subject.unknown_dni) is None


@pytest.mark.parametrize("bad", ["1234567", "123456789", "ABCDEFGH", "", "4567 123", "4567-123"])
def test_malformed_dni_is_refused_before_asking(subject, bad):
    with pytest.raises(ValueError):
        subject.adapter.lookup(bad)


def test_unreachable_service_raises_unavailable(subject):
    with pytest.raises(ReniecUnavailable):
        subject.make_unavailable().lookup(subject.known.dni)


def test_fake_counts_calls_even_when_down():
    fake = FakeReniec()
    fake.available = False
    with pytest.raises(ReniecUnavailable):
        fake.lookup("45671234")
    assert fake.calls == 1


def test_factory_builds_the_fake_by_default_with_extra_records(tmp_path):
    records = tmp_path / "reniec.json"
    records.write_text(
        json.dumps(
            [
                {
                    "dni": "12345678",
                    "given_names": "Ana",
                    "surnames": "Ccori",
                    "birth_date": "2001-02-03",
                    "sex": "F",
                    "ubigeo": "080101",
                }
            ]
        )
    )
    adapter = make_lookup(ReniecSettings(fake_records=records))
    assert isinstance(adapter, FakeReniec)
    assert adapter.lookup("12345678") == IdentityRecord(
        "12345678", "Ana", "Ccori", date(2001, 2, 3), "F", "080101"
    )
    assert adapter.lookup("70000001") is not None  # the built-in fictitious demo people


def test_factory_loads_a_real_adapter_by_import_path():
    adapter = make_lookup(
        ReniecSettings(adapter="tests.central.citizens.test_reniec_contract:EchoAdapter")
    )
    assert isinstance(adapter, EchoAdapter)
    assert adapter.settings.timeout_seconds == 5.0
    with pytest.raises(ValueError):
        make_lookup(ReniecSettings(adapter="no-colon-here"))


class EchoAdapter:
    """Stands for a real adapter's class in the factory test (built with the settings)."""

    def __init__(self, settings: ReniecSettings) -> None:
        self.settings = settings

    def lookup(self, dni: str) -> IdentityRecord | None:
        return None
