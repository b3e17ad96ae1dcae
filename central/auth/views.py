"""HTTP API of authentication: tokens, refresh, sign-out, own account, TOTP enrollment."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from central.audit import service as audit
from central.auth import service
from central.auth.deps import (
    Principal,
    SessionDep,
    SettingsDep,
    client_ip,
    public,
    read_only,
    signed_in,
)
from central.auth.schemas import (
    RefreshRequest,
    TokenRequest,
    TokenResponse,
    TotpActivateRequest,
    TotpSetupRequest,
    TotpSetupResponse,
)
from central.core.http import ERROR_RESPONSES
from central.domain.errors import DomainError
from central.users import service as users
from central.users.schemas import PasswordChange, UserRead

router = APIRouter(prefix="/auth", tags=["autenticación"], responses=ERROR_RESPONSES)


def _pair(pair: service.TokenPair) -> TokenResponse:
    return TokenResponse(
        access_token=pair.access_token, refresh_token=pair.refresh_token, expires_in=pair.expires_in
    )


@router.post("/token", response_model=TokenResponse, dependencies=[Depends(public)])
def sign_in(
    body: TokenRequest, request: Request, session: SessionDep, settings: SettingsDep
) -> TokenResponse:
    """Sign in with username, password and (administrative profiles) a TOTP code."""
    try:
        user = service.sign_in(
            session=session,
            settings=settings,
            username=body.username,
            password=body.password,
            totp_code=body.totp_code,
            request_id=request.state.request_id,
            ip=client_ip(request),
        )
    except DomainError:
        session.commit()  # keep the failed-attempt counter and the audit row
        raise
    pair = service.issue_token_pair(session=session, settings=settings, user=user)
    session.commit()
    return _pair(pair)


@router.post("/refresh", response_model=TokenResponse, dependencies=[Depends(public)])
def refresh(
    body: RefreshRequest, request: Request, session: SessionDep, settings: SettingsDep
) -> TokenResponse:
    """Spend a refresh token for a new pair. Reusing a spent one signs the client out."""
    try:
        pair = service.refresh_tokens(
            session=session,
            settings=settings,
            refresh_token=body.refresh_token,
            request_id=request.state.request_id,
            ip=client_ip(request),
        )
    except DomainError:
        session.commit()  # a detected reuse has revoked the family
        raise
    session.commit()
    return _pair(pair)


@router.post("/logout", status_code=204)
def sign_out(principal: Annotated[Principal, Depends(signed_in)], session: SessionDep) -> Response:
    service.sign_out(session=session, actor=principal.actor, family_id=principal.token_family_id)
    session.commit()
    return Response(status_code=204)


@router.get("/me", response_model=UserRead)
@read_only
def me(principal: Annotated[Principal, Depends(signed_in)], session: SessionDep) -> UserRead:
    return users.user_read(session, principal.user, list(principal.actor.profiles))


@router.post("/password", status_code=204)
def change_password(
    body: PasswordChange,
    principal: Annotated[Principal, Depends(signed_in)],
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    """Change one's own password; every other session and token of the account is revoked."""
    users.change_password(
        session=session,
        actor=principal.actor,
        user=principal.user,
        current_password=body.current_password,
        new_password=body.new_password,
        ph=service.password_hasher(settings),
        min_length=settings.password_min_length,
    )
    service.revoke_all_credentials(
        session=session,
        user_id=principal.user.id,
        reason="password_change",
        keep_family=principal.token_family_id,
    )
    session.commit()
    return Response(status_code=204)


@router.post("/totp/setup", response_model=TotpSetupResponse, dependencies=[Depends(public)])
def totp_setup(
    body: TotpSetupRequest, session: SessionDep, settings: SettingsDep
) -> TotpSetupResponse:
    """With the setup token from a ``totp_setup_required`` answer: a new secret to scan."""
    user = service.user_from_setup_token(
        session=session, settings=settings, setup_token=body.setup_token
    )
    secret, uri = service.begin_totp_setup(session=session, settings=settings, user=user)
    session.commit()
    return TotpSetupResponse(secret=secret, provisioning_uri=uri)


@router.post("/totp/activate", response_model=TokenResponse, dependencies=[Depends(public)])
def totp_activate(
    body: TotpActivateRequest, request: Request, session: SessionDep, settings: SettingsDep
) -> TokenResponse:
    """Confirm the authenticator with a first code; signs in."""
    user = service.user_from_setup_token(
        session=session, settings=settings, setup_token=body.setup_token
    )
    actor = service.actor_for(
        user,
        users.profiles_of(session, user.id),
        request_id=request.state.request_id,
        ip=client_ip(request),
    )
    service.confirm_totp_setup(session=session, actor=actor, user=user, code=body.code)
    audit.record(
        session=session,
        actor=actor,
        action="auth.signin",
        entity="user",
        entity_id=user.id,
        sede_id=user.sede_id,
    )
    pair = service.issue_token_pair(session=session, settings=settings, user=user)
    session.commit()
    return _pair(pair)
