"""All SQL of the expiry notices (Core, no ORM)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import exists, not_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from strongroom.db import Database
from strongroom.db.upsert import upsert
from strongroom.notifications.models import expiry_notices
from strongroom.secrets.models import secrets

n, s = expiry_notices.c, secrets.c


@dataclass(frozen=True, slots=True)
class Due:
    """A secret whose notice for `lead_time` (0: at expiry) is due and not yet recorded."""

    secret_id: str
    path: str
    expires_at: float
    lead_time: int


@dataclass(frozen=True, slots=True)
class NoticeRow:
    id: int
    secret_id: str
    path: str
    expires_at: float
    lead_time: int
    event: str
    due_at: float
    status: str
    attempts: int
    next_attempt_at: float
    last_status: int | None
    last_error: str | None
    created_at: float
    sent_at: float | None


COLUMNS = tuple(expiry_notices.c[field] for field in NoticeRow.__dataclass_fields__)


def _unrecorded(lead_time: int) -> object:
    return not_(
        exists().where(n.secret_id == s.id, n.expires_at == s.expires_at, n.lead_time == lead_time)
    )


async def due_before_expiry(
    conn: AsyncConnection, lead: int, next_lead: int | None, now: float, limit: int
) -> list[Due]:
    """Live secrets in the stage of `lead`: its notice is due (expiry within `lead`) and the
    next shorter one (`next_lead`) is not yet; a notice whose stage passed unseen is skipped."""
    query = select(s.id, s.path, s.expires_at).where(
        s.expires_at.is_not(None),
        s.expires_at > now,
        s.expires_at <= now + lead,
        s.deleted_at.is_(None),
        s.destroyed.is_(False),
        _unrecorded(lead),  # type: ignore[arg-type]
    )
    if next_lead is not None:
        query = query.where(s.expires_at > now + next_lead)
    rows = await conn.execute(query.order_by(s.expires_at).limit(limit))
    return [Due(row[0], row[1], row[2], lead) for row in rows]


async def due_at_expiry(conn: AsyncConnection, now: float, window: float, limit: int) -> list[Due]:
    """Secrets that expired within `window` (not deleted, and not destroyed before their
    expiry: a burnt secret's `updated_at` is its destruction)."""
    query = select(s.id, s.path, s.expires_at).where(
        s.expires_at.is_not(None),
        s.expires_at <= now,
        s.expires_at > now - window,
        s.deleted_at.is_(None),
        or_(s.destroyed.is_(False), s.updated_at < s.expires_at),
        _unrecorded(0),  # type: ignore[arg-type]
    )
    rows = await conn.execute(query.order_by(s.expires_at).limit(limit))
    return [Due(row[0], row[1], row[2], 0) for row in rows]


async def record(db: Database, conn: AsyncConnection, due: Sequence[Due], now: float) -> None:
    """One pending notice per due item; one already recorded (by another node) stays."""
    if not due:
        return
    rows = [
        {
            "secret_id": d.secret_id,
            "path": d.path,
            "expires_at": d.expires_at,
            "lead_time": d.lead_time,
            "event": "secret.expiring" if d.lead_time else "secret.expired",
            "due_at": d.expires_at - d.lead_time,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for d in due
    ]
    statement = upsert(db, expiry_notices).on_conflict_do_nothing(
        index_elements=["secret_id", "expires_at", "lead_time"]
    )
    await conn.execute(statement, rows)


async def pending(conn: AsyncConnection, now: float, limit: int) -> list[NoticeRow]:
    query = (
        select(*COLUMNS)
        .where(n.status == "pending", n.next_attempt_at <= now)
        .order_by(n.next_attempt_at)
        .limit(limit)
    )
    return [NoticeRow(*row) for row in await conn.execute(query)]


async def claim(conn: AsyncConnection, notice: NoticeRow, now: float, lease: float) -> bool:
    """Take the delivery of `notice` for `lease` seconds: one statement, so of several nodes
    only one sees its row change."""
    result = await conn.execute(
        update(expiry_notices)
        .where(
            n.id == notice.id,
            n.status == "pending",
            n.attempts == notice.attempts,
            n.next_attempt_at <= now,
        )
        .values(attempts=n.attempts + 1, next_attempt_at=now + lease)
    )
    return result.rowcount > 0


async def finish(
    conn: AsyncConnection,
    notice_id: int,
    *,
    status: str,
    next_attempt_at: float,
    last_status: int | None,
    last_error: str | None,
    sent_at: float | None,
) -> None:
    await conn.execute(
        update(expiry_notices)
        .where(n.id == notice_id)
        .values(
            status=status,
            next_attempt_at=next_attempt_at,
            last_status=last_status,
            last_error=last_error,
            sent_at=sent_at,
        )
    )


async def page(conn: AsyncConnection, before: int | None, limit: int) -> list[NoticeRow]:
    """The delivery log, newest first."""
    query = select(*COLUMNS).order_by(n.id.desc()).limit(limit)
    if before is not None:
        query = query.where(n.id < before)
    return [NoticeRow(*row) for row in await conn.execute(query)]
