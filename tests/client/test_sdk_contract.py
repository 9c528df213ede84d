"""The SDK keeps up with the server: a method for every route (an explicit, justified
exclusion list), an exception class for every error code the server emits."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from strongroom.app import create_app
from strongroom.config import Config
from strongroom.crypto import generate_root_key
from strongroom_client import errors
from tests.client.coverage import ASYNC, SYNC, public_methods
from tests.support import all_routes

SERVER = Path(__file__).resolve().parents[2] / "src" / "strongroom"
PREFIX = "/api/v1"
# Routes no SDK method calls, and why.
EXCLUDED: dict[tuple[str, str], str] = {
    ("POST", "/token/create"): "deprecated alias of /auth/token/create (the seed's path)",
    ("POST", "/token/renew"): "deprecated alias of /auth/token/renew (the seed's path)",
    ("POST", "/token/revoke"): "deprecated alias of /auth/token/revoke (the seed's path)",
    ("POST", "/auth/login"): "the seed's alias of /auth/token/create (issue 18)",
    ("POST", "/auth/token/refresh"): "the seed's alias of /auth/token/renew (issue 18)",
    ("POST", "/auth/register"): "the seed's open registration, as /users/create (issue 18)",
    ("GET", "/auth/github/authorize"): "the browser's OAuth flow: a redirect for a person",
    ("GET", "/auth/github/callback"): "the browser's OAuth flow: GitHub redirects the browser",
    ("GET", "/docs"): "the API's documentation page",
    ("GET", "/docs/oauth2-redirect"): "the API's documentation page",
    ("GET", "/docs/assets/{name}"): "the documentation page's Swagger UI files",
    ("GET", "/openapi.json"): "the API's description",
}
EXCLUDED_PREFIXES = {
    "/v1/": "the Vault-compatible API: hvac and the bao CLI are its clients",
    "/ui": "the web UI, for browsers",
}


def server_routes() -> set[tuple[str, str]]:
    config = Config(
        data_dir=Path(tempfile.mkdtemp()),
        seal="env",
        root_key=generate_root_key().encode(),
        tls_disable=True,
    )
    found = set()
    for method, path in all_routes(create_app(config)):
        if method == "HEAD" or not path.startswith(PREFIX):
            continue  # HEAD comes with GET; /metrics and the like live outside the API
        found.add((method, path[len(PREFIX) :]))
    return found


def sdk_routes(classes: dict[str, type]) -> set[tuple[str, str]]:
    return {
        route
        for cls in classes.values()
        for _, function in public_methods(cls)
        for route in getattr(function, "__strongroom_routes__", ())
    }


def test_every_server_route_has_an_sdk_method() -> None:
    missing = {
        route
        for route in server_routes() - sdk_routes(SYNC)
        if route not in EXCLUDED and not route[1].startswith(tuple(EXCLUDED_PREFIXES))
    }
    assert missing == set(), f"server routes no SDK method covers: {sorted(missing)}"


def test_sync_and_async_cover_the_same_routes() -> None:
    assert sdk_routes(SYNC) == sdk_routes(ASYNC)


CODE_PATTERNS = [
    re.compile(r"code\s*=\s*\"([a-z_]+)\""),
    re.compile(r"\"code\":\s*\"([a-z_]+)\""),
    re.compile(r"OAuthError\(\s*\"([a-z_]+)\""),
    re.compile(r"_send_error\([^)]*\"([a-z_]+)\"\)"),
    re.compile(r"error_body\(\"[^\"]*\", \"([a-z_]+)\"\)"),
    re.compile(r"_UNAVAILABLE = \(\"[^\"]*\", \"([a-z_]+)\"\)"),
    re.compile(r"^\s+\d{3}: \"([a-z_]+)\",$", re.MULTILINE),  # http/errors.py's status codes
]


def server_codes() -> set[str]:
    found: set[str] = set()
    for source in SERVER.rglob("*.py"):
        text = source.read_text()
        for pattern in CODE_PATTERNS:
            found.update(pattern.findall(text))
    return found


def test_every_error_code_of_the_server_has_an_exception_class() -> None:
    codes = server_codes()
    assert {"invalid_token", "sealed", "cas_mismatch", "invalid_grant"} <= codes  # the grep works
    assert codes - set(errors.BY_CODE) == set()


def test_an_error_answer_becomes_its_class() -> None:
    sealed = errors.error_from(503, {"detail": "sealed", "code": "sealed"}, {"retry-after": "5"})
    assert isinstance(sealed, errors.Sealed) and isinstance(sealed, errors.Unavailable)
    assert sealed.retry_after == 5.0 and str(sealed) == "sealed: sealed"
    locked = errors.error_from(429, {"error": "invalid_grant", "error_description": "locked"})
    assert isinstance(locked, errors.RateLimited) and locked.code == "invalid_grant"
    invalid = errors.error_from(422, {"detail": [{"loc": ["body", "ttl"], "msg": "bad"}]})
    assert (
        isinstance(invalid, errors.ValidationError) and str(invalid) == "validation_error: ttl: bad"
    )
    unknown = errors.error_from(409, {"detail": "new", "code": "brand_new_code"})
    assert type(unknown) is errors.Conflict and unknown.code == "brand_new_code"
    assert type(errors.error_from(502, None)) is errors.StrongroomError
