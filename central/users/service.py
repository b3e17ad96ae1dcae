"""Rules of staff accounts: creation and changes within the actor's reach (scope and assignable
profiles), profile/scope consistency, password changes, unlocking. Never commits."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
from argon2 import PasswordHasher
from sqlalchemy import bindparam, func
from sqlmodel import Session, col, select

from central.audit import service as audit
from central.auth import passwords
from central.auth.policy import (
    ALLOWED_SCOPES,
    PROFILE_LABELS_ES,
    SCOPE_LABELS_ES,
    Area,
    Profile,
    ScopeKind,
    assignable_profiles,
)
from central.core.hotread import HotQuery, as_datetime
from central.domain.actor import Actor
from central.domain.clock import as_utc, utcnow
from central.domain.errors import (
    Duplicate,
    FieldError,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from central.org.models import District, Sede
from central.users.models import User, UserProfile
from central.users.schemas import UserCreate, UserRead, UserUpdate


def profiles_of(session: Session, user_id: str) -> list[str]:
    return sorted(
        session.exec(select(UserProfile.profile).where(UserProfile.user_id == user_id)).all()
    )


def user_read(session: Session, user: User, profiles: list[str] | None = None) -> UserRead:
    locked_until = as_utc(user.locked_until)
    return UserRead(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        email=user.email,
        profiles=profiles if profiles is not None else profiles_of(session, user.id),
        scope_kind=user.scope_kind,
        sede_id=user.sede_id,
        district_id=user.district_id,
        active=user.active,
        locked=bool(locked_until and locked_until > utcnow()),
        totp_enabled=user.totp_secret is not None,
        must_change_password=user.must_change_password,
        last_signin_at=as_utc(user.last_signin_at),
        created_at=as_utc(user.created_at),  # type: ignore[arg-type]
        updated_at=as_utc(user.updated_at),  # type: ignore[arg-type]
    )


def snapshot(session: Session, user: User) -> dict[str, Any]:
    """What the audit log keeps of an account (never hashes or secrets)."""
    return {
        "username": user.username,
        "display_name": user.display_name,
        "email": user.email,
        "profiles": profiles_of(session, user.id),
        "scope_kind": user.scope_kind,
        "sede_id": user.sede_id,
        "district_id": user.district_id,
        "active": user.active,
    }


# One query for a page of users: the columns UserRead needs (no ORM objects: a list is read,
# never changed) and each user's profiles aggregated ("a,b"; profile codes have no comma).
# Built once, with the page bounds as parameters: building a statement (and its cache key)
# costs more than running it; filters are added per call.
_USERS_PAGE = (
    select(
        User.id,
        User.username,
        User.display_name,
        User.email,
        User.scope_kind,
        User.sede_id,
        User.district_id,
        User.active,
        User.locked_until,
        User.totp_secret,
        User.must_change_password,
        User.last_signin_at,
        User.created_at,
        User.updated_at,
        select(func.aggregate_strings(UserProfile.profile, ","))
        .where(col(UserProfile.user_id) == col(User.id))
        .scalar_subquery()
        .label("profiles_csv"),
    )
    .order_by(col(User.username))
    .offset(bindparam("offset", 0))
    .limit(bindparam("limit", 100))
)


def users_page_statement(area: Area | None, *, by_sede: bool, by_text: bool) -> Any:
    """The page statement of this *shape*: the area's filter (its sedes and districts are part
    of the statement), and whether the ``sede_filter`` and ``text_like`` parameters apply. The
    values that change per request are parameters (``users_page_params``), so the hot read
    path compiles a shape once (central.core.hotread)."""
    stmt = _USERS_PAGE
    if area is not None and not area.national:
        stmt = stmt.where(area.where(sede_column=User.sede_id, district_column=User.district_id))
    if by_sede:
        stmt = stmt.where(col(User.sede_id) == bindparam("sede_filter", ""))
    if by_text:
        like = bindparam("text_like", "")
        stmt = stmt.where(col(User.username).like(like) | col(User.display_name).ilike(like))
    return stmt


def users_page_query(
    *, area: Area | None, sede_id: str | None, query: str | None, limit: int, offset: int
) -> HotQuery:
    """The page of ``list_users`` for the hot read path (central.core.hotread): the shape key
    holds what changes the SQL (the area, which filters apply), the parameters the rest."""
    national = area is None or area.national
    by_sede, by_text = bool(sede_id), bool(query)
    key = (
        "users_page",
        national,
        None if national else tuple(sorted(area.sede_ids)),  # type: ignore[union-attr]
        None if national else tuple(sorted(area.district_ids)),  # type: ignore[union-attr]
        by_sede,
        by_text,
    )
    return HotQuery(
        key,
        lambda: users_page_statement(area, by_sede=by_sede, by_text=by_text),
        users_page_params(sede_id, query, limit, offset),
    )


def users_page_params(
    sede_id: str | None, query: str | None, limit: int, offset: int
) -> dict[str, Any]:
    params: dict[str, Any] = {"offset": offset, "limit": limit}
    if sede_id:
        params["sede_filter"] = sede_id
    if query:
        params["text_like"] = f"%{query.lower()}%"
    return params


def list_users(
    *,
    session: Session,
    area: Area | None = None,
    sede_id: str | None = None,
    query: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[UserRead]:
    rows = users_page_rows(session, area, sede_id, query, limit, offset)
    # a row has the attributes user_read reads from a User
    return [
        user_read(session, row, sorted(row.profiles_csv.split(",")) if row.profiles_csv else [])  # type: ignore[arg-type]
        for row in rows
    ]


def users_page_rows(
    session: Session,
    area: Area | None,
    sede_id: str | None,
    query: str | None,
    limit: int,
    offset: int,
) -> list[Any]:
    stmt = users_page_statement(area, by_sede=bool(sede_id), by_text=bool(query))
    params = users_page_params(sede_id, query, limit, offset)
    return session.connection().execute(stmt, params).all()


# naive datetimes (SQLite hands them back so; stored as UTC) are written as UTC, like as_utc
_JSON_OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_NAIVE_UTC


def page_json(rows: Iterable[Sequence[Any]]) -> bytes:
    """The JSON of ``list[UserRead]`` (same keys, order and values;
    tests/central/test_read_path.py compares the two) built with orjson from the rows of
    ``users_page_statement``, without UserRead objects and their validation (the hot read path,
    see docs/central.md "Benchmark"). Rows are unpacked by position, so SQLAlchemy rows and
    driver tuples both do; datetimes may come as SQLite's text (``as_datetime``)."""
    now = utcnow()
    now_naive = now.replace(tzinfo=None)
    page = []
    for (
        user_id,
        username,
        display_name,
        email,
        scope_kind,
        sede_id,
        district_id,
        active,
        locked_until,
        totp_secret,
        must_change_password,
        last_signin_at,
        created_at,
        updated_at,
        profiles_csv,
    ) in rows:
        locked_until = as_datetime(locked_until)
        page.append(
            {
                "id": user_id,
                "username": username,
                "display_name": display_name,
                "email": email,
                "profiles": sorted(profiles_csv.split(",")) if profiles_csv else [],
                "scope_kind": scope_kind,
                "sede_id": sede_id,
                "district_id": district_id,
                "active": bool(active),
                "locked": locked_until is not None
                and locked_until > (now_naive if locked_until.tzinfo is None else now),
                "totp_enabled": totp_secret is not None,
                "must_change_password": bool(must_change_password),
                "last_signin_at": _utc(as_datetime(last_signin_at)),
                "created_at": _utc(as_datetime(created_at)),
                "updated_at": _utc(as_datetime(updated_at)),
            }
        )
    return orjson.dumps(page, option=_JSON_OPTIONS)


def _utc(value: datetime | None) -> datetime | None:
    """as_utc for orjson: a naive value is left naive (OPT_NAIVE_UTC writes it as UTC)."""
    return value if value is None or value.tzinfo is None else value.astimezone(UTC)


def user_in_area(session: Session, user: User, area: Area) -> bool:
    if area.national:
        return True
    if user.scope_kind == ScopeKind.SEDE and user.sede_id:
        sede = session.get(Sede, user.sede_id)
        return area.contains(sede_id=user.sede_id, district_id=sede.district_id if sede else None)
    if user.scope_kind == ScopeKind.DISTRICT:
        return area.contains(district_id=user.district_id)
    return False


def get_user(*, session: Session, user_id: str, area: Area | None = None) -> User:
    user = session.get(User, user_id)
    if user is None or (area is not None and not user_in_area(session, user, area)):
        raise NotFound("El usuario no existe.")
    return user


def get_user_by_username(*, session: Session, username: str) -> User | None:
    return session.exec(select(User).where(User.username == username.strip().lower())).first()


def _resolve_scope(
    session: Session, scope_kind: ScopeKind, sede_id: str | None, district_id: str | None
) -> tuple[str | None, str | None]:
    """Normalise the scope reference: a sede scope carries the sede only, a district scope the
    district only, a national scope neither."""
    if scope_kind == ScopeKind.SEDE:
        if not sede_id or session.get(Sede, sede_id) is None:
            raise ValidationFailed(fields=[FieldError("sede_id", "Indique una sede existente.")])
        return sede_id, None
    if scope_kind == ScopeKind.DISTRICT:
        if not district_id or session.get(District, district_id) is None:
            raise ValidationFailed(
                fields=[FieldError("district_id", "Indique una dirección distrital existente.")]
            )
        return None, district_id
    return None, None


def _check_profiles_and_scope(
    actor: Actor | None, profiles: list[Profile], scope_kind: ScopeKind
) -> None:
    bad = [p for p in profiles if scope_kind not in ALLOWED_SCOPES[p]]
    if bad:
        raise ValidationFailed(
            fields=[
                FieldError(
                    "scope_kind",
                    f"El perfil {PROFILE_LABELS_ES[p]} no admite el alcance {SCOPE_LABELS_ES[scope_kind]}.",
                )
                for p in bad
            ]
        )
    if actor is not None:
        allowed = assignable_profiles(actor)
        refused = [p for p in profiles if p not in allowed]
        if refused:
            raise PermissionDenied(
                "No puede asignar el perfil "
                + ", ".join(PROFILE_LABELS_ES[p] for p in refused)
                + "."
            )


def _check_target_area(
    session: Session,
    area: Area | None,
    scope_kind: ScopeKind,
    sede_id: str | None,
    district_id: str | None,
) -> None:
    if area is None or area.national:
        return
    if scope_kind == ScopeKind.NATIONAL:
        raise PermissionDenied("No puede asignar alcance nacional.")
    if scope_kind == ScopeKind.SEDE:
        sede = session.get(Sede, sede_id)
        if sede is None or not area.contains(sede_id=sede.id, district_id=sede.district_id):
            raise PermissionDenied("No puede asignar usuarios a esa sede.")
    elif not area.contains(district_id=district_id):
        raise PermissionDenied("No puede asignar usuarios a esa dirección distrital.")


def create_user(
    *,
    session: Session,
    actor: Actor,
    data: UserCreate,
    ph: PasswordHasher,
    area: Area | None = None,
    min_password_length: int = 12,
    check_assignable: bool = True,
    must_change_password: bool = True,
) -> User:
    profiles = sorted(set(data.profiles))
    _check_profiles_and_scope(actor if check_assignable else None, profiles, data.scope_kind)
    sede_id, district_id = _resolve_scope(session, data.scope_kind, data.sede_id, data.district_id)
    _check_target_area(session, area, data.scope_kind, sede_id, district_id)
    passwords.check_password_policy(
        data.password, username=data.username, min_length=min_password_length
    )
    if get_user_by_username(session=session, username=data.username) is not None:
        raise Duplicate(
            "Ya existe un usuario con ese nombre.",
            fields=[FieldError("username", "nombre de usuario en uso")],
        )
    user = User(
        username=data.username,
        display_name=data.display_name,
        email=data.email,
        password_hash=passwords.hash_password(data.password, ph),
        scope_kind=data.scope_kind.value,
        sede_id=sede_id,
        district_id=district_id,
        must_change_password=must_change_password,
    )
    session.add(user)
    session.flush()
    for profile in profiles:
        session.add(UserProfile(user_id=user.id, profile=profile.value))
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="user.create",
        entity="user",
        entity_id=user.id,
        sede_id=user.sede_id,
        after=snapshot(session, user),
    )
    return user


def update_user(
    *,
    session: Session,
    actor: Actor,
    user_id: str,
    data: UserUpdate,
    area: Area | None = None,
    check_assignable: bool = True,
) -> User:
    user = get_user(session=session, user_id=user_id, area=area)
    before = snapshot(session, user)
    changes = data.model_dump(exclude_unset=True)
    if (
        check_assignable
        and actor.user_id == user.id
        and ({"profiles", "scope_kind", "sede_id", "district_id", "active"} & changes.keys())
    ):
        raise PermissionDenied("No puede cambiar sus propios perfiles, alcance o estado.")
    current_profiles = [Profile(p) for p in before["profiles"]]
    if check_assignable:
        # the actor must be able to grant everything the target holds now (no editing of peers
        # or superiors) and everything it will hold afterwards
        _check_profiles_and_scope(actor, current_profiles, ScopeKind(user.scope_kind))
    profiles = sorted(set(data.profiles)) if data.profiles is not None else current_profiles
    scope_kind = data.scope_kind or ScopeKind(user.scope_kind)
    if {"profiles", "scope_kind", "sede_id", "district_id"} & changes.keys():
        _check_profiles_and_scope(actor if check_assignable else None, profiles, scope_kind)
        sede_id, district_id = _resolve_scope(
            session,
            scope_kind,
            changes.get("sede_id", user.sede_id),
            changes.get("district_id", user.district_id),
        )
        _check_target_area(session, area, scope_kind, sede_id, district_id)
        user.scope_kind, user.sede_id, user.district_id = scope_kind.value, sede_id, district_id
        if data.profiles is not None:
            for row in session.exec(
                select(UserProfile).where(UserProfile.user_id == user.id)
            ).all():
                session.delete(row)
            session.flush()
            for profile in profiles:
                session.add(UserProfile(user_id=user.id, profile=profile.value))
    for key in ("display_name", "email", "active"):
        if key in changes and (changes[key] is not None or key == "email"):
            setattr(user, key, changes[key])
    user.revision += 1
    user.updated_at = utcnow()
    session.add(user)
    session.flush()
    after = snapshot(session, user)
    if after != before:
        audit.record(
            session=session,
            actor=actor,
            action="user.update",
            entity="user",
            entity_id=user.id,
            sede_id=user.sede_id,
            before=before,
            after=after,
        )
    return user


def check_can_manage(*, session: Session, actor: Actor, user: User) -> None:
    """The actor may act on the account only if they could grant every profile it holds."""
    if actor.user_id == user.id:
        raise PermissionDenied("No puede realizar esta acción sobre su propia cuenta.")
    _check_profiles_and_scope(
        actor, [Profile(p) for p in profiles_of(session, user.id)], ScopeKind(user.scope_kind)
    )


def unlock_user(*, session: Session, actor: Actor, user_id: str, area: Area | None = None) -> User:
    user = get_user(session=session, user_id=user_id, area=area)
    check_can_manage(session=session, actor=actor, user=user)
    user.failed_attempts = 0
    user.locked_until = None
    session.add(user)
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="user.unlock",
        entity="user",
        entity_id=user.id,
        sede_id=user.sede_id,
    )
    return user


def change_password(
    *,
    session: Session,
    actor: Actor,
    user: User,
    current_password: str,
    new_password: str,
    ph: PasswordHasher,
    min_length: int = 12,
) -> None:
    if not passwords.verify_password(user.password_hash, current_password, ph):
        raise ValidationFailed(
            fields=[FieldError("current_password", "La contraseña actual no es correcta.")]
        )
    passwords.check_password_policy(
        new_password, username=user.username, min_length=min_length, field="new_password"
    )
    if passwords.verify_password(user.password_hash, new_password, ph):
        raise ValidationFailed(
            fields=[
                FieldError("new_password", "La nueva contraseña debe ser distinta de la actual.")
            ]
        )
    user.password_hash = passwords.hash_password(new_password, ph)
    user.password_changed_at = utcnow()
    user.must_change_password = False
    session.add(user)
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="user.password_change",
        entity="user",
        entity_id=user.id,
        sede_id=user.sede_id,
    )


def set_password(
    *,
    session: Session,
    actor: Actor,
    user: User,
    new_password: str,
    ph: PasswordHasher,
    min_length: int = 12,
) -> None:
    """Administrative reset (CLI): the user must change it at next sign-in."""
    passwords.check_password_policy(new_password, username=user.username, min_length=min_length)
    user.password_hash = passwords.hash_password(new_password, ph)
    user.password_changed_at = utcnow()
    user.must_change_password = True
    session.add(user)
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="user.password_reset",
        entity="user",
        entity_id=user.id,
        sede_id=user.sede_id,
    )
