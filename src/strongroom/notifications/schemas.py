"""The delivery log of expiry notices, as admins read it."""

from __future__ import annotations

from pydantic import BaseModel, Field

from strongroom.notifications.repository import NoticeRow
from strongroom.notifications.service import lead_text
from strongroom.timefmt import rfc3339


class NoticeOut(BaseModel):
    id: int
    event: str = Field(description="secret.expiring or secret.expired")
    secret_id: str
    path: str
    expires_at: str
    lead_time: str | None = Field(description="e.g. '7d'; null for the notice at expiry")
    status: str = Field(description="pending, sent or failed")
    attempts: int
    next_attempt_at: str | None = Field(description="When a pending notice is tried next")
    last_status: int | None = Field(description="HTTP status of the last attempt, if any")
    last_error: str | None
    created_at: str
    sent_at: str | None

    @classmethod
    def of(cls, row: NoticeRow) -> NoticeOut:
        return cls(
            id=row.id,
            event=row.event,
            secret_id=row.secret_id,
            path=row.path,
            expires_at=rfc3339(row.expires_at) or "",
            lead_time=lead_text(row.lead_time),
            status=row.status,
            attempts=row.attempts,
            next_attempt_at=rfc3339(row.next_attempt_at) if row.status == "pending" else None,
            last_status=row.last_status,
            last_error=row.last_error,
            created_at=rfc3339(row.created_at) or "",
            sent_at=rfc3339(row.sent_at),
        )


class NoticePage(BaseModel):
    items: list[NoticeOut]
    next_cursor: str | None
