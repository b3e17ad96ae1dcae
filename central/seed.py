"""Demo data: the Dirección Distrital de Lima with two sedes (``lima-cercado``, matching
hub/sedes/demo.toml, and a Mega ALEGRA) and one user per kind of profile. Idempotent.

Demo credentials only — printed by ``alegra central seed``, never to be used in production.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from datetime import time

from sqlmodel import Session

from central.auth.policy import Profile, ScopeKind
from central.auth.service import password_hasher
from central.domain.actor import Actor
from central.org import service as org
from central.org.models import District
from central.org.schemas import (
    CounterCreate,
    DistrictCreate,
    HoursItem,
    QueuePolicyUpdate,
    SedeCreate,
    SedeKind,
    ServiceCreate,
    UbigeoScheme,
)
from central.settings import CentralSettings
from central.users import service as users
from central.users.schemas import UserCreate

DEMO_DISTRICT = "dd-lima"
DEMO_SEDE = "lima-cercado"
DEMO_MEGA = "mega-lima-centro"
DEMO_PASSWORD = "Alegra-demo-2026"  # noqa: S105 (demo data)
# base32 TOTP secrets of the demo's administrative accounts (demo only)
DEMO_TOTP: dict[str, str] = {
    name: base64.b32encode(hashlib.sha256(f"alegra-demo-{name}".encode()).digest()[:20]).decode()
    for name in ("admin", "director", "coordinadora", "auditora", "coordinador-mega")
}


@dataclass
class SeedReport:
    created: bool
    users: list[tuple[str, str, str]] = field(default_factory=list)  # username, profiles, password
    totp: dict[str, str] = field(default_factory=dict)


def _user(
    username: str,
    name: str,
    profiles: list[Profile],
    scope: ScopeKind,
    *,
    sede: str | None = None,
    district: str | None = None,
    password: str = DEMO_PASSWORD,
) -> UserCreate:
    return UserCreate(
        username=username,
        display_name=name,
        password=password,
        profiles=profiles,
        scope_kind=scope,
        sede_id=sede,
        district_id=district,
    )


DEMO_USERS: list[UserCreate] = [
    _user("admin", "Administración Nacional", [Profile.ADMINISTRADOR_NACIONAL], ScopeKind.NATIONAL),
    _user("auditora", "Rosa Auditora", [Profile.AUDITOR], ScopeKind.NATIONAL),
    _user(
        "director",
        "Jorge Director",
        [Profile.DIRECTOR_DISTRITAL],
        ScopeKind.DISTRICT,
        district=DEMO_DISTRICT,
    ),
    _user(
        "coordinadora",
        "María Coordinadora",
        [Profile.COORDINADOR_SEDE],
        ScopeKind.SEDE,
        sede=DEMO_SEDE,
    ),
    _user(
        "ana",
        "Ana Quispe",
        [Profile.ORIENTADOR],
        ScopeKind.SEDE,
        sede=DEMO_SEDE,
        password="demo-ventanilla-1",  # noqa: S106 (demo data)
    ),
    _user(
        "luis",
        "Luis Mamani",
        [Profile.DEFENSOR_PUBLICO],
        ScopeKind.SEDE,
        sede=DEMO_SEDE,
        password="demo-ventanilla-2",  # noqa: S106 (demo data)
    ),
    _user("carmen", "Carmen Conciliadora", [Profile.CONCILIADOR], ScopeKind.SEDE, sede=DEMO_SEDE),
    _user("pedro", "Pedro Psicólogo", [Profile.PSICOLOGO], ScopeKind.SEDE, sede=DEMO_MEGA),
    _user(
        "lucia", "Lucía Médica Legista", [Profile.MEDICO_LEGISTA], ScopeKind.SEDE, sede=DEMO_MEGA
    ),
    _user(
        "rosa",
        "Rosa Trabajadora Social",
        [Profile.TRABAJADOR_SOCIAL],
        ScopeKind.SEDE,
        sede=DEMO_MEGA,
    ),
    _user(
        "coordinador-mega",
        "Raúl Coordinador",
        [Profile.COORDINADOR_SEDE],
        ScopeKind.SEDE,
        sede=DEMO_MEGA,
    ),
]


def seed_demo(*, session: Session, settings: CentralSettings) -> SeedReport:
    if session.get(District, DEMO_DISTRICT) is not None:
        return SeedReport(created=False)
    actor = Actor.system("seed")
    org.create_district(
        session=session,
        actor=actor,
        data=DistrictCreate(id=DEMO_DISTRICT, name="Dirección Distrital de Lima"),
    )

    org.create_sede(
        session=session,
        actor=actor,
        data=SedeCreate(
            id=DEMO_SEDE,
            district_id=DEMO_DISTRICT,
            name="Centro ALEGRA Lima Cercado",
            kind=SedeKind.ALEGRA,
            ubigeo="150101",
            ubigeo_scheme=UbigeoScheme.INEI,
            address="Av. Demo 123, Cercado de Lima",
        ),
    )
    for code, name, letter in (
        ("orientacion", "Orientación legal", "A"),
        ("defensa-penal", "Defensa penal", "P"),
        ("victimas", "Defensa de víctimas", "V"),
        ("conciliacion", "Conciliación extrajudicial", "C"),
    ):
        org.create_service(
            session=session,
            actor=actor,
            sede_id=DEMO_SEDE,
            data=ServiceCreate(code=code, name=name, letter=letter),
        )
    for code, number, services in (
        ("v1", 1, {"orientacion": 3, "victimas": 1}),
        ("v2", 2, {"orientacion": 1, "defensa-penal": 2}),
        ("v3", 3, {"victimas": 2, "conciliacion": 1}),
    ):
        org.create_counter(
            session=session,
            actor=actor,
            sede_id=DEMO_SEDE,
            data=CounterCreate(
                code=code, name=f"Ventanilla {number}", number=number, services=services
            ),
        )
    org.set_hours(
        session=session,
        actor=actor,
        sede_id=DEMO_SEDE,
        hours=[
            HoursItem(weekdays=[0, 1, 2, 3, 4], opens=time(8), closes=time(17)),
            HoursItem(weekdays=[5], opens=time(8), closes=time(13)),
        ],
    )
    org.set_queue_policy(
        session=session,
        actor=actor,
        sede_id=DEMO_SEDE,
        policy=QueuePolicyUpdate(issue_outside_hours=True),
    )

    org.create_sede(
        session=session,
        actor=actor,
        data=SedeCreate(
            id=DEMO_MEGA,
            district_id=DEMO_DISTRICT,
            name="Mega ALEGRA Lima Centro",
            kind=SedeKind.MEGA_ALEGRA,
            ubigeo="150101",
            ubigeo_scheme=UbigeoScheme.RENIEC,
            address="Jr. Demo 456, Lima",
        ),
    )
    for code, name, letter in (
        ("orientacion", "Orientación legal", "A"),
        ("victimas", "Defensa de víctimas", "V"),
        ("psicologia", "Psicología forense", "S"),
        ("medicina-legal", "Medicina legal", "M"),
        ("trabajo-social", "Trabajo social", "T"),
    ):
        org.create_service(
            session=session,
            actor=actor,
            sede_id=DEMO_MEGA,
            data=ServiceCreate(code=code, name=name, letter=letter),
        )
    for code, number, services in (
        ("v1", 1, {"orientacion": 2, "victimas": 1}),
        ("v2", 2, {"victimas": 1, "orientacion": 1}),
        ("c1", 3, {"psicologia": 1}),
        ("c2", 4, {"medicina-legal": 1}),
        ("c3", 5, {"trabajo-social": 1}),
    ):
        name = f"Ventanilla {number}" if code.startswith("v") else f"Consultorio {number - 2}"
        org.create_counter(
            session=session,
            actor=actor,
            sede_id=DEMO_MEGA,
            data=CounterCreate(code=code, name=name, number=number, services=services),
        )
    org.set_hours(
        session=session,
        actor=actor,
        sede_id=DEMO_MEGA,
        hours=[
            HoursItem(weekdays=[0, 1, 2, 3, 4], opens=time(8), closes=time(17)),
        ],
    )

    report = SeedReport(created=True)
    ph = password_hasher(settings)
    for data in DEMO_USERS:
        user = users.create_user(
            session=session,
            actor=actor,
            data=data,
            ph=ph,
            check_assignable=False,
            min_password_length=settings.password_min_length,
            must_change_password=False,
        )
        if user.username in DEMO_TOTP:
            user.totp_secret = DEMO_TOTP[user.username]
            session.add(user)
            report.totp[user.username] = DEMO_TOTP[user.username]
        report.users.append(
            (user.username, ",".join(p.value for p in data.profiles), data.password)
        )
    session.flush()
    # Module 01: plans for the professionals and hand-entered activities (supervision figures)
    from central.activities.seed import seed_demo_activities
    from central.activities.service import lima_today

    seed_demo_activities(session=session, actor=actor, today=lima_today())
    return report
