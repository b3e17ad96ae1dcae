"""Figures of the home page, counted in the database within what the user may see."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import Session, col, select

from central.audit.models import AuditEvent
from central.auth.policy import area_for
from central.devices.models import Device
from central.domain.actor import Actor
from central.org.models import Sede
from central.users.models import User
from central.web.rendering import lima_today_start_utc


@dataclass(frozen=True)
class Figure:
    label: str
    value: int
    href: str | None = None


def home_figures(session: Session, actor: Actor) -> list[Figure]:
    figures: list[Figure] = []
    today = lima_today_start_utc()

    def count(stmt) -> int:  # noqa: ANN001
        return int(session.exec(stmt).one())

    sedes = area_for(actor, "sedes.read")
    if not sedes.empty:
        figures.append(
            Figure(
                "Sedes activas",
                count(
                    select(func.count())
                    .select_from(Sede)
                    .where(col(Sede.active).is_(True), sedes.where(sede_column=Sede.id))
                ),
                "/sedes",
            )
        )
    people = area_for(actor, "users.read")
    if not people.empty:
        figures.append(
            Figure(
                "Usuarios activos",
                count(
                    select(func.count())
                    .select_from(User)
                    .where(
                        col(User.active).is_(True),
                        people.where(sede_column=User.sede_id, district_column=User.district_id),
                    )
                ),
                "/usuarios",
            )
        )
        figures.append(
            Figure(
                "Ingresos hoy",
                count(
                    select(func.count())
                    .select_from(AuditEvent)
                    .where(
                        AuditEvent.action == "auth.signin",
                        AuditEvent.occurred_at >= today,
                        people.where(sede_column=AuditEvent.sede_id),
                    )
                ),
            )
        )
    devices = area_for(actor, "devices.read")
    if not devices.empty:
        figures.append(
            Figure(
                "Dispositivos activos",
                count(
                    select(func.count())
                    .select_from(Device)
                    .where(
                        col(Device.revoked_at).is_(None), devices.where(sede_column=Device.sede_id)
                    )
                ),
                "/dispositivos",
            )
        )
    if not area_for(actor, "audit.read").empty:
        figures.append(
            Figure(
                "Eventos de auditoría hoy",
                count(
                    select(func.count())
                    .select_from(AuditEvent)
                    .where(AuditEvent.occurred_at >= today)
                ),
                "/auditoria",
            )
        )
    return figures
