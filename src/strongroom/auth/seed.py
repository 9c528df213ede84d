"""The seed's auth paths (seeds/004) over the existing machinery: registration is
`UserService.create` with open registration, login is the password grant, refresh is the
renewal with rotation and reuse detection. JSON or form bodies, like the token endpoints."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from strongroom.auth import login
from strongroom.auth.dependencies import ServicesDep
from strongroom.auth.endpoints import OAUTH_ERRORS, renew_token
from strongroom.auth.identify import login_name
from strongroom.auth.schemas import RenewRequest, SessionOptions, TokenRequest, TokenResponse
from strongroom.errors import Forbidden
from strongroom.http.body import document_body, parse_body
from strongroom.http.context import get_context
from strongroom.http.strict_json import StrictJsonRoute
from strongroom.users.schemas import UserCreate, UserOut
from strongroom.users.service import UserService

router = APIRouter(route_class=StrictJsonRoute, tags=["auth"])


class RegisterRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(max_length=200)
    email: str | None = Field(None, max_length=300)
    password: SecretStr = Field(max_length=2048)


class LoginRequest(SessionOptions):
    """The password grant without `grant_type`; `username` may be an email address."""

    username: str = Field(max_length=300, description="Username or email address.")
    password: SecretStr = Field(max_length=2048)


@router.post(
    "/auth/register",
    response_model=UserOut,
    openapi_extra=document_body(RegisterRequest),
    responses={
        403: {"description": "registration_closed: auth.registration_open is off"},
        409: {"description": "the username or email is taken"},
        422: {"description": "invalid username or email; the password breaks the policy"},
    },
)
async def register(request: Request, services: ServicesDep) -> UserOut:
    """Create your account while the server has open registration (`auth.registration_open`);
    it gets the default role (`auth.default_role`). Then log in with /auth/login."""
    body = await parse_body(request, RegisterRequest)
    ctx = get_context(request)
    ctx.sensitive = ctx.audit_anyway = True
    ctx.attempted_username = body.username[:64]
    if not (await services.runtime.refresh()).auth.registration_open:
        raise Forbidden(
            "registration is closed; an admin must create accounts", code="registration_closed"
        )
    create = UserCreate(username=body.username, email=body.email, password=body.password)
    return UserOut.of(await UserService(services).create(create, None))


@router.post(
    "/auth/login",
    response_model=TokenResponse,
    openapi_extra=document_body(LoginRequest),
    responses=OAUTH_ERRORS,
)
async def seed_login(request: Request, services: ServicesDep) -> TokenResponse:
    """Log in with `username` (or the account's email address) and `password`: the token
    response of /auth/token/create, the same session options, errors and lock-out."""
    body = await parse_body(request, LoginRequest)
    ctx = get_context(request)
    ctx.sensitive = True
    form = TokenRequest(
        grant_type="password",
        **body.model_dump(include=set(SessionOptions.model_fields)),
        username=await login_name(services, body.username),
        password=body.password,
    )
    return await login.password_login(services, form, ctx, request.headers.get("user-agent"))


router.add_api_route(
    "/auth/token/refresh",
    renew_token,
    methods=["POST"],
    response_model=TokenResponse,
    responses=OAUTH_ERRORS,
    openapi_extra=document_body(RenewRequest),
    name="refresh_token",
    summary="Refresh Token",
    description='`{"refresh_token"}` → a new access and refresh token; the old pair dies. '
    "An already-used refresh token: 400 invalid_grant, and the whole session is revoked "
    "(the seed's name for /auth/token/renew).",
)
