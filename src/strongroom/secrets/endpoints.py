"""HTTP routes of the secrets domain: parse, call the service, return.

Every route is marked sensitive for the audit record (and fails closed without an audit
sink), answers 503 while the barrier is sealed, and records the secret's id and path in the
request context as soon as they are known.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request

from strongroom.auth.dependencies import CurrentPrincipal, ServicesDep
from strongroom.barrier.service import Sealed
from strongroom.errors import NotFound
from strongroom.http.context import RequestContext, context_dependency, get_context
from strongroom.http.responses import JsonResponse
from strongroom.http.strict_json import StrictJsonRoute
from strongroom.secrets import listing, moving, reading, service
from strongroom.secrets.schemas import (
    DestroyRequest,
    Moved,
    MoveRequest,
    MoveResult,
    SecretCreate,
    SecretCreated,
    SecretPage,
    SecretRead,
    SecretState,
    SecretUpdate,
    VersionPage,
    created_out,
    info_out,
    read_body,
    state_out,
    version_out,
)

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
METADATA_PARAM = "metadata."


async def secret_route(request: Request, services: ServicesDep) -> None:
    """Runs before authentication on every secret route."""
    get_context(request).sensitive = True
    if services.barrier.sealed:
        raise Sealed()


router = APIRouter(
    route_class=StrictJsonRoute, tags=["secrets"], dependencies=[Depends(secret_route)]
)
Ctx = Annotated[RequestContext, Depends(context_dependency)]

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "missing, invalid or expired bearer token"},
    403: {"description": "the caller's role does not grant this on the secret's path"},
    404: {"description": "unknown id, or the secret is expired, deleted or destroyed"},
    503: {
        "description": "sealed, audit unavailable, or the stored secret failed its integrity "
        "check (code integrity_error)"
    },
}


def known_id(secret_id: str, ctx: RequestContext) -> str:
    """Ids are random UUIDs: anything else is simply not one of ours."""
    if not _UUID.fullmatch(secret_id):
        raise NotFound("no secret with this id")
    ctx.secret_id = secret_id
    return secret_id


@router.post(
    "/secrets/create",
    response_model=SecretCreated,
    responses={
        **ERRORS,
        409: {"description": "a live secret holds the path"},
        413: {"description": "value over secrets.max_value_bytes"},
    },
)
async def create_secret(
    body: SecretCreate, services: ServicesDep, principal: CurrentPrincipal, ctx: Ctx
) -> SecretCreated:
    """Store a new secret (version 1) at `path`. Needs `create` on the path.

    `value` is a string or a JSON object, encrypted at rest. `metadata` is a string map stored
    in clear (searchable, not secret). `ttl` (seconds or '15m', '1h', '7d') makes the whole
    secret expire; `max_reads` burns it after that many reads. A path held by a deleted,
    destroyed or expired secret can be reused."""
    return created_out(await service.create_secret(services, principal, body, ctx))


@router.post(
    "/secrets/move",
    response_model=MoveResult,
    responses={
        **ERRORS,
        403: {
            "description": "the role refuses read or delete on a source, or create on a "
            "destination: nothing was moved"
        },
        404: {"description": "no live secret at the source path (single move)"},
        409: {
            "description": "a live secret holds a destination path, or the source changed "
            "during the move: nothing was moved"
        },
    },
)
async def move_secrets(
    body: MoveRequest, services: ServicesDep, principal: CurrentPrincipal, ctx: Ctx
) -> MoveResult:
    """Move (rename) one secret, or with `prefix` every live secret under a prefix, to a new
    path or prefix, atomically: all or nothing. Ids, versions, metadata and expiry are kept;
    no value is returned. Needs `read` and `delete` on every source path and `create` on
    every destination path; the audit record lists every move."""
    moves = await moving.move_secrets(services, principal, body, ctx)
    return MoveResult(moved=[Moved(from_=m.old, to=m.new, id=m.id) for m in moves])


@router.get("/secrets", response_model=SecretPage, responses=ERRORS)
async def list_secrets(
    request: Request,
    services: ServicesDep,
    principal: CurrentPrincipal,
    prefix: Annotated[str, Query(max_length=1024, description="Path prefix, e.g. 'team-a/'.")] = "",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(max_length=1024)] = None,
) -> SecretPage:
    """Live secrets the caller may `list`, ordered by path, without values.

    Filter by metadata with `?metadata.KEY=VALUE` (several filters: all must match). Pages are
    keyset-paginated on the path: pass `next_cursor` back as `cursor`."""
    filters = {
        key[len(METADATA_PARAM) :]: value
        for key, value in request.query_params.multi_items()
        if key.startswith(METADATA_PARAM)
    }
    rows, next_cursor = await listing.list_secrets(
        services, principal, prefix=prefix, limit=limit, cursor=cursor, filters=filters
    )
    return SecretPage(items=[info_out(row) for row in rows], next_cursor=next_cursor)


@router.get("/secrets/by-path/{path:path}", response_model=SecretRead, responses=ERRORS)
async def read_secret_by_path(
    path: str, request: Request, services: ServicesDep, principal: CurrentPrincipal, ctx: Ctx
) -> JsonResponse:
    """The current version of the live secret at `path`, with its value. Needs `read`."""
    if request.scope["path"].endswith("\n"):
        # The router's `$` matches before a final newline and drops it from `path`.
        path += "\n"
    revealed = await reading.read_by_path(services, principal, path, ctx)
    return JsonResponse(read_body(revealed))


@router.get("/secrets/{secret_id}", response_model=SecretRead, responses=ERRORS)
async def read_secret(
    secret_id: str,
    services: ServicesDep,
    principal: CurrentPrincipal,
    ctx: Ctx,
    version: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> JsonResponse:
    """A secret with its value: the current version, or `?version=N`. Needs `read`.

    For a secret with `max_reads`, each successful read counts (across every node) and the
    last one destroys it."""
    revealed = await reading.read_by_id(services, principal, known_id(secret_id, ctx), version, ctx)
    return JsonResponse(read_body(revealed))


@router.put(
    "/secrets/{secret_id}",
    response_model=SecretCreated,
    responses={
        **ERRORS,
        409: {"description": "cas is not the current version"},
        413: {"description": "value over secrets.max_value_bytes"},
    },
)
async def update_secret(
    secret_id: str,
    body: SecretUpdate,
    services: ServicesDep,
    principal: CurrentPrincipal,
    ctx: Ctx,
) -> SecretCreated:
    """Write a new version. Needs `update`. With `cas`, only if `cas` is the current version.

    `metadata`, when given, replaces the metadata; `ttl`, when given, sets a new expiry from
    now. Versions beyond `secrets.max_versions` are destroyed."""
    written = await service.update_secret(services, principal, known_id(secret_id, ctx), body, ctx)
    return created_out(written)


@router.delete("/secrets/{secret_id}", response_model=SecretState, responses=ERRORS)
async def delete_secret(
    secret_id: str, services: ServicesDep, principal: CurrentPrincipal, ctx: Ctx
) -> SecretState:
    """Soft delete. Needs `delete`. The secret is unreadable at once and its path is free;
    `undelete` restores it, `destroy` wipes it for good."""
    return state_out(
        await service.delete_secret(services, principal, known_id(secret_id, ctx), ctx)
    )


@router.post(
    "/secrets/{secret_id}/undelete",
    response_model=SecretState,
    responses={**ERRORS, 409: {"description": "not deleted, or another secret took the path"}},
)
async def undelete_secret(
    secret_id: str, services: ServicesDep, principal: CurrentPrincipal, ctx: Ctx
) -> SecretState:
    """Restore a soft-deleted secret. Needs `delete`."""
    return state_out(
        await service.undelete_secret(services, principal, known_id(secret_id, ctx), ctx)
    )


@router.post("/secrets/{secret_id}/destroy", response_model=SecretState, responses=ERRORS)
async def destroy_secret(
    secret_id: str,
    services: ServicesDep,
    principal: CurrentPrincipal,
    ctx: Ctx,
    body: Annotated[DestroyRequest | None, Body()] = None,
) -> SecretState:
    """Wipe the ciphertexts of `versions` (default: all) for good. Needs `delete`.

    When no version keeps a value, the secret is gone (and its path free)."""
    written = await service.destroy_secret(
        services, principal, known_id(secret_id, ctx), body or DestroyRequest(), ctx
    )
    return state_out(written)


@router.get("/secrets/{secret_id}/versions", response_model=VersionPage, responses=ERRORS)
async def list_versions(
    secret_id: str,
    services: ServicesDep,
    principal: CurrentPrincipal,
    ctx: Ctx,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(max_length=32)] = None,
) -> VersionPage:
    """The versions of a secret, newest first, without values. Needs `read`."""
    secret, rows, next_cursor = await listing.list_versions(
        services, principal, known_id(secret_id, ctx), limit=limit, cursor=cursor
    )
    current = secret.current_version
    return VersionPage(items=[version_out(r, current) for r in rows], next_cursor=next_cursor)
