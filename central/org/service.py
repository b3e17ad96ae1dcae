"""Rules of the organisation: districts, sedes, service catalogue, counters, hours and queue
policy. Every change bumps the sede's revision (hubs notice new configuration) and is audited.
Functions take keyword-only arguments, session first, and never commit.

``area`` (central.auth.policy.Area) limits what the caller may see or touch; ``None`` means no
limit (CLI and internal callers).
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from central.audit import service as audit
from central.auth.policy import Area
from central.domain.actor import Actor
from central.domain.clock import utcnow
from central.domain.errors import (
    Conflict,
    Duplicate,
    FieldError,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from central.org.models import Counter, CounterService, District, OpeningHours, Sede, SedeService
from central.org.schemas import (
    CounterCreate,
    CounterRead,
    CounterUpdate,
    DistrictCreate,
    DistrictUpdate,
    HoursItem,
    QueuePolicyUpdate,
    SedeCreate,
    SedeUpdate,
    ServiceCreate,
    ServiceUpdate,
)
from contracts.sedeconf import (
    CounterConf,
    HoursConf,
    QueuePolicyConf,
    SedeConf,
    ServiceConf,
    StaffConf,
)

# ------------------------------------------------------------------------------- districts


def _district_snapshot(district: District) -> dict[str, Any]:
    return {"id": district.id, "name": district.name}


def list_districts(*, session: Session, area: Area | None = None) -> list[District]:
    query = select(District).order_by(col(District.name))
    if area is not None:
        query = query.where(area.where(district_column=District.id))
    return list(session.exec(query).all())


def get_district(*, session: Session, district_id: str, area: Area | None = None) -> District:
    district = session.get(District, district_id)
    if district is None or (area is not None and not area.contains(district_id=district.id)):
        raise NotFound("La dirección distrital no existe.")
    return district


def create_district(*, session: Session, actor: Actor, data: DistrictCreate) -> District:
    if session.get(District, data.id) is not None:
        raise Duplicate(
            "Ya existe una dirección distrital con ese código.",
            fields=[FieldError("id", "código repetido")],
        )
    district = District(id=data.id, name=data.name)
    session.add(district)
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="district.create",
        entity="district",
        entity_id=district.id,
        after=_district_snapshot(district),
    )
    return district


def update_district(
    *,
    session: Session,
    actor: Actor,
    district_id: str,
    data: DistrictUpdate,
    area: Area | None = None,
) -> District:
    district = get_district(session=session, district_id=district_id, area=area)
    before = _district_snapshot(district)
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    for key, value in changes.items():
        setattr(district, key, value)
    if changes:
        district.revision += 1
        district.updated_at = utcnow()
        session.add(district)
        session.flush()
        audit.record(
            session=session,
            actor=actor,
            action="district.update",
            entity="district",
            entity_id=district.id,
            before=before,
            after=_district_snapshot(district),
        )
    return district


# ----------------------------------------------------------------------------------- sedes


def sede_snapshot(sede: Sede) -> dict[str, Any]:
    return {
        "id": sede.id,
        "district_id": sede.district_id,
        "name": sede.name,
        "kind": sede.kind,
        "ubigeo": sede.ubigeo,
        "ubigeo_scheme": sede.ubigeo_scheme,
        "address": sede.address,
        "active": sede.active,
    }


def list_sedes(
    *, session: Session, area: Area | None = None, district_id: str | None = None
) -> list[Sede]:
    query = select(Sede).order_by(col(Sede.name))
    if area is not None:
        query = query.where(area.where(sede_column=Sede.id))
    if district_id:
        query = query.where(Sede.district_id == district_id)
    return list(session.exec(query).all())


def get_sede(*, session: Session, sede_id: str, area: Area | None = None) -> Sede:
    sede = session.get(Sede, sede_id)
    if sede is None or (
        area is not None and not area.contains(sede_id=sede.id, district_id=sede.district_id)
    ):
        raise NotFound("La sede no existe.")
    return sede


def _touch(sede: Sede) -> None:
    sede.revision += 1
    sede.updated_at = utcnow()


def create_sede(
    *, session: Session, actor: Actor, data: SedeCreate, area: Area | None = None
) -> Sede:
    district = session.get(District, data.district_id)
    if district is None:
        raise ValidationFailed(
            fields=[FieldError("district_id", "La dirección distrital no existe.")]
        )
    if area is not None and not area.contains(district_id=district.id):
        raise PermissionDenied()
    if session.get(Sede, data.id) is not None:
        raise Duplicate(
            "Ya existe una sede con ese código.", fields=[FieldError("id", "código repetido")]
        )
    sede = Sede(
        id=data.id,
        district_id=data.district_id,
        name=data.name,
        kind=data.kind.value,
        ubigeo=data.ubigeo,
        ubigeo_scheme=data.ubigeo_scheme.value,
        address=data.address,
        timezone=data.timezone,
        queue_policy=QueuePolicyConf().model_dump(mode="json"),
    )
    session.add(sede)
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="sede.create",
        entity="sede",
        entity_id=sede.id,
        sede_id=sede.id,
        after=sede_snapshot(sede),
    )
    return sede


def update_sede(
    *, session: Session, actor: Actor, sede_id: str, data: SedeUpdate, area: Area | None = None
) -> Sede:
    sede = get_sede(session=session, sede_id=sede_id, area=area)
    before = sede_snapshot(sede)
    changes = data.model_dump(exclude_unset=True, exclude_none=True, mode="json")
    for key, value in changes.items():
        setattr(sede, key, value)
    if changes:
        _touch(sede)
        session.add(sede)
        session.flush()
        audit.record(
            session=session,
            actor=actor,
            action="sede.update",
            entity="sede",
            entity_id=sede.id,
            sede_id=sede.id,
            before=before,
            after=sede_snapshot(sede),
        )
    return sede


# --------------------------------------------------------------------------------- services


def list_services(*, session: Session, sede_id: str, area: Area | None = None) -> list[SedeService]:
    get_sede(session=session, sede_id=sede_id, area=area)
    return list(
        session.exec(
            select(SedeService)
            .where(SedeService.sede_id == sede_id)
            .order_by(col(SedeService.position), col(SedeService.code))
        ).all()
    )


def _service(session: Session, sede_id: str, code: str) -> SedeService:
    service = session.exec(
        select(SedeService).where(SedeService.sede_id == sede_id, SedeService.code == code)
    ).first()
    if service is None:
        raise NotFound("El servicio no existe en esta sede.")
    return service


def _service_snapshot(service: SedeService) -> dict[str, Any]:
    return {
        "code": service.code,
        "name": service.name,
        "letter": service.letter,
        "position": service.position,
    }


def _check_letter_free(
    session: Session, sede_id: str, letter: str, except_code: str | None = None
) -> None:
    other = session.exec(
        select(SedeService).where(SedeService.sede_id == sede_id, SedeService.letter == letter)
    ).first()
    if other is not None and other.code != except_code:
        raise Duplicate(
            "Otra cola de la sede ya usa esa letra.",
            fields=[FieldError("letter", "letra repetida")],
        )


def create_service(
    *, session: Session, actor: Actor, sede_id: str, data: ServiceCreate, area: Area | None = None
) -> SedeService:
    sede = get_sede(session=session, sede_id=sede_id, area=area)
    exists = session.exec(
        select(SedeService).where(SedeService.sede_id == sede_id, SedeService.code == data.code)
    ).first()
    if exists is not None:
        raise Duplicate(
            "Ya existe un servicio con ese código en la sede.",
            fields=[FieldError("code", "código repetido")],
        )
    _check_letter_free(session, sede_id, data.letter)
    count = len(list_services(session=session, sede_id=sede_id))
    service = SedeService(
        sede_id=sede_id, code=data.code, name=data.name, letter=data.letter, position=count
    )
    session.add(service)
    _touch(sede)
    session.add(sede)
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="sede_service.create",
        entity="sede_service",
        entity_id=f"{sede_id}/{service.code}",
        sede_id=sede_id,
        after=_service_snapshot(service),
    )
    return service


def update_service(
    *,
    session: Session,
    actor: Actor,
    sede_id: str,
    code: str,
    data: ServiceUpdate,
    area: Area | None = None,
) -> SedeService:
    sede = get_sede(session=session, sede_id=sede_id, area=area)
    service = _service(session, sede_id, code)
    before = _service_snapshot(service)
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    if "letter" in changes:
        _check_letter_free(session, sede_id, changes["letter"], except_code=code)
    for key, value in changes.items():
        setattr(service, key, value)
    if changes:
        _touch(sede)
        session.add_all([service, sede])
        session.flush()
        audit.record(
            session=session,
            actor=actor,
            action="sede_service.update",
            entity="sede_service",
            entity_id=f"{sede_id}/{code}",
            sede_id=sede_id,
            before=before,
            after=_service_snapshot(service),
        )
    return service


def delete_service(
    *, session: Session, actor: Actor, sede_id: str, code: str, area: Area | None = None
) -> None:
    sede = get_sede(session=session, sede_id=sede_id, area=area)
    service = _service(session, sede_id, code)
    in_use = session.exec(
        select(CounterService).where(CounterService.service_id == service.id)
    ).first()
    if in_use is not None:
        raise Conflict("El servicio está asignado a una ventanilla; quítelo de ella primero.")
    if len(list_services(session=session, sede_id=sede_id)) <= 1:
        raise Conflict("La sede debe tener al menos un servicio.")
    before = _service_snapshot(service)
    session.delete(service)
    _touch(sede)
    session.add(sede)
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="sede_service.delete",
        entity="sede_service",
        entity_id=f"{sede_id}/{code}",
        sede_id=sede_id,
        before=before,
    )


# --------------------------------------------------------------------------------- counters


def _counter_read(session: Session, counter: Counter) -> CounterRead:
    rows = session.exec(
        select(SedeService.code, CounterService.weight)
        .join(CounterService, col(CounterService.service_id) == col(SedeService.id))
        .where(CounterService.counter_id == counter.id)
        .order_by(col(SedeService.position), col(SedeService.code))
    ).all()
    return CounterRead(
        code=counter.code,
        name=counter.name,
        number=counter.number,
        services={code: weight for code, weight in rows},
    )


def list_counters(*, session: Session, sede_id: str, area: Area | None = None) -> list[CounterRead]:
    get_sede(session=session, sede_id=sede_id, area=area)
    counters = session.exec(
        select(Counter).where(Counter.sede_id == sede_id).order_by(col(Counter.number))
    ).all()
    return [_counter_read(session, counter) for counter in counters]


def _counter(session: Session, sede_id: str, code: str) -> Counter:
    counter = session.exec(
        select(Counter).where(Counter.sede_id == sede_id, Counter.code == code)
    ).first()
    if counter is None:
        raise NotFound("La ventanilla no existe en esta sede.")
    return counter


def _set_counter_services(session: Session, counter: Counter, services: dict[str, int]) -> None:
    by_code = {
        s.code: s
        for s in session.exec(
            select(SedeService).where(SedeService.sede_id == counter.sede_id)
        ).all()
    }
    unknown = [code for code in services if code not in by_code]
    if unknown:
        raise ValidationFailed(
            fields=[
                FieldError(f"services.{code}", "servicio desconocido en esta sede")
                for code in unknown
            ]
        )
    for link in session.exec(
        select(CounterService).where(CounterService.counter_id == counter.id)
    ).all():
        session.delete(link)
    session.flush()
    for code, weight in services.items():
        session.add(
            CounterService(counter_id=counter.id, service_id=by_code[code].id, weight=weight)
        )


def _check_number_free(
    session: Session, sede_id: str, number: int, except_code: str | None = None
) -> None:
    other = session.exec(
        select(Counter).where(Counter.sede_id == sede_id, Counter.number == number)
    ).first()
    if other is not None and other.code != except_code:
        raise Duplicate(
            "Otra ventanilla ya tiene ese número.", fields=[FieldError("number", "número repetido")]
        )


def create_counter(
    *, session: Session, actor: Actor, sede_id: str, data: CounterCreate, area: Area | None = None
) -> CounterRead:
    sede = get_sede(session=session, sede_id=sede_id, area=area)
    if session.exec(
        select(Counter).where(Counter.sede_id == sede_id, Counter.code == data.code)
    ).first():
        raise Duplicate(
            "Ya existe una ventanilla con ese código.",
            fields=[FieldError("code", "código repetido")],
        )
    _check_number_free(session, sede_id, data.number)
    counter = Counter(sede_id=sede_id, code=data.code, name=data.name, number=data.number)
    session.add(counter)
    session.flush()
    _set_counter_services(session, counter, data.services)
    _touch(sede)
    session.add(sede)
    session.flush()
    result = _counter_read(session, counter)
    audit.record(
        session=session,
        actor=actor,
        action="counter.create",
        entity="counter",
        entity_id=f"{sede_id}/{counter.code}",
        sede_id=sede_id,
        after=result.model_dump(),
    )
    return result


def update_counter(
    *,
    session: Session,
    actor: Actor,
    sede_id: str,
    code: str,
    data: CounterUpdate,
    area: Area | None = None,
) -> CounterRead:
    sede = get_sede(session=session, sede_id=sede_id, area=area)
    counter = _counter(session, sede_id, code)
    before = _counter_read(session, counter)
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    if "number" in changes:
        _check_number_free(session, sede_id, changes["number"], except_code=code)
    if "name" in changes:
        counter.name = changes["name"]
    if "number" in changes:
        counter.number = changes["number"]
    if "services" in changes:
        _set_counter_services(session, counter, changes["services"])
    if changes:
        _touch(sede)
        session.add_all([counter, sede])
        session.flush()
    result = _counter_read(session, counter)
    if changes:
        audit.record(
            session=session,
            actor=actor,
            action="counter.update",
            entity="counter",
            entity_id=f"{sede_id}/{code}",
            sede_id=sede_id,
            before=before.model_dump(),
            after=result.model_dump(),
        )
    return result


def delete_counter(
    *, session: Session, actor: Actor, sede_id: str, code: str, area: Area | None = None
) -> None:
    sede = get_sede(session=session, sede_id=sede_id, area=area)
    counter = _counter(session, sede_id, code)
    before = _counter_read(session, counter)
    for link in session.exec(
        select(CounterService).where(CounterService.counter_id == counter.id)
    ).all():
        session.delete(link)
    session.flush()
    session.delete(counter)
    _touch(sede)
    session.add(sede)
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="counter.delete",
        entity="counter",
        entity_id=f"{sede_id}/{code}",
        sede_id=sede_id,
        before=before.model_dump(),
    )


# ------------------------------------------------------------------------ hours and policy


def list_hours(*, session: Session, sede_id: str, area: Area | None = None) -> list[HoursItem]:
    get_sede(session=session, sede_id=sede_id, area=area)
    rows = session.exec(
        select(OpeningHours)
        .where(OpeningHours.sede_id == sede_id)
        .order_by(col(OpeningHours.weekdays), col(OpeningHours.opens))
    ).all()
    return [
        HoursItem(
            weekdays=[int(d) for d in row.weekdays.split(",") if d],
            opens=row.opens,
            closes=row.closes,
        )
        for row in rows
    ]


def set_hours(
    *,
    session: Session,
    actor: Actor,
    sede_id: str,
    hours: list[HoursItem],
    area: Area | None = None,
) -> list[HoursItem]:
    sede = get_sede(session=session, sede_id=sede_id, area=area)
    before = [h.model_dump(mode="json") for h in list_hours(session=session, sede_id=sede_id)]
    for row in session.exec(select(OpeningHours).where(OpeningHours.sede_id == sede_id)).all():
        session.delete(row)
    session.flush()
    for item in hours:
        session.add(
            OpeningHours(
                sede_id=sede_id,
                weekdays=",".join(str(d) for d in item.weekdays),
                opens=item.opens,
                closes=item.closes,
            )
        )
    _touch(sede)
    session.add(sede)
    session.flush()
    after = list_hours(session=session, sede_id=sede_id)
    audit.record(
        session=session,
        actor=actor,
        action="sede_hours.set",
        entity="sede",
        entity_id=sede_id,
        sede_id=sede_id,
        before=before,
        after=[h.model_dump(mode="json") for h in after],
    )
    return after


def get_queue_policy(
    *, session: Session, sede_id: str, area: Area | None = None
) -> QueuePolicyConf:
    sede = get_sede(session=session, sede_id=sede_id, area=area)
    return QueuePolicyConf.model_validate(sede.queue_policy or {})


def set_queue_policy(
    *,
    session: Session,
    actor: Actor,
    sede_id: str,
    policy: QueuePolicyUpdate,
    area: Area | None = None,
) -> QueuePolicyConf:
    sede = get_sede(session=session, sede_id=sede_id, area=area)
    before = dict(sede.queue_policy or {})
    sede.queue_policy = QueuePolicyConf.model_validate(policy.model_dump(mode="json")).model_dump(
        mode="json"
    )
    _touch(sede)
    session.add(sede)
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="sede_queue_policy.set",
        entity="sede",
        entity_id=sede_id,
        sede_id=sede_id,
        before=before,
        after=sede.queue_policy,
    )
    return QueuePolicyConf.model_validate(sede.queue_policy)


# ------------------------------------------------------------------------------ hub config


def hub_config(
    *,
    session: Session,
    sede_id: str,
    area: Area | None = None,
    staff: list[StaffConf] | None = None,
) -> SedeConf:
    """Everything the sede's hub needs, in the shape of its TOML file (hub.config.SedeConfig)."""
    sede = get_sede(session=session, sede_id=sede_id, area=area)
    services = list_services(session=session, sede_id=sede_id)
    counters = list_counters(session=session, sede_id=sede_id)
    hours = list_hours(session=session, sede_id=sede_id)
    return SedeConf(
        id=sede.id,
        name=sede.name,
        kind=sede.kind,
        timezone=sede.timezone,
        services=[ServiceConf(code=s.code, name=s.name, letter=s.letter) for s in services],
        counters=[
            CounterConf(id=c.code, name=c.name, number=c.number, services=c.services)
            for c in counters
        ],
        hours=[HoursConf(weekdays=h.weekdays, opens=h.opens, closes=h.closes) for h in hours],
        queue=QueuePolicyConf.model_validate(sede.queue_policy or {}),
        staff=staff or [],
    )
