"""A secret's next version: the write on the hot path, in two forms.

`next_version` is a hot transaction (db/hot.py) on every database. Its first step takes the
next version number on the secret row (UPDATE ... RETURNING, which also locks the row until
commit, so concurrent writers queue instead of failing); the value is encrypted for that
version, then stored; metadata and the wiping of versions beyond `max_versions` follow in the
same transaction. On PostgreSQL that is five round trips (BEGIN, three statements, COMMIT).

`bump_from` is the same write as one statement, for PostgreSQL and a write that leaves the
metadata alone: the caller has read the row, checked it and encrypted the value for the
version after the one it read; data-modifying CTEs then bump the row only if it is still at
that version, insert the version and wipe what falls beyond `max_versions`, atomically, in
one round trip. If another writer got there first nothing changes and the caller reads again
(optimistic concurrency, with the locking transaction as the fallback).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import bindparam, delete, exists, insert, literal_column, select, update

from strongroom.db import Database
from strongroom.db.hot import HotQuery, HotStatement, Plan, Step
from strongroom.secrets.models import secret_metadata, secret_versions, secrets
from strongroom.secrets.repository import SECRET_COLUMNS, SecretRow, live, secret_row

s, v, m = secrets.c, secret_versions.c, secret_metadata.c


@dataclass(frozen=True, slots=True)
class NextVersion:
    secret_id: str
    cas: int | None  # the write happens only if this is still the current version
    value_type: str
    at: float
    by: str
    metadata_json: str | None  # None keeps the metadata
    metadata: Mapping[str, str] | None
    expires_at: float | None
    set_expiry: bool
    max_versions: int


class HotWrites:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._bumps: dict[tuple[bool, bool, bool], HotStatement] = {}
        self._bumps_from: dict[bool, HotQuery] = {}
        self._insert_version = db.hot_statement(
            insert(secret_versions).values(
                secret_id=bindparam("sid"),
                version=bindparam("version"),
                ciphertext=bindparam("ciphertext"),
                value_type=bindparam("value_type"),
                created_at=bindparam("at"),
                created_by=bindparam("by"),
            )
        )
        self._drop_metadata = db.hot_statement(
            delete(secret_metadata).where(m.secret_id == bindparam("sid"))
        )
        self._add_metadata = db.hot_statement(
            insert(secret_metadata).values(
                secret_id=bindparam("sid"), key=bindparam("key"), value=bindparam("value")
            )
        )
        self._wipe = db.hot_statement(
            update(secret_versions)
            .where(
                v.secret_id == bindparam("sid"),
                v.ciphertext.is_not(None),
                v.version <= bindparam("up_to"),
            )
            .values(ciphertext=None, destroyed_at=bindparam("at"))
        )

    def _bump_from_statement(self, expiry: bool) -> HotQuery:
        statement = self._bumps_from.get(expiry)
        if statement is None:
            bumped = (
                update(secrets)
                .where(
                    s.id == bindparam("sid"),
                    s.current_version == bindparam("expected"),
                    live(bindparam("at")),
                )
                .values(**_bumped_values(metadata=False, expiry=expiry))
                .returning(*SECRET_COLUMNS)
                .cte("bumped")
            )
            added = insert(secret_versions).from_select(
                ["secret_id", "version", "ciphertext", "value_type", "created_at", "created_by"],
                select(
                    bumped.c.id,
                    bumped.c.current_version,
                    bindparam("ciphertext", type_=v.ciphertext.type),
                    bindparam("value_type", type_=v.value_type.type),
                    bindparam("at", type_=v.created_at.type),
                    bindparam("by", type_=v.created_by.type),
                ),
            )
            wiped = (
                update(secret_versions)
                .where(
                    v.secret_id == bindparam("sid"),
                    v.ciphertext.is_not(None),
                    v.version <= bindparam("up_to"),
                    exists(select(literal_column("1")).select_from(bumped)),
                )
                .values(ciphertext=None, destroyed_at=bindparam("at"))
            )
            query = select(bumped).add_cte(added.cte("added"), wiped.cte("wiped"))
            statement = self._bumps_from[expiry] = self._db.hot(query)
        return statement

    async def bump_from(
        self, write: NextVersion, expected: int, ciphertext: bytes
    ) -> SecretRow | None:
        """PostgreSQL, metadata unchanged: version `expected + 1` (`ciphertext` encrypted for
        it) in one statement; the row as it now is, or None if the secret is no longer live
        at `expected` (nothing changed then)."""
        if write.metadata is not None or self._db.is_sqlite:
            raise ValueError("bump_from is for PostgreSQL writes that keep the metadata")
        row = await self._bump_from_statement(write.set_expiry).first(
            sid=write.secret_id,
            expected=expected,
            at=write.at,
            by=write.by,
            expires_at=write.expires_at,
            ciphertext=ciphertext,
            value_type=write.value_type,
            up_to=expected + 1 - write.max_versions,
        )
        return secret_row(row) if row is not None else None

    def _bump(self, metadata: bool, expiry: bool, cas: bool) -> HotStatement:
        statement = self._bumps.get((metadata, expiry, cas))
        if statement is None:
            bump = update(secrets).where(s.id == bindparam("sid"), live(bindparam("at")))
            if cas:
                bump = bump.where(s.current_version == bindparam("cas"))
            statement = self._bumps[(metadata, expiry, cas)] = self._db.hot_statement(
                bump.values(**_bumped_values(metadata=metadata, expiry=expiry)).returning(
                    *SECRET_COLUMNS
                )
            )
        return statement

    def next_version(
        self,
        write: NextVersion,
        check: Callable[[SecretRow], None],
        encrypt: Callable[[int], bytes],
    ) -> Plan[SecretRow | None]:
        """The plan of the write; returns the secret row as it now is, or None if the secret
        is gone, not live, or (with `cas`) at another version: nothing was changed then.

        `check` sees the row first (the caller's policy on its path): whatever it raises rolls
        the transaction back, so a denied write changes nothing."""
        common = {"sid": write.secret_id, "at": write.at, "by": write.by}
        row = yield Step(
            self._bump(write.metadata_json is not None, write.set_expiry, write.cas is not None),
            {**common, "metadata": write.metadata_json, "expires_at": write.expires_at,
             "cas": write.cas},
            returning=True,
        )  # fmt: skip
        if row is None:
            return None
        secret = secret_row(row)
        check(secret)
        version = secret.current_version
        yield Step(
            self._insert_version,
            {
                **common,
                "version": version,
                "ciphertext": encrypt(version),
                "value_type": write.value_type,
            },
        )
        if write.metadata is not None:
            yield Step(self._drop_metadata, {"sid": write.secret_id})
            if write.metadata:
                sid = write.secret_id
                rows = [{"sid": sid, "key": k, "value": val} for k, val in write.metadata.items()]
                yield Step(self._add_metadata, many=rows)
        if version > write.max_versions:
            yield Step(self._wipe, {**common, "up_to": version - write.max_versions})
        return secret


def _bumped_values(*, metadata: bool, expiry: bool) -> dict[str, Any]:
    """The SET clause of a version bump: what every write changes, and what it names."""
    values: dict[str, Any] = {
        "current_version": s.current_version + 1,
        "updated_at": bindparam("at"),
        "updated_by": bindparam("by"),
    }
    if metadata:
        values["metadata"] = bindparam("metadata")
    if expiry:
        values["expires_at"] = bindparam("expires_at")
    return values


_HOT: WeakKeyDictionary[Database, HotWrites] = WeakKeyDictionary()


def hot_writes(db: Database) -> HotWrites:
    writes = _HOT.get(db)
    if writes is None:
        writes = _HOT[db] = HotWrites(db)
    return writes
