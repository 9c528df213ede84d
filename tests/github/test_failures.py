"""GitHub down, failing or rate-limiting; the GitHub token never kept anywhere."""

from __future__ import annotations

import json
import logging
import time

import pytest

from strongroom.crypto import KeyPurpose
from strongroom.db import now
from strongroom.users import repository as users_repo
from tests.github.conftest import RENEW_URL, World, github_login
from tests.support import Api


async def _nothing_created(api: Api) -> None:
    async with api.services.db.connect() as conn:
        users = await users_repo.list_users(conn, after=None, limit=100)
    assert [u.username for u in users if u.github_id is not None] == []
    page = await api.services.store.list_sessions(None, now(), limit=100, cursor=None)
    assert page.items == []


async def test_github_down_is_503_and_creates_nothing(gh: Api, world: World) -> None:
    github = world.github
    token = github.issue_token(world.alice)
    github.go_down()
    response = await github_login(gh, token)
    assert response.status_code == 503
    assert response.json()["error"] == "github_unavailable"
    assert "could not be reached" in response.json()["error_description"]
    await _nothing_created(gh)
    github.start()
    assert (await github_login(gh, token)).status_code == 200


async def test_a_connection_that_dies_between_logins_is_503(gh: Api, world: World) -> None:
    github = world.github
    token = github.issue_token(world.alice)
    assert (await github_login(gh, token)).status_code == 200
    github.go_down()  # the node's pooled keep-alive connection is now dead too
    assert (await github_login(gh, token)).status_code == 503


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_github_server_errors_are_503(gh: Api, world: World, status: int) -> None:
    world.github.fail_status = status
    response = await github_login(gh, world.github.issue_token(world.alice))
    assert response.status_code == 503
    assert response.json()["error"] == "github_unavailable"
    assert f"HTTP {status}" in response.json()["error_description"]
    await _nothing_created(gh)


async def test_secondary_rate_limit_passes_retry_after_on(gh: Api, world: World) -> None:
    world.github.limit_secondary(retry_after=42)
    response = await github_login(gh, world.github.issue_token(world.alice))
    assert response.status_code == 503
    assert response.headers["retry-after"] == "42"
    assert "rate limit" in response.json()["error_description"]
    await _nothing_created(gh)


async def test_primary_rate_limit_retry_after_is_the_reset_time(gh: Api, world: World) -> None:
    world.github.limit_primary(reset_in=300)
    before = time.time()
    response = await github_login(gh, world.github.issue_token(world.alice))
    assert response.status_code == 503
    # X-RateLimit-Reset is a Unix time 300 s from when the fake answered.
    assert 290 <= int(response.headers["retry-after"]) <= 300 + (time.time() - before) + 1
    await _nothing_created(gh)


async def test_github_down_at_renew_is_503_and_the_refresh_token_survives(
    gh: Api, world: World
) -> None:
    github = world.github
    token = github.issue_token(world.bob)
    tokens = (await github_login(gh, token)).json()
    github.go_down()
    body = {"refresh_token": tokens["refresh_token"], "github_token": token}
    down = await gh.client.post(RENEW_URL, json=body)
    assert down.status_code == 503
    github.start()
    assert (await gh.client.post(RENEW_URL, json=body)).status_code == 200


async def test_bad_github_token_is_audited_by_hmac_only(gh: Api, world: World) -> None:
    token = "gho_bogus-token-for-the-audit-test"
    response = await github_login(gh, token)
    assert response.status_code == 401
    audit_file = gh.services.config.resolved_audit_file
    assert audit_file is not None
    lines = [json.loads(line) for line in audit_file.read_text().splitlines()]
    [record] = [
        r for r in lines if r.get("path") == "/api/v1/auth/github/login" and r["type"] == "request"
    ]
    assert record["outcome"] == "auth_failed"
    assert record["token_hmac"] == gh.services.barrier.keyring.mac(KeyPurpose.audit, token.encode())


async def test_failed_member_login_records_the_attempted_username(gh: Api, world: World) -> None:
    response = await github_login(gh, world.github.issue_token(world.mallory))
    assert response.status_code == 403
    audit_file = gh.services.config.resolved_audit_file
    assert audit_file is not None
    records = [json.loads(line) for line in audit_file.read_text().splitlines()]
    [record] = [
        r
        for r in records
        if r.get("path") == "/api/v1/auth/github/login" and r["type"] == "request"
    ]
    assert (record["outcome"], record["attempted_user"]) == ("auth_failed", "mallory")


async def test_the_github_token_is_never_stored_or_logged(
    gh: Api, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    github = world.github
    good, bad = github.issue_token(world.bob), "gho_rejected-token-that-must-not-leak"
    tokens = (await github_login(gh, good)).json()
    await gh.client.post(
        RENEW_URL, json={"refresh_token": tokens["refresh_token"], "github_token": good}
    )
    assert (await github_login(gh, bad)).status_code == 401
    world.bob.orgs.clear()
    assert (await github_login(gh, good)).status_code == 403
    await gh.services.db.dispose()  # flush the WAL into view
    data_dir = gh.services.config.data_dir
    raw = b"".join(p.read_bytes() for p in data_dir.iterdir() if p.is_file())
    assert b"strongroom" in raw or b"users" in raw  # the files were read
    assert "/api/v3/user" in caplog.text  # the calls to GitHub were logged, without tokens
    for token in (good, bad):
        assert token.encode() not in raw
        assert token not in caplog.text
    audit_file = gh.services.config.resolved_audit_file
    assert audit_file is not None and audit_file.read_text().count("\n") >= 4


@pytest.mark.parametrize("token", ["gho_with space", "gho_\u00e9t\u00e9", "gho_\x00nul"])
async def test_a_token_that_cannot_be_a_github_token_is_400(
    gh: Api, world: World, token: str
) -> None:
    response = await github_login(gh, token)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert world.github.requests == []


async def test_rejected_tokens_count_against_the_client_ip(gh: Api, world: World) -> None:
    await gh.set_settings(security__login_ip_failure_threshold=3)
    for n in range(3):
        assert (await github_login(gh, f"gho_wrong-{n}")).status_code == 401
    asked = len(world.github.requests)
    locked = await github_login(gh, world.github.issue_token(world.alice))
    assert locked.status_code == 429
    assert int(locked.headers["retry-after"]) > 0
    assert len(world.github.requests) == asked  # GitHub was not asked again
    async with gh.client_from("198.51.100.20") as elsewhere:
        response = await elsewhere.post(
            "/api/v1/auth/github/login", json={"token": world.github.issue_token(world.alice)}
        )
    assert response.status_code == 200
