"""A secret's next version: the write on the hot path, in two forms.

`next_version` is a hot transaction (db/hot.py) on every database. Its first step takes the
next version number on the secret row (UPDATE ... RETURNING, which also locks the row until
commit, so concurrent writers queue instead of failing); the value is sealed for that
version (crypto/envelope.py), then stored with its wrapped key; metadata and the wiping of
versions beyond `max_versions` (their ciphertexts and their keys) follow in the same
transaction. On PostgreSQL that is five to nine round trips (BEGIN, three to seven statements,
COMMIT): there it serves the writes that change metadata, and the fallback of `bump_from`.

`bump_from` is the same write as one statement, for PostgreSQL and a write that leaves the
metadata alone: the caller knows the row's path (checked against its policy) and the version
it expects, and sealed the value for the version after it; data-modifying CTEs then bump
the row only if it is still live at that version, insert the version and its key, and wipe
what falls beyond `max_versions` (ciphertexts and keys), atomically, in one round trip. If
another writer got there first nothing changes and the caller reads again (optimistic
concurrency, with the locking transaction as the fallback). The bumps of concurrent writers
share that statement: it takes arrays, one element per bump (group commit, db/batch.py).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import any_, bindparam, case, delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import ARRAY

from strongroom.crypto import Envelope
from strongroom.db import Database
from strongroom.db.batch import Batcher
from strongroom.db.hot import HotQuery, HotStatement, PerDatabase, Plan, Step
from strongroom.db.intent import before_write
from strongroom.secrets.models import (
    secret_metadata,
    secret_version_keys,
    secret_versions,
    secrets,
)
from strongroom.secrets.repository import SECRET_COLUMNS, SecretRow, live, secret_row

s, v, m, k = secrets.c, secret_versions.c, secret_metadata.c, secret_version_keys.c


@dataclass(slots=True)  # built per request: a frozen __init__ costs 8x; never mutated
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


@dataclass(slots=True)
class _Bump:
    write: NextVersion
    expected: int
    path: str  # the path the caller's policy was checked on
    sealed: Envelope

    def __repr__(self) -> str:
        return f"_Bump({self.write.secret_id!r}, expected={self.expected})"


class HotWrites:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._bumps: dict[tuple[bool, bool, bool], HotStatement] = {}
        self._bumps_from: HotQuery | None = None
        self.batcher: Batcher[_Bump, SecretRow] = Batcher(
            self._bump_many, lambda bump: bump.write.secret_id
        )
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
        self._insert_key = db.hot_statement(
            insert(secret_version_keys).values(
                secret_id=bindparam("sid"),
                version=bindparam("version"),
                wrapped_key=bindparam("wrapped_key"),
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
        self._drop_keys = db.hot_statement(
            delete(secret_version_keys).where(
                k.secret_id == bindparam("sid"), k.version <= bindparam("up_to")
            )
        )

    def _bumps_statement(self) -> HotQuery:
        """Version bumps of many secrets in one statement: one row per bump in the arrays
        (the CTE `batch`), each applied only if its secret is live and still at the version
        its writer expected; the rows bumped are returned."""
        if self._bumps_from is None:

            def column(name: str, like: Any) -> Any:
                return func.unnest(bindparam(name, type_=ARRAY(like.type))).label(name)

            batch = select(
                column("sid", s.id),
                column("expected", s.current_version),
                column("at", s.updated_at),
                column("by", s.updated_by),
                column("set_expiry", s.destroyed),
                column("expires_at", s.expires_at),
                column("ciphertext", v.ciphertext),
                column("wrapped_key", k.wrapped_key),
                column("value_type", v.value_type),
                column("up_to", v.version),
                column("path", s.path),
            ).cte("batch")
            b = batch.c
            bumped = (
                update(secrets)
                # `id = ANY(...)` as well as the join: the rows are found by primary key
                # whatever the planner thinks of the batch (a join alone can mean a scan).
                .where(s.id == any_(bindparam("sid", type_=ARRAY(s.id.type))))
                .where(s.id == b.sid, s.current_version == b.expected, live(b.at))
                # Still where the policy check saw it (a move elsewhere: nothing changes).
                .where(s.path == b.path)
                .values(
                    current_version=s.current_version + 1,
                    updated_at=b.at,
                    updated_by=b.by,
                    expires_at=case((b.set_expiry, b.expires_at), else_=s.expires_at),
                )
                .returning(
                    *SECRET_COLUMNS,
                    b.ciphertext.label("new_ciphertext"),
                    b.wrapped_key.label("new_wrapped_key"),
                    b.value_type.label("new_value_type"),
                    b.at.label("new_at"),
                    b.by.label("new_by"),
                    b.up_to.label("wipe_up_to"),
                )
                .cte("bumped")
            )
            n = bumped.c
            added = insert(secret_versions).from_select(
                ["secret_id", "version", "ciphertext", "value_type", "created_at", "created_by"],
                select(
                    n.id, n.current_version, n.new_ciphertext, n.new_value_type, n.new_at, n.new_by
                ),
            )
            added_key = insert(secret_version_keys).from_select(
                ["secret_id", "version", "wrapped_key"],
                select(n.id, n.current_version, n.new_wrapped_key),
            )
            wiped = (
                update(secret_versions)
                .where(
                    v.secret_id == n.id,
                    v.ciphertext.is_not(None),
                    v.version <= n.wipe_up_to,
                )
                .values(ciphertext=None, destroyed_at=n.new_at)
            )
            dropped_keys = delete(secret_version_keys).where(
                k.secret_id == n.id, k.version <= n.wipe_up_to
            )
            query = select(*(n[c.name] for c in SECRET_COLUMNS)).add_cte(
                added.cte("added"),
                added_key.cte("added_key"),
                wiped.cte("wiped"),
                dropped_keys.cte("dropped_keys"),
            )
            self._bumps_from = self._db.hot(query)
        return self._bumps_from

    async def _bump_many(self, bumps: Sequence[_Bump]) -> dict[Hashable, SecretRow]:
        # Rows locked in one order by every process and node: two batches that share secrets
        # wait for each other instead of deadlocking.
        bumps = sorted(bumps, key=lambda bump: bump.write.secret_id)
        rows = await self._bumps_statement().all(
            sid=[b.write.secret_id for b in bumps],
            expected=[b.expected for b in bumps],
            at=[b.write.at for b in bumps],
            by=[b.write.by for b in bumps],
            set_expiry=[b.write.set_expiry for b in bumps],
            expires_at=[b.write.expires_at for b in bumps],
            ciphertext=[b.sealed.ciphertext for b in bumps],
            wrapped_key=[b.sealed.wrapped_key for b in bumps],
            value_type=[b.write.value_type for b in bumps],
            up_to=[b.expected + 1 - b.write.max_versions for b in bumps],
            path=[b.path for b in bumps],
        )
        return {row[0]: secret_row(row) for row in rows}

    async def bump_from(
        self, write: NextVersion, expected: int, path: str, sealed: Envelope
    ) -> SecretRow | None:
        """PostgreSQL, metadata unchanged: version `expected + 1` (`sealed` for it) in one
        statement, shared with the other bumps waiting at the same time (db/batch.py);
        the row as it now is, or None if the secret is no longer live at `expected` and at
        `path` (whose policy the caller checked): nothing changed then."""
        if write.metadata is not None or self._db.is_sqlite:
            raise ValueError("bump_from is for PostgreSQL writes that keep the metadata")
        await before_write()
        return await self.batcher.submit(_Bump(write, expected, path, sealed))

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
        seal: Callable[[int], Envelope],
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
        sealed = seal(version)
        yield Step(
            self._insert_version,
            {
                **common,
                "version": version,
                "ciphertext": sealed.ciphertext,
                "value_type": write.value_type,
            },
        )
        yield Step(
            self._insert_key,
            {"sid": write.secret_id, "version": version, "wrapped_key": sealed.wrapped_key},
        )
        if write.metadata is not None:
            yield Step(self._drop_metadata, {"sid": write.secret_id})
            if write.metadata:
                sid = write.secret_id
                rows = [{"sid": sid, "key": k, "value": val} for k, val in write.metadata.items()]
                yield Step(self._add_metadata, many=rows)
        if version > write.max_versions:
            up_to = version - write.max_versions
            yield Step(self._wipe, {**common, "up_to": up_to})
            yield Step(self._drop_keys, {"sid": write.secret_id, "up_to": up_to})
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


hot_writes = PerDatabase(HotWrites)
