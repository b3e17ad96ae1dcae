"""The RENIEC lookup contract and its fake."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Protocol

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


class FakeReniec:
    """A FAKE of RENIEC for development and tests: answers from an in-memory table, and can be
    told to be unavailable. Never used in production."""

    def __init__(self, people: dict[str, IdentityRecord] | None = None) -> None:
        self.people = dict(people or {})
        self.available = True
        self.calls = 0

    def add(self, record: IdentityRecord) -> None:
        self.people[record.dni] = record

    def lookup(self, dni: str) -> IdentityRecord | None:
        self.calls += 1
        if not DNI_RE.match(dni or ""):
            raise ValueError("El DNI debe tener 8 dígitos.")
        if not self.available:
            raise ReniecUnavailable("RENIEC no responde")
        return self.people.get(dni)
