"""Logins through the real token endpoint: failed ones are on record with the attempted user,
successful ones with the new session; no password or issued token is ever written."""

from __future__ import annotations

from pathlib import Path

from tests.audit.helpers import read_records
from tests.support import TEST_PASSWORD, Api, make_user_session


async def test_failed_and_successful_logins_are_recorded(sqlite_api: Api) -> None:
    api = sqlite_api
    path = api.services.config.resolved_audit_file
    assert isinstance(path, Path)
    await make_user_session(api.services, "frank", password=TEST_PASSWORD)
    wrong = "not-the-password-5b1e"
    failed = await api.client.post(
        "/api/v1/auth/token/create",
        data={"grant_type": "password", "username": "frank", "password": wrong},
    )
    assert failed.status_code == 401
    tokens = await api.login("frank")

    failure, success = read_records(path)
    assert failure["outcome"] == "auth_failed"
    assert failure["attempted_user"] == "frank"
    assert failure["principal"] is None
    assert failure["status"] == 401
    assert failure["error"] == "invalid_grant"
    assert success["outcome"] == "success"
    assert success["principal"]["user"] == "frank"
    assert success["principal"]["session_id"] == tokens["session_id"]
    raw = path.read_bytes()
    for secret in (wrong, TEST_PASSWORD, tokens["access_token"], tokens["refresh_token"]):
        assert secret.encode() not in raw
