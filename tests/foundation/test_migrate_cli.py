"""`strongroom migrate` and start-up migration on a brand-new PostgreSQL database (issue 2,
acceptance 3).

Each test creates its own empty database (the run's shared one is already migrated by other
tests) and drops it afterwards.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from strongroom.db.schema import metadata
from tests.conftest import need
from tests.support import ServerProcess, admin_password, pg_database, pg_reachable, run

pytestmark = pytest.mark.slow  # real server processes

EXPECTED_TABLES = {table.name for table in metadata.sorted_tables}


@pytest.fixture
def empty_pg(tmp_path: Path) -> Iterator[str]:
    """An asyncpg URL of a database created empty for this test."""
    need(pg_reachable(), "PostgreSQL at 127.0.0.1:5432")
    with pg_database("strongroom_migrate") as url:
        yield url


async def _schema(url: str) -> tuple[set[str], list[str]]:
    """(tables of the public schema, alembic revisions recorded)."""
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        rows = await conn.fetch(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
        )
        tables = {row["table_name"] for row in rows}
        revisions: list[str] = []
        if "alembic_version" in tables:
            revisions = [
                r["version_num"] for r in await conn.fetch("SELECT * FROM alembic_version")
            ]
        return tables, revisions
    finally:
        await conn.close()


def _head_revision() -> str:
    from alembic.script import ScriptDirectory

    from strongroom.db.engine import alembic_config

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def _migrate(url: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "STRONGROOM_DATABASE_URL": url,
        "STRONGROOM_DATA_DIR": str(data_dir),
        "STRONGROOM_LOG_LEVEL": "warning",
    }
    return subprocess.run(
        [sys.executable, "-m", "strongroom.cli.main", "migrate"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_migrate_cli_on_an_empty_database_then_serve(tmp_path: Path, empty_pg: str) -> None:
    assert run(_schema(empty_pg)) == (set(), [])
    first = _migrate(empty_pg, tmp_path / "migrate")
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == "database is at the newest schema"
    assert "Traceback" not in first.stderr
    tables, revisions = run(_schema(empty_pg))
    assert tables == EXPECTED_TABLES | {"alembic_version"}
    assert revisions == [_head_revision()]

    # Idempotent: a second run changes nothing and still succeeds.
    second = _migrate(empty_pg, tmp_path / "migrate")
    assert second.returncode == 0, second.stderr
    assert run(_schema(empty_pg)) == (tables, revisions)

    server = ServerProcess(tmp_path / "data", {"STRONGROOM_DATABASE_URL": empty_pg}, tls=True)
    server.start()
    try:
        response = httpx.get(f"{server.url}/api/v1/sys/health", verify=server.verify)
        assert response.status_code == 200, response.text
        assert response.json()["database"] == "ok"
        password = admin_password(server.data_dir)
        login = httpx.post(
            f"{server.url}/api/v1/auth/token/create",
            data={"grant_type": "password", "username": "admin", "password": password.strip()},
            verify=server.verify,
        )
        assert login.status_code == 200, login.text
    finally:
        server.stop()
    assert run(_schema(empty_pg)) == (tables, revisions)


def test_server_on_an_empty_database_migrates_by_itself(tmp_path: Path, empty_pg: str) -> None:
    assert run(_schema(empty_pg)) == (set(), [])
    server = ServerProcess(tmp_path / "data", {"STRONGROOM_DATABASE_URL": empty_pg}, tls=True)
    server.start()
    try:
        response = httpx.get(f"{server.url}/api/v1/sys/health", verify=server.verify)
        assert response.status_code == 200, response.text
        tables, revisions = run(_schema(empty_pg))
        assert tables == EXPECTED_TABLES | {"alembic_version"}
        assert revisions == [_head_revision()]
    finally:
        server.stop()
    # Running the CLI afterwards finds nothing to do.
    again = _migrate(empty_pg, tmp_path / "migrate")
    assert again.returncode == 0, again.stderr
    assert run(_schema(empty_pg)) == (tables, revisions)
