"""Sessions: your own, everyone's for admins and auditors; revoke."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from strongroom.auth.sessions import list_sessions, revoke_session_of
from strongroom.policy.rules import SYSTEM_READERS
from strongroom.ui.render import page, redirect
from strongroom.ui.routing import ServicesDep, UiRoute, UiUser

router = APIRouter(route_class=UiRoute)


@router.get("/ui/sessions")
async def sessions_page(request: Request, services: ServicesDep, user: UiUser) -> Response:
    """The live sessions: yours, or (admins and auditors, `?all=1`) everyone's."""
    everyone = request.query_params.get("all") == "1" and user.role in SYSTEM_READERS
    cursor = request.query_params.get("cursor") or None
    found = await list_sessions(
        services, user, username=None, all_users=everyone, limit=100, cursor=cursor
    )
    return page(
        request,
        services,
        "sessions.html",
        user,
        title="Sessions",
        sessions=found.items,
        next_cursor=found.next_cursor,
        everyone=everyone,
        can_see_all=user.role in SYSTEM_READERS,
    )


@router.post("/ui/sessions/{session_id}/revoke")
async def revoke(
    session_id: str, request: Request, services: ServicesDep, user: UiUser
) -> Response:
    """Revoke a session: your own, or anyone's as admin."""
    await revoke_session_of(services, user, session_id[:64])
    if session_id == user.session_id:
        request.state.logged_out = True
        return redirect("/ui/login", "logged-out")
    back = "/ui/sessions?all=1" if request.query_params.get("all") == "1" else "/ui/sessions"
    return redirect(back, "revoked")
