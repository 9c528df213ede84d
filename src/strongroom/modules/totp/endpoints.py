"""HTTP routes of the TOTP module, under /api/v1/modules/totp/: parse, call, return."""

from __future__ import annotations

import base64
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from strongroom.auth.dependencies import CurrentPrincipal, ServicesDep
from strongroom.http.strict_json import StrictJsonRoute
from strongroom.modules.http import ERRORS, module_route
from strongroom.modules.totp import service
from strongroom.modules.totp.schemas import (
    CodeOut,
    KeyCreate,
    TotpKeyCreated,
    TotpKeyOut,
    TotpKeyPage,
    ValidateOut,
    ValidateRequest,
)
from strongroom.modules.transit.schemas import Deleted

router = APIRouter(route_class=StrictJsonRoute, tags=["totp"], dependencies=[Depends(module_route)])
BASE = "/modules/totp"


@router.post(
    f"{BASE}/keys",
    response_model=TotpKeyCreated,
    response_model_exclude_none=True,
    responses={**ERRORS, 409: {"description": "you have a TOTP key of that name"}},
)
async def create_key(
    body: KeyCreate, principal: CurrentPrincipal, services: ServicesDep
) -> TotpKeyCreated:
    """Generate a key (`generate: true`, `issuer`, `account_name`; optional `algorithm` SHA1,
    SHA256 or SHA512, `digits` 6 or 8, `period`): the answer carries its otpauth:// `url` and
    a QR code PNG (`barcode`, base64) for an authenticator app, once. Or import one: `url`
    (otpauth://totp/...) or `key` (base32 seed)."""
    row, url, png = await service.create_key(services, principal, body)
    return TotpKeyCreated(
        **TotpKeyOut.of(row).model_dump(),
        url=url,
        barcode=base64.b64encode(png).decode() if png is not None else None,
    )


@router.get(f"{BASE}/keys", response_model=TotpKeyPage, responses=ERRORS)
async def list_keys(
    principal: CurrentPrincipal,
    services: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(max_length=128)] = None,
) -> TotpKeyPage:
    """Your TOTP keys, by name, without seeds."""
    rows, next_cursor = await service.list_keys(services, principal, limit=limit, cursor=cursor)
    return TotpKeyPage(items=[TotpKeyOut.of(row) for row in rows], next_cursor=next_cursor)


@router.get(f"{BASE}/keys/{{name}}", response_model=TotpKeyOut, responses=ERRORS)
async def read_key(name: str, principal: CurrentPrincipal, services: ServicesDep) -> TotpKeyOut:
    """One of your TOTP keys, without its seed."""
    return TotpKeyOut.of(await service.read_key(services, principal, name))


@router.delete(f"{BASE}/keys/{{name}}", response_model=Deleted, responses=ERRORS)
async def delete_key(name: str, principal: CurrentPrincipal, services: ServicesDep) -> Deleted:
    """Delete a TOTP key."""
    await service.delete_key(services, principal, name)
    return Deleted()


@router.get(f"{BASE}/code/{{name}}", response_model=CodeOut, responses=ERRORS)
async def current_code(name: str, principal: CurrentPrincipal, services: ServicesDep) -> CodeOut:
    """The key's code for the current time step (for a key imported from a service)."""
    return CodeOut(code=await service.code(services, principal, name))


@router.post(f"{BASE}/validate/{{name}}", response_model=ValidateOut, responses=ERRORS)
async def validate_code(
    name: str, body: ValidateRequest, principal: CurrentPrincipal, services: ServicesDep
) -> ValidateOut:
    """Whether `code` is valid now (one step of tolerance either side by default). A code is
    valid at most once: a replay, or a code older than one already accepted, is not."""
    return ValidateOut(valid=await service.validate(services, principal, name, body.code))
