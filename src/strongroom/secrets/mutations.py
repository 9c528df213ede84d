"""All SQL that changes secrets: writes, counted reads and the expiry sweep (Core, no ORM).

Every writer locks the secret row (an UPDATE of `secrets`) before it touches that secret's
versions, so concurrent writers queue instead of deadlocking. Whatever wipes a ciphertext
deletes its version's key (secret_version_keys) in the same statement group and transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import and_, bindparam, delete, exists, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from strongroom.crypto import Envelope
from strongroom.secrets.models import (
    secret_metadata,
    secret_version_keys,
    secret_versions,
    secrets,
)
from strongroom.secrets.repository import live

s, v, m, k = secrets.c, secret_versions.c, secret_metadata.c, secret_version_keys.c


@dataclass(frozen=True, slots=True)
class NewSecret:
    id: str
    path: str
    metadata: str
    max_reads: int | None
    expires_at: float | None
    created_at: float
    created_by: str


async def release_stale_holder(conn: AsyncConnection, path: str, now: float) -> None:
    """Free `path` if a secret that is no longer live still holds it (expired, not swept)."""
    await conn.execute(
        update(secrets)
        .where(
            s.path_key == path,
            or_(
                s.deleted_at.is_not(None),
                s.destroyed.is_(True),
                and_(s.expires_at.is_not(None), s.expires_at <= now),
            ),
        )
        .values(path_key=None)
    )


async def insert_secret(conn: AsyncConnection, new: NewSecret) -> None:
    """Insert at version 1; `IntegrityError` when a live secret holds the path."""
    await conn.execute(
        insert(secrets).values(
            id=new.id,
            path=new.path,
            path_key=new.path,
            current_version=1,
            metadata=new.metadata,
            max_reads=new.max_reads,
            reads=0,
            expires_at=new.expires_at,
            deleted_at=None,
            destroyed=False,
            created_at=new.created_at,
            updated_at=new.created_at,
            created_by=new.created_by,
            updated_by=new.created_by,
        )
    )


async def insert_version(
    conn: AsyncConnection,
    secret_id: str,
    version: int,
    sealed: Envelope,
    value_type: str,
    at: float,
    by: str,
) -> None:
    """A version and its key (the key's row refers to the version's: inserted after it)."""
    await conn.execute(
        insert(secret_versions).values(
            secret_id=secret_id,
            version=version,
            ciphertext=sealed.ciphertext,
            value_type=value_type,
            created_at=at,
            created_by=by,
            destroyed_at=None,
        )
    )
    await conn.execute(
        insert(secret_version_keys).values(
            secret_id=secret_id, version=version, wrapped_key=sealed.wrapped_key
        )
    )


async def replace_metadata(
    conn: AsyncConnection, secret_id: str, metadata: Mapping[str, str], *, fresh: bool
) -> None:
    """The searchable copy of the metadata (`fresh`: the secret has none yet)."""
    if not fresh:
        await conn.execute(delete(secret_metadata).where(m.secret_id == secret_id))
    if metadata:
        await conn.execute(
            insert(secret_metadata),
            [{"secret_id": secret_id, "key": k, "value": val} for k, val in metadata.items()],
        )


async def wipe_versions(
    conn: AsyncConnection,
    secret_id: str,
    now: float,
    *,
    versions: Sequence[int] | None = None,
    up_to: int | None = None,
) -> list[int]:
    """Wipe ciphertexts and delete their keys (all, the listed versions, or those <= `up_to`);
    the wiped versions."""
    statement = update(secret_versions).where(v.secret_id == secret_id, v.ciphertext.is_not(None))
    drop_keys = delete(secret_version_keys).where(k.secret_id == secret_id)
    if versions is not None:
        statement = statement.where(v.version.in_(list(versions)))
        drop_keys = drop_keys.where(k.version.in_(list(versions)))
    if up_to is not None:
        statement = statement.where(v.version <= up_to)
        drop_keys = drop_keys.where(k.version <= up_to)
    rows = await conn.execute(
        statement.values(ciphertext=None, destroyed_at=now).returning(v.version)
    )
    await conn.execute(drop_keys)
    return sorted(int(row[0]) for row in rows)


async def lock_secret(conn: AsyncConnection, secret_id: str, now: float) -> bool:
    """Take the row lock of a secret that is not destroyed (before touching its versions: every
    writer locks the secret row first, then versions, so writers never deadlock)."""
    result = await conn.execute(
        update(secrets).where(s.id == secret_id, s.destroyed.is_(False)).values(updated_at=now)
    )
    return result.rowcount > 0


async def has_ciphertext(conn: AsyncConnection, secret_id: str) -> bool:
    query = select(exists().where(v.secret_id == secret_id, v.ciphertext.is_not(None)))
    return bool((await conn.execute(query)).scalar())


async def mark_destroyed(conn: AsyncConnection, secret_id: str, now: float) -> None:
    await conn.execute(
        update(secrets)
        .where(s.id == secret_id)
        .values(destroyed=True, path_key=None, updated_at=now)
    )


async def soft_delete(conn: AsyncConnection, secret_id: str, now: float) -> bool:
    result = await conn.execute(
        update(secrets)
        .where(s.id == secret_id, live(now))
        .values(deleted_at=now, path_key=None, updated_at=now)
    )
    return result.rowcount > 0


async def undelete(conn: AsyncConnection, secret_id: str, now: float) -> bool:
    """Take the path back; `IntegrityError` when another secret holds it now."""
    result = await conn.execute(
        update(secrets)
        .where(
            s.id == secret_id,
            s.deleted_at.is_not(None),
            s.destroyed.is_(False),
            or_(s.expires_at.is_(None), s.expires_at > now),
        )
        .values(deleted_at=None, path_key=s.path, updated_at=now)
    )
    return result.rowcount > 0


async def count_read(conn: AsyncConnection, secret_id: str, now: float) -> tuple[int, int] | None:
    """Count one read of a burn-after-N secret: (reads, max_reads), or None when exhausted.

    The condition and the increment are one statement, so across every node and connection
    exactly `max_reads` calls succeed.
    """
    row = (
        await conn.execute(
            update(secrets)
            .where(
                s.id == secret_id,
                s.max_reads.is_not(None),
                s.reads < s.max_reads,
                live(now),
            )
            .values(reads=s.reads + 1)
            .returning(s.reads, s.max_reads)
        )
    ).first()
    return (int(row[0]), int(row[1])) if row is not None else None


# Sweeping -------------------------------------------------------------------------------------


async def sweep_expired(conn: AsyncConnection, now: float, limit: int) -> int:
    """Destroy up to `limit` expired secrets: wipe their ciphertexts and delete their keys,
    release their paths.

    Rows are claimed with FOR UPDATE SKIP LOCKED (ignored by SQLite, which has one writer), so
    sweepers on several nodes take disjoint batches; a second sweep finds nothing to do.
    """
    claim = (
        select(s.id)
        .where(s.expires_at.is_not(None), s.expires_at <= now, s.destroyed.is_(False))
        .order_by(s.expires_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    ids = list((await conn.execute(claim)).scalars())
    if not ids:
        return 0
    result = await conn.execute(
        update(secrets)
        .where(s.id.in_(ids), s.destroyed.is_(False))
        .values(destroyed=True, path_key=None)
    )
    await conn.execute(
        update(secret_versions)
        .where(v.secret_id.in_(ids), v.ciphertext.is_not(None))
        .values(ciphertext=None, destroyed_at=now)
    )
    await conn.execute(delete(secret_version_keys).where(k.secret_id.in_(ids)))
    return int(result.rowcount)


# Moving ---------------------------------------------------------------------------------------


async def release_stale_holders_under(
    conn: AsyncConnection, low: str, high: str | None, now: float
) -> None:
    """`release_stale_holder` for every path in [low, high) (high None: exactly `low`)."""
    held = s.path_key == low if high is None else and_(s.path_key >= low, s.path_key < high)
    await conn.execute(
        update(secrets)
        .where(
            held,
            or_(
                s.deleted_at.is_not(None),
                s.destroyed.is_(True),
                and_(s.expires_at.is_not(None), s.expires_at <= now),
            ),
        )
        .values(path_key=None)
    )


async def move_paths(
    conn: AsyncConnection, moves: Sequence[tuple[str, str, str]], now: float, by: str
) -> None:
    """Give each live secret `(id, old, new)` still at `old` the path `new` (its id, versions,
    metadata and expiry stay), in one batch of statements; a secret no longer live at `old`
    is left alone (the caller checks: `paths_of`). `IntegrityError` when a live secret holds a
    `new` path."""
    statement = (
        update(secrets)
        .where(s.id == bindparam("sid"), s.path_key == bindparam("old"), live(bindparam("now")))
        .values(path=bindparam("new"), path_key=bindparam("new"), updated_at=now, updated_by=by)
    )
    rows = [{"sid": sid, "old": old, "new": new, "now": now} for sid, old, new in moves]
    await conn.execute(statement, rows)


async def paths_of(conn: AsyncConnection, ids: Sequence[str]) -> dict[str, str | None]:
    """The path each of `ids` holds (`path_key`: None when it holds none)."""
    found: dict[str, str | None] = {}
    for start in range(0, len(ids), 1000):
        query = select(s.id, s.path_key).where(s.id.in_(list(ids[start : start + 1000])))
        found.update({row[0]: row[1] for row in await conn.execute(query)})
    return found


# A deleted user's personal space -----------------------------------------------------------


async def personal_secret_ids(conn: AsyncConnection, prefix: str) -> list[str]:
    """Secrets under `prefix` not yet destroyed (deleted ones included)."""
    query = select(s.id).where(s.path.startswith(prefix, autoescape=True), s.destroyed.is_(False))
    return list((await conn.execute(query)).scalars())


async def destroy_under(conn: AsyncConnection, prefix: str, now: float) -> list[str]:
    """Destroy every secret under `prefix`, like a destroy without versions: ciphertexts
    wiped, keys deleted, paths released; the ids destroyed. Rows are locked first (the
    writers' order: secret row, then versions)."""
    claim = (
        select(s.id)
        .where(s.path.startswith(prefix, autoescape=True), s.destroyed.is_(False))
        .with_for_update()
    )
    ids = list((await conn.execute(claim)).scalars())
    if not ids:
        return []
    await conn.execute(
        update(secrets).where(s.id.in_(ids)).values(destroyed=True, path_key=None, updated_at=now)
    )
    await conn.execute(
        update(secret_versions)
        .where(v.secret_id.in_(ids), v.ciphertext.is_not(None))
        .values(ciphertext=None, destroyed_at=now)
    )
    await conn.execute(delete(secret_version_keys).where(k.secret_id.in_(ids)))
    return ids
