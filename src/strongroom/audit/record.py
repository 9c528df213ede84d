"""What one audit record says, and which routes must not answer without one.

A request record (`"type": "request"`):

    time          RFC 3339 UTC, microseconds: when the record was written (before the response)
    request_id    the X-Request-Id of the response
    principal     {"user", "role", "session_id"} of the authenticated caller, or null
    attempted_user  the username a failed login presented (null otherwise)
    client_ip     the client address (X-Forwarded-For believed only from trusted proxies)
    method, route, path   the route template (e.g. /api/v1/secrets/{secret_id}) and the concrete
                  path (never the query string)
    secret_id, secret_path   set by the secrets routes
    status        the HTTP status sent (null if the app sent no response)
    outcome       success | denied (401, 403, 429) | error | auth_failed
    error         the machine error code of the response, if any
    token_hmac    HMAC-SHA256 (audit key) of a presented token that failed authentication
    user_agent    the User-Agent header
    details       what the route put in `ctx.extra["audit"]` (e.g. a setting's old and new value,
                  secret values masked by the route), or null

A gap record (`"type": "gap"`) is written to a sink when it writes again after a failure:
`since` (when it began failing) and `missed` (records it could not take).

Records never hold a secret value, password or token. User-controlled strings are clipped and
anything shaped like a strongroom token is masked; JSON escaping keeps control characters and
newlines inside the one line of the record.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.types import Scope

from strongroom.http.context import RequestContext
from strongroom.logs import scrub
from strongroom.timefmt import rfc3339

# Every router is included under this prefix (app.py); FastAPI reports route templates
# relative to the included router, so the prefix is put back for the record.
API_PREFIX = "/api/v1"
MAX_TEXT = 1024
_TOKEN_MARKERS = ("sra_", "srr_")
_DENIED = frozenset({401, 403, 429})

# First path segments under /api/v1 whose routes read or write secrets, credentials or
# settings; see `is_sensitive_path`.
_SENSITIVE_SEGMENTS = frozenset({"secrets", "sys", "roles", "users", "audit", "modules", "token"})
_SENSITIVE_AUTH = frozenset({"token", "github"})
_NEVER_REFUSED = frozenset(
    {"/api/v1/sys/health", "/api/v1/auth/token/revoke", "/api/v1/token/revoke"}
)


# Routes that authenticate (log in, renew, revoke, register, GitHub): every request to them
# is recorded, whatever its outcome.
_AUTH_PREFIXES = ("/api/v1/auth/", "/api/v1/token/", "/api/v1/users/create", "/v1/auth/")
# The Vault-compatible API's paths that always answer, like the native health check.
_VAULT_NEVER_REFUSED = frozenset(
    {"/v1/sys/health", "/v1/sys/seal-status", "/v1/sys/leader", "/v1/sys/init"}
)


def touches_authentication(scope: Scope) -> bool:
    """Whether a request presents credentials (an Authorization header) or goes to a route
    that authenticates: it is recorded whatever becomes of it (issue 16, finding 2) — a
    lock-out's 429, a malformed token or body, a refusal before any session check."""
    if scope["path"].startswith(_AUTH_PREFIXES):
        return True
    return any(name in (b"authorization", b"x-vault-token") for name, _ in scope["headers"])


_UI_SESSION_COOKIE = b"__Host-strongroom-session="


def presents_credentials(scope: Scope) -> bool:
    """Whether a request carries credentials: an Authorization header or the web UI's session
    cookie. With no audit sink able to write, every such request is refused (issue 17,
    finding 4), except token revocation (it only takes access away) and the health check."""
    if scope["path"] in _NEVER_REFUSED:
        return False
    for name, value in scope["headers"]:
        if name == b"authorization" or (name == b"cookie" and _UI_SESSION_COOKIE in value):
            return True
    return False


def intent_record(scope: Scope, ctx: RequestContext, at: float) -> dict[str, Any]:
    """The record a request writes before its first database transaction (db/intent.py):
    what it is about to do, by whom; its `request` record follows with the outcome."""
    record = request_record(scope, ctx, None, at)
    record.update(type="intent", outcome=None)
    return record


def is_sensitive_path(path: str) -> bool:
    """Whether a request to `path` must be refused (503) when no audit sink can write.

    The rule: under /api/v1, the first segment is one of secrets, sys, roles, users, audit,
    modules or token (the alias of auth/token), or it is auth/token/... or auth/github/...
    (credentials are issued). Under /v1 (the Vault-compatible API) every path but health,
    seal-status and leader. Two exceptions always answer: the health check, and token
    revocation (it only takes access away, and must work while the audit log is down).
    Routes can also mark themselves with `ctx.sensitive = True`.
    """
    if path.startswith("/v1/"):
        # The Vault-compatible API reads and writes secrets and credentials throughout.
        return path.rstrip("/") not in _VAULT_NEVER_REFUSED
    if not path.startswith("/api/v1/") or path in _NEVER_REFUSED:
        return False
    first, _, rest = path[8:].partition("/")
    if first in _SENSITIVE_SEGMENTS:
        return True
    return first == "auth" and rest.partition("/")[0] in _SENSITIVE_AUTH


def parse_time(value: str) -> float:
    """Unix seconds from RFC 3339 (naive = UTC) or a number of Unix seconds; else ValueError."""
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        if not math.isfinite(seconds):
            raise ValueError("not a finite number of seconds")
        return seconds
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def outcome_of(ctx: RequestContext, status: int | None) -> str:
    if ctx.auth_failed:
        return "auth_failed"
    if status is None or status >= 500:
        return "error"
    if status < 400:
        return "success"
    return "denied" if status in _DENIED else "error"


def _text(value: str | None, limit: int = MAX_TEXT) -> str | None:
    """A user-controlled string made safe to record: clipped, token-shaped parts masked."""
    if value is None:
        return None
    if len(value) > limit:
        value = value[:limit] + "...[clipped]"
    if any(marker in value for marker in _TOKEN_MARKERS):
        value = scrub(value)
    return value


def _user_agent(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"user-agent":
            # Some clients put credentials anywhere: mask "Bearer ..." here too.
            return scrub(_text(value.decode("latin-1"), 256) or "")
    return None


def _route(scope: Scope, path: str) -> str | None:
    template: str | None = getattr(scope.get("route"), "path", None)
    if template is not None and path.startswith(API_PREFIX) and not template.startswith(API_PREFIX):
        template = API_PREFIX + template
    return template


def request_record(
    scope: Scope, ctx: RequestContext, status: int | None, at: float
) -> dict[str, Any]:
    """The record of one request, as written to every sink."""
    principal = ctx.principal
    path: str = scope["path"]
    return {
        "time": rfc3339(at),
        "type": "request",
        "request_id": ctx.request_id,
        "principal": None
        if principal is None
        else {
            "user": principal.username,
            "role": principal.role,
            "session_id": principal.session_id,
        },
        "attempted_user": _text(ctx.attempted_username, 256),
        "client_ip": ctx.client_ip,
        "method": scope["method"],
        "route": _route(scope, path),
        "path": _text(path),
        "secret_id": _text(ctx.secret_id, 128),
        "secret_path": _text(ctx.secret_path),
        "status": status,
        "outcome": outcome_of(ctx, status),
        "error": ctx.error_code,
        "token_hmac": ctx.token_hmac,
        "user_agent": _user_agent(scope),
        "details": ctx.extra.get("audit"),
    }


def gap_record(since: float, missed: int, at: float) -> dict[str, Any]:
    """Written first when a sink works again: the interval and count of records it lacks."""
    return {"time": rfc3339(at), "type": "gap", "since": rfc3339(since), "missed": missed}


def now() -> float:
    return time.time()


def dump(record: Mapping[str, Any], *, sort_keys: bool = False) -> bytes:
    """One record as compact JSON (UTF-8, control characters escaped).

    A string that is not valid Unicode (a lone surrogate from some JSON body), an integer past
    64 bits or a non-string key would make the encoder fail; such a record is written with
    those values escaped or turned into strings instead of being lost.
    """
    option = orjson.OPT_SORT_KEYS if sort_keys else 0
    try:
        return orjson.dumps(record, option=option, default=str)
    except orjson.JSONEncodeError:
        return orjson.dumps(_sanitized(record), option=option, default=str)


def _sanitized(value: Any) -> Any:
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, int) and not -(2**63) <= value < 2**64:
        return str(value)  # JSON numbers past 64 bits are not portable
    if isinstance(value, Mapping):
        return {str(_sanitized(k)): _sanitized(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_sanitized(item) for item in value]
    return value
