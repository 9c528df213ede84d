"""`GET /metrics` (issue 22, acceptance 1): Prometheus text, the named metrics, the setting
`metrics.access` (open, token, off)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from strongroom.config import Config
from tests.conftest import need
from tests.operations.metrics_text import requests_total, samples, value
from tests.operations.redis_servers import RedisServer
from tests.support import Api, make_user_session, redis_reachable

HEALTH = "/api/v1/sys/health"
READ = "/api/v1/secrets/{secret_id}"


async def _scrape(api: Api, headers: dict[str, str] | None = None) -> str:
    response = await api.client.get("/metrics", headers=headers or {})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


async def test_counters_move_with_traffic_and_the_text_parses(sqlite_api: Api) -> None:
    admin, _ = await make_user_session(sqlite_api.services, "root", "admin")
    headers = sqlite_api.auth(admin)
    created = await sqlite_api.client.post(
        "/api/v1/secrets/create", json={"path": "ops/a", "value": "v"}, headers=headers
    )
    secret_id = created.json()["id"]
    before = await _scrape(sqlite_api, headers)
    for _ in range(7):
        assert (await sqlite_api.client.get(HEALTH)).status_code == 200
    for _ in range(3):  # the fast lane's route
        assert (
            await sqlite_api.client.get(f"/api/v1/secrets/{secret_id}", headers=headers)
        ).is_success
    missing = f"/api/v1/secrets/{'0' * 8}-0000-0000-0000-{'0' * 12}"
    assert (await sqlite_api.client.get(missing, headers=headers)).status_code == 404
    after = await _scrape(sqlite_api, headers)

    def moved(method: str, route: str, status: str) -> float:
        return requests_total(after, method, route, status) - requests_total(
            before, method, route, status
        )

    assert moved("GET", HEALTH, "200") == 7
    assert moved("GET", READ, "200") == 3
    assert moved("GET", READ, "404") == 1
    histogram = "strongroom_http_request_duration_seconds"

    def observed(suffix: str, **labels: str) -> float:
        name = histogram + suffix
        return value(after, name, **labels) - value(before, name, **labels)

    assert observed("_count", method="GET", route=HEALTH) == 7
    assert observed("_bucket", method="GET", route=HEALTH, le="+Inf") == 7
    assert observed("_sum", method="GET", route=HEALTH) > 0
    # Buckets are cumulative and each observation lands in exactly one of them.
    buckets = sorted(
        (float(dict(labels)["le"]), sample)
        for (name, labels), sample in samples(after).items()
        if name == histogram + "_bucket"
        and dict(labels).get("route") == READ
        and dict(labels).get("method") == "GET"
    )
    assert [b for _, b in buckets] == sorted(b for _, b in buckets)
    assert buckets[-1][1] == value(after, histogram + "_count", method="GET", route=READ) >= 4
    # The concrete path (a secret's id) is never a label value.
    assert secret_id not in after
    names = {name for name, _ in samples(after)}
    for expected in (
        "strongroom_http_requests_total",
        "strongroom_http_request_duration_seconds_bucket",
        "strongroom_active_sessions",
        "strongroom_sealed",
        "strongroom_secrets",
        "strongroom_backend_up",
        "strongroom_backend_latency_seconds",
        "strongroom_keyring_data_key_version",
        "strongroom_build_info",
        "strongroom_rewrap_running",
        "strongroom_rewrap_done",
    ):
        assert expected in names, expected
    assert value(after, "strongroom_sealed") == 0
    assert value(after, "strongroom_secrets", state="live") == 1
    assert value(after, "strongroom_active_sessions") >= 1
    assert value(after, "strongroom_backend_up", backend="database") == 1


async def test_unknown_routes_count_under_one_label(sqlite_api: Api) -> None:
    admin, _ = await make_user_session(sqlite_api.services, "root", "admin")
    for n in range(3):
        await sqlite_api.client.get(f"/no/such/{n}")
    text = await _scrape(sqlite_api, sqlite_api.auth(admin))
    assert requests_total(text, "GET", "unmatched", "404") >= 3
    assert "/no/such" not in text


async def test_logins_and_lockouts_are_counted(sqlite_api: Api) -> None:
    admin, _ = await make_user_session(sqlite_api.services, "root", "admin")
    await sqlite_api.create_user(admin, "mallory")
    await sqlite_api.set_settings(security__login_failure_threshold=2)
    before = await _scrape(sqlite_api, sqlite_api.auth(admin))
    await sqlite_api.login("mallory")
    for _ in range(3):
        await sqlite_api.client.post(
            "/api/v1/auth/token/create",
            data={"grant_type": "password", "username": "mallory", "password": "wrong" * 3},
        )
    after = await _scrape(sqlite_api, sqlite_api.auth(admin))

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("strongroom_logins_total", outcome="success") == 1
    assert moved("strongroom_logins_total", outcome="failure") == 2
    assert moved("strongroom_logins_total", outcome="locked_out") == 1
    assert moved("strongroom_login_lockouts_total") == 1


async def test_access_token_open_and_off(sqlite_api: Api) -> None:
    admin, _ = await make_user_session(sqlite_api.services, "root", "admin")
    auditor, _ = await make_user_session(sqlite_api.services, "eve", "auditor")
    user, _ = await make_user_session(sqlite_api.services, "bob", "user")
    # token (the default): an admin or an auditor; nobody else.
    assert (await sqlite_api.client.get("/metrics")).status_code == 401
    assert (
        await sqlite_api.client.get("/metrics", headers=sqlite_api.auth(user))
    ).status_code == 403
    await _scrape(sqlite_api, sqlite_api.auth(auditor))
    await _scrape(sqlite_api, sqlite_api.auth(admin))

    set_open = await sqlite_api.client.post(
        "/api/v1/sys/setting",
        json={"key": "metrics.access", "value": "open"},
        headers=sqlite_api.auth(admin),
    )
    assert set_open.status_code == 200, set_open.text
    text = await _scrape(sqlite_api)
    assert admin not in text and auditor not in text

    await sqlite_api.set_settings(metrics__access="off")
    off = await sqlite_api.client.get("/metrics", headers=sqlite_api.auth(admin))
    assert off.status_code == 404
    # Off also stops the counting: nothing moves while it is off.
    await sqlite_api.set_settings(metrics__access="open")
    before = requests_total(await _scrape(sqlite_api), "GET", HEALTH, "200")
    await sqlite_api.set_settings(metrics__access="off")
    for _ in range(5):
        await sqlite_api.client.get(HEALTH)
    await sqlite_api.set_settings(metrics__access="open")
    assert requests_total(await _scrape(sqlite_api), "GET", HEALTH, "200") == before


async def test_a_bad_access_value_is_refused_and_nothing_changes(sqlite_api: Api) -> None:
    admin, _ = await make_user_session(sqlite_api.services, "root", "admin")
    answer = await sqlite_api.client.post(
        "/api/v1/sys/setting",
        json={"key": "metrics.access", "value": "public"},
        headers=sqlite_api.auth(admin),
    )
    assert answer.status_code in (400, 422), answer.text
    assert "metrics.access" in answer.text
    assert (await sqlite_api.client.get("/metrics")).status_code == 401


@pytest.mark.redis
async def test_a_scrape_during_a_redis_outage_reports_it(
    make_config: Callable[..., Config], open_api: Callable[[Config], Any], tmp_path: Path
) -> None:
    need(redis_reachable(), "redis-server (Redis at 127.0.0.1:6379)")
    redis = RedisServer(tmp_path / "redis", []).start()
    try:
        config = make_config("sqlite", redis_url=f"redis://127.0.0.1:{redis.port}/0")
        async with open_api(config) as api:
            await api.set_settings(metrics__access="open")
            assert value(await _scrape(api), "strongroom_backend_up", backend="session_store") == 1
            redis.kill()
            text = await _scrape(api)
            assert value(text, "strongroom_backend_up", backend="session_store") == 0
            assert value(text, "strongroom_backend_up", backend="database") == 1
    finally:
        redis.kill()
