"""Fixtures of the case-file tests: accounts per profile at the world's sedes, signed-in
headers, an in-memory document store on the app, and helpers that open files via the API."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import pytest

from central.auth.policy import Profile
from central.documents.storage import MemoryStorage
from tests.central.conftest import sign_in

_dni = itertools.count(40000000)


def next_dni() -> str:
    return str(next(_dni))


@dataclass
class People:
    client: object
    world: object
    factory: object
    _headers: dict

    def headers(
        self, profile: Profile, sede: str | None = None, district: str | None = None
    ) -> dict:
        key = (profile, sede, district)
        if key not in self._headers:
            account = self.factory.user(profile, sede=sede, district=district)
            self._headers[key] = sign_in(self.client, account)
        return self._headers[key]


@pytest.fixture
def people(client, world, factory) -> People:
    return People(client, world, factory, {})


@pytest.fixture
def defender(people) -> dict:
    return people.headers(Profile.DEFENSOR_PUBLICO, sede=people.world.sede_a1)


@pytest.fixture
def storage(app) -> MemoryStorage:
    app.state.document_storage = MemoryStorage()
    return app.state.document_storage


def citizen_body(sede: str, **changes) -> dict:
    body = {
        "sede_id": sede,
        "doc_type": "dni",
        "doc_number": next_dni(),
        "given_names": "Rosa Elena",
        "surnames": "Quispe Mamani",
        "birth_date": "1985-03-14",
        "sex": "F",
        "language": "quechua",
        "flags": ["victima_violencia"],
    }
    body.update(changes)
    return body


def case_body(sede: str, **changes) -> dict:
    body = {
        "sede_id": sede,
        "service": "defensa_victimas",
        "matter": "alimentos",
        "attention_type": "patrocinio",
        "client": citizen_body(sede, given_names=f"Persona {next_dni()}", birth_date=None),
        "summary": "Demanda de alimentos para dos hijos menores.",
    }
    body.update(changes)
    return body


def open_case(http, headers, sede: str, **changes) -> dict:
    response = http.post("/api/v1/cases", json=case_body(sede, **changes), headers=headers)
    assert response.status_code == 201, response.text
    return response.json()
