"""Fixtures of the conciliation tests: a sede with a coordinator, two conciliators and a
verifying lawyer (registration data recorded), persons from the citizens registry, and
helpers that drive a file through the API."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from central.auth.policy import Profile
from central.citizens import service as citizens
from central.citizens.schemas import CitizenCreate
from central.conciliation.settings import ConciliationSettings
from tests.central.conftest import SYSTEM, sign_in

_dni = itertools.count(71000000)


def next_dni() -> str:
    return str(next(_dni))


def make_citizen(
    db,
    sede: str,
    *,
    given: str,
    surnames: str,
    doc: bool = True,
    address: str | None = "Jr. Las Flores 123, Cercado de Lima",
    flags: list[str] | None = None,
) -> str:
    citizen = citizens.create_citizen(
        session=db,
        actor=SYSTEM,
        data=CitizenCreate(
            sede_id=sede,
            doc_type="dni" if doc else "ninguno",
            doc_number=next_dni() if doc else None,
            given_names=given,
            surnames=surnames,
            address=address,
            flags=flags or [],
            confirm_not_duplicate=True,
        ),
    )
    db.commit()
    return citizen.id


@dataclass
class Centre:
    client: Any
    world: Any
    sede: str
    coordinator: dict
    conciliator: dict
    conciliator_id: str
    other_conciliator_id: str
    verifier: dict
    verifier_id: str
    other_conciliator: dict
    db: Any
    people: dict[str, str] = field(default_factory=dict)
    accounts: dict[str, Any] = field(default_factory=dict)

    def post(
        self, url: str, body: Any = None, headers: dict | None = None, status: int | None = None
    ):
        response = self.client.post(url, json=body, headers=headers or self.conciliator)
        if status is not None:
            assert response.status_code == status, response.text
        return response

    def solicitud(
        self, *, matter: str = "alimentos", parties: list[dict] | None = None, **extra
    ) -> dict:
        body = {
            "sede_id": self.sede,
            "matter": matter,
            "parties": parties
            or [
                {"role": "solicitante", "citizen_id": self.people["ana"]},
                {"role": "invitado", "citizen_id": self.people["luis"]},
            ],
            "facts": "La solicitante y el invitado son padres de una niña de 6 años que vive con la madre.",
            "controversy": "El invitado no aporta regularmente a los alimentos de la menor.",
            "claims": [
                {"party_index": 0, "description": "Pensión de alimentos de S/ 600 mensuales."}
            ],
            **extra,
        }
        return self.post("/api/v1/conciliation/files", body, status=None)

    def open_file(self, **kw) -> dict:
        response = self.solicitud(**kw)
        assert response.status_code == 201, response.text
        return response.json()

    def designate(self, file: dict) -> dict:
        return self.post(
            f"/api/v1/conciliation/files/{file['id']}/designation",
            {"conciliator_user_id": self.conciliator_id, "verifier_user_id": self.verifier_id},
            headers=self.coordinator,
            status=200,
        ).json()

    def session(
        self, file: dict, *, minutes: int = 2, mode: str = "presencial", status: int = 201
    ) -> dict:
        at = datetime.now(UTC) + timedelta(minutes=minutes)
        body: dict[str, Any] = {"scheduled_at": at.isoformat(), "mode": mode}
        if mode == "virtual":
            body |= {
                "virtual_means": "Google Meet",
                "virtual_link": "https://meet.example.org/abc-defg-hij",
            }
        else:
            body["place"] = "Sala de audiencias 1"
        return self.post(
            f"/api/v1/conciliation/files/{file['id']}/sessions", body, status=status
        ).json()

    def invite_all(self, file: dict, hearing: dict) -> list[dict]:
        file = self.get(file["id"])
        out = []
        for party in file["parties"]:
            if party["role"] == "invitado":
                inv = self.post(
                    f"/api/v1/conciliation/files/{file['id']}/invitations",
                    {"party_id": party["id"], "session_id": hearing["id"]},
                    status=201,
                ).json()
                out.append(inv)
        return out

    def attend(
        self,
        file: dict,
        hearing: dict,
        present: dict[str, bool] | None = None,
        *,
        consent: bool = False,
        status: int = 200,
    ):
        file = self.get(file["id"])
        entries = [
            {
                "party_id": p["id"],
                "present": (present or {}).get(p["label"], True),
                "virtual_consent": consent,
            }
            for p in file["parties"]
        ]
        return self.post(
            f"/api/v1/conciliation/files/{file['id']}/sessions/{hearing['id']}/attendance",
            {"entries": entries},
            status=status,
        )

    def get(self, file_id: str) -> dict:
        response = self.client.get(
            f"/api/v1/conciliation/files/{file_id}", headers=self.conciliator
        )
        assert response.status_code == 200, response.text
        return response.json()

    def to_audiencia(self, **kw) -> tuple[dict, dict]:
        file = self.open_file(**kw)
        self.designate(file)
        hearing = self.session(file)
        self.invite_all(file, hearing)
        self.attend(file, hearing)
        return self.get(file["id"]), hearing

    def agree(self, file: dict, hearing: dict, way: str = "acuerdo_total") -> dict:
        parties = {p["label"]: p["id"] for p in file["parties"]}
        self.client.put(
            f"/api/v1/conciliation/files/{file['id']}/obligations",
            json={
                "obligations": [
                    {
                        "kind": "pension_alimentos",
                        "debtor_party_id": parties["Invitado 1"],
                        "creditor_party_id": parties["Solicitante 1"],
                        "description": "Pensión de alimentos a favor de la menor, depositada en la cuenta de ahorros de la madre",
                        "amount": "600.00",
                        "periodicity": "mensual",
                        "start_date": "2027-01-05",
                        "payment_method": "Depósito en la cuenta del Banco de la Nación N° 04-123-456789",
                    }
                ]
            },
            headers=self.conciliator,
        ).raise_for_status()
        body = {"way": way, "session_id": hearing["id"]}
        if way == "acuerdo_parcial":
            body["no_agreement_points"] = "El régimen de visitas queda sin acuerdo."
        return self.post(
            f"/api/v1/conciliation/files/{file['id']}/conclusion", body, status=200
        ).json()

    def issue(self, file: dict, status: int = 201):
        self.post(
            f"/api/v1/conciliation/files/{file['id']}/acta/approval",
            headers=self.verifier,
            status=200,
        )
        return self.post(f"/api/v1/conciliation/files/{file['id']}/acta", status=status)


def register_professionals(client, coordinator, conciliator_ids, verifier_id) -> None:
    for index, user_id in enumerate(conciliator_ids):
        client.put(
            f"/api/v1/conciliation/professionals/{user_id}",
            json={
                "full_name": f"Carmen Rosa Villanueva Torres {index}",
                "doc_number": f"4455667{index}",
                "conciliator_registration": f"{31245 + index}",
                "family_specialty_registration": f"{8812 + index}",
            },
            headers=coordinator,
        ).raise_for_status()
    client.put(
        f"/api/v1/conciliation/professionals/{verifier_id}",
        json={
            "full_name": "Jorge Luis Paredes Salas",
            "doc_number": "40112233",
            "bar_registration": "CAL 45678",
        },
        headers=coordinator,
    ).raise_for_status()


@pytest.fixture
def conc_settings(app) -> ConciliationSettings:
    """Same-day sessions allowed (no minimum notice): the API flow runs within one test."""
    settings = ConciliationSettings(min_notice_business_days=0)
    settings.signing_dir = app.state.conciliation_settings.signing_dir
    settings.documents_dir = app.state.conciliation_settings.documents_dir
    app.state.conciliation_settings = settings
    return settings


@pytest.fixture
def centre(client, world, factory, db, conc_settings) -> Centre:
    sede = world.sede_a1
    coordinator = factory.user(Profile.COORDINADOR_SEDE, sede=sede)
    conciliator = factory.user(Profile.CONCILIADOR, sede=sede)
    other = factory.user(Profile.CONCILIADOR, sede=sede)
    verifier = factory.user(Profile.ABOGADO_VERIFICADOR, sede=sede)
    coord_headers = sign_in(client, coordinator)
    register_professionals(client, coord_headers, [conciliator.id, other.id], verifier.id)
    result = Centre(
        client=client,
        world=world,
        sede=sede,
        coordinator=coord_headers,
        conciliator=sign_in(client, conciliator),
        conciliator_id=conciliator.id,
        other_conciliator_id=other.id,
        other_conciliator=sign_in(client, other),
        verifier=sign_in(client, verifier),
        verifier_id=verifier.id,
        db=db,
    )
    result.accounts = {"coordinator": coordinator, "conciliator": conciliator, "verifier": verifier}
    result.people["ana"] = make_citizen(db, sede, given="Ana María", surnames="Quispe Huamán")
    result.people["luis"] = make_citizen(db, sede, given="Luis Alberto", surnames="Rojas Pérez")
    return result
