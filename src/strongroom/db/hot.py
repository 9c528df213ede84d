"""Hot reads: statements compiled once, run on the raw driver.

The secret read and the session check run on every request. Through SQLAlchemy's async
layer one query costs several thread hops on aiosqlite (connect, execute, fetch, rollback...)
and BEGIN/ROLLBACK round trips on asyncpg. A `HotQuery` is a Core `select()` compiled once for
the engine's dialect; each call is one driver call: the stdlib `sqlite3` module on the event
loop thread (an indexed read of a WAL database takes microseconds and never waits for a
writer), or one `fetchrow` on an asyncpg pool with prepared-statement caching. Only reads go
this way; every write keeps SQLAlchemy's unit of work.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select

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
