"""Read-only searches of the web pages that the services do not offer (filters by profile and
status with a total count). Scoped with the policy's Area exactly like the services' lists."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, col, select

from central.auth.policy import Area
from central.domain.clock import utcnow
from central.users import service as users
from central.users.models import User, UserProfile
from central.users.schemas import UserRead

STATUSES = {"activo": "Activos", "desactivado": "Desactivados", "bloqueado": "Bloqueados"}


def search_users(
    *,
    session: Session,
    area: Area | None,
    query: str | None = None,
    sede_id: str | None = None,
    profile: str | None = None,
    status: str | None = None,
    limit: int = 25,
    offset: int = 0,
) -> tuple[list[UserRead], int]:
    """One page of accounts within ``area`` and the number of accounts matching."""
    conditions = []
    if area is not None and not area.national:
        conditions.append(area.where(sede_column=User.sede_id, district_column=User.district_id))
    if sede_id:
        conditions.append(User.sede_id == sede_id)
    if query:
        like = f"%{query.lower()}%"
        conditions.append(col(User.username).like(like) | col(User.display_name).ilike(like))
    if profile:
        conditions.append(
            col(User.id).in_(select(UserProfile.user_id).where(UserProfile.profile == profile))
        )
    if status == "activo":
        conditions.append(col(User.active).is_(True))
    elif status == "desactivado":
        conditions.append(col(User.active).is_(False))
    elif status == "bloqueado":
        conditions.append(col(User.locked_until) > utcnow())
    total = session.exec(select(func.count()).select_from(User).where(*conditions)).one()
    page = session.exec(
        select(User).where(*conditions).order_by(col(User.username)).offset(offset).limit(limit)
    ).all()
    profiles: dict[str, list[str]] = {u.id: [] for u in page}
    if page:
        for user_id, name in session.exec(
            select(UserProfile.user_id, UserProfile.profile).where(
                col(UserProfile.user_id).in_(list(profiles))
            )
        ).all():
            profiles[user_id].append(name)
    return [users.user_read(session, u, sorted(profiles[u.id])) for u in page], int(total)
