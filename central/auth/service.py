"""Authentication rules: sign-in with progressive lockout and TOTP, API token pairs with rotating
refresh tokens (reuse revokes the family), browser sessions with a CSRF token.

Sign-in failures are recorded (failed-attempt counter, audit row) in the caller's session and
then raised: the caller must COMMIT the session in both cases (see central.auth.views.sign_in).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pyotp
from argon2 import PasswordHasher
from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from central.audit import service as audit
from central.auth import passwords, tokens
from central.auth.models import RefreshToken, SignInGuard, TokenFamily, WebSession
from central.auth.policy import requires_totp
from central.domain.actor import Actor
from central.domain.clock import as_utc, utcnow
from central.domain.errors import (
    AccountLocked,
    FieldError,
    SignInThrottled,
    TotpSetupRequired,
    Unauthenticated,
    ValidationFailed,
)
from central.settings import CentralSettings
from central.users.models import User, UserProfile
from central.users.service import get_user_by_username, profiles_of
from contracts.errors import ErrorCode

ACCESS = "access"
TOTP_SETUP = "totp_setup"


def password_hasher(settings: CentralSettings) -> PasswordHasher:
    return passwords.hasher(
        settings.argon2_time_cost, settings.argon2_memory_kib, settings.argon2_parallelism
    )


def actor_for(
    user: User,
    profiles: list[str] | tuple[str, ...],
    *,
    request_id: str | None = None,
    ip: str | None = None,
) -> Actor:
    return Actor(
        user_id=user.id,
        username=user.username,
        profiles=tuple(profiles),
        scope_kind=user.scope_kind,
        sede_id=user.sede_id,
        district_id=user.district_id,
        request_id=request_id,
        ip=ip,
    )


# ---------------------------------------------------------------------------------- sign-in


def _fail(
    session: Session,
    user: User | None,
    username: str,
    reason: str,
    request_id: str | None,
    ip: str | None,
) -> None:
    actor = (
        Actor.anonymous(request_id=request_id, ip=ip)
        if user is None
        else actor_for(user, profiles_of(session, user.id), request_id=request_id, ip=ip)
    )
    audit.record(
        session=session,
        actor=actor,
        action="auth.signin_failed",
        entity="user",
        entity_id=user.id if user else None,
        sede_id=user.sede_id if user else None,
        after={"username": username[:64], "reason": reason},
    )


def _register_failure(session: Session, settings: CentralSettings, user: User) -> int | None:
    """Count a failed attempt; return the lock duration in seconds when this one locks."""
    user.failed_attempts += 1
    locked_for = _lock_seconds(settings, user.failed_attempts)
    if locked_for:
        user.locked_until = utcnow() + timedelta(seconds=locked_for)
    session.add(user)
    session.flush()
    return locked_for


def _lock_seconds(settings: CentralSettings, failures: int) -> int | None:
    """The progressive lockout rule: None below the threshold, then base * 2^n up to max."""
    if failures < settings.lockout_threshold:
        return None
    exponent = min(failures - settings.lockout_threshold, 20)
    return min(settings.lockout_base_seconds * 2**exponent, settings.lockout_max_seconds)


def _guard(session: Session, key: str, now: datetime) -> SignInGuard:
    """The guard row of ``key``, locked for this transaction (created when missing; a
    concurrent creation by another worker is absorbed by ON CONFLICT DO NOTHING)."""
    query = select(SignInGuard).where(SignInGuard.key == key).with_for_update()
    row = session.exec(query).first()
    if row is None:
        dialect = session.get_bind().dialect.name
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        session.execute(
            insert(SignInGuard)
            .values(key=key, failed_attempts=0, window_started_at=now)
            .on_conflict_do_nothing(index_elements=["key"])
        )
        row = session.exec(query).one()
    return row


def _ip_throttled(session: Session, settings: CentralSettings, ip: str | None) -> int | None:
    """Seconds until this address may try again, when it is throttled."""
    if not ip:
        return None
    row = session.get(SignInGuard, f"ip:{ip}")
    if row is None or row.failed_attempts < settings.signin_ip_max_failures:
        return None
    ends = as_utc(row.window_started_at) + timedelta(seconds=settings.signin_ip_window_seconds)  # type: ignore[operator]
    remaining = (ends - utcnow()).total_seconds()
    return int(remaining) + 1 if remaining > 0 else None


def _count_ip_failure(
    session: Session, settings: CentralSettings, ip: str | None, request_id: str | None
) -> None:
    if not ip:
        return
    now = utcnow()
    row = _guard(session, f"ip:{ip}", now)
    window = timedelta(seconds=settings.signin_ip_window_seconds)
    if as_utc(row.window_started_at) + window <= now:  # type: ignore[operator]
        row.window_started_at, row.failed_attempts = now, 0
    row.failed_attempts += 1
    session.add(row)
    session.flush()
    if row.failed_attempts == settings.signin_ip_max_failures:
        audit.record(
            session=session,
            actor=Actor.anonymous(request_id=request_id, ip=ip),
            action="auth.signin_throttled",
            entity="client_address",
            after={"failures": row.failed_attempts, "window_s": settings.signin_ip_window_seconds},
        )


def _unknown_user_failure(
    session: Session, settings: CentralSettings, username: str, now: datetime
) -> tuple[int | None, int | None]:
    """Count a failure for a name with no account exactly as for an account: (seconds it was
    already locked for, seconds this failure locks it for)."""
    row = _guard(session, f"user:{username[:100]}", now)
    locked_until = as_utc(row.locked_until)
    if locked_until and locked_until > now:
        return int((locked_until - now).total_seconds()) + 1, None
    row.failed_attempts += 1
    locked_for = _lock_seconds(settings, row.failed_attempts)
    if locked_for:
        row.locked_until = now + timedelta(seconds=locked_for)
    session.add(row)
    session.flush()
    return None, locked_for


def totp_step(at: float | None = None) -> int:
    return int((time.time() if at is None else at) // 30)


def check_totp(user: User, code: str | None, secret: str | None = None) -> int | None:
    """The time step of a valid, not yet used code for the user's secret (±1 step of clock
    drift), or None."""
    secret = secret or user.totp_secret
    if not secret or not code or not code.isdigit() or len(code) != 6:
        return None
    totp = pyotp.TOTP(secret)
    now = totp_step()
    for step in (now, now - 1, now + 1):
        if totp.at(step * 30) == code and (
            user.totp_last_step is None or step > user.totp_last_step
        ):
            return step
    return None


def sign_in(
    *,
    session: Session,
    settings: CentralSettings,
    username: str,
    password: str,
    totp_code: str | None = None,
    request_id: str | None = None,
    ip: str | None = None,
) -> User:
    """Check password, lockout and second factor. On success the account's counters are reset
    and an ``auth.signin`` row is written; on failure the attempt is recorded and an error
    (Unauthenticated, AccountLocked, TotpSetupRequired) is raised — commit either way.

    The argon2 work runs outside any transaction (the session's read transaction is ended
    first): on SQLite a transaction holds the database write lock, and sign-ins must not queue
    behind each other's hashing. Call it on a fresh session, before any other change."""
    ph = password_hasher(settings)
    username = (username or "").strip().lower()
    throttled = _ip_throttled(session, settings, ip)
    if throttled:  # before any hashing: a throttled address costs the server nothing
        session.rollback()
        raise SignInThrottled(throttled)
    user = get_user_by_username(session=session, username=username) if username else None
    stored_hash = user.password_hash if user is not None else None
    session.rollback()  # nothing written yet: release the transaction while hashing
    if stored_hash is None:
        passwords.dummy_verify(password, ph)
    password_ok = stored_hash is not None and passwords.verify_password(stored_hash, password, ph)
    user = get_user_by_username(session=session, username=username) if username else None
    if user is not None and user.password_hash != stored_hash:  # changed meanwhile: check again
        password_ok = passwords.verify_password(user.password_hash, password, ph)
    now = utcnow()
    if user is None:
        # a name with no account locks like an account would, so the answers (and the
        # database work) do not tell which usernames exist
        already, locked_for = _unknown_user_failure(session, settings, username, now)
        _count_ip_failure(session, settings, ip, request_id)
        _fail(session, None, username, "unknown_user", request_id, ip)
        if already or locked_for:
            raise AccountLocked(already or locked_for)  # type: ignore[arg-type]
        raise Unauthenticated(code=ErrorCode.BAD_CREDENTIALS)
    locked_until = as_utc(user.locked_until)
    if locked_until and locked_until > now:
        _count_ip_failure(session, settings, ip, request_id)
        _fail(session, user, username, "locked", request_id, ip)
        raise AccountLocked(int((locked_until - now).total_seconds()) + 1)
    if not user.active:
        _count_ip_failure(session, settings, ip, request_id)
        _fail(session, user, username, "inactive", request_id, ip)
        raise Unauthenticated(code=ErrorCode.BAD_CREDENTIALS)
    if not password_ok:
        locked_for = _register_failure(session, settings, user)
        _count_ip_failure(session, settings, ip, request_id)
        _fail(session, user, username, "bad_password", request_id, ip)
        if locked_for:
            raise AccountLocked(locked_for)
        raise Unauthenticated(code=ErrorCode.BAD_CREDENTIALS)
    if ph.check_needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password, ph)
    profiles = profiles_of(session, user.id)
    if requires_totp(profiles):
        if not user.totp_secret:
            user.failed_attempts = 0
            session.add(user)
            audit.record(
                session=session,
                actor=actor_for(user, profiles, request_id=request_id, ip=ip),
                action="auth.totp_setup_required",
                entity="user",
                entity_id=user.id,
                sede_id=user.sede_id,
            )
            raise TotpSetupRequired(totp_setup_token(settings=settings, user=user))
        if not totp_code:
            raise Unauthenticated(code=ErrorCode.TOTP_REQUIRED)
        step = check_totp(user, totp_code)
        if step is None:
            locked_for = _register_failure(session, settings, user)
            _count_ip_failure(session, settings, ip, request_id)
            _fail(session, user, username, "bad_totp", request_id, ip)
            if locked_for:
                raise AccountLocked(locked_for)
            raise Unauthenticated(code=ErrorCode.TOTP_INVALID)
        user.totp_last_step = step
    user.failed_attempts = 0
    user.locked_until = None
    user.last_signin_at = now
    session.add(user)
    session.flush()
    audit.record(
        session=session,
        actor=actor_for(user, profiles, request_id=request_id, ip=ip),
        action="auth.signin",
        entity="user",
        entity_id=user.id,
        sede_id=user.sede_id,
    )
    return user


# ------------------------------------------------------------------------------------ TOTP


def totp_setup_token(*, settings: CentralSettings, user: User) -> str:
    return tokens.encode_token(
        key=settings.resolved_secret_key(),
        subject=user.id,
        purpose=TOTP_SETUP,
        lifetime=timedelta(minutes=settings.totp_setup_minutes),
    )


def user_from_setup_token(*, session: Session, settings: CentralSettings, setup_token: str) -> User:
    claims = tokens.decode_token(
        setup_token, key=settings.resolved_secret_key(), purpose=TOTP_SETUP
    )
    user = session.get(User, claims["sub"])
    if user is None or not user.active or user.totp_secret:
        raise Unauthenticated(code=ErrorCode.TOKEN_INVALID)
    return user


def begin_totp_setup(*, session: Session, settings: CentralSettings, user: User) -> tuple[str, str]:
    """A fresh pending secret for the user and its otpauth:// URI (for a QR code)."""
    secret = pyotp.random_base32()
    user.totp_pending_secret = secret
    session.add(user)
    session.flush()
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=settings.totp_issuer)
    return secret, uri


def confirm_totp_setup(*, session: Session, actor: Actor, user: User, code: str) -> None:
    step = check_totp(user, code, secret=user.totp_pending_secret)
    if not user.totp_pending_secret or step is None:
        raise ValidationFailed(
            code=ErrorCode.TOTP_INVALID,
            fields=[FieldError("code", "El código de verificación no es válido.")],
        )
    user.totp_secret = user.totp_pending_secret
    user.totp_pending_secret = None
    user.totp_last_step = step
    session.add(user)
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="user.totp_enable",
        entity="user",
        entity_id=user.id,
        sede_id=user.sede_id,
    )


def reset_totp(*, session: Session, actor: Actor, user: User) -> None:
    """Administrative: the user enrols a new authenticator at next sign-in."""
    user.totp_secret = None
    user.totp_pending_secret = None
    user.totp_last_step = None
    session.add(user)
    session.flush()
    revoke_all_credentials(session=session, user_id=user.id, reason="totp_reset")
    audit.record(
        session=session,
        actor=actor,
        action="user.totp_reset",
        entity="user",
        entity_id=user.id,
        sede_id=user.sede_id,
    )


# ---------------------------------------------------------------------------- API tokens


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    token_type: str = "bearer"  # noqa: S105


def _access_token(settings: CentralSettings, user: User, family_id: str) -> str:
    return tokens.encode_token(
        key=settings.resolved_secret_key(),
        subject=user.id,
        purpose=ACCESS,
        lifetime=timedelta(minutes=settings.access_token_minutes),
        claims={"fam": family_id},
    )


def _new_refresh(session: Session, settings: CentralSettings, family_id: str) -> str:
    secret = tokens.random_secret()
    row = RefreshToken(
        family_id=family_id,
        token_hash=tokens.sha256_hex(secret),
        expires_at=utcnow() + timedelta(days=settings.refresh_token_days),
    )
    session.add(row)
    session.flush()
    return f"{row.id}.{secret}"


def issue_token_pair(*, session: Session, settings: CentralSettings, user: User) -> TokenPair:
    family = TokenFamily(user_id=user.id)
    session.add(family)
    session.flush()
    return TokenPair(
        access_token=_access_token(settings, user, family.id),
        refresh_token=_new_refresh(session, settings, family.id),
        expires_in=settings.access_token_minutes * 60,
    )


def _revoke_family(session: Session, family: TokenFamily, reason: str) -> None:
    if family.revoked_at is None:
        family.revoked_at = utcnow()
        family.revoked_reason = reason
        session.add(family)
        session.flush()


def refresh_tokens(
    *,
    session: Session,
    settings: CentralSettings,
    refresh_token: str,
    request_id: str | None = None,
    ip: str | None = None,
) -> TokenPair:
    """Rotate: the presented refresh token is spent and a new pair returned. Presenting a spent
    token again means it leaked: the whole family is revoked (commit, then the error is raised)."""
    token_id, _, secret = (refresh_token or "").partition(".")
    row = session.get(RefreshToken, token_id) if token_id and secret else None
    if row is None or not tokens.same_hash(row.token_hash, secret):
        raise Unauthenticated(code=ErrorCode.TOKEN_INVALID)
    family = session.get(TokenFamily, row.family_id)
    assert family is not None
    user = session.get(User, family.user_id)
    if family.revoked_at is not None or user is None or not user.active:
        raise Unauthenticated(code=ErrorCode.TOKEN_INVALID)
    actor = actor_for(user, profiles_of(session, user.id), request_id=request_id, ip=ip)
    if row.rotated_at is not None:
        _revoke_family(session, family, "reuse")
        audit.record(
            session=session,
            actor=actor,
            action="auth.refresh_reuse",
            entity="token_family",
            entity_id=family.id,
            sede_id=user.sede_id,
        )
        raise Unauthenticated(code=ErrorCode.TOKEN_REUSED)
    if as_utc(row.expires_at) <= utcnow():  # type: ignore[operator]
        raise Unauthenticated(code=ErrorCode.TOKEN_EXPIRED)
    row.rotated_at = utcnow()
    session.add(row)
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="auth.refresh",
        entity="token_family",
        entity_id=family.id,
        sede_id=user.sede_id,
    )
    return TokenPair(
        access_token=_access_token(settings, user, family.id),
        refresh_token=_new_refresh(session, settings, family.id),
        expires_in=settings.access_token_minutes * 60,
    )


def sign_out(*, session: Session, actor: Actor, family_id: str) -> None:
    family = session.get(TokenFamily, family_id)
    if family is not None and family.user_id == actor.user_id:
        _revoke_family(session, family, "signout")
        audit.record(
            session=session,
            actor=actor,
            action="auth.signout",
            entity="token_family",
            entity_id=family_id,
            sede_id=actor.sede_id,
        )


@dataclass(frozen=True)
class TokenHolder:
    """Who a valid access token stands for: enough to build the Actor and apply the policy
    without loading the User row (deps.Principal loads it when a view asks)."""

    id: str
    username: str
    scope_kind: str
    sede_id: str | None
    district_id: str | None
    must_change_password: bool
    profiles: tuple[str, ...]
    family_id: str


# Built once: constructing the statement costs more than running it (bound per request). Core
# columns, no ORM objects: the check runs on every authenticated request. The hot read path
# (central.core.hotread) runs this same statement from the event loop.
TOKEN_HOLDER = (
    select(
        User.id,
        User.username,
        User.scope_kind,
        User.sede_id,
        User.district_id,
        User.must_change_password,
        UserProfile.profile,
    )
    .select_from(TokenFamily)
    .join(User, col(User.id) == col(TokenFamily.user_id))
    .outerjoin(UserProfile, col(UserProfile.user_id) == col(User.id))
    .where(
        col(TokenFamily.id) == bindparam("family_id", ""),
        col(TokenFamily.user_id) == bindparam("user_id", ""),
        col(TokenFamily.revoked_at).is_(None),
        col(User.active).is_(True),
    )
)


def token_holder_params(*, settings: CentralSettings, token: str) -> dict[str, str]:
    """The parameters of TOKEN_HOLDER for an access token whose signature, purpose and expiry
    hold (Unauthenticated otherwise): its family and subject."""
    claims = tokens.decode_token(token, key=settings.resolved_secret_key(), purpose=ACCESS)
    return {"family_id": str(claims.get("fam", "")), "user_id": str(claims["sub"])}


def holder_from_rows(rows: Sequence[Sequence[Any]], family_id: str) -> TokenHolder:
    """The TokenHolder from TOKEN_HOLDER's rows (one per profile; by position, so driver tuples
    and SQLAlchemy rows both do). No row: the family is revoked or unknown, the account
    inactive, or the token's subject is not the family's."""
    if not rows:
        raise Unauthenticated(code=ErrorCode.TOKEN_INVALID)
    user_id, username, scope_kind, sede_id, district_id, must_change, _ = rows[0]
    return TokenHolder(
        id=user_id,
        username=username,
        scope_kind=scope_kind,
        sede_id=sede_id,
        district_id=district_id,
        must_change_password=bool(must_change),
        profiles=tuple(sorted(r[6] for r in rows if r[6] is not None)),
        family_id=family_id,
    )


def token_holder(*, session: Session, settings: CentralSettings, token: str) -> TokenHolder:
    """The holder of a valid, unrevoked access token: the signature and expiry are checked
    first, then ONE query (token family not revoked and belonging to the token's subject, user
    active, their profiles). Nothing of that is cached, so a revoked family or a deactivated
    account is refused on the very next request."""
    params = token_holder_params(settings=settings, token=token)
    rows = session.connection().execute(TOKEN_HOLDER, params).all()
    return holder_from_rows(rows, params["family_id"])


def user_from_access_token(
    *, session: Session, settings: CentralSettings, token: str
) -> tuple[User, list[str], str]:
    """The user (ORM row), profiles and token family of a valid, unrevoked access token."""
    holder = token_holder(session=session, settings=settings, token=token)
    user = session.get(User, holder.id)
    if user is None or not user.active:
        raise Unauthenticated(code=ErrorCode.TOKEN_INVALID)
    return user, list(holder.profiles), holder.family_id


def revoke_all_credentials(
    *,
    session: Session,
    user_id: str,
    reason: str,
    keep_family: str | None = None,
    keep_web_session: str | None = None,
) -> None:
    """Sign the user out everywhere (password change, deactivation, second-factor reset)."""
    now = utcnow()
    for family in session.exec(
        select(TokenFamily).where(
            TokenFamily.user_id == user_id, col(TokenFamily.revoked_at).is_(None)
        )
    ).all():  # noqa: E711
        if family.id != keep_family:
            family.revoked_at, family.revoked_reason = now, reason
            session.add(family)
    for web in session.exec(
        select(WebSession).where(
            WebSession.user_id == user_id, col(WebSession.revoked_at).is_(None)
        )
    ).all():  # noqa: E711
        if web.id != keep_web_session:
            web.revoked_at = now
            session.add(web)
    session.flush()


# ---------------------------------------------------------------------------- web sessions


def create_web_session(
    *, session: Session, settings: CentralSettings, user: User
) -> tuple[str, WebSession]:
    """A new browser session; returns the cookie value (``id.secret``) and the row (whose
    ``csrf_token`` forms must echo)."""
    secret = tokens.random_secret()
    now = utcnow()
    web = WebSession(
        user_id=user.id,
        token_hash=tokens.sha256_hex(secret),
        csrf_token=tokens.random_secret(24),
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(hours=settings.web_session_hours),
    )
    session.add(web)
    session.flush()
    return f"{web.id}.{secret}", web


def web_session_user(
    *,
    session: Session,
    settings: CentralSettings,
    cookie_value: str | None,
    now: datetime | None = None,
) -> tuple[WebSession, User, list[str]] | None:
    """The live session behind a cookie, or None (unknown, tampered, revoked, expired, idle)."""
    if not cookie_value:
        return None
    session_id, _, secret = cookie_value.partition(".")
    web = session.get(WebSession, session_id) if session_id and secret else None
    if web is None or web.revoked_at is not None or not tokens.same_hash(web.token_hash, secret):
        return None
    now = now or utcnow()
    if (
        as_utc(web.expires_at) <= now
        or as_utc(web.last_seen_at) + timedelta(minutes=settings.web_session_idle_minutes) <= now
    ):  # type: ignore[operator]
        return None
    user = session.get(User, web.user_id)
    if user is None or not user.active:
        return None
    if now - as_utc(web.last_seen_at) > timedelta(seconds=60):  # type: ignore[operator]
        web.last_seen_at = now  # throttled: not one write per request
        session.add(web)
        session.flush()
    return web, user, profiles_of(session, user.id)


def end_web_session(*, session: Session, actor: Actor, web_session: WebSession) -> None:
    if web_session.revoked_at is None:
        web_session.revoked_at = utcnow()
        session.add(web_session)
        session.flush()
        audit.record(
            session=session,
            actor=actor,
            action="auth.signout",
            entity="web_session",
            entity_id=web_session.id,
            sede_id=actor.sede_id,
        )
