"""Runtime settings over the API (issue 4, acceptance 1 and 4)."""

from __future__ import annotations

from typing import Any

import pytest

from strongroom.system.registry import SETTINGS
from tests.support import TEST_PASSWORD, Api, make_user_session


async def _setting(api: Api, headers: dict[str, str], key: str) -> dict[str, Any]:
    response = await api.client.get(f"/api/v1/sys/setting/{key}", headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_list_describes_every_registered_setting(api: Api, admin: dict[str, str]) -> None:
    response = await api.client.get("/api/v1/sys/settings", headers=admin)
    assert response.status_code == 200
    items = {item["key"]: item for item in response.json()["settings"]}
    assert set(SETTINGS) <= set(items)
    ttl = items["security.access_token_ttl"]
    assert ttl == {
        "key": "security.access_token_ttl", "value": 900, "default": 900, "type": "duration",
        "group": "security", "description": ttl["description"], "minimum": 1,
        "maximum": 30 * 86400, "updated_at": None, "updated_by": None,
    }  # fmt: skip
    assert (
        await api.client.get("/api/v1/sys/setting/nope.nothing", headers=admin)
    ).status_code == 404


async def test_set_one_records_who_and_when(api: Api, admin: dict[str, str]) -> None:
    response = await api.client.post(
        "/api/v1/sys/setting",
        json={"key": "security.access_token_ttl", "value": "10m"},
        headers=admin,
    )
    assert response.status_code == 200
    assert response.json()["value"] == 600
    assert response.json()["updated_by"] == "root"
    assert api.services.settings.security.access_token_ttl == 600
    history = (await api.client.get("/api/v1/sys/settings/history", headers=admin)).json()["items"]
    assert history[0]["key"] == "security.access_token_ttl"
    assert (history[0]["old_value"], history[0]["new_value"]) == (900, 600)
    assert history[0]["changed_by"] == "root"


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("security.access_token_ttl", True, "duration"),
        ("security.access_token_ttl", "soon", "duration"),
        ("security.password_min_length", "12", "integer"),
        ("security.require_https", "yes", "true or false"),
        ("security.trusted_proxies", ["10.0.0.0/8", "not-a-net"], "not-a-net"),
        ("auth.default_role", "emperor", "unknown role"),
        ("auth.github_team_roles", {"devs": "pharaoh"}, "unknown role"),
        ("auth.github_base_url", "ftp://example", "URL"),
    ],
)
async def test_type_errors_are_422_and_change_nothing(
    sqlite_api: Api, sq_admin: dict[str, str], key: str, value: Any, message: str
) -> None:
    before = sqlite_api.services.settings.value(key)
    response = await sqlite_api.client.post(
        "/api/v1/sys/setting", json={"key": key, "value": value}, headers=sq_admin
    )
    assert response.status_code == 422
    assert message in response.json()["detail"][0]["msg"]
    assert sqlite_api.services.settings.value(key) == before


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("security.access_token_ttl", 0),
        ("security.access_token_ttl", 31 * 86400),
        ("security.password_min_length", 7),
        ("security.login_failure_threshold", 0),
        ("secrets.max_versions", 5000),
    ],
)
async def test_bounds_are_422(
    sqlite_api: Api, sq_admin: dict[str, str], key: str, value: Any
) -> None:
    response = await sqlite_api.client.post(
        "/api/v1/sys/setting", json={"key": key, "value": value}, headers=sq_admin
    )
    assert response.status_code == 422
    assert "must be at" in response.json()["detail"][0]["msg"]


async def test_unknown_key_lists_the_valid_ones(sqlite_api: Api, sq_admin: dict[str, str]) -> None:
    response = await sqlite_api.client.post(
        "/api/v1/sys/setting", json={"key": "security.magic", "value": 1}, headers=sq_admin
    )
    assert response.status_code == 422
    message = response.json()["detail"][0]["msg"]
    assert "security.access_token_ttl" in message and "custom.<name>" in message


async def test_custom_keys(sqlite_api: Api, sq_admin: dict[str, str]) -> None:
    value = {"team": "platform", "tier": 1}
    response = await sqlite_api.client.post(
        "/api/v1/sys/setting", json={"key": "custom.owner", "value": value}, headers=sq_admin
    )
    assert response.status_code == 200
    assert (await _setting(sqlite_api, sq_admin, "custom.owner"))["value"] == value
    listed = (await sqlite_api.client.get("/api/v1/sys/settings", headers=sq_admin)).json()[
        "settings"
    ]
    assert any(item["key"] == "custom.owner" for item in listed)
    bad = await sqlite_api.client.post(
        "/api/v1/sys/setting", json={"key": "custom.Bad Key", "value": 1}, headers=sq_admin
    )
    assert bad.status_code == 422
    huge = await sqlite_api.client.post(
        "/api/v1/sys/setting", json={"key": "custom.big", "value": "x" * 5000}, headers=sq_admin
    )
    assert huge.status_code == 422


async def test_joint_validation_applies_nothing(api: Api, admin: dict[str, str]) -> None:
    response = await api.client.post(
        "/api/v1/sys/security",
        json={"access_token_ttl": "2h", "refresh_token_ttl": "1h", "password_min_length": 20},
        headers=admin,
    )
    assert response.status_code == 422
    assert (
        "access_token_ttl must not exceed security.refresh_token_ttl"
        in response.json()["detail"][0]["msg"]
    )
    security = api.services.settings.security
    assert (security.access_token_ttl, security.password_min_length) == (900, 12)
    history = (await api.client.get("/api/v1/sys/settings/history", headers=admin)).json()["items"]
    assert history == []


async def test_partial_group_update(api: Api, admin: dict[str, str]) -> None:
    response = await api.client.post(
        "/api/v1/sys/security",
        json={
            "access_token_ttl": "30m",
            "bind_ip_default": True,
            "trusted_proxies": ["10.0.0.0/8"],
        },
        headers=admin,
    )
    assert response.status_code == 200
    values = {item["key"]: item["value"] for item in response.json()["settings"]}
    assert values["security.access_token_ttl"] == 1800
    assert values["security.bind_ip_default"] is True
    assert values["security.trusted_proxies"] == ["10.0.0.0/8"]
    assert values["security.refresh_token_ttl"] == 7 * 86400
    assert all(key.startswith("security.") for key in values)
    wrong_group = await api.client.post(
        "/api/v1/sys/security", json={"registration_open": True}, headers=admin
    )
    assert wrong_group.status_code == 422
    empty = await api.client.post("/api/v1/sys/auth", json={}, headers=admin)
    assert empty.status_code == 422


async def test_secret_settings_are_encrypted_and_masked(
    sqlite_api: Api, sq_admin: dict[str, str]
) -> None:
    marker = "client-secret-MARKER-93bd"
    response = await sqlite_api.client.post(
        "/api/v1/sys/auth",
        json={"github_client_secret": marker, "github_client_id": "Iv1.abc"},
        headers=sq_admin,
    )
    assert response.status_code == 200
    assert marker not in response.text
    shown = await _setting(sqlite_api, sq_admin, "auth.github_client_secret")
    assert shown["value"] == "********"
    assert sqlite_api.services.settings.auth.github_client_secret.reveal() == marker
    history = await sqlite_api.client.get("/api/v1/sys/settings/history", headers=sq_admin)
    assert marker not in history.text
    listing = await sqlite_api.client.get("/api/v1/sys/settings", headers=sq_admin)
    assert marker not in listing.text
    await sqlite_api.services.db.dispose()
    data_dir = sqlite_api.services.config.data_dir
    raw = b"".join(p.read_bytes() for p in data_dir.iterdir() if p.name.startswith("strongroom.db"))
    assert marker.encode() not in raw
    assert marker not in repr(sqlite_api.services.settings)


async def test_org_change_unpins_the_org_id(sqlite_api: Api, sq_admin: dict[str, str]) -> None:
    await sqlite_api.client.post(
        "/api/v1/sys/auth",
        json={"github_organization": "acme", "github_organization_id": 42},
        headers=sq_admin,
    )
    assert sqlite_api.services.settings.auth.github_organization_id == 42
    await sqlite_api.client.post(
        "/api/v1/sys/auth", json={"github_organization": "other-org"}, headers=sq_admin
    )
    assert sqlite_api.services.settings.auth.github_organization_id == 0


async def test_only_admins_write_and_auditors_read(sqlite_api: Api) -> None:
    api = sqlite_api
    auditor = api.auth((await make_user_session(api.services, "aud", "auditor"))[0])
    user = api.auth((await make_user_session(api.services, "usr", "user"))[0])
    reads = [
        "/api/v1/sys/settings",
        "/api/v1/sys/setting/security.access_token_ttl",
        "/api/v1/sys/settings/history",
    ]
    writes = [
        ("/api/v1/sys/setting", {"key": "security.access_token_ttl", "value": 60}),
        ("/api/v1/sys/security", {"access_token_ttl": 60}),
        ("/api/v1/sys/auth", {"registration_open": True}),
    ]
    for url in reads:
        assert (await api.client.get(url, headers=auditor)).status_code == 200, url
        assert (await api.client.get(url, headers=user)).status_code == 403, url
    for url, body in writes:
        assert (await api.client.post(url, json=body, headers=auditor)).status_code == 403, url
        assert (await api.client.post(url, json=body, headers=user)).status_code == 403, url
    assert api.services.settings.security.access_token_ttl == 900


async def test_a_new_ttl_applies_to_the_next_login(
    sqlite_api: Api, sq_admin: dict[str, str]
) -> None:
    await make_user_session(sqlite_api.services, "alice", "user", password=TEST_PASSWORD)
    await sqlite_api.client.post(
        "/api/v1/sys/security", json={"access_token_ttl": 120}, headers=sq_admin
    )
    assert (await sqlite_api.login("alice"))["expires_in"] == 120


@pytest.mark.parametrize("table", ["settings-table", "config-table"])
def test_readme_tables_are_generated_from_the_code(table: str) -> None:
    from pathlib import Path

    from strongroom.system.docs import config_table, settings_table

    readme = (Path(__file__).parents[2] / "README.md").read_text()
    start = readme.index(f"<!-- {table}:start -->") + len(f"<!-- {table}:start -->")
    end = readme.index(f"<!-- {table}:end -->")
    expected = settings_table() if table == "settings-table" else config_table()
    assert readme[start:end].strip() == expected.strip(), (
        f"README {table} drifted: regenerate with `strongroom settings-table"
        f"{' --config' if table == 'config-table' else ''}`"
    )


@pytest.mark.parametrize(
    "key", ["auth.github_base_url", "auth.github_web_base_url", "auth.github_redirect_url"]
)
async def test_finding_16_github_urls_refuse_plain_http_except_loopback(
    sqlite_api: Api, sq_admin: dict[str, str], key: str
) -> None:
    """GitHub tokens, OAuth codes and the client secret never travel in clear."""
    before = sqlite_api.services.settings.value(key)
    for refused in ("http://github.example.com/api/v3", "http://10.1.2.3", "http://[fe80::1]"):
        response = await sqlite_api.client.post(
            "/api/v1/sys/setting", json={"key": key, "value": refused}, headers=sq_admin
        )
        assert response.status_code == 422, (refused, response.text)
        assert "https://" in response.json()["detail"][0]["msg"]
        assert sqlite_api.services.settings.value(key) == before
    grouped = await sqlite_api.client.post(
        "/api/v1/sys/auth", json={key.split(".")[1]: "http://ghe.example.com"}, headers=sq_admin
    )
    assert grouped.status_code == 422, grouped.text
    assert sqlite_api.services.settings.value(key) == before
    for allowed in ("https://ghe.example.com/api/v3", "http://127.0.0.1:8080", "http://[::1]:9"):
        response = await sqlite_api.client.post(
            "/api/v1/sys/setting", json={"key": key, "value": allowed}, headers=sq_admin
        )
        assert response.status_code == 200, (allowed, response.text)
        assert sqlite_api.services.settings.value(key) == allowed
