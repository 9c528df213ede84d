"""The read path: one statement for an ordinary secret, no write; a write only with max_reads."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from tests.secrets.conftest import create, read
from tests.support import Api


@contextmanager
def _statements(api: Api) -> Iterator[list[str]]:
    """SQL statements touching the secrets tables while the block runs: through SQLAlchemy,
    and through the raw-driver path of hot reads (`Database.fetch_first`)."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "secret" in statement.lower():
            seen.append(" ".join(statement.split()))

    db = api.services.db
    fetch_first = db.fetch_first

    async def recording_fetch_first(sql: str, args: list[Any]) -> Any:
        record(None, None, sql)
        return await fetch_first(sql, args)

    engine = db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    db.fetch_first = recording_fetch_first  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        del db.fetch_first
        event.remove(engine, "before_cursor_execute", record)


async def test_an_ordinary_read_is_one_select(api: Api, admin: dict[str, str]) -> None:
    secret_id = (await create(api, admin, "hot/path", "v"))["id"]
    await api.client.put(f"/api/v1/secrets/{secret_id}", json={"value": "v2"}, headers=admin)
    for params in ({}, {"version": 1}):
        with _statements(api) as seen:
            response = await read(api, admin, secret_id, **params)
        assert response.status_code == 200
        assert len(seen) == 1, seen
        assert seen[0].startswith("SELECT")
        assert "JOIN secret_versions" in seen[0]
    with _statements(api) as seen:
        response = await api.client.get("/api/v1/secrets/by-path/hot/path", headers=admin)
    assert response.status_code == 200
    assert len(seen) == 1 and seen[0].startswith("SELECT"), seen


async def test_a_counted_read_writes_in_one_transaction(api: Api, admin: dict[str, str]) -> None:
    secret_id = (await create(api, admin, "hot/counted", "v", max_reads=5))["id"]
    with _statements(api) as seen:
        response = await read(api, admin, secret_id)
    assert response.json()["reads"] == 1
    assert [s.split()[0] for s in seen] == ["SELECT", "UPDATE", "SELECT"], seen


async def test_the_response_forbids_caching(api: Api, admin: dict[str, str]) -> None:
    secret_id = (await create(api, admin, "hot/cache", "v"))["id"]
    response = await read(api, admin, secret_id)
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["content-type"] == "application/json"
