"""SQLite group commit (db/sqlite_writer.py): plans that queue while the writer is busy commit
together, each one's failure undoes only its own changes, and nobody hears of success before
the COMMIT."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, bindparam, insert

from strongroom.db import Database
from strongroom.db.hot import HotStatement, Plan, Step

_metadata = MetaData()
_notes = Table(
    "notes",
    _metadata,
    Column("id", Integer, primary_key=True),
    Column("text", String, nullable=False),
)


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'group.db'}")
    async with db.begin() as conn:
        await conn.run_sync(_metadata.create_all)
    yield db
    await db.dispose()


def _insert(db: Database) -> HotStatement:
    return db.hot_statement(insert(_notes).values(id=bindparam("id"), text=bindparam("text")))


def _note(statement: HotStatement, note_id: int, *, fail: bool = False) -> Plan[int]:
    changed = yield Step(statement, {"id": note_id, "text": f"note {note_id}"})
    if fail:
        raise ValueError("refused after its insert")
    result: int = changed
    return result


def _blocker(
    statement: HotStatement, started: threading.Event, release: threading.Event
) -> Plan[int]:
    """Holds the writer thread inside its transaction until released."""
    started.set()
    release.wait(10)
    return (yield Step(statement, {"id": 0, "text": "blocker"}))  # type: ignore[no-any-return]


async def _hold_the_writer(
    database: Database, statement: HotStatement
) -> tuple[asyncio.Future[int], threading.Event]:
    """The blocker plan, once the writer thread is inside it; set the event to let it go."""
    started, release = threading.Event(), threading.Event()
    blocker = asyncio.ensure_future(database.run_plan(_blocker(statement, started, release)))
    assert await asyncio.to_thread(started.wait, 10)
    return blocker, release


def _stored(db: Database) -> set[int]:
    with sqlite3.connect(db.engine.url.database or "") as conn:
        return {row[0] for row in conn.execute("SELECT id FROM notes")}


def _writer(db: Database) -> Any:
    return db._writer  # the process's writer thread, to count its groups


async def test_queued_plans_commit_in_one_group(database: Database) -> None:
    statement = _insert(database)
    blocker, release = await _hold_the_writer(database, statement)
    queued = [asyncio.ensure_future(database.run_plan(_note(statement, i))) for i in range(1, 21)]
    await asyncio.sleep(0.05)
    assert not any(task.done() for task in queued)  # nothing acknowledged before its COMMIT
    release.set()
    assert await blocker == 1
    assert await asyncio.gather(*queued) == [1] * 20
    assert _stored(database) == set(range(0, 21))
    # The blocker's group, then one group for the twenty that queued behind it.
    assert _writer(database).groups_committed == 2


async def test_a_failing_plan_is_undone_alone(database: Database) -> None:
    statement = _insert(database)
    blocker, release = await _hold_the_writer(database, statement)
    good = [asyncio.ensure_future(database.run_plan(_note(statement, i))) for i in (1, 2, 4)]
    refused = asyncio.ensure_future(database.run_plan(_note(statement, 3, fail=True)))
    duplicate = asyncio.ensure_future(database.run_plan(_note(statement, 1)))  # id 1 taken
    release.set()
    await blocker
    assert await asyncio.gather(*good) == [1, 1, 1]
    with pytest.raises(ValueError, match="refused after its insert"):
        await refused
    with pytest.raises(sqlite3.IntegrityError):
        await duplicate
    assert _stored(database) == {0, 1, 2, 4}
    assert _writer(database).groups_committed == 2


async def test_a_cancelled_plan_never_runs(database: Database) -> None:
    statement = _insert(database)
    blocker, release = await _hold_the_writer(database, statement)
    cancelled = asyncio.ensure_future(database.run_plan(_note(statement, 7)))
    kept = asyncio.ensure_future(database.run_plan(_note(statement, 8)))
    await asyncio.sleep(0)
    cancelled.cancel()  # the client went away while its write was still queued
    release.set()
    await blocker
    assert await kept == 1
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    assert _stored(database) == {0, 8}


async def test_writes_after_close_reopen(database: Database, tmp_path: Path) -> None:
    statement = _insert(database)
    assert await database.run_plan(_note(statement, 1)) == 1
    await database.dispose()
    assert await database.run_plan(_note(statement, 2)) == 1  # a new writer thread
    assert _stored(database) == {1, 2}
