"""Secrets: writes (create, update, delete, undelete, destroy) and the expiry sweeper.

Every value is sealed by the barrier in an envelope (a key of its own, wrapped by the keyring:
crypto/envelope.py) with associated data `secret:<id>:<version>`, so a ciphertext only ever
decrypts in its own row, and only while its key exists. Destroying a value deletes its key
with its ciphertext, then scrubs the database files (secrets/erasure.py). An update takes its
version number optimistically (see secrets/hot_writes.py); the other writers lock the secret
row before touching its versions.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import orjson
from sqlalchemy.exc import IntegrityError

from strongroom.auth.principal import Principal
from strongroom.crypto import Envelope
from strongroom.db import now
from strongroom.db.base import new_id
from strongroom.errors import Conflict, InvalidInput, NotFound
from strongroom.http.context import RequestContext
from strongroom.policy.rules import Capability
from strongroom.secrets import mutations
from strongroom.secrets import repository as repo
from strongroom.secrets.access import require, require_on_secret
from strongroom.secrets.cache import path_memo, watch_name
from strongroom.secrets.erasure import after_sweep, erased
from strongroom.secrets.hot_writes import NextVersion, hot_writes
from strongroom.secrets.paths import normalize_path
from strongroom.secrets.schemas import DestroyRequest, SecretCreate, SecretUpdate
from strongroom.secrets.validation import (
    binding,
    check_metadata,
    encode_value,
    resolve_ttl,
    value_type,
)
from strongroom.services import Services
from strongroom.sessions.store import StoreUnavailable, tag_of

log = logging.getLogger(__name__)
SWEEP_BATCH = 500
SWEEP_MAX_BATCHES = 20


@dataclass(slots=True)  # built per request: a frozen __init__ costs 8x; never mutated
class Written:
    """The outcome of a write: the secret as it now is."""

    secret: repo.SecretRow
    version: int
    metadata: dict[str, str]
    destroyed_versions: tuple[int, ...] = ()


@dataclass(slots=True)
class Change:
    """A change of one secret, in flight for the nodes' caches (secrets/cache.py)."""

    token: str
    # Once committed: the version, carried by the new watched value as a hint for writers.
    version: int | None = None


@asynccontextmanager
async def changing(
    services: Services, secret_id: str, *, begun: str | None = None
) -> AsyncIterator[Change]:
    """Bracket a write for the nodes' secret caches (secrets/cache.py): pending before the
    transaction, a new watched value after it. `begun` is the token of a change that the
    session check already began (`authenticate(mark=)`). If the closing call fails, the mark
    stays pending until it expires: nodes then read the database, never a stale copy. So it
    does when the request is cancelled: its write may still commit, in a batch already sent
    (db/batch.py), after a closing call would have let nodes cache the row before it."""
    name = watch_name(secret_id)
    change = Change(begun if begun is not None else await services.store.begin_change(name))
    try:
        yield change
    except asyncio.CancelledError:
        raise  # the mark stays pending
    except BaseException:
        await _end_change(services, secret_id, name, change)
        raise
    await _end_change(services, secret_id, name, change)


async def _end_change(services: Services, secret_id: str, name: str, change: Change) -> None:
    tag = "" if change.version is None else str(change.version)
    try:
        await services.store.end_change(name, change.token, tag)
    except StoreUnavailable:
        log.warning("could not close the cache mark of secret %s; it expires", secret_id)


def _expiry(ttl: int | None, at: float) -> float | None:
    return at + ttl if ttl else None


async def create_secret(
    services: Services, principal: Principal, body: SecretCreate, ctx: RequestContext
) -> Written:
    path = normalize_path(body.path)
    ctx.secret_path = path
    require(services, principal, Capability.create, path)
    limits = services.settings.secrets
    plaintext = encode_value(body.value, limits)
    metadata = check_metadata(body.metadata or {}, limits)
    at = now()
    new = mutations.NewSecret(
        id=new_id(),
        path=path,
        metadata=orjson.dumps(metadata).decode(),
        max_reads=body.max_reads,
        expires_at=_expiry(resolve_ttl(body.ttl, limits, use_default=True), at),
        created_at=at,
        created_by=principal.username,
    )
    ctx.secret_id = new.id
    sealed = services.barrier.seal_value(plaintext, binding(new.id, 1))
    try:
        async with changing(services, new.id) as change, services.db.begin() as conn:
            await mutations.release_stale_holder(conn, path, at)
            await mutations.insert_secret(conn, new)
            await mutations.insert_version(
                conn, new.id, 1, sealed, value_type(body.value), at, principal.username
            )
            await mutations.replace_metadata(conn, new.id, metadata, fresh=True)
            secret = await repo.get_secret(conn, new.id)
            change.version = 1
    except IntegrityError:
        raise Conflict(f"a secret already exists at {path!r}", code="path_taken") from None
    assert secret is not None
    path_memo(services).remember(new.id, path)
    return Written(secret, 1, metadata)


async def _load(
    services: Services,
    principal: Principal,
    secret_id: str,
    capability: Capability,
    ctx: RequestContext,
) -> repo.SecretRow:
    """The secret, once the caller is known to hold `capability` on its path."""
    ctx.secret_id = secret_id
    async with services.db.read() as conn:
        secret = await repo.get_secret(conn, secret_id)
    if secret is None:
        raise NotFound("no secret with this id")
    ctx.secret_path = secret.path
    require_on_secret(services, principal, capability, secret.path)
    return secret


def _why_not_live(secret: repo.SecretRow, at: float) -> NotFound | None:
    if secret.destroyed:
        return NotFound("the secret was destroyed")
    if secret.deleted_at is not None:
        return NotFound("the secret was deleted")
    if secret.expires_at is not None and secret.expires_at <= at:
        return NotFound("the secret has expired")
    return None


async def update_secret(
    services: Services,
    principal: Principal,
    secret_id: str,
    body: SecretUpdate,
    ctx: RequestContext,
    *,
    begun: str | None = None,
) -> Written:
    """Write a new version (409 when `cas` is not the current version). `begun`: the token of
    the change the session check began for this secret (the fast lane); its value before
    is in `ctx.watched`."""
    ctx.secret_id = secret_id
    async with changing(services, secret_id, begun=begun) as change:
        written = await _write_next_version(services, principal, secret_id, body, ctx)
        change.version = written.version
    return written


async def _write_next_version(
    services: Services,
    principal: Principal,
    secret_id: str,
    body: SecretUpdate,
    ctx: RequestContext,
) -> Written:
    limits = services.settings.secrets
    plaintext = encode_value(body.value, limits)
    metadata = check_metadata(body.metadata, limits) if body.metadata is not None else None
    ttl = resolve_ttl(body.ttl, limits, use_default=False)
    at = now()
    write = NextVersion(
        secret_id=secret_id,
        cas=body.cas,
        value_type=value_type(body.value),
        at=at,
        by=principal.username,
        metadata_json=orjson.dumps(metadata).decode() if metadata is not None else None,
        metadata=metadata,
        expires_at=_expiry(ttl, at),
        set_expiry=body.ttl is not None,
        max_versions=limits.max_versions,
    )
    barrier = services.barrier

    def check(secret: repo.SecretRow) -> None:
        ctx.secret_path = secret.path
        require_on_secret(services, principal, Capability.update, secret.path)

    def seal(version: int) -> Envelope:
        return barrier.seal_value(plaintext, binding(secret_id, version))

    updated = None
    if metadata is None and not services.db.is_sqlite:
        updated = await _bump_on_hint(services, principal, write, seal, ctx)
        if updated is None:
            updated = await _bump_optimistically(services, principal, write, seal, ctx)
    if updated is None:
        plan = hot_writes(services.db).next_version(write, check, seal)
        updated = await services.db.run_plan(plan)
    if updated is None:
        # Unknown, deleted, expired or not at `cas`: say which (nothing was written).
        secret = await repo.hot_reads(services.db).secret(secret_id)
        _writable(services, principal, secret, body.cas, ctx)
        raise Conflict("the secret changed while it was written; try again")
    return Written(updated, updated.current_version, orjson.loads(updated.metadata))


async def _bump_on_hint(
    services: Services,
    principal: Principal,
    write: NextVersion,
    seal: Callable[[int], Envelope],
    ctx: RequestContext,
) -> repo.SecretRow | None:
    """The PostgreSQL write in one statement and no read before it, when this node knows the
    secret's path (PathMemo: paths never change) and a version to expect: `cas`, or the one
    the watched value carried when the session check began this change. None if there was
    no such guess or it did not hold (then nothing was written)."""
    path = path_memo(services).get(write.secret_id)
    expected = write.cas if write.cas is not None else _version_hint(ctx.watched)
    if path is None or expected is None:
        return None
    ctx.secret_path = path
    require_on_secret(services, principal, Capability.update, path)
    return await hot_writes(services.db).bump_from(write, expected, path, seal(expected + 1))


def _version_hint(watched: str | None) -> int | None:
    tag = tag_of(watched)
    return int(tag) if tag is not None and tag.isdigit() else None


OPTIMISTIC_TRIES = 3


async def _bump_optimistically(
    services: Services,
    principal: Principal,
    write: NextVersion,
    seal: Callable[[int], Envelope],
    ctx: RequestContext,
) -> repo.SecretRow | None:
    """The PostgreSQL write in one statement (hot_writes.bump_from): read the row, check it,
    seal for the next version, write if the row is still at the version read. None when
    other writers kept winning: the caller then queues on the row lock (run_plan)."""
    reads, writes = repo.hot_reads(services.db), hot_writes(services.db)
    for _ in range(OPTIMISTIC_TRIES):
        secret = await reads.secret(write.secret_id)
        secret = _writable(services, principal, secret, write.cas, ctx)
        version = secret.current_version
        updated = await writes.bump_from(write, version, secret.path, seal(version + 1))
        if updated is not None:
            return updated
    return None


def _writable(
    services: Services,
    principal: Principal,
    secret: repo.SecretRow | None,
    cas: int | None,
    ctx: RequestContext,
) -> repo.SecretRow:
    """The secret, if it is live, the caller may update it, and `cas` (if any) still holds."""
    if secret is None:
        raise NotFound("no secret with this id")
    ctx.secret_path = secret.path
    path_memo(services).remember(secret.id, secret.path)
    require_on_secret(services, principal, Capability.update, secret.path)
    problem = _why_not_live(secret, now())
    if problem is not None:
        raise problem
    if cas is not None and cas != secret.current_version:
        raise Conflict(
            f"check-and-set failed: the current version is {secret.current_version}, not {cas}",
            code="cas_mismatch",
        )
    return secret


async def delete_secret(
    services: Services, principal: Principal, secret_id: str, ctx: RequestContext
) -> Written:
    """Soft delete: unreadable at once, path released, versions kept until destroyed."""
    secret = await _load(services, principal, secret_id, Capability.delete, ctx)
    at = now()
    async with changing(services, secret_id), services.db.begin() as conn:
        if not await mutations.soft_delete(conn, secret_id, at):
            raise _why_not_live(secret, at) or NotFound("the secret is gone")
        deleted = await repo.get_secret(conn, secret_id)
    assert deleted is not None
    return Written(deleted, deleted.current_version, orjson.loads(deleted.metadata))


async def undelete_secret(
    services: Services, principal: Principal, secret_id: str, ctx: RequestContext
) -> Written:
    """Restore a soft-deleted secret; 409 if another secret took its path meanwhile."""
    secret = await _load(services, principal, secret_id, Capability.delete, ctx)
    at = now()
    if secret.destroyed:
        raise NotFound("the secret was destroyed")
    if secret.expires_at is not None and secret.expires_at <= at:
        raise NotFound("the secret has expired")
    if secret.deleted_at is None:
        raise Conflict("the secret is not deleted", code="not_deleted")
    try:
        async with changing(services, secret_id), services.db.begin() as conn:
            await mutations.release_stale_holder(conn, secret.path, at)
            if not await mutations.undelete(conn, secret_id, at):
                raise NotFound("the secret is gone")
            restored = await repo.get_secret(conn, secret_id)
    except IntegrityError:
        raise Conflict(
            f"another secret now holds {secret.path!r}; delete it first", code="path_taken"
        ) from None
    assert restored is not None
    return Written(restored, restored.current_version, orjson.loads(restored.metadata))


async def destroy_secret(
    services: Services,
    principal: Principal,
    secret_id: str,
    body: DestroyRequest,
    ctx: RequestContext,
) -> Written:
    """Wipe ciphertexts and delete their keys for good; with no versions given (or none
    left), the secret is gone. Answered once the database files are scrubbed (erasure.py)."""
    await _load(services, principal, secret_id, Capability.delete, ctx)
    at = now()
    async with changing(services, secret_id), services.db.begin() as conn:
        if not await mutations.lock_secret(conn, secret_id, at):
            raise NotFound("the secret was destroyed")
        if body.versions is not None:
            wanted = sorted(set(body.versions))
            missing = set(wanted) - await repo.existing_versions(conn, secret_id, wanted)
            if missing:
                raise InvalidInput(
                    f"no such version(s): {', '.join(map(str, sorted(missing)))}",
                    loc=("body", "versions"),
                )
            wiped = await mutations.wipe_versions(conn, secret_id, at, versions=wanted)
        else:
            wiped = await mutations.wipe_versions(conn, secret_id, at)
        if body.versions is None or not await mutations.has_ciphertext(conn, secret_id):
            await mutations.mark_destroyed(conn, secret_id, at)
        secret = await repo.get_secret(conn, secret_id)
    assert secret is not None
    await erased(services, secret_id)
    return Written(secret, secret.current_version, orjson.loads(secret.metadata), tuple(wiped))


async def sweep_expired_secrets(services: Services, now: float) -> int:
    """Destroy the ciphertexts and keys of expired secrets, then scrub the database files;
    safe on every node at once."""
    total = 0
    for _ in range(SWEEP_MAX_BATCHES):
        async with services.db.begin() as conn:
            swept = await mutations.sweep_expired(conn, now, SWEEP_BATCH)
        total += swept
        if swept < SWEEP_BATCH:
            break
    await after_sweep(services)
    return total
