"""Hot reads: statements compiled once, run on the raw driver.

The secret read and the session check run on every request. Through SQLAlchemy's async
layer one query costs several thread hops on aiosqlite (connect, execute, fetch, rollback...)
and BEGIN/ROLLBACK round trips on asyncpg. A `HotQuery` is a Core `select()` compiled once for
the engine's dialect; each call is one driver call: the stdlib `sqlite3` module on the event
loop thread (an indexed read of a WAL database takes microseconds and never waits for a
writer), or one `fetchrow` on an asyncpg pool with prepared-statement caching.

The same goes for the one write on every service's hot path (a secret's next version):
`Database.run_steps` runs a few compiled statements as one transaction on the raw driver (an
asyncpg transaction; on SQLite, a writer thread that takes an inter-process file lock, then
BEGIN IMMEDIATE, so writers queue on the lock instead of SQLite's sleep-and-retry). Other
writes keep SQLAlchemy's unit of work.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select
from sqlalchemy.sql.dml import UpdateBase

if TYPE_CHECKING:
    from strongroom.db.engine import Database


class HotQuery:
    __slots__ = ("_database", "_defaults", "_order", "_sql")

    def __init__(self, database: Database, statement: Select[Any]) -> None:
        compiled = statement.compile(dialect=database.engine.dialect)
        self._database = database
        self._sql = compiled.string
        self._order: Sequence[str] = compiled.positiontup or []
        self._defaults = dict(compiled.params)

    def __repr__(self) -> str:
        return f"HotQuery({self._sql!r})"

    async def first(self, **params: Any) -> Sequence[Any] | None:
        """The first row as a tuple-like sequence (columns in select order), or None."""
        args = [params[name] if name in params else self._defaults[name] for name in self._order]
        return await self._database.fetch_first(self._sql, args)


def open_sqlite_reader(path: str) -> sqlite3.Connection:
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=5)
    connection.execute("PRAGMA query_only=ON")
    connection.execute("PRAGMA busy_timeout=5000")
    return connection


class HotStatement:
    """A write (INSERT/UPDATE/DELETE) compiled once, for `Database.run_steps`."""

    __slots__ = ("_defaults", "_order", "sql")

    def __init__(self, database: Database, statement: UpdateBase) -> None:
        compiled = statement.compile(dialect=database.engine.dialect)
        self.sql = compiled.string
        self._order: Sequence[str] = compiled.positiontup or []
        self._defaults = dict(compiled.params)

    def __repr__(self) -> str:
        return f"HotStatement({self.sql!r})"

    def arguments(self, params: Mapping[str, Any]) -> list[Any]:
        return [params[name] if name in params else self._defaults[name] for name in self._order]


@dataclass(frozen=True, slots=True)
class Step:
    """One statement of a hot transaction: `params` once, or `many` parameter sets; with
    `expect_rows`, the transaction is rolled back (StepFailed) unless exactly that many rows
    changed."""

    statement: HotStatement
    params: Mapping[str, Any] = field(default_factory=dict)
    many: Sequence[Mapping[str, Any]] | None = None
    expect_rows: int | None = None


class StepFailed(Exception):
    """A step changed another number of rows than it expected; nothing was committed."""

    def __init__(self, index: int) -> None:
        super().__init__(f"step {index} changed an unexpected number of rows")
        self.index = index


def run_sqlite_steps(connection: sqlite3.Connection, steps: Sequence[Step]) -> list[int]:
    """The steps in one IMMEDIATE transaction on `connection` (the caller serialises writers)."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        counts = []
        for index, step in enumerate(steps):
            if step.many is not None:
                cursor = connection.executemany(
                    step.statement.sql, [step.statement.arguments(p) for p in step.many]
                )
            else:
                cursor = connection.execute(
                    step.statement.sql, step.statement.arguments(step.params)
                )
            if step.expect_rows is not None and cursor.rowcount != step.expect_rows:
                raise StepFailed(index)
            counts.append(cursor.rowcount)
        connection.execute("COMMIT")
        return counts
    except BaseException:
        connection.execute("ROLLBACK")
        raise


async def run_asyncpg_steps(connection: Any, steps: Sequence[Step]) -> list[int]:
    """The steps in one transaction on an asyncpg connection."""
    counts = []
    async with connection.transaction():
        for index, step in enumerate(steps):
            if step.many is not None:
                await connection.executemany(
                    step.statement.sql, [step.statement.arguments(p) for p in step.many]
                )
                counts.append(len(step.many))
                continue
            status = await connection.execute(
                step.statement.sql, *step.statement.arguments(step.params)
            )
            rows = int(status.rsplit(" ", 1)[-1]) if status and status[-1].isdigit() else 0
            if step.expect_rows is not None and rows != step.expect_rows:
                raise StepFailed(index)
            counts.append(rows)
    return counts


def open_sqlite_writer(path: str) -> sqlite3.Connection:
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=FULL")
    connection.execute("PRAGMA foreign_keys=ON")
    connection.execute("PRAGMA busy_timeout=30000")
    return connection
