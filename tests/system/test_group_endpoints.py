"""`POST /sys/security` and `POST /sys/auth` over the API: type and bounds errors, joint
validation, all or nothing, partial updates (issue 4, acceptance 1).

Every refused write is checked against the settings read back over the API afterwards (values,
who and when) and the history: a 422 must leave no trace at all.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import Api

SECURITY = "/api/v1/sys/security"
AUTH = "/api/v1/sys/auth"


async def _settings(api: Api, headers: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Every setting as read back over the API, by key."""
    response = await api.client.get("/api/v1/sys/settings", headers=headers)
    assert response.status_code == 200, response.text
    return {item["key"]: item for item in response.json()["settings"]}


async def _history(api: Api, headers: dict[str, str]) -> list[dict[str, Any]]:
    response = await api.client.get("/api/v1/sys/settings/history", headers=headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def _refused(
    api: Api, headers: dict[str, str], url: str, body: dict[str, Any]
) -> dict[str, Any]:
    """POST `body`, expect 422, and check that nothing changed; the error body."""
    before = await _settings(api, headers)
    history = await _history(api, headers)
    response = await api.client.post(url, json=body, headers=headers)
    assert response.status_code == 422, response.text
    error: dict[str, Any] = response.json()
    assert error["code"] == "validation_error"
    assert isinstance(error["detail"], list) and error["detail"], error
    assert {"loc", "msg", "type"} <= set(error["detail"][0]), error
    assert await _settings(api, headers) == before
    assert await _history(api, headers) == history
    return error


# --- type errors ---------------------------------------------------------------------------

# Each body mixes one bad value with valid ones: the valid ones must not be applied either.
SECURITY_TYPE_ERRORS = [
    ({"password_min_length": "12", "access_token_ttl": 60}, "password_min_length", None),
    ({"access_token_ttl": True, "password_min_length": 20}, "access_token_ttl", None),
    ({"access_token_ttl": 1.5}, "access_token_ttl", None),
    ({"access_token_ttl": "soon", "password_min_length": 20}, "access_token_ttl", "duration"),
    ({"access_token_ttl": None, "password_min_length": 20}, "access_token_ttl", "duration"),
    ({"require_https": "yes", "bind_ip_default": True}, "require_https", None),
    ({"require_https": None, "bind_ip_default": True}, "require_https", "true or false"),
    ({"one_time_tokens_allowed": 0}, "one_time_tokens_allowed", None),
    (
        {"trusted_proxies": ["10.0.0.0/8", "not-a-net"], "bind_ip_default": True},
        "trusted_proxies",
        "not-a-net",
    ),
    ({"trusted_proxies": "10.0.0.0/8"}, "trusted_proxies", None),
    ({"trusted_proxies": None}, "trusted_proxies", "list of IP addresses"),
    ({"login_failure_threshold": [5]}, "login_failure_threshold", None),
]

AUTH_TYPE_ERRORS = [
    ({"registration_open": "true", "default_role": "auditor"}, "registration_open", None),
    ({"password_login_enabled": None}, "password_login_enabled", "true or false"),
    ({"default_role": "emperor", "registration_open": True}, "default_role", "unknown role"),
    ({"default_role": ""}, "default_role", "must name a role"),
    ({"default_role": 3}, "default_role", None),
    (
        {"github_team_roles": {"devs": "pharaoh"}, "github_client_id": "Iv1.x"},
        "github_team_roles",
        "unknown role",
    ),
    ({"github_user_roles": ["octocat"]}, "github_user_roles", None),
    ({"github_base_url": "ftp://example", "github_client_id": "Iv1.x"}, "github_base_url", "URL"),
    ({"github_redirect_url": "not a url"}, "github_redirect_url", "URL"),
    ({"github_organization_id": "42"}, "github_organization_id", None),
    ({"github_client_secret": 123, "github_client_id": "Iv1.x"}, "github_client_secret", None),
    ({"github_organization": "ac\x00me"}, "github_organization", "control characters"),
]


@pytest.mark.parametrize(("body", "field", "message"), SECURITY_TYPE_ERRORS)
async def test_security_type_errors_are_422_and_change_nothing(
    sqlite_api: Api, sq_admin: dict[str, str], body: dict[str, Any], field: str, message: str | None
) -> None:
    error = await _refused(sqlite_api, sq_admin, SECURITY, body)
    first = error["detail"][0]
    assert first["loc"][:2] == ["body", field]
    if message:
        assert message in first["msg"]


@pytest.mark.parametrize(("body", "field", "message"), AUTH_TYPE_ERRORS)
async def test_auth_type_errors_are_422_and_change_nothing(
    sqlite_api: Api, sq_admin: dict[str, str], body: dict[str, Any], field: str, message: str | None
) -> None:
    error = await _refused(sqlite_api, sq_admin, AUTH, body)
    first = error["detail"][0]
    assert first["loc"][:2] == ["body", field]
    if message:
        assert message in first["msg"]


# --- bounds --------------------------------------------------------------------------------

SECURITY_BOUNDS = [
    ({"access_token_ttl": 0, "password_min_length": 20}, "access_token_ttl", "at least 1"),
    ({"access_token_ttl": "31d"}, "access_token_ttl", "at most 2592000"),
    ({"password_min_length": 7, "access_token_ttl": 60}, "password_min_length", "at least 8"),
    ({"password_min_length": 257}, "password_min_length", "at most 256"),
    ({"login_failure_threshold": 0}, "login_failure_threshold", "at least 1"),
    ({"login_failure_threshold": 1001}, "login_failure_threshold", "at most 1000"),
    ({"login_failure_window": "2d"}, "login_failure_window", "at most 86400"),
    ({"login_lockout": 0}, "login_lockout", "at least 1"),
    ({"max_session_lifetime": 59}, "max_session_lifetime", "at least 60"),
    ({"idle_timeout": -1}, "idle_timeout", "negative"),
    ({"max_uses_limit": 0}, "max_uses_limit", "at least 1"),
    ({"max_uses_limit": 1_000_000_001}, "max_uses_limit", "at most 1000000000"),
]

AUTH_BOUNDS = [
    ({"github_organization_id": -1}, "github_organization_id", "at least 0"),
    ({"github_organization_id": 2**53 + 1}, "github_organization_id", "at most"),
    (
        {"github_organization": "o" * 101, "github_client_id": "Iv1.x"},
        "github_organization",
        "at most 100 characters",
    ),
    ({"github_client_id": "x" * 1025}, "github_client_id", "at most 1024 characters"),
    ({"github_team_roles": {"t" * 101: "user"}}, "github_team_roles", "1 to 100 characters"),
]


@pytest.mark.parametrize(("body", "field", "message"), SECURITY_BOUNDS)
async def test_security_bounds_are_422_and_change_nothing(
    sqlite_api: Api, sq_admin: dict[str, str], body: dict[str, Any], field: str, message: str | None
) -> None:
    error = await _refused(sqlite_api, sq_admin, SECURITY, body)
    first = error["detail"][0]
    assert first["loc"][:2] == ["body", field]
    assert message in first["msg"]


@pytest.mark.parametrize(("body", "field", "message"), AUTH_BOUNDS)
async def test_auth_bounds_are_422_and_change_nothing(
    sqlite_api: Api, sq_admin: dict[str, str], body: dict[str, Any], field: str, message: str | None
) -> None:
    error = await _refused(sqlite_api, sq_admin, AUTH, body)
    first = error["detail"][0]
    assert first["loc"][:2] == ["body", field]
    assert message in first["msg"]


async def test_unknown_and_wrong_group_keys_are_422(
    sqlite_api: Api, sq_admin: dict[str, str]
) -> None:
    await _refused(sqlite_api, sq_admin, SECURITY, {"access_token_ttl": 60, "magic": 1})
    await _refused(sqlite_api, sq_admin, AUTH, {"github_enabled": False, "require_https": False})
    await _refused(sqlite_api, sq_admin, SECURITY, {"security.access_token_ttl": 60})
    await _refused(sqlite_api, sq_admin, SECURITY, {})


# --- joint validation ----------------------------------------------------------------------


async def test_github_enabled_needs_an_organization(api: Api, admin: dict[str, str]) -> None:
    error = await _refused(api, admin, AUTH, {"github_enabled": True, "registration_open": True})
    assert error["detail"][0]["msg"] == (
        "auth.github_organization is required when auth.github_enabled is on"
    )
    await _refused(api, admin, AUTH, {"github_enabled": True, "github_organization": ""})
    # Together in one request it is valid, and both apply.
    both = await api.client.post(
        AUTH, json={"github_enabled": True, "github_organization": "acme"}, headers=admin
    )
    assert both.status_code == 200, both.text
    values = {key: item["value"] for key, item in (await _settings(api, admin)).items()}
    assert (values["auth.github_enabled"], values["auth.github_organization"]) == (True, "acme")
    # Joint validation also holds against what is stored: clearing the organization of an
    # enabled GitHub login is refused, and so is leaving it with an unrelated valid change.
    error = await _refused(
        api, admin, AUTH, {"github_organization": "", "github_client_id": "Iv1.abc"}
    )
    assert "auth.github_organization is required" in error["detail"][0]["msg"]
    # Turning GitHub off and clearing the organization together is fine.
    off = await api.client.post(
        AUTH, json={"github_enabled": False, "github_organization": ""}, headers=admin
    )
    assert off.status_code == 200, off.text
    assert api.services.settings.auth.github_enabled is False


@pytest.mark.parametrize(
    ("stored", "body", "message"),
    [
        ({}, {"refresh_token_ttl": "31d"}, "refresh_token_ttl must not exceed"),
        ({}, {"max_token_ttl": "31d"}, "max_token_ttl must not exceed"),
        ({}, {"access_token_ttl": "2d"}, "access_token_ttl must not exceed security.max_token"),
        ({}, {"bind_ip_required": True}, "bind_ip_default must be on"),
        ({"max_token_ttl": "1h"}, {"access_token_ttl": "2h"}, "access_token_ttl must not exceed"),
        (
            {"bind_ip_default": True, "bind_ip_required": True},
            {"bind_ip_default": False, "password_min_length": 30},
            "bind_ip_default must be on",
        ),
        (
            {},
            {"max_session_lifetime": "1h", "idle_timeout": 60},
            "refresh_token_ttl must not exceed security.max_session_lifetime",
        ),
    ],
)
async def test_security_joint_rules_apply_nothing(
    api: Api,
    admin: dict[str, str],
    stored: dict[str, Any],
    body: dict[str, Any],
    message: str,
) -> None:
    if stored:
        response = await api.client.post(SECURITY, json=stored, headers=admin)
        assert response.status_code == 200, response.text
    error = await _refused(api, admin, SECURITY, body)
    assert message in error["detail"][0]["msg"]
    assert error["detail"][0]["loc"] == ["body"]


async def test_joint_rules_pass_when_the_group_is_changed_together(
    api: Api, admin: dict[str, str]
) -> None:
    # Each value alone would break a rule; together they are consistent.
    body = {
        "max_session_lifetime": "1h",
        "refresh_token_ttl": "30m",
        "max_token_ttl": "20m",
        "access_token_ttl": "10m",
        "bind_ip_required": True,
        "bind_ip_default": True,
    }
    response = await api.client.post(SECURITY, json=body, headers=admin)
    assert response.status_code == 200, response.text
    values = {key: item["value"] for key, item in (await _settings(api, admin)).items()}
    assert values["security.max_session_lifetime"] == 3600
    assert values["security.refresh_token_ttl"] == 1800
    assert values["security.max_token_ttl"] == 1200
    assert values["security.access_token_ttl"] == 600
    assert values["security.bind_ip_required"] is True


# --- valid partial updates -----------------------------------------------------------------


async def test_partial_security_update_applies_every_key(api: Api, admin: dict[str, str]) -> None:
    before = await _settings(api, admin)
    body = {
        "access_token_ttl": "5m",
        "idle_timeout": 0,
        "bind_ip_default": True,
        "max_uses_limit": 50,
        "one_time_tokens_allowed": False,
        "trusted_proxies": ["10.0.0.0/8", "192.0.2.1"],
        "login_failure_threshold": 3,
        "login_failure_window": "10m",
        "login_lockout": "1h",
        "password_min_length": 16,
    }
    response = await api.client.post(SECURITY, json=body, headers=admin)
    assert response.status_code == 200, response.text
    expected = {
        "security.access_token_ttl": 300,
        "security.idle_timeout": 0,
        "security.bind_ip_default": True,
        "security.max_uses_limit": 50,
        "security.one_time_tokens_allowed": False,
        "security.trusted_proxies": ["10.0.0.0/8", "192.0.2.1/32"],
        "security.login_failure_threshold": 3,
        "security.login_failure_window": 600,
        "security.login_lockout": 3600,
        "security.password_min_length": 16,
    }
    answered = {item["key"]: item["value"] for item in response.json()["settings"]}
    after = await _settings(api, admin)
    for key, value in expected.items():
        assert answered[key] == value, key
        assert after[key]["value"] == value, key
        assert after[key]["updated_by"] == "root", key
        assert after[key]["updated_at"] is not None, key
    # Keys not named keep their value and stay unwritten.
    for key in set(before) - set(expected):
        assert after[key] == before[key], key
    history = await _history(api, admin)
    assert sorted(item["key"] for item in history) == sorted(expected)
    assert len({item["request_id"] for item in history}) == 1
    # The node applies them at once.
    security = api.services.settings.security
    assert (security.access_token_ttl, security.password_min_length) == (300, 16)
    assert security.one_time_tokens_allowed is False


async def test_partial_auth_update_applies_every_key(api: Api, admin: dict[str, str]) -> None:
    before = await _settings(api, admin)
    marker = "auth-secret-MARKER-51e0"
    body = {
        "password_login_enabled": False,
        "registration_open": True,
        "default_role": "no_role",
        "github_enabled": True,
        "github_organization": "acme",
        "github_base_url": "https://ghe.example.test/api/v3/",
        "github_web_base_url": "https://ghe.example.test",
        "github_team_roles": {"Platform": "admin", "devs": "user"},
        "github_user_roles": {"octocat": "auditor"},
        "github_default_role": "user",
        "github_client_id": "Iv1.abc",
        "github_client_secret": marker,
        "github_redirect_url": "https://vault.example.test/api/v1/auth/github/callback",
    }
    response = await api.client.post(AUTH, json=body, headers=admin)
    assert response.status_code == 200, response.text
    assert marker not in response.text
    expected = {
        "auth.password_login_enabled": False,
        "auth.registration_open": True,
        "auth.default_role": "no_role",
        "auth.github_enabled": True,
        "auth.github_organization": "acme",
        "auth.github_base_url": "https://ghe.example.test/api/v3",
        "auth.github_web_base_url": "https://ghe.example.test",
        "auth.github_team_roles": {"platform": "admin", "devs": "user"},
        "auth.github_user_roles": {"octocat": "auditor"},
        "auth.github_default_role": "user",
        "auth.github_client_id": "Iv1.abc",
        "auth.github_client_secret": "********",
        "auth.github_redirect_url": "https://vault.example.test/api/v1/auth/github/callback",
    }
    after = await _settings(api, admin)
    for key, value in expected.items():
        assert after[key]["value"] == value, key
        assert after[key]["updated_by"] == "root", key
    untouched = set(before) - set(expected) - {"auth.github_organization_id"}
    for key in untouched:
        assert after[key] == before[key], key
    assert api.services.settings.auth.github_client_secret.reveal() == marker
    history = await _history(api, admin)
    assert set(expected) <= {item["key"] for item in history}
    assert marker not in str(history)
    # A second partial update touches only what it names.
    again = await api.client.post(AUTH, json={"password_login_enabled": True}, headers=admin)
    assert again.status_code == 200, again.text
    final = await _settings(api, admin)
    assert final["auth.password_login_enabled"]["value"] is True
    for key in set(expected) - {"auth.password_login_enabled"}:
        assert final[key] == after[key], key
