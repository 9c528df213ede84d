"""The `/v1/` dispatcher: Vault's paths, envelope and error shapes over strongroom's services.

One FastAPI route takes every `/v1/` request (Vault's paths are not a tree FastAPI's router
can express: `LIST`, `?list=true`, mounts chosen at run time) and hands it to the handler whose
pattern matches. Handlers call the same services as the native API (auth, roles, audit,
barrier, sessions) and return the `data` (or `auth`) of Vault's envelope; errors leave as
Vault's `{"errors": [...]}` with Vault's status codes, a missing path as 404 `{"errors": []}`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from fastapi import APIRouter, Request
from sqlalchemy.exc import DBAPIError
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from strongroom.auth.dependencies import authenticate, header_value
from strongroom.auth.principal import Principal
from strongroom.barrier.service import Sealed
from strongroom.db.engine import DatabaseUnavailable
from strongroom.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    OAuthError,
    StrongroomError,
    Unauthorized,
)
from strongroom.http.context import RequestContext, get_context
from strongroom.http.errors import broken_connection, note_error, outage_error
from strongroom.http.strict_json import StrictJsonError, strict_loads
from strongroom.services import Services, get_services
from strongroom.sessions.store import StoreUnavailable

log = logging.getLogger(__name__)
VAULT_PREFIX = "/v1/"
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "LIST", "HEAD"]
PERMISSION_DENIED = "permission denied"
# What a sealed server still answers (as Vault does); everything else is 503.
ANSWER_SEALED = frozenset({"sys/health", "sys/seal-status", "sys/leader", "sys/init"})
CATCH_ALL = "/v1/{mount}"  # the KV mounts' routes, tried last


@dataclass(frozen=True, slots=True)
class RouteTemplate:
    """What the audit record reads from `scope["route"]`: the Vault path template."""

    path: str


@dataclass(slots=True)
class Reply:
    """A handler's answer: Vault's `data` and/or `auth`, or nothing (204)."""

    data: Any = None
    auth: dict[str, Any] | None = None
    status: int = 200
    lease_duration: int = 0
    renewable: bool = False
    warnings: list[str] | None = None
    # A complete body that is not Vault's envelope (sys/health, seal-status, unwrap).
    raw: Any = None


NO_CONTENT = Reply(status=204)


def vault_token(scope: Scope) -> str | None:
    """A `/v1/` request's token: X-Vault-Token, or Authorization: Bearer."""
    token = header_value(scope, b"x-vault-token")
    if token:
        return token.strip()
    header = header_value(scope, b"authorization")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    return None


@dataclass(slots=True)
class VaultCall:
    """One `/v1/` request as the handlers see it."""

    request: Request
    services: Services
    ctx: RequestContext
    method: str  # GET, POST (PUT is POST), PATCH, DELETE, LIST
    path: str  # after /v1/, no trailing slash
    query: dict[str, str]
    body: dict[str, Any]
    params: dict[str, str] = field(default_factory=dict)
    principal: Principal | None = None

    def token(self) -> str | None:
        """The caller's token: X-Vault-Token, or Authorization: Bearer."""
        return vault_token(self.request.scope)

    async def caller(self) -> Principal:
        """Authenticate the request's token through the one session check (uses counted,
        bound IP, expiry); a missing or bad token is Vault's 403."""
        if self.principal is None:
            token = self.token()
            if token is None:
                self.ctx.auth_failed = False
                raise Forbidden(PERMISSION_DENIED, code="missing_token")
            self.principal = await authenticate(
                self.services, self.request.scope, self.ctx, token=token
            )
        return self.principal


Handler = Callable[[VaultCall], Awaitable[Reply]]


@dataclass(frozen=True, slots=True)
class Route:
    methods: frozenset[str]
    pattern: re.Pattern[str]
    template: str
    handler: Handler


ROUTES: list[Route] = []


def route(template: str, *methods: str) -> Callable[[Handler], Handler]:
    """Register a handler for `template` (Vault path after /v1/, `{name}` one segment,
    `{name:path}` the rest)."""
    regex = re.sub(r"\{(\w+):path\}", r"(?P<\1>.+)", template)
    regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", regex)
    pattern = re.compile(regex)

    def register(handler: Handler) -> Handler:
        ROUTES.append(Route(frozenset(methods), pattern, "/v1/" + template, handler))
        return handler

    return register


def envelope(ctx: RequestContext, reply: Reply) -> dict[str, Any]:
    return {
        "request_id": ctx.request_id,
        "lease_id": "",
        "renewable": reply.renewable,
        "lease_duration": reply.lease_duration,
        "data": reply.data,
        "wrap_info": None,
        "warnings": reply.warnings,
        "auth": reply.auth,
    }


def vault_json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps(body, option=orjson.OPT_NON_STR_KEYS),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


def vault_error(status: int, errors: list[str], headers: dict[str, str] | None = None) -> Response:
    return vault_json({"errors": errors}, status, headers)


def _method(request: Request) -> str:
    method = request.method.upper()
    if method == "PUT":
        return "POST"
    if method == "GET" and request.query_params.get("list", "").lower() in ("true", "1"):
        return "LIST"
    return method


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        # The one JSON reader of every body: NaN/Infinity and integers past 64 bits refused.
        parsed = strict_loads(raw)
    except ValueError as exc:  # json.JSONDecodeError, StrictJsonError
        reason = exc.msg if isinstance(exc, StrictJsonError) else "the body is not valid JSON"
        raise BadRequest(f"failed to parse JSON input: {reason}") from None
    if not isinstance(parsed, dict):
        raise BadRequest("failed to parse JSON input: the body must be a JSON object")
    return parsed


def _find(method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    """The route for `path`; raises 405 when the path is known but not for `method`."""
    allowed = False
    for candidate in ROUTES:
        match = candidate.pattern.fullmatch(path)
        if match is None:
            continue
        if method in candidate.methods:
            if allowed and candidate.template.startswith(CATCH_ALL):
                break  # a known path, not for this method: not a KV path either
            return candidate, match.groupdict()
        allowed = True
    if allowed:
        raise _MethodNotAllowed()
    return None


class _MethodNotAllowed(Exception):
    pass


def error_response(exc: StrongroomError, ctx: RequestContext) -> Response:
    """A StrongroomError in Vault's shape and status codes."""
    note_error(ctx, exc)
    headers = exc.headers()
    headers.pop("WWW-Authenticate", None)
    if isinstance(exc, Unauthorized | Forbidden):
        return vault_error(403, [PERMISSION_DENIED])
    if isinstance(exc, NotFound):
        return vault_error(404, [])
    if isinstance(exc, Sealed):
        return vault_error(503, ["Vault is sealed"], headers)
    if isinstance(exc, Conflict) and exc.code == "cas_mismatch":
        return vault_error(400, ["check-and-set parameter did not match the current version"])
    if isinstance(exc, InvalidInput | Conflict):
        return vault_error(400, [exc.detail])
    return vault_error(exc.status, [exc.detail], headers)


async def dispatch(request: Request) -> Response:
    """Every `/v1/` request."""
    services = await get_services(request)
    ctx = get_context(request)
    ctx.sensitive = True
    path = request.url.path[len(VAULT_PREFIX) :].strip("/")
    if request.method == "HEAD":
        return Response(status_code=200 if path == "sys/health" else 405)
    try:
        method = _method(request)
        found = _find(method, path)
        if found is None:
            return vault_error(404, [])
        chosen, params = found
        if services.barrier.sealed and path not in ANSWER_SEALED:
            raise Sealed()
        request.scope["route"] = RouteTemplate(chosen.template)
        query = {k: v for k, v in request.query_params.items()}
        body = await _body(request) if method in ("POST", "PATCH", "DELETE") else {}
        call = VaultCall(request, services, ctx, method, path, query, body, params)
        if "x-vault-wrap-ttl" in request.headers:
            from strongroom.vault.wrapping import wrap_ttl_of

            wrap_ttl_of(call)  # a bad header is refused before the handler changes anything
        reply = await chosen.handler(call)
        return await _respond(call, reply)
    except _MethodNotAllowed:
        return vault_error(405, ["unsupported operation"])
    except StrongroomError as exc:
        return error_response(exc, ctx)
    except OAuthError as exc:
        ctx.error_code = exc.error
        if exc.status == 429:
            return vault_error(429, [str(exc)], {"Retry-After": str(exc.retry_after or 1)})
        return vault_error(400, [str(exc)])
    except (StoreUnavailable, DatabaseUnavailable) as exc:
        return error_response(outage_error(exc, f"{request.method} {request.url.path}"), ctx)
    except DBAPIError as exc:
        if not broken_connection(exc):
            return _internal_error(request, ctx, exc)
        outage = DatabaseUnavailable(type(exc).__name__)
        return error_response(outage_error(outage, f"{request.method} {request.url.path}"), ctx)
    except Exception as exc:  # a bug: Vault's 500 shape, logged without the request's data
        return _internal_error(request, ctx, exc)


def _internal_error(request: Request, ctx: RequestContext, exc: Exception) -> Response:
    ctx.error_code = "internal_error"
    log.error(
        "unhandled %s on %s %s", type(exc).__name__, request.method, request.url.path, exc_info=exc
    )
    return vault_error(500, ["internal error"])


async def vault_asgi(scope: Scope, receive: Receive, send: Send) -> None:
    """The dispatcher as plain ASGI (the fast lane calls it before FastAPI's router)."""
    response = await dispatch(Request(scope, receive))
    await response(scope, receive, send)


async def _respond(call: VaultCall, reply: Reply) -> Response:
    if reply.raw is not None:
        return vault_json(reply.raw, reply.status)
    if reply.status == 204:
        return Response(status_code=204)
    from strongroom.vault.wrapping import wrap_reply, wrap_ttl_of

    ttl = wrap_ttl_of(call)
    if ttl is not None:
        return vault_json(await wrap_reply(call, reply, ttl))
    return vault_json(envelope(call.ctx, reply), reply.status)


def vault_router() -> APIRouter:
    # The handler modules register their routes on import, in this order: KV's catch-all
    # mount route comes last.
    import importlib

    for name in ("tokens", "auth_methods", "sys_endpoints", "wrapping", "kv"):
        importlib.import_module(f"strongroom.vault.{name}")

    router = APIRouter(include_in_schema=False)
    router.add_api_route("/v1/{rest:path}", dispatch, methods=METHODS, include_in_schema=False)
    return router
