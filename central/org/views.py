"""HTTP API of the organisation: districts, sedes and each sede's hub configuration."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response

from central.auth.deps import Authorized, SessionDep, require
from central.core.http import ERROR_RESPONSES
from central.org import service
from central.org.schemas import (
    CounterCreate,
    CounterRead,
    CounterUpdate,
    DistrictCreate,
    DistrictRead,
    DistrictUpdate,
    HoursItem,
    HoursUpdate,
    QueuePolicyUpdate,
    SedeCreate,
    SedeRead,
    SedeUpdate,
    ServiceCreate,
    ServiceRead,
    ServiceUpdate,
)
from contracts.sedeconf import QueuePolicyConf, SedeConf

router = APIRouter(tags=["organización"], responses=ERROR_RESPONSES)
SedeId = Annotated[str, Path(max_length=64)]
ItemCode = Annotated[str, Path(max_length=64)]

# ------------------------------------------------------------------------------- districts


@router.get("/districts", response_model=list[DistrictRead])
def list_districts(
    auth: Annotated[Authorized, Depends(require("districts.read"))], session: SessionDep
):
    return service.list_districts(session=session, area=auth.area)


@router.post("/districts", response_model=DistrictRead, status_code=201)
def create_district(
    body: DistrictCreate,
    auth: Annotated[Authorized, Depends(require("districts.write"))],
    session: SessionDep,
):
    district = service.create_district(session=session, actor=auth.actor, data=body)
    session.commit()
    return district


@router.get("/districts/{district_id}", response_model=DistrictRead)
def get_district(
    district_id: ItemCode,
    auth: Annotated[Authorized, Depends(require("districts.read"))],
    session: SessionDep,
):
    return service.get_district(session=session, district_id=district_id, area=auth.area)


@router.patch("/districts/{district_id}", response_model=DistrictRead)
def update_district(
    district_id: ItemCode,
    body: DistrictUpdate,
    auth: Annotated[Authorized, Depends(require("districts.write"))],
    session: SessionDep,
):
    district = service.update_district(
        session=session, actor=auth.actor, district_id=district_id, data=body, area=auth.area
    )
    session.commit()
    return district


# ----------------------------------------------------------------------------------- sedes


@router.get("/sedes", response_model=list[SedeRead])
def list_sedes(auth: Annotated[Authorized, Depends(require("sedes.read"))], session: SessionDep):
    return service.list_sedes(session=session, area=auth.area)


@router.post("/sedes", response_model=SedeRead, status_code=201)
def create_sede(
    body: SedeCreate,
    auth: Annotated[Authorized, Depends(require("sedes.create"))],
    session: SessionDep,
):
    sede = service.create_sede(session=session, actor=auth.actor, data=body, area=auth.area)
    session.commit()
    return sede


@router.get("/sedes/{sede_id}", response_model=SedeRead)
def get_sede(
    sede_id: SedeId,
    auth: Annotated[Authorized, Depends(require("sedes.read"))],
    session: SessionDep,
):
    return service.get_sede(session=session, sede_id=sede_id, area=auth.area)


@router.patch("/sedes/{sede_id}", response_model=SedeRead)
def update_sede(
    sede_id: SedeId,
    body: SedeUpdate,
    auth: Annotated[Authorized, Depends(require("sedes.update"))],
    session: SessionDep,
):
    sede = service.update_sede(
        session=session, actor=auth.actor, sede_id=sede_id, data=body, area=auth.area
    )
    session.commit()
    return sede


@router.get("/sedes/{sede_id}/hub-config", response_model=SedeConf)
def get_hub_config(
    sede_id: SedeId,
    response: Response,
    auth: Annotated[Authorized, Depends(require("sedes.read"))],
    session: SessionDep,
):
    """The sede's configuration in the hub's TOML shape (staff are delivered to devices only)."""
    config = service.hub_config(session=session, sede_id=sede_id, area=auth.area)
    response.headers["ETag"] = f'"{service.get_sede(session=session, sede_id=sede_id).revision}"'
    return config


# -------------------------------------------------------------------------------- services


@router.get("/sedes/{sede_id}/services", response_model=list[ServiceRead])
def list_services(
    sede_id: SedeId,
    auth: Annotated[Authorized, Depends(require("sedes.read"))],
    session: SessionDep,
):
    return service.list_services(session=session, sede_id=sede_id, area=auth.area)


@router.post("/sedes/{sede_id}/services", response_model=ServiceRead, status_code=201)
def create_service(
    sede_id: SedeId,
    body: ServiceCreate,
    auth: Annotated[Authorized, Depends(require("sedes.configure"))],
    session: SessionDep,
):
    item = service.create_service(
        session=session, actor=auth.actor, sede_id=sede_id, data=body, area=auth.area
    )
    session.commit()
    return item


@router.patch("/sedes/{sede_id}/services/{code}", response_model=ServiceRead)
def update_service(
    sede_id: SedeId,
    code: ItemCode,
    body: ServiceUpdate,
    auth: Annotated[Authorized, Depends(require("sedes.configure"))],
    session: SessionDep,
):
    item = service.update_service(
        session=session, actor=auth.actor, sede_id=sede_id, code=code, data=body, area=auth.area
    )
    session.commit()
    return item


@router.delete("/sedes/{sede_id}/services/{code}", status_code=204)
def delete_service(
    sede_id: SedeId,
    code: ItemCode,
    auth: Annotated[Authorized, Depends(require("sedes.configure"))],
    session: SessionDep,
) -> Response:
    service.delete_service(
        session=session, actor=auth.actor, sede_id=sede_id, code=code, area=auth.area
    )
    session.commit()
    return Response(status_code=204)


# -------------------------------------------------------------------------------- counters


@router.get("/sedes/{sede_id}/counters", response_model=list[CounterRead])
def list_counters(
    sede_id: SedeId,
    auth: Annotated[Authorized, Depends(require("sedes.read"))],
    session: SessionDep,
):
    return service.list_counters(session=session, sede_id=sede_id, area=auth.area)


@router.post("/sedes/{sede_id}/counters", response_model=CounterRead, status_code=201)
def create_counter(
    sede_id: SedeId,
    body: CounterCreate,
    auth: Annotated[Authorized, Depends(require("sedes.configure"))],
    session: SessionDep,
):
    item = service.create_counter(
        session=session, actor=auth.actor, sede_id=sede_id, data=body, area=auth.area
    )
    session.commit()
    return item


@router.patch("/sedes/{sede_id}/counters/{code}", response_model=CounterRead)
def update_counter(
    sede_id: SedeId,
    code: ItemCode,
    body: CounterUpdate,
    auth: Annotated[Authorized, Depends(require("sedes.configure"))],
    session: SessionDep,
):
    item = service.update_counter(
        session=session, actor=auth.actor, sede_id=sede_id, code=code, data=body, area=auth.area
    )
    session.commit()
    return item


@router.delete("/sedes/{sede_id}/counters/{code}", status_code=204)
def delete_counter(
    sede_id: SedeId,
    code: ItemCode,
    auth: Annotated[Authorized, Depends(require("sedes.configure"))],
    session: SessionDep,
) -> Response:
    service.delete_counter(
        session=session, actor=auth.actor, sede_id=sede_id, code=code, area=auth.area
    )
    session.commit()
    return Response(status_code=204)


# ------------------------------------------------------------------------ hours and policy


@router.get("/sedes/{sede_id}/hours", response_model=list[HoursItem])
def get_hours(
    sede_id: SedeId,
    auth: Annotated[Authorized, Depends(require("sedes.read"))],
    session: SessionDep,
):
    return service.list_hours(session=session, sede_id=sede_id, area=auth.area)


@router.put("/sedes/{sede_id}/hours", response_model=list[HoursItem])
def set_hours(
    sede_id: SedeId,
    body: HoursUpdate,
    auth: Annotated[Authorized, Depends(require("sedes.configure"))],
    session: SessionDep,
):
    hours = service.set_hours(
        session=session, actor=auth.actor, sede_id=sede_id, hours=body.hours, area=auth.area
    )
    session.commit()
    return hours


@router.get("/sedes/{sede_id}/queue-policy", response_model=QueuePolicyConf)
def get_queue_policy(
    sede_id: SedeId,
    auth: Annotated[Authorized, Depends(require("sedes.read"))],
    session: SessionDep,
):
    return service.get_queue_policy(session=session, sede_id=sede_id, area=auth.area)


@router.put("/sedes/{sede_id}/queue-policy", response_model=QueuePolicyConf)
def set_queue_policy(
    sede_id: SedeId,
    body: QueuePolicyUpdate,
    auth: Annotated[Authorized, Depends(require("sedes.configure"))],
    session: SessionDep,
):
    policy = service.set_queue_policy(
        session=session, actor=auth.actor, sede_id=sede_id, policy=body, area=auth.area
    )
    session.commit()
    return policy
