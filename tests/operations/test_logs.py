"""Logs for operators (issue 22): one access line per request, the request id on every line
of a request (tracebacks included), one traceback per 500, never a token."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import httpx
import orjson
import pytest

from strongroom.logs import log_handler
from tests.support import Api, make_user_session

HEALTH = "/api/v1/sys/health"


@pytest.fixture
def captured() -> Iterator[tuple[io.StringIO, logging.Handler]]:
    """strongroom's own handler on the root logger, writing to a string, at info."""
    stream = io.StringIO()
    handler = log_handler("json", stream)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield stream, handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def _lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


async def test_one_access_line_per_request_with_route_status_and_principal(
    sqlite_api: Api, captured: tuple[io.StringIO, logging.Handler]
) -> None:
    stream, _ = captured
    token, _ = await make_user_session(sqlite_api.services, "root", "admin")
    created = await sqlite_api.client.post(
        "/api/v1/secrets/create",
        json={"path": "ops/logged", "value": "value-never-logged"},
        headers=sqlite_api.auth(token),
    )
    secret_id = created.json()["id"]
    read = await sqlite_api.client.get(
        f"/api/v1/secrets/{secret_id}", headers=sqlite_api.auth(token)
    )
    health = await sqlite_api.client.get(HEALTH)
    lines = [line for line in _lines(stream) if line["logger"] == "strongroom.access"]
    assert [line["request_id"] for line in lines] == [
        created.headers["x-request-id"],
        read.headers["x-request-id"],
        health.headers["x-request-id"],
    ]
    create_line, read_line, health_line = lines
    assert create_line["level"] == "info"
    assert (create_line["method"], create_line["route"], create_line["status"]) == (
        "POST",
        "/api/v1/secrets/create",
        200,
    )
    assert (read_line["method"], read_line["route"], read_line["status"]) == (
        "GET",
        "/api/v1/secrets/{secret_id}",
        200,
    )
    me = (await sqlite_api.client.get("/api/v1/users/me", headers=sqlite_api.auth(token))).json()
    assert create_line["principal_id"] == read_line["principal_id"] == me["id"]
    assert health_line["principal_id"] is None
    assert health_line["route"] == HEALTH and health_line["status"] == 200
    assert isinstance(read_line["duration_ms"], float)
    # (The test's own httpx client logs its URLs; the server's lines are strongroom's.)
    everything = "\n".join(str(line) for line in _lines(stream) if line["logger"] != "httpx")
    for secret in (token, "value-never-logged", secret_id, "ops/logged"):
        assert secret not in everything


async def test_text_format_carries_the_request_id_and_the_fields(sqlite_api: Api) -> None:
    stream = io.StringIO()
    handler = log_handler("text", stream)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        answer = await sqlite_api.client.get("/api/v1/users/me")
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    [line] = [line for line in stream.getvalue().splitlines() if "strongroom.access" in line]
    assert f"[{answer.headers['x-request-id']}]" in line
    assert "GET /api/v1/users/me 401 " in line and "principal=-" in line


async def test_a_500_leaves_one_traceback_with_the_request_id(
    sqlite_api: Api, captured: tuple[io.StringIO, logging.Handler]
) -> None:
    stream, _ = captured
    app = sqlite_api.client._transport.app  # type: ignore[attr-defined]

    @app.get("/api/v1/_explode")
    async def explode() -> None:
        raise RuntimeError("boom")

    # raise_app_exceptions on: an exception that escapes the app (to the server, which would
    # log it a second time) fails the test.
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as client:
        response = await client.get("/api/v1/_explode")
    assert response.status_code == 500
    assert response.json() == {"detail": "internal error", "code": "internal_error"}
    request_id = response.headers["x-request-id"]
    with_traceback = [line for line in _lines(stream) if "exception" in line]
    assert len(with_traceback) == 1
    assert with_traceback[0]["request_id"] == request_id
    assert "RuntimeError: boom" in str(with_traceback[0]["exception"])
    assert stream.getvalue().count("Traceback (most recent call last)") == 1
    [access] = [line for line in _lines(stream) if line["logger"] == "strongroom.access"]
    assert access["status"] == 500 and access["request_id"] == request_id
