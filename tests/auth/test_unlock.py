"""Issue 16, finding 14 (SECURITY.md 42): an admin lifts an account's lock-out
(`POST /users/{username}/unlock`, and enabling a user or resetting a password does too), on
both session stores; the per-client lock-out counts an IPv6 client by its /64."""

from __future__ import annotations

import pytest

from strongroom.auth.lockout import client_key
from tests.audit.helpers import read_records
from tests.support import TEST_PASSWORD, Api, make_user_session

LOGIN = "/api/v1/auth/token/create"
WRONG = "certainly not the password"


async def _login(api: Api, username: str, password: str) -> int:
    response = await api.client.post(
        LOGIN, data={"grant_type": "password", "username": username, "password": password}
    )
    return response.status_code


async def _admin(api: Api) -> dict[str, str]:
    return api.auth((await make_user_session(api.services, "root", "admin"))[0])


async def _lock(api: Api, username: str) -> None:
    await api.set_settings(security__login_failure_threshold=3, security__login_lockout=600)
    await make_user_session(api.services, username, password=TEST_PASSWORD)
    for _ in range(3):
        assert await _login(api, username, WRONG) == 401
    assert await _login(api, username, TEST_PASSWORD) == 429


async def test_finding_14_an_admin_unlocks_an_account(store_api: Api) -> None:
    api = store_api
    await _lock(api, "frank")
    admin = await _admin(api)
    user = api.auth((await make_user_session(api.services, "gina"))[0])

    assert (await api.client.post("/api/v1/users/frank/unlock", headers=user)).status_code == 403
    unknown = await api.client.post("/api/v1/users/nobody/unlock", headers=admin)
    assert unknown.status_code == 404
    assert await _login(api, "frank", TEST_PASSWORD) == 429  # neither lifted anything

    unlocked = await api.client.post("/api/v1/users/frank/unlock", headers=admin)
    assert unlocked.status_code == 200, unlocked.text
    assert unlocked.json() == {"username": "frank", "was_locked": True}
    assert await _login(api, "frank", TEST_PASSWORD) == 200
    # The failures were forgotten too: a full threshold again before the next lock-out.
    for _ in range(2):
        assert await _login(api, "frank", WRONG) == 401
    assert await _login(api, "frank", TEST_PASSWORD) == 200
    again = await api.client.post("/api/v1/users/frank/unlock", headers=admin)
    assert again.json() == {"username": "frank", "was_locked": False}

    path = api.services.config.resolved_audit_file
    records = [r for r in read_records(path) if r["path"] == "/api/v1/users/frank/unlock"]
    assert [(r["status"], r["principal"]["user"]) for r in records] == [
        (403, "gina"),
        (200, "root"),
        (200, "root"),
    ]
    assert records[1]["details"] == {"unlocked": "frank", "was_locked": True}


@pytest.mark.parametrize("action", ["enable", "password"])
async def test_finding_14_enabling_or_resetting_lifts_the_lockout(
    store_api: Api, action: str
) -> None:
    api = store_api
    await _lock(api, "hank")
    admin = await _admin(api)
    if action == "enable":
        lifted = await api.client.post("/api/v1/users/hank/enable", headers=admin)
        password = TEST_PASSWORD
    else:
        password = "a brand new password for hank"
        lifted = await api.client.post(
            "/api/v1/users/hank/password", json={"new_password": password}, headers=admin
        )
    assert lifted.status_code == 200, lifted.text
    assert await _login(api, "hank", password) == 200


async def test_finding_14_an_ipv6_client_is_counted_by_its_64(sqlite_api: Api) -> None:
    api = sqlite_api
    await api.set_settings(security__login_ip_failure_threshold=3)
    await make_user_session(api.services, "ivy", password=TEST_PASSWORD)
    # Three failures from three addresses of one /64 (one host may hold them all).
    for index, host in enumerate(("2001:db8:1:2::a", "2001:db8:1:2::b", "2001:db8:1:2:ff::c")):
        async with api.client_from(host) as client:
            answer = await client.post(
                LOGIN,
                data={"grant_type": "password", "username": f"u{index}", "password": WRONG},
            )
            assert answer.status_code == 401
    async with api.client_from("2001:db8:1:2:ffff:ffff:ffff:ffff") as client:
        refused = await client.post(
            LOGIN, data={"grant_type": "password", "username": "ivy", "password": TEST_PASSWORD}
        )
        assert refused.status_code == 429
    async with api.client_from("2001:db8:1:3::a") as client:  # the next /64: not locked
        served = await client.post(
            LOGIN, data={"grant_type": "password", "username": "ivy", "password": TEST_PASSWORD}
        )
        assert served.status_code == 200


def test_client_keys() -> None:
    assert client_key("203.0.113.7") == "ip:203.0.113.7"
    assert client_key("::ffff:203.0.113.7") == "ip:203.0.113.7"
    assert client_key("2001:db8:1:2:3:4:5:6") == "ip:2001:db8:1:2::/64"
    assert client_key(None) == "ip:unknown"
