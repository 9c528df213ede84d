"""The database sink and `GET /api/v1/audit` (filters, keyset pagination), on SQLite and
PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from strongroom.config import Config
from strongroom.crypto import ACCESS_PREFIX, new_token
from tests.audit.helpers import read_records
from tests.support import Api, make_user_session


@pytest.fixture
def db_config(make_config: Callable[..., Config], db_backend: str) -> Config:
    # Built outside the event loop: the PostgreSQL fixtures it pulls in run their own loop.
    return make_config(db_backend, audit_database=True)


@pytest.fixture
async def db_api(db_config: Config, open_api: Callable[[Config], Any]) -> AsyncIterator[Api]:
    async with open_api(db_config) as api:
        yield api


async def fill(api: Api) -> dict[str, str]:
    """Four recorded requests: auditor 200, user 403, bad token 401, admin hash 200."""
    tokens = {
        "auditor": (await make_user_session(api.services, "ada", "auditor"))[0],
        "user": (await make_user_session(api.services, "bob", "user"))[0],
        "admin": (await make_user_session(api.services, "root", "admin"))[0],
    }
    assert (await api.client.get("/api/v1/audit", headers=api.auth(tokens["auditor"]))).is_success
    denied = await api.client.get("/api/v1/audit", headers=api.auth(tokens["user"]))
    assert denied.status_code == 403
    forged = new_token(ACCESS_PREFIX)
    assert (await api.client.get("/api/v1/audit", headers=api.auth(forged))).status_code == 401
    hashed = await api.client.post(
        "/api/v1/audit/hash", json={"input": "x"}, headers=api.auth(tokens["admin"])
    )
    assert hashed.status_code == 200
    return tokens


async def listing(api: Api, token: str, **params: Any) -> dict[str, Any]:
    response = await api.client.get("/api/v1/audit", params=params, headers=api.auth(token))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_records_are_listed_newest_first_and_match_the_file(db_api: Api) -> None:
    tokens = await fill(db_api)
    body = await listing(db_api, tokens["admin"])
    items = body["items"]
    assert body["next_cursor"] is None
    assert [(i["method"], i["path"], i["status"]) for i in items] == [
        ("POST", "/api/v1/audit/hash", 200),
        ("GET", "/api/v1/audit", 401),
        ("GET", "/api/v1/audit", 403),
        ("GET", "/api/v1/audit", 200),
    ]
    assert [i["id"] for i in items] == sorted((i["id"] for i in items), reverse=True)
    path = db_api.services.config.resolved_audit_file
    assert path is not None
    from_file = read_records(path)[:4]
    assert [r["request_id"] for r in reversed(from_file)] == [i["request_id"] for i in items]
    # The database holds no token either.
    async with db_api.services.db.connect() as conn:
        from sqlalchemy import select

        from strongroom.audit.models import audit_records

        stored = " ".join((await conn.execute(select(audit_records.c.record))).scalars())
    for token in tokens.values():
        assert token not in stored


async def test_filters(db_api: Api) -> None:
    tokens = await fill(db_api)
    filled = str(time.time())  # later listings are recorded too: look only before this

    async def found(**params: Any) -> list[tuple[str, int]]:
        items = (await listing(db_api, tokens["admin"], **{"until": filled, **params}))["items"]
        return [(i["outcome"], i["status"]) for i in items]

    assert await found(user="bob") == [("denied", 403)]
    assert await found(outcome="auth_failed") == [("auth_failed", 401)]
    assert await found(path="/api/v1/audit/") == [("success", 200)]
    assert len(await found(path="/api/v1/aud")) == 4
    assert await found(path="/api/v1/audit%") == []  # LIKE wildcards are literal
    assert await found(path="/api/v1/audi_") == []
    assert len(await found(since=str(time.time() - 60))) == 4
    assert len(await found(since="2000-01-01T00:00:00+02:00")) == 4
    assert await found(since=filled) == []
    assert await found(until="2000-01-01T00:00:00Z") == []


async def test_keyset_pagination_walks_every_record_once(db_api: Api) -> None:
    tokens = await fill(db_api)
    seen: list[int] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 1}
        if cursor is not None:
            params["cursor"] = cursor
        body = await listing(db_api, tokens["auditor"], **params)
        seen += [item["id"] for item in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    # Each listing is itself recorded after it answered, so later pages see earlier listings'
    # records only if they are older than the cursor: the walk sees exactly the first four.
    assert len(seen) == 4
    assert seen == sorted(set(seen), reverse=True)
    assert pages == 4


@pytest.mark.parametrize(
    "params",
    [
        {"cursor": "not-a-cursor"},
        {"cursor": "LTE"},  # "-1"
        {"since": "yesterday"},
        {"until": "nan"},
        {"outcome": "maybe"},
        {"limit": 0},
        {"limit": 5000},
        {"path": "/api/v1/\x00"},
        {"user": "a\x00"},
    ],
)
async def test_bad_query_is_422(db_api: Api, params: dict[str, Any]) -> None:
    token, _ = await make_user_session(db_api.services, "ada", "auditor")
    response = await db_api.client.get("/api/v1/audit", params=params, headers=db_api.auth(token))
    assert response.status_code == 422, response.text


async def test_a_nul_in_the_path_is_recorded_without_breaking_the_sink(db_api: Api) -> None:
    token, _ = await make_user_session(db_api.services, "ada", "auditor")
    response = await db_api.client.get(
        "/api/v1/secrets/%00x", headers={"Authorization": "Bearer nope"}
    )
    assert response.status_code == 401
    assert db_api.services.audit.healthy
    body = await listing(db_api, token, outcome="auth_failed")
    assert [item["path"] for item in body["items"]] == ["/api/v1/secrets/\x00x"]


async def test_database_sink_off_is_409(sqlite_api: Api) -> None:
    token, _ = await make_user_session(sqlite_api.services, "ada", "auditor")
    response = await sqlite_api.client.get("/api/v1/audit", headers=sqlite_api.auth(token))
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "audit_database_disabled"
    assert "--audit-database" in body["detail"]
