"""A secret's next version, as one hot transaction (db/hot.py): the write on the hot path.

The version number is taken optimistically: the caller read the secret (its path was needed
for the policy check anyway), encrypts for `current_version + 1`, and the first step moves
the row from that version to the next only if nobody else did meanwhile (a conditional
UPDATE that must change exactly one row). If another writer won, nothing is committed and
the caller reads again and retries; `cas` mismatches are refused before any write.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import bindparam, delete, insert, update

from strongroom.db import Database
from strongroom.db.hot import HotStatement, Step
from strongroom.secrets.models import secret_metadata, secret_versions, secrets
from strongroom.secrets.repository import live

s, v, m = secrets.c, secret_versions.c, secret_metadata.c


@dataclass(frozen=True, slots=True)
class NextVersion:
    secret_id: str
    expected: int  # the version the writer read; the write happens only if it is still current
    ciphertext: bytes
    value_type: str
    at: float
    by: str
    metadata_json: str | None  # None keeps the metadata
    metadata: Mapping[str, str] | None
    expires_at: float | None
    set_expiry: bool
    wipe_up_to: int | None  # versions <= this lose their ciphertext (max_versions)


class HotWrites:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._bumps: dict[tuple[bool, bool], HotStatement] = {}
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

    def _bump(self, metadata: bool, expiry: bool) -> HotStatement:
        statement = self._bumps.get((metadata, expiry))
        if statement is None:
            values: dict[str, Any] = {
                "current_version": bindparam("version"),
                "updated_at": bindparam("at"),
                "updated_by": bindparam("by"),
            }
            if metadata:
                values["metadata"] = bindparam("metadata")
            if expiry:
                values["expires_at"] = bindparam("expires_at")
            statement = self._bumps[(metadata, expiry)] = self._db.hot_statement(
                update(secrets)
                .where(
                    s.id == bindparam("sid"),
                    s.current_version == bindparam("expected"),
                    live(bindparam("at")),
                )
                .values(**values)
            )
        return statement

    def steps(self, write: NextVersion) -> list[Step]:
        common = {"sid": write.secret_id, "at": write.at, "by": write.by}
        version = write.expected + 1
        bump = {
            **common,
            "version": version,
            "expected": write.expected,
            "metadata": write.metadata_json,
            "expires_at": write.expires_at,
        }
        steps = [
            Step(
                self._bump(write.metadata_json is not None, write.set_expiry),
                bump,
                expect_rows=1,
            ),
            Step(
                self._insert_version,
                {
                    **common,
                    "version": version,
                    "ciphertext": write.ciphertext,
                    "value_type": write.value_type,
                },
            ),
        ]
        if write.metadata is not None:
            steps.append(Step(self._drop_metadata, {"sid": write.secret_id}))
            if write.metadata:
                rows = [
                    {"sid": write.secret_id, "key": k, "value": val}
                    for k, val in write.metadata.items()
                ]
                steps.append(Step(self._add_metadata, many=rows))
        if write.wipe_up_to is not None:
            steps.append(Step(self._wipe, {**common, "up_to": write.wipe_up_to}))
        return steps


_HOT: WeakKeyDictionary[Database, HotWrites] = WeakKeyDictionary()


def hot_writes(db: Database) -> HotWrites:
    writes = _HOT.get(db)
    if writes is None:
        writes = _HOT[db] = HotWrites(db)
    return writes
