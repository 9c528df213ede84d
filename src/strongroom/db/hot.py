"""Hot reads: statements compiled once, run on the raw driver.

The secret read and the session check run on every request. Through SQLAlchemy's async
layer one query costs several thread hops on aiosqlite (connect, execute, fetch, rollback...)
and BEGIN/ROLLBACK round trips on asyncpg. A `HotQuery` is a Core `select()` compiled once for
the engine's dialect; each call is one driver call: the stdlib `sqlite3` module on the event
loop thread (an indexed read of a WAL database takes microseconds and never waits for a
writer), or one `fetchrow` on an asyncpg pool with prepared-statement caching.

The same goes for the one write on every service's hot path (a secret's next version):
`Database.run_plan` runs a few compiled statements as one transaction on the raw driver (an
asyncpg transaction; on SQLite, the process's writer thread, which commits plans in groups:
db/sqlite_writer.py). Other writes keep SQLAlchemy's unit of work.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar
from weakref import WeakKeyDictionary

from sqlalchemy import Select
from sqlalchemy.sql.dml import UpdateBase

if TYPE_CHECKING:
    from strongroom.db.engine import Database

T = TypeVar("T")


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
        return await self._database.fetch_first(self._sql, self._arguments(params))

    async def all(self, **params: Any) -> list[Sequence[Any]]:
        """Every row, each a tuple-like sequence (columns in select order)."""
        return await self._database.fetch_all(self._sql, self._arguments(params))

    def _arguments(self, params: dict[str, Any]) -> list[Any]:
        return [params[name] if name in params else self._defaults[name] for name in self._order]


def open_sqlite_reader(path: str) -> sqlite3.Connection:
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=5)
    connection.execute("PRAGMA query_only=ON")
    connection.execute("PRAGMA busy_timeout=5000")
    return connection


class HotStatement:
    """A write (INSERT/UPDATE/DELETE) compiled once, for the steps of `Database.run_plan`."""

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
    """One statement of a hot transaction: `params` once, or `many` parameter sets. The plan
    gets back the first row (`returning`) or the number of changed rows; with `expect_rows`,
    another number rolls the whole transaction back (StepFailed)."""

    statement: HotStatement
    params: Mapping[str, Any] = field(default_factory=dict)
    many: Sequence[Mapping[str, Any]] | None = None
    expect_rows: int | None = None
    returning: bool = False


# A transaction as a generator: it yields steps, receives each one's result, and returns the
# transaction's result. The same plan runs on SQLite (in the writer thread) and asyncpg.
Plan = Generator[Step, Any, T]


class StepFailed(Exception):
    """A step changed another number of rows than it expected; nothing was committed."""

    def __init__(self, step: Step) -> None:
        super().__init__(f"{step.statement!r} changed an unexpected number of rows")


def sqlite_step(connection: sqlite3.Connection, step: Step) -> Any:
    statement = step.statement
    if step.many is not None:
        cursor = connection.executemany(statement.sql, [statement.arguments(p) for p in step.many])
        return cursor.rowcount
    cursor = connection.execute(statement.sql, statement.arguments(step.params))
    if step.returning:
        return cursor.fetchone()
    if step.expect_rows is not None and cursor.rowcount != step.expect_rows:
        raise StepFailed(step)
    return cursor.rowcount


async def _asyncpg_step(connection: Any, step: Step) -> Any:
    statement = step.statement
    if step.many is not None:
        await connection.executemany(statement.sql, [statement.arguments(p) for p in step.many])
        return len(step.many)
    arguments = statement.arguments(step.params)
    if step.returning:
        return await connection.fetchrow(statement.sql, *arguments)
    status = await connection.execute(statement.sql, *arguments)
    rows = int(status.rsplit(" ", 1)[-1]) if status and status[-1].isdigit() else 0
    if step.expect_rows is not None and rows != step.expect_rows:
        raise StepFailed(step)
    return rows


async def run_asyncpg_plan(connection: Any, plan: Plan[T]) -> T:
    """A plan in one transaction on an asyncpg connection."""
    async with connection.transaction():
        try:
            step = next(plan)
            while True:
                step = plan.send(await _asyncpg_step(connection, step))
        except StopIteration as done:
            result: T = done.value
            return result


def open_sqlite_writer(path: str) -> sqlite3.Connection:
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=FULL")
    connection.execute("PRAGMA foreign_keys=ON")
    connection.execute("PRAGMA busy_timeout=30000")
    # Wiped ciphertexts and deleted keys (versions beyond max_versions) are zeroed in place.
    connection.execute("PRAGMA secure_delete=ON")
    return connection


Shared = TypeVar("Shared")


class PerDatabase(Generic[Shared]):
    """One `make(db)` per Database, built on first use and dropped with it: the hot-path
    objects that hold prepared statements and batchers (`hot_reads(db)`, ...)."""

    def __init__(self, make: Callable[[Database], Shared]) -> None:
        self._make = make
        self._made: WeakKeyDictionary[Database, Shared] = WeakKeyDictionary()

    def __call__(self, db: Database) -> Shared:
        found = self._made.get(db)
        if found is None:
            found = self._made[db] = self._make(db)
        return found
