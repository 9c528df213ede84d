"""What "destroyed" means on PostgreSQL (README, "Destroyed means gone").

The destroy deletes the version's key in its transaction, so no copy of the database taken by
SQL afterwards can decrypt the value (test_destroyed_means_gone.py runs that on PostgreSQL
too). PostgreSQL's files are another matter: the deleted key stays in a dead tuple, in the
page's free space and in WAL segments, none of which the server can erase. This test shows
that residue on a server of its own, then runs the purge the README tells operators to run,
and shows that no file of PostgreSQL's data directory holds the key afterwards.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy import select

from strongroom.config import Config
from strongroom.secrets.models import secret_version_keys
from tests.secrets.conftest import BASE, create, headers_for, read
from tests.secrets.private_postgres import private_postgres
from tests.support import Api

README = Path(__file__).resolve().parents[2] / "README.md"
# The settings and the statements README.md gives operators, verbatim.
SETTING = "wal_recycle = off"
PURGE = (
    "VACUUM (FULL) secret_version_keys;",
    "CHECKPOINT;",
    "SELECT pg_switch_wal();",
    "CHECKPOINT;",
)


@pytest.fixture
def own_postgres() -> Iterator[tuple[str, Path]]:
    with private_postgres(SETTING.replace(" ", "")) as server:
        yield server


def _files_holding(data_dir: Path, needle: bytes) -> list[str]:
    found = []
    for folder, _dirs, files in os.walk(data_dir):
        for name in files:
            path = Path(folder) / name
            try:
                if needle in path.read_bytes():
                    found.append(str(path.relative_to(data_dir)))
            except OSError:  # a file PostgreSQL removed meanwhile
                continue
    return found


async def _wrapped_key(api: Api, secret_id: str) -> bytes:
    k = secret_version_keys.c
    async with api.services.db.connect() as conn:
        blob = (
            await conn.execute(select(k.wrapped_key).where(k.secret_id == secret_id))
        ).scalar_one()
    return bytes(blob)


@pytest.mark.slow
async def test_after_the_documented_purge_no_postgres_file_holds_a_destroyed_key(
    own_postgres: tuple[str, Path], make_config: Callable[..., Config], open_api: Any
) -> None:
    readme = README.read_text()
    assert SETTING in readme and all(statement in readme for statement in PURGE)
    url, data_dir = own_postgres
    async with open_api(make_config("sqlite", database_url=url)) as api:
        admin = await headers_for(api, "root", "admin")
        live = (await create(api, admin, "pg/live", "still-here"))["id"]
        doomed = (await create(api, admin, "pg/destroyed", "DESTROYED-ON-POSTGRES"))["id"]
        key = await _wrapped_key(api, doomed)
        response = await api.client.post(f"{BASE}/{doomed}/destroy", json={}, headers=admin)
        assert response.status_code == 200, response.text

        # Gone from the table at once, but not from PostgreSQL's files (WAL, dead tuple). A
        # checkpoint first writes the page holding the dead tuple to its file: in the WAL alone
        # the key can be cut in two by a WAL page header when its record spans a page boundary.
        connection = await asyncpg.connect(url.replace("+asyncpg", ""))
        try:
            await connection.execute("CHECKPOINT;")
            assert _files_holding(data_dir, key) != []
            for statement in PURGE:
                await connection.execute(statement)
        finally:
            await connection.close()
        assert _files_holding(data_dir, key) == []
        assert (await read(api, admin, live)).json()["value"] == "still-here"
