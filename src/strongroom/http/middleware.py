"""The transport guard: the outermost layer of every request.

It gives the request an id, decides the client IP and scheme (trusting X-Forwarded-* only
from configured proxies), refuses plain HTTP when HTTPS is required, refuses bodies over the
limit before reading them whole, and adds the security headers to every response. Written as
plain ASGI: it runs on every request and must cost next to nothing.
"""

from __future__ import annotations

import itertools
import logging
import secrets
import time
from collections.abc import Callable
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from strongroom.http.context import SCOPE_KEY, RequestContext, client_of, request_id_var
from strongroom.system.registry import RuntimeSettings
from strongroom.ui.security import UI_HEADERS

UI_PREFIX = "/ui"
HEALTH_PATHS = ("/api/v1/sys/health", "/v1/sys/health")  # strongroom's and Vault's
UI_STATIC_PREFIX = "/ui/static/"

log = logging.getLogger(__name__)

# Called once per request when it ends: (scope, context, status, seconds).
Observer = Callable[[Scope, RequestContext, int, float], None]

_STATIC_HEADERS = [
    (b"cache-control", b"no-store"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
]
_HSTS = (b"strict-transport-security", b"max-age=63072000; includeSubDomains")
_REPLACED = {b"cache-control", b"x-content-type-options", b"x-frame-options", b"referrer-policy"}
_BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
# An oversized HTTP/2 body is read and dropped up to this much before the 413 (see
# `_discard_http2_body`); a client sending more gets its answer when its stream is reset.
HTTP2_DISCARD_LIMIT = 64 * 1024 * 1024
# Routes that read their body as a stream, a line at a time (a restore: any size).
STREAMED_BODIES = frozenset({"/api/v1/sys/restore"})

# The routes served without a session (tests/foundation/test_routes.py holds the full list and
# checks it against this). A request elsewhere either carries a token, whose session check
# confirms the settings epoch and re-applies the transport rules when they changed, or is
# refused 401; a request here has no such check, so the guard confirms the epoch itself.
PUBLIC_PREFIXES = (
    "/api/v1/sys/health",
    "/api/v1/sys/unseal",
    "/api/v1/sys/init",
    "/api/v1/sys/seal-status",
    "/api/v1/auth/token/create",
    "/api/v1/auth/token/renew",
    "/api/v1/auth/token/revoke",
    "/api/v1/auth/token/refresh",
    "/api/v1/auth/register",
    "/api/v1/auth/login",
    "/api/v1/token/create",
    "/api/v1/token/renew",
    "/api/v1/token/revoke",
    "/api/v1/auth/github/",
    "/api/v1/openapi.json",
    "/api/v1/docs",
    # The Vault-compatible API's unauthenticated paths (strongroom.vault).
    "/v1/sys/health",
    "/v1/sys/seal-status",
    "/v1/sys/init",
    "/v1/sys/leader",
    "/v1/auth/userpass/login/",
    "/v1/auth/approle/login",
    "/v1/auth/github/login",
    "/v1/sys/wrapping/",
)


def is_public(path: str) -> bool:
    return path.startswith(PUBLIC_PREFIXES)


class TransportGuard:
    """Pure ASGI middleware; `settings()` returns the cached snapshot, `refresh()` an exact one."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        settings: Callable[[], RuntimeSettings],
        refresh: Callable[[], Any],
        max_body: int,
        observe: Observer | None = None,
    ) -> None:
        self.app = app
        self.settings = settings
        self.refresh = refresh
        self.max_body = max_body
        self.observe = observe
        # Request ids: unique, not secret. A random half per process and a counter cost no
        # system call per request (os.urandom does).
        self._id_origin = secrets.token_hex(4)
        self._id_counter = itertools.count(1)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
                return
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = f"{self._id_origin}{next(self._id_counter) & 0xFFFFFFFF:08x}"
        token = request_id_var.set(request_id)
        answer = _Answer(send)
        try:
            await self._guarded(scope, receive, answer, request_id)
        finally:
            if self.observe is not None:
                ctx: RequestContext | None = scope.get(SCOPE_KEY)
                if ctx is not None:
                    self.observe(scope, ctx, answer.status, time.perf_counter() - started)
            request_id_var.reset(token)

    async def _guarded(self, scope: Scope, receive: Receive, send: Send, request_id: str) -> None:
        ctx = self._context(scope, self.settings(), request_id)
        scope[SCOPE_KEY] = ctx
        # The health check answers over plain HTTP too: a load balancer probing a node that
        # serves behind TLS termination (`--tls-disable`) must see it live. It reveals no data.
        plain_ok = scope["path"] in HEALTH_PATHS
        refuse = ctx.scheme != "https" and self.settings().security.require_https and not plain_ok
        if refuse or is_public(scope["path"]):
            # Refusal is the rare path: confirm against the current settings first; and a
            # public route's policy (client IP, scheme) must be today's on every node.
            try:
                await self.refresh()
            except Exception:  # the store is down: keep the cached policy
                log.debug("settings refresh failed; keeping the cached policy", exc_info=True)
            ctx = scope[SCOPE_KEY] = self._context(scope, self.settings(), request_id)
            if ctx.scheme != "https" and self.settings().security.require_https and not plain_ok:
                await _send_error(
                    send,
                    ctx,
                    403,
                    "HTTPS is required: send this request over TLS",
                    "https_required",
                )
                return
        headed = _add_headers(send, ctx, scope["path"])
        # A HEAD answer has no body. Over HTTP/1.1 the server drops it; over HTTP/2 it sent the
        # GET's body as DATA frames, which clients reject as a protocol error.
        headed.head = scope["method"] == "HEAD"
        try:
            await self._with_body_limit(scope, receive, headed, ctx)
        except Exception as exc:
            # The app's own errors are answered further in (http.errors.UnexpectedErrors, so
            # that the audit records the 500); this is the last resort for the layers between,
            # answered here rather than by Starlette's outermost layer, which sits outside this
            # guard: so a 500 carries the security headers and the request id like any answer.
            if headed.started:
                raise
            log.error(
                "unhandled %s on %s %s",
                type(exc).__name__,
                scope["method"],
                scope["path"],
                exc_info=exc,
            )
            await _send_error(send, ctx, 500, "internal error", "internal_error", close=False)

    def _context(self, scope: Scope, settings: RuntimeSettings, request_id: str) -> RequestContext:
        client_ip, scheme = client_of(scope, scope["scheme"], settings.trusted_networks)
        client = scope.get("client")
        peer = client[0] if client else None
        return RequestContext(request_id, peer, client_ip, scheme, time.time())

    async def _with_body_limit(
        self, scope: Scope, receive: Receive, send: Send, ctx: RequestContext
    ) -> None:
        if scope["method"] not in _BODY_METHODS or scope["path"] in STREAMED_BODIES:
            await self.app(scope, receive, send)
            return
        length = None
        for name, value in scope["headers"]:
            if name == b"content-length":
                length = value
                break
        if length is not None:
            if not length.isdigit():
                await _send_error(send, ctx, 400, "invalid Content-Length header", "bad_request")
                return
            if int(length) > self.max_body:
                await _discard_http2_body(scope, receive)
                await _send_error(send, ctx, 413, self._too_large(), "payload_too_large")
                return
            await self.app(scope, receive, send)
            return
        # No declared length (chunked): read at most the limit, then replay it to the app.
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                if message.get("more_body", False):
                    await _discard_http2_body(scope, receive)
                await _send_error(send, ctx, 413, self._too_large(), "payload_too_large")
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        await self.app(scope, replay_body(b"".join(chunks), receive), send)

    def _too_large(self) -> str:
        return f"request body exceeds the limit of {self.max_body} bytes"


class _Answer:
    """A `send` that notes the response's status (500 if the app never started one)."""

    __slots__ = ("send", "status")

    def __init__(self, send: Send) -> None:
        self.send = send
        self.status = 500

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
        await self.send(message)


async def _discard_http2_body(scope: Scope, receive: Receive) -> None:
    """Before a 413 over HTTP/2: read the rest of the body and drop it, up to
    `HTTP2_DISCARD_LIMIT`. HTTP/1.1 closes the connection instead; an HTTP/2 stream cannot, and
    a client sends its whole body (as flow control lets it: the server grants more only as the
    app reads) before it reads the answer. Unread, both sides waited until the client timed out.
    Nothing is kept: memory stays flat whatever the size."""
    if scope.get("http_version") != "2":
        return
    discarded = 0
    while discarded < HTTP2_DISCARD_LIMIT:
        message = await receive()
        if message["type"] != "http.request":
            return
        discarded += len(message.get("body", b""))
        if not message.get("more_body", False):
            return


def replay_body(body: bytes, receive: Receive) -> Receive:
    """A `receive` that hands the app a body already read whole, then the rest of the stream."""
    delivered = False

    async def replay() -> Message:
        nonlocal delivered
        if delivered:
            return await receive()
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


class _HeadedSend:
    """`send` with the security headers added to the response start; notes that it started."""

    __slots__ = ("extra", "head", "replaced", "send", "started")

    def __init__(self, send: Send, extra: list[tuple[bytes, bytes]], replaced: set[bytes]):
        self.send = send
        self.extra = extra
        self.replaced = replaced
        self.started = False
        self.head = False

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.started = True
            headers = [h for h in message.get("headers", []) if h[0] not in self.replaced]
            message["headers"] = headers + self.extra
        elif self.head and message["type"] == "http.response.body" and message.get("body"):
            message = {**message, "body": b""}
        await self.send(message)


def _add_headers(send: Send, ctx: RequestContext, path: str = "") -> _HeadedSend:
    extra = [*_STATIC_HEADERS, (b"x-request-id", ctx.request_id.encode())]
    if ctx.scheme == "https":
        extra.append(_HSTS)
    # The web interface's pages get its content security policy; its static files (served by
    # content hash, nothing secret in them) keep the cache header they were given.
    static = path.startswith(UI_STATIC_PREFIX)
    if path.startswith(UI_PREFIX) or path == "/":
        # (Its referrer policy is same-origin: under no-referrer, browsers send `Origin: null`
        # with the interface's own form posts, and the CSRF check needs the real origin.)
        extra = [h for h in extra if h[0] != b"referrer-policy"] + UI_HEADERS
        if static:
            extra = [h for h in extra if h[0] != b"cache-control"]
    return _HeadedSend(send, extra, _REPLACED - {b"cache-control"} if static else _REPLACED)


async def _send_error(
    send: Send, ctx: RequestContext, status: int, detail: str, code: str, *, close: bool = True
) -> None:
    body = orjson.dumps({"detail": detail, "code": code})
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    if close:
        headers.append((b"connection", b"close"))
    await _add_headers(send, ctx)(
        {"type": "http.response.start", "status": status, "headers": headers}
    )
    await send({"type": "http.response.body", "body": body})
