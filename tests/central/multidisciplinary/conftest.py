"""Fixtures of the Module 05 tests: a sede with a coordinator, a defender, two psychologists,
a forensic doctor, a social worker and a criminalistics expert; a person with an open case file;
helpers that drive a request through the API."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from central.auth.policy import Profile
from central.cases import service as cases
from central.cases.schemas import CaseCreate
from central.cases.settings import CasesSettings
from central.citizens import service as citizens
from central.citizens.schemas import CitizenCreate
from tests.central.conftest import SYSTEM, sign_in

_dni = itertools.count(62000000)

PSYCH_CONTENT = {
    "reason": "Evaluar la afectación emocional de la evaluada tras los hechos denunciados.",
    "method": "Entrevista psicológica, observación de conducta; inventario de ansiedad de Beck.",
    "history": "Convivencia de 8 años; episodios de violencia psicológica desde 2024.",
    "observation": "Lúcida, orientada, lenguaje coherente; llanto al relatar los hechos.",
    "results": "Indicadores de ansiedad moderada compatibles con los hechos relatados.",
    "conclusions": "Presenta afectación psicológica compatible con violencia psicológica.",
    "recommendations": "Terapia psicológica; medidas de protección.",
}
CML_CONTENT = {
    "data": "Evaluada de 34 años, examinada en consultorio de la sede.",
    "history": "Refiere agresión física el día anterior por conocido.",
    "examination": "Consciente, orientada, en buen estado general.",
    "injuries": [
        {"location": "Región malar izquierda", "description": "Equimosis violácea de 3 x 2 cm"},
        {"location": "Antebrazo derecho", "description": "Excoriación lineal de 4 cm"},
    ],
    "conclusions": "Lesiones traumáticas recientes ocasionadas por agente contuso.",
    "care_days": 2,
    "incapacity_days": 7,
}


def next_dni() -> str:
    return str(next(_dni))


@dataclass
class Centre:
    client: Any
    world: Any
    db: Any
    sede: str
    headers: dict[str, dict]
    ids: dict[str, str]
    citizen_id: str
    case_id: str
    extra: dict[str, Any] = field(default_factory=dict)

    def call(self, method: str, url: str, who: str, status: int | None = None, **kw):
        response = self.client.request(method, url, headers=self.headers[who], **kw)
        if status is not None:
            assert response.status_code == status, response.text
        return response

    def request(self, service_type: str = "pericia_psicologica", **extra) -> dict:
        body = {
            "service_type": service_type,
            "case_id": self.case_id,
            "questions": "¿Presenta la evaluada afectación psicológica? ¿Compatible con los hechos?",
            "urgency": "normal",
            "authority_kind": "fiscalia",
            "authority_name": "1.a Fiscalía Provincial Penal de Lima",
            "authority_file_number": "506-2026-0",
            **extra,
        }
        return self.call("POST", "/api/v1/md/requests", "defender", 201, json=body).json()

    def assign(self, request: dict, to: str = "psych") -> dict:
        return self.call(
            "POST",
            f"/api/v1/md/requests/{request['id']}/assignment",
            "coord",
            200,
            json={"professional_id": self.ids[to]},
        ).json()

    def session(
        self,
        request: dict,
        who: str = "psych",
        *,
        at: datetime | None = None,
        minutes: int = 60,
        status: int = 201,
    ):
        at = at or datetime.now(UTC) + timedelta(days=1)
        return self.call(
            "POST",
            f"/api/v1/md/requests/{request['id']}/sessions",
            who,
            status,
            json={"starts_at": at.isoformat(), "minutes": minutes, "place": "Consultorio 2"},
        )

    def draft(self, request: dict, content: dict, who: str = "psych", status: int = 200):
        return self.call(
            "PUT",
            f"/api/v1/md/requests/{request['id']}/report",
            who,
            status,
            json={"content": content},
        )

    def sign(self, request: dict, who: str = "psych", status: int = 200):
        return self.call(
            "POST", f"/api/v1/md/requests/{request['id']}/report/signature", who, status
        )


@pytest.fixture
def centre(client, world, factory, db, app) -> Centre:
    sede = world.sede_a1
    people = {
        "coord": Profile.COORDINADOR_SEDE,
        "defender": Profile.DEFENSOR_PUBLICO,
        "other_defender": Profile.DEFENSOR_PUBLICO,
        "psych": Profile.PSICOLOGO,
        "psych2": Profile.PSICOLOGO,
        "doctor": Profile.MEDICO_LEGISTA,
        "social": Profile.TRABAJADOR_SOCIAL,
        "perito": Profile.PERITO,
    }
    accounts = {key: factory.user(profile, sede=sede) for key, profile in people.items()}
    headers = {key: sign_in(client, account) for key, account in accounts.items()}
    citizen = citizens.create_citizen(
        session=db,
        actor=SYSTEM,
        data=CitizenCreate(
            sede_id=sede,
            doc_type="dni",
            doc_number=next_dni(),
            given_names="Rosa Elena",
            surnames="Quispe Mamani",
            confirm_not_duplicate=True,
        ),
    )
    db.commit()
    case = cases.open_case(
        session=db,
        actor=SYSTEM,
        data=CaseCreate(
            sede_id=sede,
            service="defensa_victimas",
            matter="alimentos",
            attention_type="patrocinio",
            client_citizen_id=citizen.id,
            assigned_user_id=accounts["defender"].id,
            summary="Demanda de alimentos.",
        ),
        area=None,
        settings=CasesSettings(),
    )
    db.commit()
    return Centre(
        client=client,
        world=world,
        db=db,
        sede=sede,
        headers=headers,
        ids={key: account.id for key, account in accounts.items()},
        citizen_id=citizen.id,
        case_id=case.id,
    )
