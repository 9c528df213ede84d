"""The async engine with each dialect's durability settings, and the migration runner.

Dialect differences stay in this module: SQLite gets WAL with `synchronous=FULL` (a commit is
on disk before it is acknowledged), foreign keys, a busy timeout and `secure_delete` (deleted
content is overwritten with zeros: see `scrub`); PostgreSQL keeps its own durable defaults and
serialises concurrent migrations of several nodes with an advisory lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import Select, event, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.sql.dml import UpdateBase

from strongroom.db.hot import (
    HotQuery,
    HotStatement,
    Plan,
    T,
    open_sqlite_reader,
    run_asyncpg_plan,
)
from strongroom.db.intent import before_write
from strongroom.db.scrub import WalScrubber
from strongroom.db.sqlite_writer import SqliteWriter

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_PG_MIGRATION_LOCK = 0x5354524F  # "STRO"


class DatabaseUnavailable(Exception):
    """The database could not be reached or refused the operation."""


class DatabaseUnreachable(DatabaseUnavailable):
    """No connection could be had, or it was lost: nothing else will fare better now (and a
    statement sent may or may not have committed)."""


# Errors that mean the connection, not the statement, failed. `InternalClientError` included:
# a backend that is terminated while its connection idles in the pool sends a FATAL error
# before it hangs up, and a statement sent in between finds the protocol wedged (asyncpg then
# closes the connection, and the pool replaces it).
_LOST = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    asyncpg.exceptions.PostgresConnectionError,
)


class Database:
    """Owns the engine. `begin()` is a unit of work: committed on success, else rolled back.
    `hot(select)` prepares a read for the hot path (see db/hot.py)."""

    def __init__(self, url: str, *, pool_size: int = 10, echo: bool = False) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self._pool_size = pool_size
        self._sqlite_reader: sqlite3.Connection | None = None
        self._pg_pool: Any = None
        self._writer: SqliteWriter | None = None
        self._scrubber: WalScrubber | None = None
        self._pg_pool_lock = asyncio.Lock()
        kwargs: dict[str, Any] = {"echo": echo, "hide_parameters": True}
        if self.is_sqlite:
            kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
            kwargs["pool_size"] = pool_size
        else:
            kwargs.update(pool_size=pool_size, max_overflow=pool_size // 2, pool_pre_ping=False)
            kwargs["connect_args"] = {"server_settings": {"application_name": "strongroom"}}
        if self.is_sqlite:
            _create_private(self.url)
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)

    def __repr__(self) -> str:
        return f"Database({self.engine.url.render_as_string(hide_password=True)!r})"

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncConnection]:
        await before_write()  # the request's audit record before anything can commit
        async with self._connection() as conn, conn.begin():
            yield conn

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[AsyncConnection]:
        """A connection for reads; statements run in one implicit transaction, rolled back."""
        async with self._connection() as conn:
            yield conn

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A connection in autocommit mode for single-statement reads: no BEGIN/ROLLBACK round
        trips around the one query on the hot path."""
        async with self._connection() as conn:
            yield await conn.execution_options(isolation_level="AUTOCOMMIT")

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[AsyncConnection]:
        """A connection of SQLAlchemy's pool; `DatabaseUnreachable` if none can be had. A new
        connection that cannot be made fails with the driver's own error (asyncpg raises
        `ConnectionRefusedError` and friends), which SQLAlchemy does not wrap."""
        try:
            conn = await self.engine.connect()
        except (*_LOST, asyncpg.PostgresError, DBAPIError) as exc:
            # Any failure to open a connection is an outage: a refused socket, or a server
            # that refuses new sessions ("not currently accepting connections", which
            # SQLAlchemy wraps in a DBAPIError).
            raise DatabaseUnreachable(type(exc).__name__) from None
        try:
            yield conn
        finally:
            await asyncio.shield(conn.close())

    async def ping(self) -> bool:
        try:
            return await self.fetch_first("SELECT 1", []) is not None
        except (DatabaseUnavailable, SQLAlchemyError, OSError):
            return False

    def hot(self, statement: Select[Any]) -> HotQuery:
        return HotQuery(self, statement)

    def hot_statement(self, statement: UpdateBase) -> HotStatement:
        return HotStatement(self, statement)

    async def run_plan(self, plan: Plan[T]) -> T:
        """Run a hot transaction (db/hot.py) atomically: committed when the plan returns,
        rolled back if it raises (`StepFailed` included)."""
        await before_write()
        if self.is_sqlite:
            if self._writer is None:
                self._writer = SqliteWriter(self.engine.url.database or "")
            try:
                result: T = await self._writer.submit(plan)
                return result
            except sqlite3.OperationalError as exc:
                raise DatabaseUnavailable(type(exc).__name__) from None
        async with self._pg_connection() as conn:
            try:
                return await run_asyncpg_plan(conn, plan)
            except _LOST as exc:
                raise DatabaseUnreachable(type(exc).__name__) from None

    async def scrub(self) -> bool:
        """Leave no copy of what was deleted before this call in the database's files, where
        the server can see to it. SQLite: deleted content is zeroed in place (`secure_delete`)
        and the WAL, which still holds the pages as they were, is checkpointed and truncated
        (db/scrub.py); True when done. PostgreSQL keeps dead tuples and WAL segments beyond the
        server's reach (README, "Destroyed means gone"): nothing to do here, False."""
        if not self.is_sqlite:
            return False
        if self._scrubber is None:
            self._scrubber = WalScrubber(self.engine.url.database or "")
        return await self._scrubber.scrub()

    async def fetch_first(self, sql: str, args: list[Any]) -> Sequence[Any] | None:
        """Run a compiled read on the raw driver; `DatabaseUnavailable` if it cannot."""
        if self.is_sqlite:
            try:
                if self._sqlite_reader is None:
                    self._sqlite_reader = open_sqlite_reader(self.engine.url.database or "")
                row: Sequence[Any] | None = self._sqlite_reader.execute(sql, args).fetchone()
                return row
            except sqlite3.Error as exc:
                raise DatabaseUnavailable(type(exc).__name__) from None
        async with self._pg_connection() as conn:
            try:
                record: Sequence[Any] | None = await conn.fetchrow(sql, *args)
            except _LOST as exc:
                raise DatabaseUnreachable(type(exc).__name__) from None
            except asyncpg.PostgresError as exc:
                raise DatabaseUnavailable(type(exc).__name__) from None
            return record

    async def fetch_all(self, sql: str, args: list[Any]) -> list[Sequence[Any]]:
        """Every row of a compiled statement, on the raw driver; `DatabaseUnavailable` if it
        cannot run. (PostgreSQL: the batched writes; a read of SQLite runs like fetch_first.)"""
        if self.is_sqlite:
            try:
                if self._sqlite_reader is None:
                    self._sqlite_reader = open_sqlite_reader(self.engine.url.database or "")
                return list(self._sqlite_reader.execute(sql, args).fetchall())
            except sqlite3.Error as exc:
                raise DatabaseUnavailable(type(exc).__name__) from None
        async with self._pg_connection() as conn:
            try:
                records: list[Sequence[Any]] = await conn.fetch(sql, *args)
            except _LOST as exc:
                raise DatabaseUnreachable(type(exc).__name__) from None
            except asyncpg.PostgresError as exc:
                raise DatabaseUnavailable(type(exc).__name__) from None
            return records

    @asynccontextmanager
    async def _pg_connection(self) -> AsyncIterator[Any]:
        """A connection of the raw pool; `DatabaseUnreachable` if none can be had, whatever
        the reason (refused, too many clients, starting up, not accepting connections)."""
        try:
            if self._pg_pool is None:
                await self._open_pg_pool()
            conn = await self._pg_pool.acquire()
        except (*_LOST, asyncpg.PostgresError) as exc:
            raise DatabaseUnreachable(type(exc).__name__) from None
        try:
            yield conn
        finally:
            await self._pg_pool.release(conn)

    async def _open_pg_pool(self) -> None:
        async with self._pg_pool_lock:  # many first requests at once must make one pool
            if self._pg_pool is None:
                self._pg_pool = await self._create_pg_pool()

    async def _create_pg_pool(self) -> Any:
        dsn = self.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        return await asyncpg.create_pool(
            dsn,
            min_size=1,
            max_size=max(2, self._pool_size // 2),
            timeout=5,
            # A statement of the hot path that hangs fails instead of holding its batch.
            command_timeout=30,
            # Hot reads change no session state: skip asyncpg's per-release RESET ALL round trip
            # (an open transaction is still rolled back by the pool itself).
            reset=_keep_session,
            server_settings={"application_name": "strongroom"},
        )

    async def dispose(self) -> None:
        if self._writer is not None:
            await asyncio.to_thread(self._writer.close)
            self._writer = None
        if self._sqlite_reader is not None:
            self._sqlite_reader.close()
            self._sqlite_reader = None
        if self._scrubber is not None:
            self._scrubber.close()
            self._scrubber = None
        if self._pg_pool is not None:
            await self._pg_pool.close()
            self._pg_pool = None
        await self.engine.dispose()

    async def migrate(self) -> None:
        """Bring the schema to the newest revision (safe when several nodes start at once)."""
        async with self.engine.connect() as conn:
            if not self.is_sqlite:
                await conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
            try:
                await conn.run_sync(_upgrade)
                await conn.commit()
            finally:
                if not self.is_sqlite:
                    await conn.execute(
                        text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_MIGRATION_LOCK}
                    )
                    await conn.commit()


def _create_private(url: str) -> None:
    """Create an SQLite database file 0600 before SQLite does (it would use 0644 minus the
    umask); its -wal and -shm files take the database file's mode (issue 16, finding 12)."""
    from sqlalchemy.engine import make_url

    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    # On failure SQLite reports the real problem when it opens the file.
    with contextlib.suppress(OSError):
        os.close(os.open(database, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600))


async def _keep_session(_connection: Any) -> None:
    return None


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


def alembic_config() -> Any:
    from alembic.config import Config as AlembicConfig

    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def _upgrade(connection: Connection) -> None:
    from alembic import command

    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


def run_migrations(url: str) -> None:
    """Synchronous entry point for `strongroom migrate` and start-up."""

    async def _run() -> None:
        database = Database(url, pool_size=1)
        try:
            await database.migrate()
        finally:
            await database.dispose()

    asyncio.run(_run())
