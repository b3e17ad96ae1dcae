"""Signed access tokens (JWT HS256, PyJWT) and opaque random secrets stored only as hashes."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from datetime import datetime, timedelta
from typing import Any

import jwt

from central.domain.clock import utcnow
from central.domain.errors import Unauthenticated
from contracts.errors import ErrorCode

ISSUER = "alegra-central"


def random_secret(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def same_hash(stored_hex: str, value: str) -> bool:
    return hmac.compare_digest(stored_hex, sha256_hex(value))


def encode_token(
    *,
    key: str,
    subject: str,
    purpose: str,
    lifetime: timedelta,
    claims: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> str:
    issued = now or utcnow()
    payload = {
        "iss": ISSUER,
        "sub": subject,
        "typ": purpose,
        "iat": int(issued.timestamp()),
        "exp": int((issued + lifetime).timestamp()),
        "jti": secrets.token_hex(8),
        **(claims or {}),
    }
    return jwt.encode(payload, key, algorithm="HS256")


# Claims of tokens whose signature already verified, by (token, key, purpose): a signature
# check of the same string always gives the same answer, so only the expiry is re-checked. It
# holds no authorization state (revocation is checked in the database on every request) and is
# bounded (oldest entries dropped first).
_VERIFIED: dict[tuple[str, str, str], dict[str, Any]] = {}
_VERIFIED_MAX = 1024
_VERIFIED_LOCK = threading.Lock()


def decode_token(token: str, *, key: str, purpose: str) -> dict[str, Any]:
    """The claims of a valid token of ``purpose``; Unauthenticated otherwise (expired, tampered,
    wrong purpose, wrong algorithm)."""
    cache_key = (token, key, purpose)
    claims = _VERIFIED.get(cache_key)
    if claims is not None:
        if claims["exp"] <= time.time():
            _VERIFIED.pop(cache_key, None)
            raise Unauthenticated(code=ErrorCode.TOKEN_EXPIRED)
        return dict(claims)
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=["HS256"],
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub", "typ"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthenticated(code=ErrorCode.TOKEN_EXPIRED) from exc
    except jwt.PyJWTError as exc:
        raise Unauthenticated(code=ErrorCode.TOKEN_INVALID) from exc
    if claims.get("typ") != purpose:
        raise Unauthenticated(code=ErrorCode.TOKEN_INVALID)
    if isinstance(claims.get("exp"), int | float):
        with _VERIFIED_LOCK:
            while len(_VERIFIED) >= _VERIFIED_MAX:
                _VERIFIED.pop(next(iter(_VERIFIED)), None)
            _VERIFIED[cache_key] = dict(claims)
    return claims
