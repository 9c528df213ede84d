"""Share-once links: a value handed, exactly once and within a TTL, to someone without an account.

Design (README "Share once"):
- Its creator needs `read` on the secret; making the link is a read of the secret (audited,
  counted against its `max_reads`). The server copies the value and seals the copy under a
  fresh 256-bit key K (crypto.share), then stores it through the barrier like any value. K
  goes back once, inside the link's fragment (`/ui/share#<id>.<K>`), and is not kept: the
  fragment never reaches a server, a proxy or an access log, and the table holds nothing that
  opens the copy, even together with the keyring.
- The copy is bound to nobody's session or IP: whoever holds the link can open it once. The
  browser derives a claim proof from K and claims the share; the server deletes the row and
  returns the sealed blob in the same statement, so exactly one claim wins, and the browser
  opens the blob with K (WebCrypto). An id without the proof (say, from the audit log) can
  neither open nor use up the share.
- It expires after its TTL (at most SHARE_MAX_TTL and never after the secret itself); the
  sweeper deletes expired rows. Its creator sees their live links on the secret's page and
  can revoke them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from strongroom.auth.principal import Principal
from strongroom.barrier.service import Sealed
from strongroom.crypto import DecryptionError
from strongroom.crypto.share import proof_hash, seal_share
from strongroom.db import now
from strongroom.db.base import new_id
from strongroom.errors import InvalidInput, NotFound, ServiceUnavailable
from strongroom.http.context import RequestContext
from strongroom.secrets import reading
from strongroom.services import Services
from strongroom.shares import repository as repo
from strongroom.shares.repository import ShareInfo

SHARE_MIN_TTL = 60
SHARE_MAX_TTL = 7 * 86400
SHARE_DEFAULT_TTL = 86400
GONE = "this link was already used, has expired, or never existed"
_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_PROOF = re.compile(r"[0-9a-f]{64}")


def share_binding(share_id: str) -> bytes:
    """The barrier's associated data of a share's stored blob."""
    return f"share:{share_id}".encode()


@dataclass(frozen=True, slots=True)
class CreatedShare:
    info: ShareInfo
    link_key: str  # base64url K: goes into the link's fragment, once

    def __repr__(self) -> str:
        return f"CreatedShare({self.info!r}, link_key=***)"


def check_ttl(ttl: int) -> int:
    if not SHARE_MIN_TTL <= ttl <= SHARE_MAX_TTL:
        raise InvalidInput(
            f"a share link lives between {SHARE_MIN_TTL} seconds and {SHARE_MAX_TTL // 86400} days",
            loc=("body", "ttl"),
        )
    return ttl


def _expiry(ttl: int, secret_expires_at: float | None, at: float) -> float:
    """Never after the secret itself expires."""
    expires = at + ttl
    return expires if secret_expires_at is None else min(expires, secret_expires_at)


async def create_share(
    services: Services,
    principal: Principal,
    secret_id: str,
    ttl: int,
    ctx: RequestContext,
) -> CreatedShare:
    if services.barrier.sealed:
        raise Sealed()
    check_ttl(ttl)  # before anything is read
    at = now()
    revealed = await reading.read_by_id(services, principal, secret_id, None, ctx)
    secret = revealed.row.secret
    share_id = new_id()
    sealed = seal_share(revealed.plaintext, share_id)
    new = repo.NewShare(
        id=share_id,
        blob=services.barrier.encrypt(sealed.blob, share_binding(share_id)),
        proof_hash=sealed.stored_proof,
        created_by=principal.user_id,
        secret_id=secret.id,
        secret_path=secret.path,
        version=revealed.row.version,
        created_at=at,
        expires_at=_expiry(ttl, secret.expires_at, at),
    )
    async with services.db.begin() as conn:
        await repo.insert_share(conn, new)
    ctx.extra["audit"] = {"share": {"id": share_id, "expires_at": int(new.expires_at)}}
    info = ShareInfo(new.id, new.secret_id, new.secret_path, new.version, at, new.expires_at)
    return CreatedShare(info, sealed.key)


async def claim_share(services: Services, share_id: str, proof: str, ctx: RequestContext) -> bytes:
    """The sealed copy (still under K), once; the share is gone afterwards."""
    if services.barrier.sealed:
        raise Sealed()
    ctx.audit_anyway = True
    ctx.sensitive = True
    if not _ID.fullmatch(share_id) or not _PROOF.fullmatch(proof):
        raise NotFound(GONE, code="share_gone")
    ctx.extra["audit"] = {"share": {"id": share_id}}
    async with services.db.begin() as conn:
        blob = await repo.take_share(conn, share_id, proof_hash(proof), now())
    if blob is None:
        raise NotFound(GONE, code="share_gone")
    try:
        return await services.barrier.decrypt(blob, share_binding(share_id))
    except DecryptionError:
        raise ServiceUnavailable(
            "the stored share failed its integrity check", code="integrity_error"
        ) from None


async def shares_of(services: Services, principal: Principal, secret_id: str) -> list[ShareInfo]:
    async with services.db.read() as conn:
        return await repo.list_for_secret(conn, principal.user_id, secret_id, now())


async def revoke_share(services: Services, principal: Principal, share_id: str) -> None:
    if not _ID.fullmatch(share_id):
        raise NotFound("no such share link")
    async with services.db.begin() as conn:
        if not await repo.delete_share(conn, principal.user_id, share_id):
            raise NotFound("no such share link")


async def sweep_expired_shares(services: Services, at: float) -> int:
    async with services.db.begin() as conn:
        return await repo.sweep_expired(conn, at)
