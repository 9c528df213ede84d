"""Issue 16, finding 7 (SECURITY.md 35): renew keeps the session's own lifetimes. A short
access TTL asked at login stays short after every renew; today's `security.max_token_ttl`
and the absolute lifetime still cap it. On both session stores."""

from __future__ import annotations

import asyncio

from tests.support import TEST_PASSWORD, Api, make_user_session

RENEW = "/api/v1/auth/token/renew"


async def _renew(api: Api, refresh_token: str) -> dict[str, object]:
    answer = await api.client.post(RENEW, json={"refresh_token": refresh_token})
    assert answer.status_code == 200, answer.text
    body: dict[str, object] = answer.json()
    return body


async def test_finding_7_a_short_ttl_asked_at_login_survives_renew(store_api: Api) -> None:
    api = store_api
    await make_user_session(api.services, "kim", password=TEST_PASSWORD)
    tokens = await api.login("kim", ttl="2")
    assert tokens["expires_in"] == 2
    renewed = await _renew(api, tokens["refresh_token"])
    assert renewed["expires_in"] == 2
    renewed = await _renew(api, str(renewed["refresh_token"]))
    assert renewed["expires_in"] == 2
    bearer = api.auth(str(renewed["access_token"]))
    assert (await api.client.get("/api/v1/users/me", headers=bearer)).status_code == 200
    await asyncio.sleep(2.5)
    assert (await api.client.get("/api/v1/users/me", headers=bearer)).status_code == 401


async def test_finding_7_todays_longest_ttl_still_caps_a_renewed_session(store_api: Api) -> None:
    api = store_api
    await make_user_session(api.services, "lee", password=TEST_PASSWORD)
    tokens = await api.login("lee", ttl="1h")
    assert tokens["expires_in"] == 3600
    await api.set_settings(security__access_token_ttl=300, security__max_token_ttl=600)
    assert (await _renew(api, tokens["refresh_token"]))["expires_in"] == 600
    plain = await api.login("lee")  # no ttl asked: today's default, kept as its own
    assert plain["expires_in"] == 300
    assert (await _renew(api, plain["refresh_token"]))["expires_in"] == 300
