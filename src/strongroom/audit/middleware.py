"""Writes the audit record of a request before its response starts.

Pure ASGI, inside the transport guard (which made the request context). Requests that
authenticated (`ctx.principal`) or failed to (`ctx.auth_failed`), and every request that
touches authentication (`touches_authentication`: credentials presented, or an auth route),
get one record, written when the app sends `http.response.start` and before that message
goes on. A request that presented a bearer token but ended before its session check (a
malformed body, an unknown route) is recorded under the token's session, looked up without
consuming a use, or as a failed authentication when the token is not valid. If no sink could store
it and the request is sensitive (`is_sensitive_path`, or `ctx.sensitive` set by the route),
the client gets 503 `audit_unavailable` instead and not one byte of the original response.
When every sink is already known broken, sensitive requests are refused before they run
(see `strongroom.audit.log`). Other requests are unaffected: the health check always answers.
"""

from __future__ import annotations

import asyncio

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from strongroom.audit.log import AuditLog
from strongroom.audit.record import (
    intent_record,
    is_sensitive_path,
    now,
    presents_credentials,
    request_record,
    touches_authentication,
)
from strongroom.auth.dependencies import identify_for_audit
from strongroom.db.intent import no_intent, reset_hook, set_hook
from strongroom.errors import ServiceUnavailable
from strongroom.http.context import SCOPE_KEY, RequestContext
from strongroom.services import Services, ServicesHolder


class AuditUnavailable(ServiceUnavailable):
    def __init__(self) -> None:
        super().__init__(
            "the audit log cannot be written, so this request is refused; retry later",
            code="audit_unavailable",
            retry_after=5,
        )


_UNAVAILABLE_BODY = orjson.dumps(
    {
        "detail": "the audit log cannot be written, so this request is refused; retry later",
        "code": "audit_unavailable",
    }
)
_UNAVAILABLE_START: Message = {
    "type": "http.response.start",
    "status": 503,
    "headers": [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(_UNAVAILABLE_BODY)).encode()),
        (b"retry-after", b"5"),
    ],
}


async def send_unavailable(send: Send) -> None:
    # A fresh dict for each response: the transport guard adds headers to the message.
    await send({**_UNAVAILABLE_START, "headers": list(_UNAVAILABLE_START["headers"])})
    await send({"type": "http.response.body", "body": _UNAVAILABLE_BODY})


class AuditMiddleware:
    def __init__(self, app: ASGIApp, *, holder: ServicesHolder) -> None:
        self.app = app
        self.holder = holder

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        services = self.holder.services
        ctx: RequestContext | None = scope.get(SCOPE_KEY)
        if scope["type"] != "http" or services is None or ctx is None:
            await self.app(scope, receive, send)
            return
        audit = services.audit
        if audit.disabled:
            await self.app(scope, receive, send)
            return
        sensitive = is_sensitive_path(scope["path"]) or presents_credentials(scope)
        if sensitive and not audit.healthy and not await audit.probe():
            await send_unavailable(send)
            return
        await _AuditedExchange(scope, ctx, services, send, sensitive).run(self.app, receive)


class _AuditedExchange:
    """One request's passage: records at response start, withholds a refused response."""

    __slots__ = (
        "audit",
        "blocked",
        "ctx",
        "intent",
        "scope",
        "send",
        "sensitive",
        "services",
        "started",
    )

    def __init__(
        self, scope: Scope, ctx: RequestContext, services: Services, send: Send, sensitive: bool
    ) -> None:
        self.scope = scope
        self.ctx = ctx
        self.services = services
        self.audit: AuditLog = services.audit
        self.send = send
        self.sensitive = sensitive
        self.started = False
        self.blocked = False
        # None: no intent record yet; a future: written (or being written) by the first write.
        self.intent: asyncio.Future[bool] | None = None

    async def run(self, app: ASGIApp, receive: Receive) -> None:
        # The outermost Starlette layer answers 500 for an exception that escapes the app,
        # outside this middleware: record it here as a 500, and a request that ends with no
        # response at all (the client went away) with a null status.
        status: int | None = None
        hook = set_hook(self.write_intent)
        try:
            await app(self.scope, receive, self.send_message)
        except Exception:
            status = 500
            self.ctx.error_code = self.ctx.error_code or "internal_error"
            raise
        finally:
            reset_hook(hook)
            if not self.started:
                await self._record(status)

    async def write_intent(self) -> None:
        """Before the request's first transaction: its intent record, once (db/intent.py).
        Raises `AuditUnavailable` (nothing was written to the database) if no sink took it."""
        if self.started:
            return  # the request record is written: it says everything
        if self.intent is None:
            self.intent = asyncio.get_running_loop().create_future()
            try:
                with no_intent():
                    stored = await self.audit.write(intent_record(self.scope, self.ctx, now()))
            except BaseException:
                self.intent.set_result(False)
                raise
            self.intent.set_result(stored)
        if not await asyncio.shield(self.intent):
            raise AuditUnavailable()

    def _needs_record(self) -> bool:
        ctx = self.ctx
        if ctx.principal is not None or ctx.auth_failed or ctx.audit_anyway:
            return True
        if self.intent is not None:
            return True  # the outcome of a request that wrote
        return touches_authentication(self.scope)

    async def send_message(self, message: Message) -> None:
        if message["type"] == "http.response.start" and not self.started:
            self.started = True
            recorded = await self._record(message["status"])
            if not recorded and (
                self.sensitive or self.ctx.sensitive or self.ctx.principal is not None
            ):
                self.blocked = True
                await send_unavailable(self.send)
                return
        elif self.blocked:
            return  # the original response never leaves
        await self.send(message)

    async def _record(self, status: int | None) -> bool:
        """True when the record is stored, or the request needs none."""
        if not self._needs_record():
            return True
        if self.ctx.principal is None and not self.ctx.auth_failed:
            await identify_for_audit(self.services, self.scope, self.ctx)
        return await self.audit.write(request_record(self.scope, self.ctx, status, now()))
