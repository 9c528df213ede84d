"""The password grant: token shape, identical failures, lock-out (SECURITY.md 4, 14-16)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from argon2 import extract_parameters

from strongroom.users import repository as users_repo
from tests.support import TEST_PASSWORD, Api

TOKEN_URL = "/api/v1/auth/token/create"


async def _post_login(api: Api, username: str, password: str, **extra: Any) -> Any:
    return await api.client.post(
        TOKEN_URL,
        data={"grant_type": "password", "username": username, "password": password, **extra},
    )


async def test_login_form_encoded_returns_the_token_response(api: Api, admin_token: str) -> None:
    await api.create_user(admin_token, "alice")
    response = await _post_login(api, "alice", TEST_PASSWORD, scope="read")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {
        "access_token", "token_type", "expires_in", "refresh_token", "refresh_expires_in",
        "scope", "session_id",
    }  # fmt: skip
    assert re.fullmatch(r"sra_[A-Za-z0-9_-]{43}", body["access_token"])
    assert re.fullmatch(r"srr_[A-Za-z0-9_-]{43}", body["refresh_token"])
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 900
    assert body["refresh_expires_in"] == 7 * 86400
    assert body["scope"] == "read"
    assert response.headers["cache-control"] == "no-store"
    me = await api.client.get("/api/v1/users/me", headers=api.auth(body["access_token"]))
    assert me.status_code == 200
    assert me.json()["username"] == "alice"


async def test_login_accepts_json_and_the_seed_alias(api: Api, admin_token: str) -> None:
    await api.create_user(admin_token, "bob")
    response = await api.client.post(
        "/api/v1/token/create",
        json={"grant_type": "password", "username": "BOB", "password": TEST_PASSWORD},
    )
    assert response.status_code == 200
    assert response.json()["access_token"].startswith("sra_")


async def test_each_login_returns_new_tokens(sqlite_api: Api) -> None:
    api = sqlite_api
    await _make_user(api, "carol")
    first = (await _post_login(api, "carol", TEST_PASSWORD)).json()
    second = (await _post_login(api, "carol", TEST_PASSWORD)).json()
    assert first["access_token"] != second["access_token"]
    assert first["refresh_token"] != second["refresh_token"]
    assert first["session_id"] != second["session_id"]


async def _make_user(api: Api, name: str, *, disabled: bool = False) -> None:
    from tests.support import make_user_session

    await make_user_session(api.services, name, "user", password=TEST_PASSWORD)
    if disabled:
        async with api.services.db.begin() as conn:
            user = await users_repo.get_by_username(conn, name)
            assert user is not None
            await users_repo.update_user(conn, user.id, disabled=True)


async def test_unknown_user_wrong_password_and_disabled_look_the_same(sqlite_api: Api) -> None:
    api = sqlite_api
    await _make_user(api, "dave")
    await _make_user(api, "erin", disabled=True)
    verified: list[str | None] = []
    real_verify = api.services.passwords.verify

    async def counting_verify(stored_hash: str | None, password: str) -> bool:
        verified.append(stored_hash)
        return await real_verify(stored_hash, password)

    api.services.passwords.verify = counting_verify  # type: ignore[method-assign]
    answers = [
        await _post_login(api, "nobody-here", TEST_PASSWORD),
        await _post_login(api, "dave", "wrong password entirely"),
        await _post_login(api, "erin", TEST_PASSWORD),
    ]
    assert {r.status_code for r in answers} == {401}
    bodies = [r.json() for r in answers]
    assert (
        bodies[0]
        == bodies[1]
        == bodies[2]
        == {
            "error": "invalid_grant",
            "error_description": "invalid username or password",
        }
    )
    # Every path ran one Argon2id verification, the unknown user against the dummy hash.
    assert len(verified) == 3
    assert verified[0] is None


async def test_lockout_after_threshold_even_with_the_right_password(sqlite_api: Api) -> None:
    api = sqlite_api
    await api.set_settings(security__login_failure_threshold=3, security__login_lockout=600)
    await _make_user(api, "frank")
    statuses = [(await _post_login(api, "frank", "not the password")).status_code for _ in range(3)]
    assert statuses == [401, 401, 401]
    locked = await _post_login(api, "frank", TEST_PASSWORD)
    assert locked.status_code == 429
    assert 590 <= int(locked.headers["retry-after"]) <= 600
    assert locked.json()["error"] == "invalid_grant"
    # An unknown name locks exactly like a real one: same status, same body.
    for _ in range(3):
        await _post_login(api, "ghost-user", "whatever it is")
    ghost = await _post_login(api, "ghost-user", "whatever it is")
    assert ghost.status_code == 429
    assert ghost.json() == locked.json()


async def test_lockout_per_ip_across_usernames(sqlite_api: Api) -> None:
    api = sqlite_api
    await api.set_settings(security__login_ip_failure_threshold=4)
    await _make_user(api, "gina")
    for name in ("u1", "u2", "u3", "u4"):
        assert (await _post_login(api, name, "bad password here")).status_code == 401
    assert (await _post_login(api, "gina", TEST_PASSWORD)).status_code == 429
    async with api.client_from("198.51.100.20") as elsewhere:
        ok = await elsewhere.post(
            TOKEN_URL,
            data={"grant_type": "password", "username": "gina", "password": TEST_PASSWORD},
        )
    assert ok.status_code == 200


async def test_successful_login_resets_the_account_counter(sqlite_api: Api) -> None:
    api = sqlite_api
    await api.set_settings(security__login_failure_threshold=3)
    await _make_user(api, "hank")
    for _ in range(2):
        await _post_login(api, "hank", "bad password here")
    assert (await _post_login(api, "hank", TEST_PASSWORD)).status_code == 200
    for _ in range(2):
        await _post_login(api, "hank", "bad password here")
    assert (await _post_login(api, "hank", TEST_PASSWORD)).status_code == 200


async def test_password_hash_is_argon2id_and_rehashed_when_parameters_rise(
    make_config: Any, open_api: Any
) -> None:
    async with open_api(make_config("sqlite")) as api:
        await _make_user(api, "ivan")
        async with api.services.db.connect() as conn:
            user = await users_repo.get_by_username(conn, "ivan")
        assert user is not None and user.password_hash is not None
        before = extract_parameters(user.password_hash)
        assert user.password_hash.startswith("$argon2id$")
        assert (before.memory_cost, before.time_cost, before.parallelism) == (19456, 2, 1)
    async with open_api(make_config("sqlite", argon2_time_cost=3, argon2_memory_kib=32768)) as api:
        assert (await _post_login(api, "ivan", TEST_PASSWORD)).status_code == 200
        async with api.services.db.connect() as conn:
            user = await users_repo.get_by_username(conn, "ivan")
        assert user is not None and user.password_hash is not None
        after = extract_parameters(user.password_hash)
        assert (after.memory_cost, after.time_cost) == (32768, 3)
        assert (await _post_login(api, "ivan", TEST_PASSWORD)).status_code == 200


async def test_disabled_password_login_is_refused_clearly(sqlite_api: Api) -> None:
    api = sqlite_api
    await _make_user(api, "judy")
    await api.set_settings(auth__password_login_enabled=False)
    refused = await _post_login(api, "judy", TEST_PASSWORD)
    assert refused.status_code == 400
    assert refused.json() == {
        "error": "unsupported_grant_type",
        "error_description": "password login is disabled on this server",
    }
    await api.set_settings(auth__password_login_enabled=True)
    assert (await _post_login(api, "judy", TEST_PASSWORD)).status_code == 200


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"grant_type": "password", "username": "x"}, 400),
        ({"grant_type": "magic"}, 422),
        ({"username": "x", "password": "y"}, 422),
        ({"grant_type": "password", "username": "x", "password": "y", "surprise": "1"}, 422),
        ({"grant_type": "password", "username": "x", "password": "y", "max_uses": "many"}, 422),
    ],
)
async def test_malformed_token_requests_are_4xx(
    sqlite_api: Api, body: dict[str, str], status: int
) -> None:
    response = await sqlite_api.client.post(TOKEN_URL, data=body)
    assert response.status_code == status
    assert "y" not in str(response.json().get("detail", "")).split("'")


async def test_validation_errors_never_echo_the_password(sqlite_api: Api) -> None:
    response = await sqlite_api.client.post(
        TOKEN_URL,
        json={
            "grant_type": "password",
            "username": "x",
            "password": "hunter2-marker",
            "ttl": "soon",
        },
    )
    assert response.status_code == 422
    assert "hunter2-marker" not in response.text
    assert response.json()["detail"][0]["loc"] == ["body", "ttl"]
