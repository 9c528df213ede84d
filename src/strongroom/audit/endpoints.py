"""HTTP routes of the audit domain."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from strongroom.audit import service
from strongroom.audit.repository import RecordFilter
from strongroom.audit.schemas import AuditPage, HashOut, HashRequest, Outcome
from strongroom.auth.dependencies import AdminPrincipal, ServicesDep, SystemReader
from strongroom.http.responses import JsonResponse
from strongroom.http.strict_json import StrictJsonRoute

router = APIRouter(route_class=StrictJsonRoute, tags=["audit"])


@router.get(
    "/audit",
    response_model=AuditPage,
    responses={409: {"description": "The database sink is off on this node."}},
)
async def list_audit_records(
    _reader: SystemReader,
    services: ServicesDep,
    user: Annotated[
        str | None, Query(max_length=64, description="Principal or attempted username.")
    ] = None,
    path: Annotated[
        str | None, Query(max_length=512, description="Concrete request paths starting with this.")
    ] = None,
    since: Annotated[
        str | None, Query(max_length=64, description="RFC 3339 or Unix seconds, inclusive.")
    ] = None,
    until: Annotated[
        str | None, Query(max_length=64, description="RFC 3339 or Unix seconds, inclusive.")
    ] = None,
    outcome: Outcome | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
) -> JsonResponse:
    """Audit records kept by the database sink, newest first, for admins and auditors.

    Needs the node to run with the database sink (`--audit-database`); otherwise 409
    `audit_database_disabled`. The file sink is read with ordinary tools and checked with
    `strongroom audit verify`."""
    where = RecordFilter(
        username=service.text_filter(user, "user"),
        path_prefix=service.text_filter(path, "path"),
        since=service.time_bound(since, "since"),
        until=service.time_bound(until, "until"),
        outcome=outcome.value if outcome is not None else None,
    )
    items, next_cursor = await service.list_records(services, where, limit, cursor)
    # The records are stored validated; they go out without a second validation pass.
    return JsonResponse({"items": items, "next_cursor": next_cursor})


@router.post("/audit/hash", response_model=HashOut)
async def hash_for_audit(
    body: HashRequest, _admin: AdminPrincipal, services: ServicesDep
) -> HashOut:
    """The HMAC-SHA256 (audit key) of `input`, as audit records carry it: compute it for a
    token you hold and search the log for its `token_hmac`. Admins only; the input is not
    recorded anywhere."""
    return HashOut(hmac=service.audit_hmac(services, body.input))
