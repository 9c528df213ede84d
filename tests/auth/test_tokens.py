"""Tokens and sessions over HTTP: SECURITY.md items 1-5, 8, 10-13."""

from __future__ import annotations

import asyncio
import base64
import logging
from typing import Any

import pytest

from strongroom.crypto import ACCESS_PREFIX, new_token, token_hash
from tests.support import TEST_PASSWORD, Api, make_user_session

ME = "/api/v1/users/me"


def test_tokens_carry_256_random_bits_and_do_not_collide() -> None:
    tokens = {new_token(ACCESS_PREFIX) for _ in range(100_000)}
    assert len(tokens) == 100_000
    sample = next(iter(tokens))
    raw = base64.urlsafe_b64decode(sample[len(ACCESS_PREFIX) :] + "=")
    assert len(raw) == 32


async def _login(
    api: Api, username: str = "alice", client: Any = None, **extra: Any
) -> dict[str, Any]:
    await make_user_session(api.services, username, "user", password=TEST_PASSWORD)
    response = await (client or api.client).post(
        "/api/v1/auth/token/create",
        data={"grant_type": "password", "username": username, "password": TEST_PASSWORD, **extra},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_no_dump_or_log_contains_an_issued_token(
    sqlite_api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    api = sqlite_api
    caplog.set_level(logging.DEBUG)
    tokens = await _login(api)
    await api.client.get(ME, headers=api.auth(tokens["access_token"]))
    await api.client.get(ME, headers=api.auth(tokens["access_token"] + "x"))
    await api.client.post(
        "/api/v1/auth/token/renew", json={"refresh_token": tokens["refresh_token"]}
    )
    await api.services.db.dispose()  # flush the WAL into view
    data_dir = api.services.config.data_dir
    raw = b"".join(p.read_bytes() for p in data_dir.iterdir() if p.is_file())
    for token in (tokens["access_token"], tokens["refresh_token"]):
        assert token.encode() not in raw
        assert token.encode() not in caplog.text.encode()
    assert (
        token_hash(tokens["access_token"]).encode() in raw
        or token_hash(tokens["refresh_token"]).encode() in raw
    )


async def test_token_in_the_query_string_is_not_accepted(api: Api) -> None:
    tokens = await _login(api)
    for name in ("token", "access_token"):
        response = await api.client.get(f"{ME}?{name}={tokens['access_token']}")
        assert response.status_code == 401
        assert response.json()["code"] == "invalid_token"
        assert "not accepted in the URL" in response.json()["detail"]
    assert (await api.client.get(ME, headers=api.auth(tokens["access_token"]))).status_code == 200


async def test_renew_rotates_both_tokens(api: Api) -> None:
    first = await _login(api)
    response = await api.client.post(
        "/api/v1/auth/token/renew", json={"refresh_token": first["refresh_token"]}
    )
    assert response.status_code == 200
    second = response.json()
    assert second["session_id"] == first["session_id"]
    assert second["access_token"] != first["access_token"]
    assert second["refresh_token"] != first["refresh_token"]
    assert (await api.client.get(ME, headers=api.auth(first["access_token"]))).status_code == 401
    assert (await api.client.get(ME, headers=api.auth(second["access_token"]))).status_code == 200


async def test_refresh_reuse_revokes_the_whole_session(api: Api) -> None:
    first = await _login(api)
    renewed = await api.client.post(
        "/api/v1/token/renew", data={"refresh_token": first["refresh_token"]}
    )
    second = renewed.json()
    reuse = await api.client.post(
        "/api/v1/auth/token/renew", json={"refresh_token": first["refresh_token"]}
    )
    assert reuse.status_code == 400
    assert reuse.json()["error"] == "invalid_grant"
    assert (await api.client.get(ME, headers=api.auth(second["access_token"]))).status_code == 401
    dead = await api.client.post(
        "/api/v1/auth/token/renew", json={"refresh_token": second["refresh_token"]}
    )
    assert dead.status_code == 400


async def test_two_concurrent_renews_at_most_one_wins(api: Api) -> None:
    first = await _login(api)
    answers = await asyncio.gather(
        *[
            api.client.post(
                "/api/v1/auth/token/renew", json={"refresh_token": first["refresh_token"]}
            )
            for _ in range(2)
        ]
    )
    assert sorted(a.status_code for a in answers) in ([200, 400], [400, 400])


async def test_access_token_ttl_is_honoured(sqlite_api: Api) -> None:
    api = sqlite_api
    tokens = await _login(api, ttl=2)
    assert tokens["expires_in"] == 2
    await asyncio.sleep(1)
    assert (await api.client.get(ME, headers=api.auth(tokens["access_token"]))).status_code == 200
    await asyncio.sleep(2)
    assert (await api.client.get(ME, headers=api.auth(tokens["access_token"]))).status_code == 401


async def test_idle_session_expires(sqlite_api: Api) -> None:
    api = sqlite_api
    await api.set_settings(security__idle_timeout=1)
    tokens = await _login(api)
    await asyncio.sleep(1.5)
    assert (await api.client.get(ME, headers=api.auth(tokens["access_token"]))).status_code == 401
    renew = await api.client.post(
        "/api/v1/auth/token/renew", json={"refresh_token": tokens["refresh_token"]}
    )
    assert renew.status_code == 400


async def test_renewals_never_pass_the_absolute_lifetime(sqlite_api: Api) -> None:
    api = sqlite_api
    await api.set_settings(
        security__max_session_lifetime=60,
        security__refresh_token_ttl=60,
        security__access_token_ttl=50,
        security__max_token_ttl=60,
    )
    tokens = await _login(api)
    await asyncio.sleep(1.1)
    renewed = (
        await api.client.post(
            "/api/v1/auth/token/renew", json={"refresh_token": tokens["refresh_token"]}
        )
    ).json()
    assert renewed["expires_in"] == 50
    assert renewed["refresh_expires_in"] <= 59


async def test_requests_above_a_bound_are_refused_not_clipped(sqlite_api: Api) -> None:
    api = sqlite_api
    await api.set_settings(security__max_uses_limit=5, security__one_time_tokens_allowed=False)
    await make_user_session(api.services, "alice", "user", password=TEST_PASSWORD)
    cases = [
        ({"ttl": "2d"}, "ttl"),
        ({"max_uses": "6"}, "max_uses"),
        ({"one_time": "true"}, "one_time"),
    ]
    for extra, field in cases:
        response = await api.client.post(
            "/api/v1/auth/token/create",
            data={
                "grant_type": "password",
                "username": "alice",
                "password": TEST_PASSWORD,
                **extra,
            },
        )
        assert response.status_code == 422, extra
        assert response.json()["detail"][0]["loc"] == ["body", field]


async def test_bound_session_from_another_ip_is_rejected_and_consumes_nothing(api: Api) -> None:
    tokens = await _login(api, bind_ip="true", max_uses="5")
    headers = api.auth(tokens["access_token"])
    async with api.client_from("198.51.100.99") as stranger:
        for _ in range(3):
            assert (await stranger.get(ME, headers=headers)).status_code == 401
    sessions = (await api.client.get("/api/v1/auth/sessions", headers=headers)).json()["items"]
    current = next(s for s in sessions if s["current"])
    assert current["bound_ip"] == "203.0.113.7"
    assert current["uses"] == 1  # only the listing itself


async def test_forwarded_for_from_an_untrusted_peer_is_ignored(api: Api) -> None:
    await make_user_session(api.services, "alice", "user", password=TEST_PASSWORD)
    login = {
        "grant_type": "password",
        "username": "alice",
        "password": TEST_PASSWORD,
        "bind_ip": "true",
    }
    spoofed = {"X-Forwarded-For": "192.0.2.1"}
    tokens = (
        await api.client.post("/api/v1/auth/token/create", data=login, headers=spoofed)
    ).json()
    headers = api.auth(tokens["access_token"])
    sessions = (await api.client.get("/api/v1/auth/sessions", headers=headers)).json()["items"]
    current = next(s for s in sessions if s["current"])
    assert current["bound_ip"] == "203.0.113.7"
    assert current["ip"] == "203.0.113.7"
    # Once the peer is a trusted proxy, the header decides.
    await api.set_settings(security__trusted_proxies=["203.0.113.0/24"])
    tokens = (
        await api.client.post("/api/v1/auth/token/create", data=login, headers=spoofed)
    ).json()
    listed = await api.client.get(
        "/api/v1/auth/sessions", headers={**api.auth(tokens["access_token"]), **spoofed}
    )
    current = [s for s in listed.json()["items"] if s["current"]]
    assert current[0]["bound_ip"] == "192.0.2.1"


async def test_revocation_always_answers_the_same(api: Api) -> None:
    tokens = await _login(api)
    candidates = [
        tokens["access_token"],
        tokens["access_token"],  # already revoked
        new_token(ACCESS_PREFIX),  # unknown
        "not-a-token",  # malformed
        "",
    ]
    bodies = []
    for token in candidates:
        response = await api.client.post("/api/v1/auth/token/revoke", data={"token": token})
        assert response.status_code == 200
        bodies.append(response.json())
    assert all(body == {"revoked": True} for body in bodies)
    renew = await api.client.post(
        "/api/v1/auth/token/renew", json={"refresh_token": tokens["refresh_token"]}
    )
    assert renew.status_code == 400  # revoking the access token ended the session
    legacy = await api.client.post("/api/v1/token/revoke", json={"revoke_token": "sra_x"})
    assert legacy.json() == {"revoked": True}


async def test_revoking_an_expired_access_token_answers_the_same_and_ends_the_session(
    api: Api,
) -> None:
    tokens = await _login(api, ttl=1)
    await asyncio.sleep(1.5)  # the access token has expired; the refresh token has not
    me = await api.client.get("/api/v1/users/me", headers=api.auth(tokens["access_token"]))
    assert me.status_code == 401
    response = await api.client.post(
        "/api/v1/auth/token/revoke", data={"token": tokens["access_token"]}
    )
    assert response.status_code == 200
    assert response.json() == {"revoked": True}
    renew = await api.client.post(
        "/api/v1/auth/token/renew", json={"refresh_token": tokens["refresh_token"]}
    )
    assert renew.status_code == 400  # the revocation ended the session behind it


async def test_introspection(api: Api) -> None:
    tokens = await _login(api)
    other = await _login(api, "bob")
    url = "/api/v1/auth/token/introspect"
    assert (await api.client.post(url, data={"token": other["access_token"]})).status_code == 401
    headers = api.auth(tokens["access_token"])
    active = (
        await api.client.post(url, data={"token": other["access_token"]}, headers=headers)
    ).json()
    assert active["active"] is True
    assert active["username"] == "bob"
    assert active["session_id"] == other["session_id"]
    assert active["exp"] > active["iat"]
    await api.client.post("/api/v1/auth/token/revoke", data={"token": other["access_token"]})
    for token in (other["access_token"], "garbage", new_token(ACCESS_PREFIX)):
        inactive = await api.client.post(url, data={"token": token}, headers=headers)
        assert inactive.json() == {"active": False}


async def test_one_time_and_max_uses(api: Api) -> None:
    one = await _login(api, one_time="true")
    assert "refresh_token" not in one or one["refresh_token"] is None
    headers = api.auth(one["access_token"])
    assert (await api.client.get(ME, headers=headers)).status_code == 200
    assert (await api.client.get(ME, headers=headers)).status_code == 401
    three = await _login(api, max_uses=3)
    headers = api.auth(three["access_token"])
    statuses = [(await api.client.get(ME, headers=headers)).status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 401, 401]


async def test_check_token(api: Api) -> None:
    tokens = await _login(api)
    url = "/api/v1/auth/check_token"
    headers = api.auth(tokens["access_token"])
    ok = await api.client.post(url, json={"username": "Alice"}, headers=headers)
    assert ok.status_code == 200
    assert ok.json()["username"] == "alice" and ok.json()["active"] is True
    assert (
        await api.client.post(url, json={"username": "bob"}, headers=headers)
    ).status_code == 403
    assert (await api.client.post(url, json={"username": "alice"})).status_code == 401


async def test_logout_ends_the_session(api: Api) -> None:
    tokens = await _login(api)
    headers = api.auth(tokens["access_token"])
    assert (await api.client.post("/api/v1/auth/logout", headers=headers)).status_code == 200
    assert (await api.client.get(ME, headers=headers)).status_code == 401
    renew = await api.client.post(
        "/api/v1/auth/token/renew", json={"refresh_token": tokens["refresh_token"]}
    )
    assert renew.status_code == 400
