"""The audit viewer (admins and auditors), over the database sink's records."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from strongroom.audit import service
from strongroom.audit.repository import RecordFilter
from strongroom.errors import StrongroomError
from strongroom.ui.render import page
from strongroom.ui.routing import ServicesDep, UiReader, UiRoute

router = APIRouter(route_class=UiRoute)
OUTCOMES = ("", "success", "denied", "error", "auth_failed")
FILTERS = ("user", "path", "since", "until", "outcome")


@router.get("/ui/audit")
async def audit_page(request: Request, services: ServicesDep, user: UiReader) -> Response:
    """Records newest first, filtered by user, path prefix, time and outcome."""
    query = request.query_params
    chosen = {name: query.get(name, "")[:512].strip() for name in FILTERS}
    error = None
    items: list[dict[str, object]] = []
    next_cursor = None
    if not services.config.audit_database:
        error = (
            "This node does not keep audit records in the database, so there is nothing to "
            "show here. Start it with --audit-database (STRONGROOM_AUDIT_DATABASE=true); the "
            "file sink is read with ordinary tools and checked with `strongroom audit verify`."
        )
    else:
        try:
            outcome = chosen["outcome"] if chosen["outcome"] in OUTCOMES else ""
            where = RecordFilter(
                username=service.text_filter(chosen["user"] or None, "user"),
                path_prefix=service.text_filter(chosen["path"] or None, "path"),
                since=service.time_bound(chosen["since"] or None, "since"),
                until=service.time_bound(chosen["until"] or None, "until"),
                outcome=outcome or None,
            )
            items, next_cursor = await service.list_records(
                services, where, 100, query.get("cursor") or None
            )
        except StrongroomError as exc:
            error = exc.detail
    return page(
        request,
        services,
        "audit.html",
        user,
        title="Audit log",
        items=items,
        next_cursor=next_cursor,
        chosen=chosen,
        outcomes=OUTCOMES,
        error=error,
    )
