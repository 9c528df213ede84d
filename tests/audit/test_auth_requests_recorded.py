"""Issue 16, finding 2 (SECURITY.md 30): every request that touches authentication leaves an
audit record, whatever its outcome: a lock-out's 429 (the right password included), a renew
with a malformed refresh token, valid credentials with a malformed JSON body, a bad body on a
token route, a registration. Read back from the audit log file."""

from __future__ import annotations

from typing import Any

from tests.audit.helpers import read_records
from tests.support import TEST_PASSWORD, Api, make_user_session

LOGIN = "/api/v1/auth/token/create"
RENEW = "/api/v1/auth/token/renew"
BROKEN = b'{"value": "s3cr3t-in-a-broken-body'
JSON = {"Content-Type": "application/json"}


def _records(api: Api, path: str) -> list[dict[str, Any]]:
    audit_file = api.services.config.resolved_audit_file
    return [record for record in read_records(audit_file) if record["path"] == path]


async def test_finding_2_lockout_refusals_are_recorded(sqlite_api: Api) -> None:
    api = sqlite_api
    await api.set_settings(security__login_failure_threshold=2)
    await make_user_session(api.services, "olga", password=TEST_PASSWORD)
    for password in ("wrong one", "wrong two", "still wrong", TEST_PASSWORD):
        await api.client.post(
            LOGIN, data={"grant_type": "password", "username": "olga", "password": password}
        )
    records = _records(api, LOGIN)
    assert [(r["status"], r["outcome"]) for r in records] == [
        (401, "auth_failed"),
        (401, "auth_failed"),
        (429, "denied"),
        (429, "denied"),  # the right password, refused while locked
    ]
    assert {r["attempted_user"] for r in records} == {"olga"}
    assert [r["details"] for r in records[2:]] == [{"locked_out": True}] * 2
    assert all(r["details"] == {"password_checked": True} for r in records[:2])
    assert TEST_PASSWORD.encode() not in api.services.config.resolved_audit_file.read_bytes()


async def test_finding_2_a_malformed_refresh_token_is_recorded(sqlite_api: Api) -> None:
    api = sqlite_api
    for token in ("srr_short", "not-a-token-at-all-7d1c"):
        answer = await api.client.post(RENEW, json={"refresh_token": token})
        assert answer.status_code == 400
    broken = await api.client.post(RENEW, content=BROKEN, headers=JSON)
    assert broken.status_code == 422
    records = _records(api, RENEW)
    assert [(r["status"], r["outcome"]) for r in records] == [
        (400, "auth_failed"),
        (400, "auth_failed"),
        (422, "error"),
    ]
    assert all(r["token_hmac"] for r in records[:2])
    raw = api.services.config.resolved_audit_file.read_bytes()
    assert b"not-a-token-at-all-7d1c" not in raw


async def test_finding_2_valid_credentials_with_malformed_json_are_recorded(
    sqlite_api: Api,
) -> None:
    api = sqlite_api
    access, _ = await make_user_session(api.services, "pat", password=TEST_PASSWORD)
    bearer = {**api.auth(access), **JSON}
    secret = "/api/v1/secrets/8f0e6f4e-2b1a-4c3d-9e8f-0a1b2c3d4e5f"
    paths = [
        ("PUT", secret),  # the fast lane's route
        ("POST", "/api/v1/users/me/password"),
        ("POST", "/api/v1/auth/check_token"),
    ]
    for method, path in paths:
        answer = await api.client.request(method, path, content=BROKEN, headers=bearer)
        assert answer.status_code == 422, (path, answer.text)
    for _, path in paths:
        [record] = _records(api, path)
        assert record["status"] == 422
        assert record["principal"]["user"] == "pat"
        assert record["outcome"] == "error"
    # The token was looked up, not used: the session counted none of these requests.
    listed = await api.client.get("/api/v1/auth/sessions", headers=api.auth(access))
    assert listed.json()["items"][0]["uses"] == 1  # the listing itself
    # A token that is not valid: a failed authentication, with the token's HMAC.
    forged = {"Authorization": "Bearer sra_" + "A" * 43, **JSON}
    answer = await api.client.post("/api/v1/users/me/password", content=BROKEN, headers=forged)
    assert answer.status_code == 422
    last = _records(api, "/api/v1/users/me/password")[-1]
    assert (last["outcome"], last["principal"]) == ("auth_failed", None)
    assert last["token_hmac"]
    assert b"s3cr3t-in-a-broken-body" not in api.services.config.resolved_audit_file.read_bytes()


async def test_finding_2_bad_bodies_on_auth_routes_and_registrations_are_recorded(
    sqlite_api: Api,
) -> None:
    api = sqlite_api
    assert (await api.client.post(LOGIN, content=BROKEN, headers=JSON)).status_code == 422
    assert (await api.client.post(LOGIN, data={"grant_type": "magic"})).status_code == 422
    await api.set_settings(auth__registration_open=True)
    registered = await api.client.post(
        "/api/v1/users/create", json={"username": "quinn", "password": "a long enough password"}
    )
    assert registered.status_code == 200, registered.text
    assert [r["status"] for r in _records(api, LOGIN)] == [422, 422]
    assert [r["status"] for r in _records(api, "/api/v1/users/create")] == [200]
