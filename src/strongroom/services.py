"""The node's long-lived parts, built in the app's lifespan and reached from requests."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.requests import Request

from strongroom.barrier.service import Barrier
from strongroom.config import Config
from strongroom.crypto.passwords import PasswordHasher
from strongroom.db import Database
from strongroom.sessions.store import SessionStore
from strongroom.system.registry import RuntimeSettings
from strongroom.system.runtime import Runtime

if TYPE_CHECKING:
    from strongroom.audit.log import AuditLog


@dataclass
class Services:
    config: Config
    db: Database
    store: SessionStore
    barrier: Barrier
    runtime: Runtime
    passwords: PasswordHasher
    audit: AuditLog
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def settings(self) -> RuntimeSettings:
        return self.runtime.settings


class ServicesHolder:
    """Filled by the lifespan; the middleware is built before it runs and reads through this."""

    def __init__(self) -> None:
        self.services: Services | None = None

    def get(self) -> Services:
        if self.services is None:
            raise RuntimeError("strongroom is not started")
        return self.services

    def settings(self) -> RuntimeSettings:
        return self.services.runtime.settings if self.services else RuntimeSettings()

    async def refresh(self) -> RuntimeSettings:
        if self.services is None:
            return RuntimeSettings()
        return await self.services.runtime.refresh()


async def get_services(request: Request) -> Services:
    # async on purpose: FastAPI runs a plain `def` dependency in a thread pool, per request.
    holder: ServicesHolder = request.app.state.holder
    return holder.get()
