"""Admin routes of backup and restore: the snapshot out, a snapshot in."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from strongroom.auth.dependencies import AdminPrincipal, ServicesDep
from strongroom.backup import service
from strongroom.barrier.service import Sealed
from strongroom.http.context import get_context

router = APIRouter(tags=["system"])
RESTORE_PATH = "/sys/restore"


class RestoreOut(BaseModel):
    dry_run: bool
    revision: str
    tables: dict[str, int]


@router.get(
    "/sys/backup",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/x-ndjson": {}}}},
)
async def backup(
    request: Request,
    _admin: AdminPrincipal,
    services: ServicesDep,
    sessions: Annotated[bool, Query(description="Include the sessions.")] = False,
) -> StreamingResponse:
    """A consistent snapshot of the whole database as lines of JSON, streamed (admin).
    Values stay encrypted under the keyring, itself wrapped by the root key;
    `strongroom backup create` encrypts the stream to a passphrase."""
    get_context(request).sensitive = True
    if services.barrier.sealed:
        raise Sealed()
    lines = service.snapshot(services, sessions=sessions)
    # The first line opens the database's read before the status is sent: an outage is the
    # usual 503, not a 200 cut short.
    first = await anext(lines)

    async def body() -> AsyncIterator[bytes]:
        yield first
        async for line in lines:
            yield line

    return StreamingResponse(
        body(), media_type="application/x-ndjson", headers={"Cache-Control": "no-store"}
    )


@router.post(RESTORE_PATH, response_model=RestoreOut)
async def restore(
    request: Request,
    admin: AdminPrincipal,
    services: ServicesDep,
    dry_run: Annotated[bool, Query(description="Check everything, change nothing.")] = False,
) -> RestoreOut:
    """Restore a snapshot (the lines `GET /sys/backup` gives) into this server, which must
    hold no secret yet and run with the root key of the server the backup came from (admin).
    Users, roles, settings and every session are replaced. Streamed: the body has no size
    limit."""
    ctx = get_context(request)
    ctx.sensitive = True
    if services.barrier.sealed:
        raise Sealed()
    report = await service.restore(services, request.stream(), dry_run=dry_run)
    ctx.extra["audit"] = {"restore": {"dry_run": dry_run, "tables": report.tables}}
    return RestoreOut(dry_run=report.dry_run, revision=report.revision, tables=report.tables)
