"""Expiry notices: find the secrets whose notice is due, record each notice once, deliver it.

Every sweep (`STRONGROOM_SWEEP_INTERVAL`) each node runs `sweep_notices`:

1. For each lead time (`notifications.lead_times`, e.g. 7d,1d,1h) the live secrets whose
   expiry is that close, and not yet within the next shorter lead time, get a notice row
   (`secret.expiring`); secrets that expired within the last hour get one too
   (`secret.expired`). The row's key (secret, expiry, lead time) is unique: several nodes
   finding the same notice record it once. A stage that passed while nothing ran (a secret
   created with a TTL shorter than some lead times) is skipped: the notice sent is the one of
   the stage the secret is in.
2. Pending rows whose time has come are claimed one by one (a conditional UPDATE: one node
   wins each) and POSTed to `notifications.webhook_url`, signed with
   `X-Strongroom-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">` keyed by
   `notifications.webhook_secret`. A 2xx answer marks the row sent; anything else (another
   status, a timeout, a refused connection) retries after 2, 4, 8 ... seconds, up to
   `MAX_ATTEMPTS`, then the row is marked failed. A node that dies between the POST and the
   row's update leaves the claim to expire (`LEASE`): that notice may then arrive twice,
   never zero times.

Nothing is sent, and nothing recorded, unless both the URL and the secret are set. The body
carries the secret's id, path and expiry, never its value.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time

import httpx
import orjson

from strongroom.notifications import repository as repo
from strongroom.services import Services
from strongroom.system.registry import NotificationsSettings
from strongroom.timefmt import rfc3339

log = logging.getLogger(__name__)

BATCH = 200
# Deliveries are sequential on the sweeper's loop: a receiver that times out costs TIMEOUT
# each, so one sweep tries at most this many (the rest wait for the next sweep).
DELIVERIES_PER_SWEEP = 20
EXPIRED_WINDOW = 3600.0
LEASE = 60.0
RETRY_BASE = 2.0
MAX_ATTEMPTS = 10
TIMEOUT = 5.0
SIGNATURE_HEADER = "X-Strongroom-Signature"
_UNITS = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))


def lead_text(seconds: int) -> str | None:
    """1 day -> "1d", 90 minutes -> "90m"; None for the notice at expiry."""
    if not seconds:
        return None
    for unit, size in _UNITS:
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"  # (unreachable: every integer divides by 1)


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """The value of the signature header for `body` sent at `timestamp`."""
    digest = hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def body_of(notice: repo.NoticeRow) -> bytes:
    return orjson.dumps(
        {
            "event": notice.event,
            "secret_id": notice.secret_id,
            "path": notice.path,
            "expires_at": rfc3339(notice.expires_at),
            "lead_time": lead_text(notice.lead_time),
        }
    )


def backoff(attempts: int) -> float:
    """Seconds before attempt `attempts + 1`: 2, 4, 8, ... (at most an hour)."""
    return float(min(RETRY_BASE * 2 ** (attempts - 1), 3600.0))


def _enabled(settings: NotificationsSettings) -> bool:
    return bool(settings.webhook_url and settings.webhook_secret and not settings.problems())


async def sweep_notices(services: Services, now: float) -> int:
    """Record the notices that fell due and deliver the pending ones; the number sent."""
    settings = services.settings.notifications
    if not _enabled(settings):
        return 0
    await _record_due(services, settings.lead_seconds(), now)
    return await _deliver_pending(services, settings, now)


async def _record_due(services: Services, leads: tuple[int, ...], now: float) -> None:
    async with services.db.begin() as conn:
        for index, lead in enumerate(leads):
            following = leads[index + 1] if index + 1 < len(leads) else None
            due = await repo.due_before_expiry(conn, lead, following, now, BATCH)
            await repo.record(services.db, conn, due, now)
        expired = await repo.due_at_expiry(conn, now, EXPIRED_WINDOW, BATCH)
        await repo.record(services.db, conn, expired, now)


async def _deliver_pending(services: Services, settings: NotificationsSettings, now: float) -> int:
    async with services.db.read() as conn:
        notices = await repo.pending(conn, now, DELIVERIES_PER_SWEEP)
    sent = 0
    for notice in notices:
        async with services.db.begin() as conn:
            claimed = await repo.claim(conn, notice, now, LEASE)
        if claimed:
            sent += await _deliver(services, settings, notice)
    return sent


async def _deliver(
    services: Services, settings: NotificationsSettings, notice: repo.NoticeRow
) -> int:
    body = body_of(notice)
    stamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "strongroom-notifier",
        SIGNATURE_HEADER: sign(settings.webhook_secret.reveal().encode(), stamp, body),
    }
    status: int | None = None
    error: str | None = None
    try:
        response = await _client(services).post(settings.webhook_url, content=body, headers=headers)
        status = response.status_code
        if not 200 <= status < 300:
            error = f"HTTP {status}"
    except httpx.HTTPError as exc:
        error = type(exc).__name__
    attempts, at = notice.attempts + 1, time.time()
    if error is None:
        outcome, next_at, sent_at = "sent", at, at
    elif attempts >= MAX_ATTEMPTS:
        outcome, next_at, sent_at = "failed", at, None
    else:
        outcome, next_at, sent_at = "pending", at + backoff(attempts), None
    if error is not None:
        log.warning(
            "expiry notice %d (secret %s) attempt %d failed: %s",
            notice.id,
            notice.secret_id,
            attempts,
            error,
        )
    async with services.db.begin() as conn:
        await repo.finish(
            conn,
            notice.id,
            status=outcome,
            next_attempt_at=next_at,
            last_status=status,
            last_error=error,
            sent_at=sent_at,
        )
    return 1 if outcome == "sent" else 0


def _client(services: Services) -> httpx.AsyncClient:
    """This node's webhook client (closed with the node: stop_services calls `aclose`)."""
    client = services.extras.get("webhook_client")
    if not isinstance(client, httpx.AsyncClient):
        client = httpx.AsyncClient(timeout=TIMEOUT, follow_redirects=False, trust_env=False)
        services.extras["webhook_client"] = client
    return client


async def delivery_log(
    services: Services, before: int | None, limit: int
) -> tuple[list[repo.NoticeRow], str | None]:
    async with services.db.read() as conn:
        rows = await repo.page(conn, before, limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, str(rows[-1].id) if more and rows else None
