"""Shapes of the authentication API."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

Code6 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=12)]


class TokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    totp_code: Code6 | None = None


class RefreshRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    refresh_token: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class TokenResponse(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"  # noqa: S105
    expires_in: int


class TotpSetupRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    setup_token: Annotated[str, StringConstraints(min_length=1, max_length=2000)]


class TotpSetupResponse(BaseModel):
    secret: str
    provisioning_uri: str


class TotpActivateRequest(TotpSetupRequest):
    code: Code6
