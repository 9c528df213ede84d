"""Reading SQL of the secrets domain (SQLAlchemy Core, no ORM); writes are in `mutations`.

A secret is *live* when it is not deleted, not destroyed and not expired. Only a live secret
holds its path (`path_key`); listings walk the unique index on `path_key`.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    any_,
    bindparam,
    case,
    exists,
    func,
    or_,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection

from strongroom.db import Database
from strongroom.db.batch import Batcher
from strongroom.db.hot import HotQuery, PerDatabase
from strongroom.secrets.models import (
    secret_metadata,
    secret_version_keys,
    secret_versions,
    secrets,
)

s, v, m, k = secrets.c, secret_versions.c, secret_metadata.c, secret_version_keys.c


@dataclass(slots=True)  # built per request: a frozen __init__ costs 8x; never mutated
class SecretRow:
    id: str
    path: str
    path_key: str | None
    current_version: int
    metadata: str
    max_reads: int | None
    reads: int
    expires_at: float | None
    deleted_at: float | None
    destroyed: bool
    created_at: float
    updated_at: float


@dataclass(slots=True)  # built per request: a frozen __init__ costs 8x; never mutated
class VersionedRow:
    """A secret joined with one of its versions and that version's wrapped key (the read
    path). `wrapped_key` is None for a value stored before envelopes (crypto/envelope.py)."""

    secret: SecretRow
    version: int
    ciphertext: bytes | None
    version_created_at: float
    wrapped_key: bytes | None

    def __repr__(self) -> str:
        return f"VersionedRow(id={self.secret.id!r}, version={self.version})"


@dataclass(frozen=True, slots=True)
class VersionRow:
    version: int
    created_at: float
    created_by: str | None
    destroyed_at: float | None
    has_ciphertext: bool


SECRET_COLUMNS = (
    s.id,
    s.path,
    s.path_key,
    s.current_version,
    s.metadata,
    s.max_reads,
    s.reads,
    s.expires_at,
    s.deleted_at,
    s.destroyed,
    s.created_at,
    s.updated_at,
)
_N = len(SECRET_COLUMNS)
_VERSION_COLUMNS = (v.version, v.ciphertext, v.created_at, k.wrapped_key)


def secret_row(row: Sequence[Any]) -> SecretRow:
    values = list(row[:_N])
    values[9] = bool(values[9])  # raw driver rows (db.hot) carry SQLite's 0/1 for booleans
    return SecretRow(*values)


def _versioned(row: Sequence[Any]) -> VersionedRow:
    return VersionedRow(secret_row(row), row[_N], row[_N + 1], row[_N + 2], row[_N + 3])


def _joined(version_clause: ColumnElement[bool]) -> Any:
    """The secret, one version and its key, in one statement (the key: one more primary-key
    probe; no row for a value stored before envelopes)."""
    return select(*SECRET_COLUMNS, *_VERSION_COLUMNS).select_from(
        secrets.join(secret_versions, and_(v.secret_id == s.id, version_clause)).outerjoin(
            secret_version_keys, and_(k.secret_id == v.secret_id, k.version == v.version)
        )
    )


# Built once: the hot path only binds parameters and hits SQLAlchemy's compiled cache.
_BY_ID_CURRENT = _joined(v.version == s.current_version).where(s.id == bindparam("secret_id"))
_BY_ID_VERSION = _joined(v.version == bindparam("version")).where(s.id == bindparam("secret_id"))
_BY_PATH = _joined(v.version == s.current_version).where(s.path_key == bindparam("path"))
_BY_IDS_CURRENT = _joined(v.version == s.current_version).where(
    s.id == any_(bindparam("secret_ids", type_=ARRAY(s.id.type)))
)


def live(now: float | ColumnElement[Any]) -> ColumnElement[bool]:
    return and_(
        s.deleted_at.is_(None),
        s.destroyed.is_(False),
        or_(s.expires_at.is_(None), s.expires_at > now),
    )


# Reads ----------------------------------------------------------------------------------------


class HotReads:
    """The reads of every secret request, compiled once per database and run as one driver
    call each (db/hot.py): no BEGIN/ROLLBACK, no thread hop on SQLite.

    On PostgreSQL the reads of current versions that wait at the same time share one
    statement (`id = ANY(...)`, db/batch.py): one round trip and one plan for all of them.
    Each still sees every write acknowledged before it was asked for. SQLite reads take
    microseconds on the event loop's thread and run one by one."""

    __slots__ = ("_batcher", "_by_id", "_by_ids", "_by_path", "_by_version", "_secret")

    def __init__(self, db: Database) -> None:
        self._secret = db.hot(select(*SECRET_COLUMNS).where(s.id == bindparam("secret_id")))
        self._by_id = db.hot(_BY_ID_CURRENT)
        self._by_version = db.hot(_BY_ID_VERSION)
        self._by_path = db.hot(_BY_PATH)
        self._by_ids: HotQuery | None = None
        self._batcher: Batcher[str, VersionedRow] | None = None
        if not db.is_sqlite:
            self._by_ids = db.hot(_BY_IDS_CURRENT)
            self._batcher = Batcher(self._by_id_many, lambda secret_id: secret_id, shared=True)

    async def _by_id_many(self, secret_ids: Sequence[str]) -> dict[Hashable, VersionedRow]:
        assert self._by_ids is not None  # (PostgreSQL only; for the type checker)
        rows = await self._by_ids.all(secret_ids=list(secret_ids))
        return {row[0]: _versioned(row) for row in rows}

    async def by_id(self, secret_id: str, version: int | None) -> VersionedRow | None:
        if version is None:
            if self._batcher is not None:
                return await self._batcher.submit(secret_id)
            row = await self._by_id.first(secret_id=secret_id)
        else:
            row = await self._by_version.first(secret_id=secret_id, version=version)
        return _versioned(row) if row is not None else None

    async def secret(self, secret_id: str) -> SecretRow | None:
        row = await self._secret.first(secret_id=secret_id)
        return secret_row(row) if row is not None else None

    async def by_path(self, path: str) -> VersionedRow | None:
        row = await self._by_path.first(path=path)
        return _versioned(row) if row is not None else None


hot_reads = PerDatabase(HotReads)


async def fetch_by_id(
    conn: AsyncConnection, secret_id: str, version: int | None
) -> VersionedRow | None:
    """The secret with its current version (or `version`), in one statement."""
    if version is None:
        result = await conn.execute(_BY_ID_CURRENT, {"secret_id": secret_id})
    else:
        result = await conn.execute(_BY_ID_VERSION, {"secret_id": secret_id, "version": version})
    row = result.first()
    return _versioned(row) if row is not None else None


async def get_secret(conn: AsyncConnection, secret_id: str) -> SecretRow | None:
    row = (await conn.execute(select(*SECRET_COLUMNS).where(s.id == secret_id))).first()
    return secret_row(row) if row is not None else None


async def list_versions(
    conn: AsyncConnection, secret_id: str, *, before: int | None, limit: int
) -> list[VersionRow]:
    """Versions newest first."""
    query = (
        select(v.version, v.created_at, v.created_by, v.destroyed_at, v.ciphertext.is_not(None))
        .where(v.secret_id == secret_id)
        .order_by(v.version.desc())
        .limit(limit)
    )
    if before is not None:
        query = query.where(v.version < before)
    return [VersionRow(*row) for row in await conn.execute(query)]


async def existing_versions(
    conn: AsyncConnection, secret_id: str, versions: Iterable[int]
) -> set[int]:
    query = select(v.version).where(v.secret_id == secret_id, v.version.in_(list(versions)))
    return set((await conn.execute(query)).scalars())


# Listing --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ListQuery:
    """One batch of a listing: live secrets after `after` within any of `ranges`."""

    now: float
    after: str | None
    # (low, high) bounds of path_key; None = no bound. An empty tuple matches nothing.
    ranges: tuple[tuple[str | None, str | None], ...]
    metadata: Mapping[str, str]
    limit: int


async def list_batch(conn: AsyncConnection, query: ListQuery) -> list[SecretRow]:
    if not query.ranges:
        return []
    # A deleted or destroyed secret has released its path (path_key NULL): only expiry is left
    # to check, which keeps the predicate simple enough for the planner to walk the index.
    statement = select(*SECRET_COLUMNS).where(
        s.path_key.is_not(None), or_(s.expires_at.is_(None), s.expires_at > query.now)
    )
    if query.after is not None:
        statement = statement.where(s.path_key > query.after)
    statement = statement.where(or_(*(_range(low, high) for low, high in query.ranges)))
    for key, value in query.metadata.items():
        statement = statement.where(
            exists().where(m.secret_id == s.id, m.key == key, m.value == value)
        )
    statement = statement.order_by(s.path_key).limit(query.limit)
    return [secret_row(row) for row in await conn.execute(statement)]


def _range(low: str | None, high: str | None) -> ColumnElement[bool]:
    clauses = []
    if low is not None:
        clauses.append(s.path_key >= low)
    if high is not None:
        clauses.append(s.path_key < high)
    return and_(true(), *clauses)


SECRET_STATES = ("live", "expired", "deleted", "destroyed")


async def count_by_state(conn: AsyncConnection) -> dict[str, int]:
    """How many secrets hold a path (live), were ended by their TTL or their reads (expired),
    deleted (soft) or destroyed; for the metrics. One pass over the table."""
    state = case(
        (s.path_key.is_not(None), "live"),
        (s.destroyed == true(), "destroyed"),
        (s.deleted_at.is_not(None), "deleted"),
        else_="expired",
    ).label("state")
    rows = (await conn.execute(select(state, func.count()).group_by(state))).all()
    counts = dict.fromkeys(SECRET_STATES, 0)
    counts.update({str(row[0]): int(row[1]) for row in rows})
    return counts


async def live_under(
    conn: AsyncConnection, low: str, high: str | None, now: float, limit: int
) -> list[SecretRow]:
    """Live secrets whose path is in [low, high) (high None: exactly `low`), by path, at most
    `limit`."""
    held = s.path_key == low if high is None else and_(s.path_key >= low, s.path_key < high)
    statement = (
        select(*SECRET_COLUMNS)
        .where(held, or_(s.expires_at.is_(None), s.expires_at > now))
        .order_by(s.path_key)
        .limit(limit)
    )
    return [secret_row(row) for row in await conn.execute(statement)]
