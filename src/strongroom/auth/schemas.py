"""Bodies of the token endpoints. Form-encoded and JSON bodies parse into the same models."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, SecretStr

from strongroom.system.values import parse_duration

Duration = Annotated[int, BeforeValidator(parse_duration)]
GrantType = Literal["password", "refresh_token", "github_token"]


class SessionOptions(BaseModel):
    """Options of a new session; each bounded by the security settings (422 above a bound)."""

    model_config = ConfigDict(extra="forbid")

    scope: str = Field("", max_length=256, description="Free-form scope recorded on the session.")
    client_id: str | None = Field(None, max_length=128)
    client_secret: SecretStr | None = Field(
        None,
        max_length=512,
        description="Accepted for OAuth2 compatibility and ignored: registered API clients are "
        "not implemented yet, so an unknown client_secret is not an error.",
    )
    ttl: Duration | None = Field(
        None,
        description="Access-token lifetime (seconds or '15m'); at most security.max_token_ttl.",
    )
    bind_ip: bool | None = Field(
        None, description="Bind the session to the caller's IP (default: security.bind_ip_default)."
    )
    max_uses: int | None = Field(
        None, ge=1, description="The session accepts exactly this many requests."
    )
    one_time: bool = Field(False, description="One request, no refresh token.")


class TokenRequest(SessionOptions):
    grant_type: GrantType
    username: str | None = Field(None, max_length=200)
    password: SecretStr | None = Field(None, max_length=2048)
    refresh_token: SecretStr | None = Field(None, max_length=512)
    github_token: SecretStr | None = Field(None, max_length=512)


class RenewRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    refresh_token: SecretStr = Field(max_length=512)
    github_token: SecretStr | None = Field(
        None,
        max_length=512,
        description="Sessions opened by GitHub login: a current GitHub token of the same "
        "account, so that membership and role are checked again. Never stored.",
    )


class RevokeRequest(BaseModel):
    """RFC 7009: `token` (and `token_type_hint`) or the seed's `revoke_token`."""

    model_config = ConfigDict(extra="forbid")

    revoke_token: SecretStr | None = Field(None, max_length=512)
    token: SecretStr | None = Field(None, max_length=512)
    token_type_hint: Literal["access_token", "refresh_token"] | None = None


class CheckTokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(max_length=200)


class IntrospectRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: SecretStr = Field(max_length=512)
    token_type_hint: Literal["access_token", "refresh_token"] | None = None


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int
    refresh_token: str | None = Field(None, description="Absent for one-time sessions.")
    refresh_expires_in: int | None = None
    scope: str
    session_id: str


class Revoked(BaseModel):
    revoked: bool = True


class CheckTokenResponse(BaseModel):
    username: str
    active: Literal[True] = True
    role: str
    session_id: str
    expires_at: str


class SessionOut(BaseModel):
    id: str
    username: str
    role: str
    auth_method: str
    created_at: str
    last_used_at: str
    expires_at: str
    refresh_expires_at: str | None
    max_expires_at: str
    ip: str | None
    bound_ip: str | None
    uses: int
    max_uses: int | None
    one_time: bool
    scope: str
    client_id: str | None
    user_agent: str | None
    current: bool


class SessionPageOut(BaseModel):
    items: list[SessionOut]
    next_cursor: str | None
