"""Issue 16, finding 13 (SECURITY.md 41): open registration never grants an administrative
role. `auth.registration_open=true` with an administrative `auth.default_role` (admin, auditor,
or a custom role whose rules reach other users' personal spaces; see
`policy.rules.administrative_reason`) is refused with 422, whichever is set second and through
every route: POST /sys/setting, POST /sys/auth, and role edits."""

from __future__ import annotations

from typing import Any

import pytest

from strongroom.policy.rules import Capability, Role, Rule, administrative_reason
from tests.support import Api

SETTING = "/api/v1/sys/setting"
AUTH = "/api/v1/sys/auth"
ROLES = "/api/v1/roles"
EVERYTHING = [{"path": "*", "capabilities": ["read"]}]
TEAM = [{"path": "team-a/*", "capabilities": ["read", "list"]}]


async def _set(api: Api, admin: dict[str, str], key: str, value: Any) -> Any:
    return await api.client.post(SETTING, json={"key": key, "value": value}, headers=admin)


def _refused(answer: Any) -> str:
    assert answer.status_code == 422, answer.text
    message: str = answer.json()["detail"][0]["msg"]
    assert "auth.registration_open" in message and "administrative" in message
    return message


async def _current(api: Api, admin: dict[str, str]) -> tuple[bool, str]:
    values = {}
    for key in ("auth.registration_open", "auth.default_role"):
        answer = await api.client.get(f"/api/v1/sys/setting/{key}", headers=admin)
        values[key] = answer.json()["value"]
    return values["auth.registration_open"], values["auth.default_role"]


@pytest.mark.parametrize("role", ["admin", "auditor", "everything"])
async def test_finding_13_refused_whichever_setting_comes_second(
    api: Api, admin: dict[str, str], role: str
) -> None:
    created = await api.client.post(
        ROLES, json={"name": "everything", "rules": EVERYTHING}, headers=admin
    )
    assert created.status_code == 200, created.text
    # Registration open first, then the role: through /sys/setting and /sys/auth.
    assert (await _set(api, admin, "auth.registration_open", True)).status_code == 200
    _refused(await _set(api, admin, "auth.default_role", role))
    _refused(await api.client.post(AUTH, json={"default_role": role}, headers=admin))
    assert await _current(api, admin) == (True, "user")
    # The role first, then registration.
    assert (await _set(api, admin, "auth.registration_open", False)).status_code == 200
    assert (await _set(api, admin, "auth.default_role", role)).status_code == 200
    _refused(await _set(api, admin, "auth.registration_open", True))
    _refused(await api.client.post(AUTH, json={"registration_open": True}, headers=admin))
    # Both at once.
    both = {"registration_open": True, "default_role": role}
    _refused(await api.client.post(AUTH, json=both, headers=admin))
    assert await _current(api, admin) == (False, role)


async def test_finding_13_a_role_edit_cannot_make_the_default_role_administrative(
    api: Api, admin: dict[str, str]
) -> None:
    created = await api.client.post(ROLES, json={"name": "team", "rules": TEAM}, headers=admin)
    assert created.status_code == 200, created.text
    both = {"registration_open": True, "default_role": "team"}
    assert (await api.client.post(AUTH, json=both, headers=admin)).status_code == 200
    for rules in (
        [{"path": "users/+/*", "capabilities": ["read"]}],
        [{"path": "users/bob/*", "capabilities": ["list"]}],
        [{"path": "u*", "capabilities": ["update"]}],
    ):
        edit = await api.client.put(f"{ROLES}/team", json={"rules": rules}, headers=admin)
        assert edit.status_code == 422, (rules, edit.text)
        assert "administrative" in edit.json()["detail"][0]["msg"]
    kept = await api.client.get(f"{ROLES}/team", headers=admin)
    assert kept.json()["rules"] == [{"path": "team-a/*", "capabilities": ["list", "read"]}]
    wider = [*TEAM, {"path": "users/{username}/*", "capabilities": ["read"]}]
    assert (
        await api.client.put(f"{ROLES}/team", json={"rules": wider}, headers=admin)
    ).status_code == 200


async def test_finding_13_registration_refuses_an_administrative_default_stored_earlier(
    sqlite_api: Api,
) -> None:
    """Settings stored before the rule (written straight to the database): nobody registers."""
    api = sqlite_api
    await api.set_settings(auth__registration_open=True, auth__default_role="admin")
    answer = await api.client.post(
        "/api/v1/users/create",
        json={"username": "mallory", "password": "a long enough password"},
    )
    assert answer.status_code == 403, answer.text
    async with api.services.db.connect() as conn:
        from strongroom.users import repository

        assert await repository.get_by_username(conn, "mallory") is None


@pytest.mark.parametrize(
    ("path", "administrative"),
    [
        ("*", True),
        ("u*", True),
        ("users*", True),
        ("users/*", True),
        ("users/+/*", True),
        ("+/+/*", True),
        ("users/bob/*", True),
        ("users/{username}-x/*", True),
        ("users/{username}/*", False),
        ("+/{username}/*", False),
        ("team-a/*", False),
        ("t*", False),
        ("users", False),
    ],
)
def test_what_reaches_other_users_spaces(path: str, administrative: bool) -> None:
    role = Role("custom", "", (Rule(path, frozenset({Capability.read})),))
    assert (administrative_reason(role) is not None) is administrative
    denied = Role("custom", "", (Rule(path, frozenset({Capability.deny})),))
    assert administrative_reason(denied) is None
