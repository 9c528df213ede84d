"""The delivery log of expiry notices (admins)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from strongroom.auth.dependencies import AdminPrincipal, ServicesDep
from strongroom.notifications.schemas import NoticeOut, NoticePage
from strongroom.notifications.service import delivery_log

router = APIRouter(tags=["system"])


@router.get("/sys/notifications", response_model=NoticePage)
async def list_notifications(
    _admin: AdminPrincipal,
    services: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(max_length=18, pattern=r"^[0-9]+$")] = None,
) -> NoticePage:
    """The expiry notices (webhooks), newest first: event, secret id and path, lead time,
    status (pending, sent, failed), attempts and the last answer. Admins only."""
    rows, next_cursor = await delivery_log(services, int(cursor) if cursor else None, limit)
    return NoticePage(items=[NoticeOut.of(row) for row in rows], next_cursor=next_cursor)
