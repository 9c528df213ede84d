"""`client.sessions`: live sessions (never a token)."""

from __future__ import annotations

import builtins
from typing import TYPE_CHECKING, Any

from strongroom_client._core import Call, acollect, collect, copy_docs, paged, route, segment
from strongroom_client.models import Session, build

if TYPE_CHECKING:
    from strongroom_client.aio import AsyncClient
    from strongroom_client.client import Client


def _session(data: Any) -> Session:
    return build(Session, data)


def _params(username: str | None, all_users: bool) -> builtins.list[tuple[str, str]]:
    params = [("username", username)] if username else []
    return params + ([("all", "true")] if all_users else [])


def revoke_call(session_id: str) -> Call[bool]:
    return Call(
        "DELETE", "/auth/sessions/" + segment(session_id), lambda d: bool(d and d.get("revoked"))
    )


class Sessions:
    """Your sessions; admins and auditors see anyone's."""

    def __init__(self, client: Client) -> None:
        self._c = client

    @route("GET", "/auth/sessions")
    def list(self, username: str | None = None, *, all: bool = False) -> builtins.list[Session]:
        """Your live sessions; admins and auditors: `username=` for one user, `all=True` for
        everyone."""
        return collect(self._c, paged("/auth/sessions", _params(username, all)), _session)

    @route("DELETE", "/auth/sessions/{session_id}")
    def revoke(self, session_id: str) -> bool:
        """End a session: your own, or anyone's as admin."""
        return self._c.call(revoke_call(session_id))


class AsyncSessions:
    def __init__(self, client: AsyncClient) -> None:
        self._c = client

    @route("GET", "/auth/sessions")
    async def list(
        self, username: str | None = None, *, all: bool = False
    ) -> builtins.list[Session]:
        return await acollect(self._c, paged("/auth/sessions", _params(username, all)), _session)

    @route("DELETE", "/auth/sessions/{session_id}")
    async def revoke(self, session_id: str) -> bool:
        return await self._c.call(revoke_call(session_id))


copy_docs(AsyncSessions, Sessions)
