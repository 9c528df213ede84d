"""Reading a secret's value: the hot path.

An ordinary read is one SQL statement (the secret joined with its version, compiled once and
run as one driver call: no BEGIN/ROLLBACK around it), one decryption, and no write: `reads` is
counted only for secrets with `max_reads`. Those take the burn-after-N path: a conditional
increment, the read and, after the last permitted read, the wipe, all in one transaction, so
exactly N reads succeed however many nodes race for them. The last read deletes the value's
key with its ciphertext, and scrubs the database files before it answers (erasure.py).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from strongroom.auth.principal import Principal
from strongroom.crypto import DecryptionError
from strongroom.db import now
from strongroom.errors import NotFound, StrongroomError
from strongroom.http.context import RequestContext
from strongroom.policy.rules import Capability
from strongroom.secrets import mutations
from strongroom.secrets import repository as repo
from strongroom.secrets.access import require, require_on_secret
from strongroom.secrets.cache import secret_cache
from strongroom.secrets.erasure import erased
from strongroom.secrets.paths import normalize_path
from strongroom.secrets.validation import binding
from strongroom.services import Services

log = logging.getLogger(__name__)
NOT_FOUND = "no secret with this id (or no such version)"


class SecretIntegrityError(StrongroomError):
    """A stored ciphertext failed authentication: altered, moved between rows, or unreadable.

    503 rather than 500 (which would mean a bug): the server cannot serve this secret because
    its stored data is damaged. The caller learns nothing else; the server log names the
    secret and version (never a value) for the operator.
    """

    status = 503
    code = "integrity_error"

    def __init__(self) -> None:
        super().__init__(
            "the stored secret failed its integrity check and cannot be returned; "
            "the operator can find details in the server log"
        )


@dataclass(slots=True)  # built per request: a frozen __init__ costs 8x; never mutated
class Revealed:
    """A decrypted secret on its way to the one response that carries it."""

    row: repo.VersionedRow
    plaintext: bytes  # the value as JSON bytes
    reads: int | None

    def __repr__(self) -> str:
        return f"Revealed({self.row!r}, plaintext=***)"


async def read_by_id(
    services: Services,
    principal: Principal,
    secret_id: str,
    version: int | None,
    ctx: RequestContext,
) -> Revealed:
    cache = secret_cache(services)
    row = cache.get(secret_id, ctx.watched) if version is None else None
    if row is None:
        generation = cache.generation
        row = await repo.hot_reads(services.db).by_id(secret_id, version)
        if row is not None and version is None:
            cache.put(secret_id, ctx.watched, row, generation)
    return await _reveal(services, principal, row, version, ctx)


async def read_by_path(
    services: Services, principal: Principal, raw_path: str, ctx: RequestContext
) -> Revealed:
    path = normalize_path(raw_path, loc=("path", "path"))
    ctx.secret_path = path
    # Checked before the lookup: a caller who may not read a path learns nothing about it.
    require(services, principal, Capability.read, path)
    row = await repo.hot_reads(services.db).by_path(path)
    if row is None:
        raise NotFound("no live secret at this path")
    return await _reveal(services, principal, row, None, ctx)


async def _reveal(
    services: Services,
    principal: Principal,
    row: repo.VersionedRow | None,
    version: int | None,
    ctx: RequestContext,
) -> Revealed:
    if row is None:
        raise NotFound(NOT_FOUND)
    secret = row.secret
    ctx.secret_id, ctx.secret_path = secret.id, secret.path
    require_on_secret(services, principal, Capability.read, secret.path, NOT_FOUND)
    ensure_readable(row, now())
    if secret.max_reads is not None:
        return await _consume(services, secret.id, version)
    return Revealed(row, await decrypt(services, row), None)


def ensure_readable(row: repo.VersionedRow, at: float) -> None:
    secret = row.secret
    if secret.destroyed:
        raise NotFound("the secret was destroyed")
    if secret.deleted_at is not None:
        raise NotFound("the secret was deleted")
    if secret.expires_at is not None and secret.expires_at <= at:
        raise NotFound("the secret has expired")
    if row.ciphertext is None:
        raise NotFound(f"version {row.version} was destroyed")


async def decrypt(services: Services, row: repo.VersionedRow) -> bytes:
    if row.ciphertext is None:
        raise NotFound(f"version {row.version} was destroyed")
    try:
        return await services.barrier.open_value(
            row.ciphertext, row.wrapped_key, binding(row.secret.id, row.version)
        )
    except DecryptionError:
        log.error(
            "secret %s version %d failed decryption: stored data altered or moved",
            row.secret.id,
            row.version,
        )
        raise SecretIntegrityError() from None


async def _consume(services: Services, secret_id: str, version: int | None) -> Revealed:
    """One counted read of a burn-after-N secret; the last one wipes it, in the same commit."""
    at = now()
    async with services.db.begin() as conn:
        counted = await mutations.count_read(conn, secret_id, at)
        if counted is None:
            raise NotFound("the secret has been read its maximum number of times, or is gone")
        row = await repo.fetch_by_id(conn, secret_id, version)
        if row is None:
            raise NotFound(NOT_FOUND)
        # A failure here raises out of the transaction: the read is not counted.
        plaintext = await decrypt(services, row)
        reads, max_reads = counted
        burnt = reads >= max_reads
        if burnt:
            await mutations.wipe_versions(conn, secret_id, at)
            await mutations.mark_destroyed(conn, secret_id, at)
    if burnt:
        await erased(services, secret_id)
    return Revealed(row, plaintext, reads)
