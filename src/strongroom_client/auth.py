"""Token endpoints shared by `Client` and `AsyncClient`: login, renew, revoke, introspection."""

from __future__ import annotations

from typing import Any

from strongroom_client._core import Call, raw_json
from strongroom_client.models import TokenCheck, Tokens, build

SESSION_OPTIONS = ("ttl", "bind_ip", "max_uses", "one_time", "scope", "client_id")


def tokens(data: Any) -> Tokens:
    return build(Tokens, data)


def _options(options: dict[str, Any]) -> dict[str, Any]:
    unknown = set(options) - set(SESSION_OPTIONS)
    if unknown:
        raise TypeError(f"unknown session options: {', '.join(sorted(unknown))}")
    return {key: value for key, value in options.items() if value is not None}


def password_login(username: str, password: str, options: dict[str, Any]) -> Call[Tokens]:
    body = {"grant_type": "password", "username": username, "password": password}
    return Call(
        "POST", "/auth/token/create", tokens, json={**body, **_options(options)}, auth=False
    )


def github_login(github_token: str, options: dict[str, Any]) -> Call[Tokens]:
    body = {"token": github_token, **_options(options)}
    return Call("POST", "/auth/github/login", tokens, json=body, auth=False)


def renew(refresh_token: str, github_token: str | None = None) -> Call[Tokens]:
    body = {"refresh_token": refresh_token}
    if github_token:
        body["github_token"] = github_token
    return Call("POST", "/auth/token/renew", tokens, json=body, auth=False)


def revoke(token: str) -> Call[bool]:
    return Call(
        "POST",
        "/auth/token/revoke",
        lambda data: bool(data and data.get("revoked")),
        json={"token": token},
        auth=False,
    )


def logout() -> Call[bool]:
    return Call("POST", "/auth/logout", lambda data: bool(data and data.get("revoked")))


def introspect(token: str) -> Call[dict[str, Any]]:
    return Call("POST", "/auth/token/introspect", raw_json, json={"token": token})


def check_token(username: str) -> Call[TokenCheck]:
    return Call(
        "POST",
        "/auth/check_token",
        lambda data: build(TokenCheck, data),
        json={"username": username},
    )
