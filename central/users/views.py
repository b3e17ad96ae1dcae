"""HTTP API of staff accounts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from central.auth import service as auth_service
from central.auth.deps import (
    Authorized,
    ReadAccess,
    SessionDep,
    SettingsDep,
    read_access,
    read_only,
    require,
)
from central.core.http import ERROR_RESPONSES
from central.users import service
from central.users.schemas import UserCreate, UserRead, UserUpdate

router = APIRouter(prefix="/users", tags=["usuarios"], responses=ERROR_RESPONSES)


@router.get("", response_model=list[UserRead])
async def list_users(
    access: Annotated[ReadAccess, Depends(read_access("users.read"))],
    sede_id: Annotated[str | None, Query(max_length=64)] = None,
    q: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Response:
    """The hot read path (docs/central.md "Benchmark"): the access rule and the page's query
    from the event loop (central.core.hotread), the page's JSON built from the rows (the schema
    stays ``list[UserRead]``)."""
    rows = await access.rows(
        lambda area: service.users_page_query(
            area=area, sede_id=sede_id, query=q, limit=limit, offset=offset
        )
    )
    body = service.page_json(rows)
    return Response(body, media_type="application/json")


@router.post("", response_model=UserRead, status_code=201)
def create_user(
    body: UserCreate,
    auth: Annotated[Authorized, Depends(require("users.create"))],
    session: SessionDep,
    settings: SettingsDep,
) -> UserRead:
    user = service.create_user(
        session=session,
        actor=auth.actor,
        data=body,
        ph=auth_service.password_hasher(settings),
        area=auth.area,
        min_password_length=settings.password_min_length,
    )
    session.commit()
    return service.user_read(session, user)


@router.get("/{user_id}", response_model=UserRead)
@read_only
def get_user(
    user_id: str, auth: Annotated[Authorized, Depends(require("users.read"))], session: SessionDep
) -> UserRead:
    return service.user_read(
        session, service.get_user(session=session, user_id=user_id, area=auth.area)
    )


@router.patch("/{user_id}", response_model=UserRead)
def update_user(
    user_id: str,
    body: UserUpdate,
    auth: Annotated[Authorized, Depends(require("users.update"))],
    session: SessionDep,
) -> UserRead:
    user = service.update_user(
        session=session, actor=auth.actor, user_id=user_id, data=body, area=auth.area
    )
    if not user.active:
        auth_service.revoke_all_credentials(session=session, user_id=user.id, reason="deactivated")
    session.commit()
    return service.user_read(session, user)


@router.post("/{user_id}/unlock", response_model=UserRead)
def unlock_user(
    user_id: str, auth: Annotated[Authorized, Depends(require("users.update"))], session: SessionDep
) -> UserRead:
    user = service.unlock_user(session=session, actor=auth.actor, user_id=user_id, area=auth.area)
    session.commit()
    return service.user_read(session, user)


@router.post("/{user_id}/reset-totp", status_code=204)
def reset_totp(
    user_id: str, auth: Annotated[Authorized, Depends(require("users.update"))], session: SessionDep
) -> Response:
    user = service.get_user(session=session, user_id=user_id, area=auth.area)
    service.check_can_manage(actor=auth.actor, session=session, user=user)
    auth_service.reset_totp(session=session, actor=auth.actor, user=user)
    session.commit()
    return Response(status_code=204)
