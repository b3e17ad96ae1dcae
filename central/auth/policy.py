"""The authorization policy, declared once as data: profile × action × reach.

A user holds one or more profiles and one scope (a sede, a district or the whole country). A
grant ``(profile, action) -> Reach`` lets the user do the action either within their assigned
scope (``ASSIGNED``) or everywhere (``NATIONAL``). Routes apply it with ``require(action)``
(central.auth.deps), which also hands the view the ``Area`` its queries must be limited to.
The permission-matrix test is generated from these tables.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import ColumnElement, false, or_, select, true

from central.domain.actor import Actor


class Profile(StrEnum):
    DEFENSOR_PUBLICO = "defensor_publico"
    CONCILIADOR = "conciliador"
    ABOGADO_VERIFICADOR = "abogado_verificador"
    TRABAJADOR_SOCIAL = "trabajador_social"
    PSICOLOGO = "psicologo"
    MEDICO_LEGISTA = "medico_legista"
    PERITO = "perito"
    ORIENTADOR = "orientador"
    COORDINADOR_SEDE = "coordinador_sede"
    DIRECTOR_DISTRITAL = "director_distrital"
    ADMINISTRADOR_NACIONAL = "administrador_nacional"
    AUDITOR = "auditor"


PROFILE_LABELS_ES: dict[Profile, str] = {
    Profile.DEFENSOR_PUBLICO: "Defensor público",
    Profile.CONCILIADOR: "Conciliador",
    Profile.ABOGADO_VERIFICADOR: "Abogado verificador",
    Profile.TRABAJADOR_SOCIAL: "Trabajador social",
    Profile.PSICOLOGO: "Psicólogo",
    Profile.MEDICO_LEGISTA: "Médico legista",
    Profile.PERITO: "Perito criminalístico",
    Profile.ORIENTADOR: "Orientador / recepción",
    Profile.COORDINADOR_SEDE: "Coordinador de sede",
    Profile.DIRECTOR_DISTRITAL: "Director distrital",
    Profile.ADMINISTRADOR_NACIONAL: "Administrador nacional",
    Profile.AUDITOR: "Auditor",
}

# Profiles that administer people, devices or the audit trail: a second factor (TOTP) is
# mandatory for any account holding one of them.
ADMINISTRATIVE_PROFILES: frozenset[Profile] = frozenset(
    {
        Profile.COORDINADOR_SEDE,
        Profile.DIRECTOR_DISTRITAL,
        Profile.ADMINISTRADOR_NACIONAL,
        Profile.AUDITOR,
    }
)


class ScopeKind(StrEnum):
    SEDE = "sede"
    DISTRICT = "district"
    NATIONAL = "national"


SCOPE_LABELS_ES = {
    ScopeKind.SEDE: "Sede",
    ScopeKind.DISTRICT: "Distrito",
    ScopeKind.NATIONAL: "Nacional",
}

# Which scope kinds an account holding the profile may have (validated on create/update).
ALLOWED_SCOPES: dict[Profile, frozenset[ScopeKind]] = {
    **{
        profile: frozenset({ScopeKind.SEDE, ScopeKind.DISTRICT})
        for profile in (
            Profile.DEFENSOR_PUBLICO,
            Profile.CONCILIADOR,
            Profile.ABOGADO_VERIFICADOR,
            Profile.TRABAJADOR_SOCIAL,
            Profile.PSICOLOGO,
            Profile.MEDICO_LEGISTA,
            Profile.PERITO,
            Profile.ORIENTADOR,
        )
    },
    Profile.COORDINADOR_SEDE: frozenset({ScopeKind.SEDE}),
    Profile.DIRECTOR_DISTRITAL: frozenset({ScopeKind.DISTRICT}),
    Profile.ADMINISTRADOR_NACIONAL: frozenset({ScopeKind.NATIONAL}),
    Profile.AUDITOR: frozenset({ScopeKind.NATIONAL}),
}


class Reach(StrEnum):
    ASSIGNED = "assigned"  # within the user's own sede / district / country
    NATIONAL = "national"  # everywhere, whatever the user's scope


# Every action a route may require, with its Spanish description (shown in the web UI).
ACTIONS: dict[str, str] = {
    "districts.read": "Ver direcciones distritales",
    "districts.write": "Crear y modificar direcciones distritales",
    "sedes.read": "Ver sedes y su configuración",
    "sedes.create": "Crear sedes",
    "sedes.update": "Modificar datos de una sede",
    "sedes.configure": "Configurar servicios, ventanillas, horarios y cola de una sede",
    "users.read": "Ver usuarios",
    "users.create": "Crear usuarios",
    "users.update": "Modificar usuarios, perfiles y alcance; desbloquear cuentas",
    "devices.read": "Ver dispositivos de sede",
    "devices.enroll": "Emitir códigos de registro de dispositivos",
    "devices.revoke": "Dar de baja dispositivos",
    # hub <-> central synchronisation (central.sync): hubs themselves use their device
    # credential, not these; these are for the people who watch and steer it
    "sync.read": "Ver el estado de sincronización de las sedes, conflictos y eventos rechazados",
    "sync.resolve": "Resolver conflictos de sincronización y corregir fichas de atención de sede",
    "sync.publish": "Publicar citas y mensajes de pantalla para las sedes",
    "audit.read": "Consultar la auditoría",
    "audit.export": "Exportar la auditoría",
    "sensitive.read": "Leer datos sensibles (informes psicológicos, médicos, socioeconómicos, víctimas)",
    "sensitive.write": "Registrar datos sensibles",
    # Module 02: citizens and case files
    "citizens.read": "Ver el registro de ciudadanos",
    "citizens.write": "Registrar y modificar ciudadanos",
    "citizens.merge": "Fusionar registros duplicados de ciudadanos",
    "income.read": "Leer declaraciones juradas de situación económica (datos sensibles)",
    "income.write": "Registrar declaraciones juradas de situación económica",
    "income.verify": "Verificar declaraciones juradas y emitir la resolución de no gratuidad",
    "cases.read": "Ver expedientes",
    "cases.write": "Abrir expedientes y registrar actuaciones, plazos, derivaciones y documentos",
    "cases.sensitive": "Ver las partes reservadas de un expediente (víctimas, menores, documentos reservados)",
    "cases.supervise": "Supervisar expedientes: plazos vencidos e ingesta de atenciones de sede",
    # Module 01: activity programming and supervision
    "activities.read": "Ver la programación mensual y las actividades registradas",
    "activities.plan": "Programar metas mensuales de los profesionales de una sede",
    "activities.record": "Registrar actividades (charlas, campañas, capacitaciones, visitas)",
    "supervision.read": "Supervisar lo programado frente a lo ejecutado, productividad y carga; exportar",
    # Module 04: extrajudicial conciliation
    "conciliation.read": "Ver expedientes de conciliación, actas y la bandeja del conciliador",
    "conciliation.write": "Registrar solicitudes, sesiones, invitaciones, asistencia, acuerdos y emitir actas",
    "conciliation.designate": "Designar conciliador y abogado verificador; registrar sus datos de registro",
    "conciliation.verify": "Dar conformidad al acta como abogado verificador",
    "conciliation.registry": "Ver y exportar el registro de actas; anular números con su motivo",
    # Module 05: multidisciplinary services (content readable only by the assigned
    # professional, their supervisor and the requester, whatever the grant)
    "md.request": "Solicitar servicios multidisciplinarios (evaluaciones, pericias, informes)",
    "md.read": "Ver solicitudes de servicios multidisciplinarios y su estado",
    "md.assign": "Asignar solicitudes a profesionales de la sede o derivarlas a otra sede",
    "md.work": "Atender solicitudes: agenda, sesiones, informes, firma, indicios, ficha socioeconómica",
    "md.content": "Leer el contenido de informes, fichas e indicios (si es asignado, supervisor o solicitante)",
    "md.supervise": "Ver la producción de los profesionales multidisciplinarios y exportarla",
    "md.who_saw": "Consultar quién vio qué datos sensibles de una persona",
}

# Reads of these actions are themselves written to the audit log.
SENSITIVE_ACTIONS: frozenset[str] = frozenset(
    {"sensitive.read", "audit.read", "audit.export", "income.read", "cases.sensitive"}
)

_STAFF = (
    Profile.DEFENSOR_PUBLICO,
    Profile.CONCILIADOR,
    Profile.ABOGADO_VERIFICADOR,
    Profile.ORIENTADOR,
)
_SENSITIVE_STAFF = (
    Profile.TRABAJADOR_SOCIAL,
    Profile.PSICOLOGO,
    Profile.MEDICO_LEGISTA,
    Profile.PERITO,
)
_A, _N = Reach.ASSIGNED, Reach.NATIONAL
_ADMIN, _DIR, _COORD, _AUD = (
    Profile.ADMINISTRADOR_NACIONAL,
    Profile.DIRECTOR_DISTRITAL,
    Profile.COORDINADOR_SEDE,
    Profile.AUDITOR,
)

POLICY: dict[str, dict[Profile, Reach]] = {
    "districts.read": {_ADMIN: _N, _AUD: _N, _DIR: _A},
    "districts.write": {_ADMIN: _N},
    "sedes.read": {
        _ADMIN: _N,
        _AUD: _N,
        _DIR: _A,
        _COORD: _A,
        **{p: _A for p in _STAFF + _SENSITIVE_STAFF},
    },
    "sedes.create": {_ADMIN: _N},
    "sedes.update": {_ADMIN: _N, _DIR: _A},
    "sedes.configure": {_ADMIN: _N, _DIR: _A, _COORD: _A},
    "users.read": {_ADMIN: _N, _AUD: _N, _DIR: _A, _COORD: _A},
    "users.create": {_ADMIN: _N, _DIR: _A, _COORD: _A},
    "users.update": {_ADMIN: _N, _DIR: _A, _COORD: _A},
    "devices.read": {_ADMIN: _N, _AUD: _N, _DIR: _A, _COORD: _A},
    "devices.enroll": {_ADMIN: _N, _DIR: _A, _COORD: _A},
    "devices.revoke": {_ADMIN: _N, _DIR: _A, _COORD: _A},
    "sync.read": {_ADMIN: _N, _AUD: _N, _DIR: _A, _COORD: _A},
    "sync.resolve": {_ADMIN: _N, _DIR: _A, _COORD: _A},
    "sync.publish": {_ADMIN: _N, _DIR: _A, _COORD: _A},
    "audit.read": {_AUD: _N},
    "audit.export": {_AUD: _N},
    # sensitive data: only the professionals who produce it, in their own scope. Administrators
    # and coordinators deliberately cannot read it.
    "sensitive.read": {p: _A for p in _SENSITIVE_STAFF},
    "sensitive.write": {p: _A for p in _SENSITIVE_STAFF},
    # Module 02 (central.citizens, central.cases): staff work on their own sede's people and
    # files; supervisors see their sede/district; income and victim data need explicit grants.
    "citizens.read": {
        _ADMIN: _N,
        _DIR: _A,
        _COORD: _A,
        **{p: _A for p in _STAFF + _SENSITIVE_STAFF},
    },
    "citizens.write": {_ADMIN: _N, _COORD: _A, **{p: _A for p in _STAFF + _SENSITIVE_STAFF}},
    "citizens.merge": {_ADMIN: _N, _DIR: _A, _COORD: _A},
    "income.read": {Profile.ABOGADO_VERIFICADOR: _A, Profile.TRABAJADOR_SOCIAL: _A},
    "income.write": {
        Profile.ABOGADO_VERIFICADOR: _A,
        Profile.TRABAJADOR_SOCIAL: _A,
        Profile.DEFENSOR_PUBLICO: _A,
        Profile.ORIENTADOR: _A,
    },
    "income.verify": {Profile.ABOGADO_VERIFICADOR: _A, Profile.TRABAJADOR_SOCIAL: _A},
    "cases.read": {_ADMIN: _N, _DIR: _A, _COORD: _A, **{p: _A for p in _STAFF + _SENSITIVE_STAFF}},
    "cases.write": {_COORD: _A, **{p: _A for p in _STAFF + _SENSITIVE_STAFF}},
    "cases.sensitive": {
        Profile.DEFENSOR_PUBLICO: _A,
        Profile.ABOGADO_VERIFICADOR: _A,
        **{p: _A for p in _SENSITIVE_STAFF},
    },
    "cases.supervise": {_ADMIN: _N, _DIR: _A, _COORD: _A},
    # Module 01 (central.activities): coordinators programme their sede, directors their
    # district; professionals see their sede's programme and record their own activities.
    "activities.read": {
        _ADMIN: _N,
        _DIR: _A,
        _COORD: _A,
        **{p: _A for p in _STAFF + _SENSITIVE_STAFF},
    },
    "activities.plan": {_ADMIN: _N, _DIR: _A, _COORD: _A},
    "activities.record": {_DIR: _A, _COORD: _A, **{p: _A for p in _STAFF + _SENSITIVE_STAFF}},
    "supervision.read": {_ADMIN: _N, _DIR: _A, _COORD: _A},
    # Module 04 (central.conciliation): conciliators run their files, the coordinator
    # designates and keeps the registry, the verifying lawyer approves actas.
    "conciliation.read": {
        _ADMIN: _N,
        _DIR: _A,
        _COORD: _A,
        Profile.CONCILIADOR: _A,
        Profile.ABOGADO_VERIFICADOR: _A,
    },
    "conciliation.write": {_COORD: _A, Profile.CONCILIADOR: _A},
    "conciliation.designate": {_COORD: _A},
    "conciliation.verify": {Profile.ABOGADO_VERIFICADOR: _A},
    "conciliation.registry": {_ADMIN: _N, _DIR: _A, _COORD: _A, Profile.ABOGADO_VERIFICADOR: _A},
    # Module 05 (central.multidisciplinary): defenders and conciliators ask, the coordinator
    # assigns or derives, the professionals work; reading content further needs a relation to
    # the request (service.may_read_content).
    "md.request": {
        _COORD: _A,
        Profile.DEFENSOR_PUBLICO: _A,
        Profile.CONCILIADOR: _A,
        Profile.ABOGADO_VERIFICADOR: _A,
    },
    "md.read": {
        _ADMIN: _N,
        _DIR: _A,
        _COORD: _A,
        **{p: _A for p in _STAFF + _SENSITIVE_STAFF},
    },
    "md.assign": {_DIR: _A, _COORD: _A},
    "md.work": {p: _A for p in _SENSITIVE_STAFF},
    "md.content": {
        _DIR: _A,
        _COORD: _A,
        Profile.DEFENSOR_PUBLICO: _A,
        Profile.CONCILIADOR: _A,
        Profile.ABOGADO_VERIFICADOR: _A,
        **{p: _A for p in _SENSITIVE_STAFF},
    },
    "md.supervise": {_ADMIN: _N, _DIR: _A, _COORD: _A},
    "md.who_saw": {_AUD: _N, _DIR: _A, _COORD: _A},
}

# Which profiles a holder of a profile may grant (no privilege escalation through user admin).
_SEDE_STAFF = frozenset(_STAFF + _SENSITIVE_STAFF)
ASSIGNABLE_PROFILES: dict[Profile, frozenset[Profile]] = {
    _ADMIN: frozenset(Profile),
    _DIR: _SEDE_STAFF | {_COORD},
    _COORD: _SEDE_STAFF,
}

assert set(POLICY) == set(ACTIONS), "every action has a policy row and a description"


@dataclass(frozen=True)
class Area:
    """Where a permission applies: the whole country, or some districts and sedes."""

    national: bool = False
    district_ids: frozenset[str] = frozenset()
    sede_ids: frozenset[str] = frozenset()

    @property
    def empty(self) -> bool:
        return not (self.national or self.district_ids or self.sede_ids)

    def union(self, other: Area) -> Area:
        return Area(
            self.national or other.national,
            self.district_ids | other.district_ids,
            self.sede_ids | other.sede_ids,
        )

    def contains(self, *, sede_id: str | None = None, district_id: str | None = None) -> bool:
        """A record of sede ``sede_id`` in district ``district_id`` (give both when known)."""
        if self.national:
            return True
        return (sede_id is not None and sede_id in self.sede_ids) or (
            district_id is not None and district_id in self.district_ids
        )

    def where(self, sede_column=None, district_column=None) -> ColumnElement[bool]:  # noqa: ANN001
        """SQL condition keeping rows inside the area. ``sede_column`` rows are matched by the
        sede itself or by the sede's district; ``district_column`` rows by their district."""
        if self.national:
            return true()
        from central.org.models import Sede  # local: policy is imported by org

        clauses = []
        if sede_column is not None:
            if self.sede_ids:
                clauses.append(sede_column.in_(sorted(self.sede_ids)))
            if self.district_ids:
                clauses.append(
                    sede_column.in_(
                        select(Sede.id).where(Sede.district_id.in_(sorted(self.district_ids)))
                    )
                )
        if district_column is not None and self.district_ids:
            clauses.append(district_column.in_(sorted(self.district_ids)))
        return or_(*clauses) if clauses else false()


NOWHERE = Area()
EVERYWHERE = Area(national=True)


def actor_area(actor: Actor) -> Area:
    """The area of the actor's assigned scope."""
    if actor.scope_kind == ScopeKind.NATIONAL:
        return EVERYWHERE
    if actor.scope_kind == ScopeKind.DISTRICT and actor.district_id:
        return Area(district_ids=frozenset({actor.district_id}))
    if actor.scope_kind == ScopeKind.SEDE and actor.sede_id:
        return Area(sede_ids=frozenset({actor.sede_id}))
    return NOWHERE


def area_for(actor: Actor, action: str) -> Area:
    """The union, over the actor's profiles, of where the policy lets them do ``action``."""
    if action not in POLICY:
        raise KeyError(f"undeclared action {action!r}")
    grants = POLICY[action]
    area = NOWHERE
    for name in actor.profiles:
        try:
            reach = grants.get(Profile(name))
        except ValueError:
            continue
        if reach is Reach.NATIONAL:
            return EVERYWHERE
        if reach is Reach.ASSIGNED:
            area = area.union(actor_area(actor))
    return area


def can(
    actor: Actor, action: str, *, sede_id: str | None = None, district_id: str | None = None
) -> bool:
    return area_for(actor, action).contains(sede_id=sede_id, district_id=district_id)


def assignable_profiles(actor: Actor) -> frozenset[Profile]:
    allowed: frozenset[Profile] = frozenset()
    for name in actor.profiles:
        try:
            allowed |= ASSIGNABLE_PROFILES.get(Profile(name), frozenset())
        except ValueError:
            continue
    return allowed


def requires_totp(profiles: Iterable[str]) -> bool:
    return any(p in ADMINISTRATIVE_PROFILES for p in profiles)


def policy_table() -> list[dict[str, str]]:
    """The policy as rows (action, description, profile, reach) for docs and the web UI."""
    return [
        {
            "action": action,
            "description": ACTIONS[action],
            "profile": profile.value,
            "reach": reach.value,
        }
        for action, grants in POLICY.items()
        for profile, reach in grants.items()
    ]
