"""The RENIEC lookup contract, its fake, and the factory that picks the configured adapter
(``ALEGRA_RENIEC_ADAPTER``: ``fake`` by default, or ``package.module:Class`` for a real one)."""

from __future__ import annotations

import importlib
import json
import logging
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Protocol

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DNI_RE = re.compile(r"^\d{8}$")


@dataclass(frozen=True)
class IdentityRecord:
    dni: str
    given_names: str
    surnames: str
    birth_date: date | None
    sex: str | None  # "F" | "M"
    ubigeo: str | None  # RENIEC scheme


class ReniecUnavailable(Exception):
    """The service did not answer; callers continue with what the person declares."""


class ReniecLookup(Protocol):
    def lookup(self, dni: str) -> IdentityRecord | None:
        """The person with that DNI, None when RENIEC has no such DNI; raises ValueError for a
        malformed DNI and ReniecUnavailable when the service is down."""
        ...


class ReniecSettings(BaseSettings):
    """Which adapter answers identity lookups, and its options."""

    model_config = SettingsConfigDict(env_prefix="ALEGRA_RENIEC_", extra="ignore")

    # "fake" (FakeReniec, the default: no real service is reachable from here) or the import
    # path "package.module:Class" of a real adapter; it is built as Class(settings).
    adapter: str = Field(default="fake", max_length=200)
    # FakeReniec only: a JSON list of records ({"dni", "given_names", "surnames",
    # "birth_date", "sex", "ubigeo"}) added to its built-in fictitious demo people.
    fake_records: Path | None = None
    # Real adapters: answer within this many seconds or raise ReniecUnavailable.
    timeout_seconds: float = Field(default=5.0, gt=0, le=60)


# Fictitious people (made-up DNIs and names) so that a demo or development install can try the
# lookup; a real deployment replaces the fake with a real adapter.
DEMO_PEOPLE: tuple[IdentityRecord, ...] = (
    IdentityRecord("70000001", "Rosa Elena", "Quispe Mamani", date(1985, 3, 14), "F", "080101"),
    IdentityRecord("70000002", "Juan Carlos", "Huamán Torres", date(1979, 11, 2), "M", "150101"),
    IdentityRecord("70000003", "María Ysabel", "Condori Apaza", date(1990, 5, 1), "F", "210101"),
)


class FakeReniec:
    """A FAKE of RENIEC for development and tests: answers from an in-memory table, and can be
    told to be unavailable. Never used in production."""

    def __init__(self, people: dict[str, IdentityRecord] | None = None) -> None:
        self.people = dict(people or {})
        self.available = True
        self.calls = 0

    @classmethod
    def from_settings(cls, settings: ReniecSettings) -> FakeReniec:
        fake = cls({p.dni: p for p in DEMO_PEOPLE})
        if settings.fake_records is not None:
            for item in json.loads(settings.fake_records.read_text(encoding="utf-8")):
                birth = item.get("birth_date")
                fake.add(
                    IdentityRecord(
                        dni=item["dni"],
                        given_names=item["given_names"],
                        surnames=item["surnames"],
                        birth_date=date.fromisoformat(birth) if birth else None,
                        sex=item.get("sex"),
                        ubigeo=item.get("ubigeo"),
                    )
                )
        return fake

    def add(self, record: IdentityRecord) -> None:
        self.people[record.dni] = record

    def lookup(self, dni: str) -> IdentityRecord | None:
        self.calls += 1
        if not DNI_RE.match(dni or ""):
            raise ValueError("El DNI debe tener 8 dígitos.")
        if not self.available:
            raise ReniecUnavailable("RENIEC no responde")
        return self.people.get(dni)


def make_lookup(settings: ReniecSettings | None = None) -> ReniecLookup:
    """The configured adapter. Unknown names fail at start-up, not at the first lookup."""
    settings = settings or ReniecSettings()
    if settings.adapter == "fake":
        logging.getLogger("alegra.central").warning(
            "identity lookups are answered by FakeReniec (fictitious data); "
            "set ALEGRA_RENIEC_ADAPTER to a real adapter in production"
        )
        return FakeReniec.from_settings(settings)
    module_name, _, class_name = settings.adapter.partition(":")
    if not module_name or not class_name:
        raise ValueError("ALEGRA_RENIEC_ADAPTER: use 'fake' or 'package.module:Class'")
    adapter_class = getattr(importlib.import_module(module_name), class_name)
    return adapter_class(settings)
