"""Audit records of requests through the app: who, what, outcome; never a token."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from strongroom.config import Config
from strongroom.crypto import ACCESS_PREFIX, KeyPurpose, new_token
from tests.audit.helpers import SECRET_MARKER, open_probe_api, read_records
from tests.support import Api, make_user_session


def audit_path(api: Api) -> Path:
    path = api.services.config.resolved_audit_file
    assert path is not None
    return path


async def test_authenticated_request_leaves_exactly_one_record(sqlite_api: Api) -> None:
    api = sqlite_api
    token, refresh = await make_user_session(api.services, "carol", "auditor")
    response = await api.client.get(
        "/api/v1/audit", headers={**api.auth(token), "User-Agent": "audit-test/1"}
    )
    assert response.status_code == 409  # the database sink is off
    (record,) = read_records(audit_path(api))
    session_id = record["principal"]["session_id"]
    assert record["principal"] == {"user": "carol", "role": "auditor", "session_id": session_id}
    assert session_id
    assert record["request_id"] == response.headers["x-request-id"]
    assert record["status"] == 409
    assert record["outcome"] == "error"
    assert record["error"] == "audit_database_disabled"
    assert record["method"] == "GET"
    assert record["route"] == "/api/v1/audit"
    assert record["path"] == "/api/v1/audit"
    assert record["client_ip"] == "203.0.113.7"
    assert record["user_agent"] == "audit-test/1"
    assert record["token_hmac"] is None
    assert record["seq"] == 1
    raw = audit_path(api).read_bytes()
    assert token.encode() not in raw
    assert refresh.encode() not in raw


async def test_unauthenticated_requests_are_not_recorded(sqlite_api: Api) -> None:
    assert (await sqlite_api.client.get("/api/v1/sys/health")).status_code == 200
    assert (await sqlite_api.client.get("/api/v1/no/such/route")).status_code == 404
    assert read_records(audit_path(sqlite_api)) == []


async def test_bad_token_leaves_an_auth_failed_record_with_its_hmac(sqlite_api: Api) -> None:
    api = sqlite_api
    forged = new_token(ACCESS_PREFIX)
    response = await api.client.get("/api/v1/audit", headers=api.auth(forged))
    assert response.status_code == 401
    missing = await api.client.get("/api/v1/audit")
    assert missing.status_code == 401
    first, second = read_records(audit_path(api))
    assert first["outcome"] == "auth_failed"
    assert first["status"] == 401
    assert first["principal"] is None
    assert first["error"] == "invalid_token"
    expected = api.services.barrier.keyring.mac(KeyPurpose.audit, forged.encode())
    assert first["token_hmac"] == expected
    assert second["outcome"] == "auth_failed"
    assert second["token_hmac"] is None  # no token was presented
    assert forged.encode() not in audit_path(api).read_bytes()


async def test_hash_endpoint_finds_the_record_of_a_token(sqlite_api: Api) -> None:
    api = sqlite_api
    admin, _ = await make_user_session(api.services, "root", "admin")
    leaked = new_token(ACCESS_PREFIX)
    assert (await api.client.get("/api/v1/audit", headers=api.auth(leaked))).status_code == 401
    response = await api.client.post(
        "/api/v1/audit/hash", json={"input": leaked}, headers=api.auth(admin)
    )
    assert response.status_code == 200
    digest = response.json()["hmac"]
    matching = [r for r in read_records(audit_path(api)) if r.get("token_hmac") == digest]
    assert len(matching) == 1
    assert matching[0]["outcome"] == "auth_failed"
    raw = audit_path(api).read_bytes()
    assert leaked.encode() not in raw
    assert admin.encode() not in raw


@pytest.mark.parametrize("role", ["user", "auditor"])
async def test_hash_endpoint_is_for_admins_only(sqlite_api: Api, role: str) -> None:
    api = sqlite_api
    token, _ = await make_user_session(api.services, f"someone-{role}", role)
    response = await api.client.post(
        "/api/v1/audit/hash", json={"input": "anything"}, headers=api.auth(token)
    )
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"
    (record,) = read_records(audit_path(api))
    assert record["outcome"] == "denied"
    assert record["principal"]["role"] == role


@pytest.mark.parametrize(
    "body", [{}, {"input": ""}, {"input": "x" * 5000}, {"input": "a", "extra": 1}]
)
async def test_hash_endpoint_rejects_bad_input(sqlite_api: Api, body: dict[str, object]) -> None:
    admin, _ = await make_user_session(sqlite_api.services, "root", "admin")
    response = await sqlite_api.client.post(
        "/api/v1/audit/hash", json=body, headers=sqlite_api.auth(admin)
    )
    assert response.status_code == 422
    assert "x" * 100 not in response.text  # the input is not echoed


async def test_records_of_probe_routes_carry_route_and_secret(
    make_config: Callable[..., Config],
) -> None:
    async with open_probe_api(make_config()) as (api, _runs):
        token, _ = await make_user_session(api.services, "dave")
        response = await api.client.get("/api/v1/secrets/audit-probe/0b6f", headers=api.auth(token))
        assert response.status_code == 200
        crashed = await api.client.get("/api/v1/auth/audit-probe-crash", headers=api.auth(token))
        assert crashed.status_code == 500
        read, crash = read_records(audit_path(api))
    assert read["route"] == "/api/v1/secrets/audit-probe/{secret_id}"
    assert read["path"] == "/api/v1/secrets/audit-probe/0b6f"
    assert (read["secret_id"], read["secret_path"]) == ("0b6f", "team/app/db-password")
    assert read["outcome"] == "success"
    assert SECRET_MARKER not in str(read)
    assert (crash["status"], crash["outcome"], crash["error"]) == (500, "error", "internal_error")


async def test_token_shaped_text_in_a_path_is_masked(make_config: Callable[..., Config]) -> None:
    async with open_probe_api(make_config()) as (api, _runs):
        token, _ = await make_user_session(api.services, "erin")
        response = await api.client.get(
            f"/api/v1/secrets/audit-probe/{token}", headers=api.auth(token)
        )
        assert response.status_code == 200
        (record,) = read_records(audit_path(api))
        assert record["path"] == "/api/v1/secrets/audit-probe/sra_***"
        assert token.encode() not in audit_path(api).read_bytes()
