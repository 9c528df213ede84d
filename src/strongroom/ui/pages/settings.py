"""Settings (admins change them, auditors read them), grouped, with the server's validation."""

from __future__ import annotations

import json
from itertools import groupby
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from strongroom.errors import InvalidInput, StrongroomError
from strongroom.http.context import get_context
from strongroom.policy.rules import ADMIN
from strongroom.system.service import SettingsService
from strongroom.ui.render import page, redirect
from strongroom.ui.routing import ServicesDep, UiAdmin, UiReader, UiRoute, form_of

router = APIRouter(route_class=UiRoute)
GROUP_TITLES = {
    "security": "Security",
    "auth": "Authentication",
    "secrets": "Secrets",
    "general": "General",
    "custom": "Custom",
}


def shown(view: Any) -> str:
    """A setting's value as its form field holds it."""
    value = view.value
    if view.type == "boolean":
        return "true" if value else "false"
    if view.type == "networks":
        return ", ".join(value or [])
    if view.type == "role_map" or isinstance(value, dict | list):
        return json.dumps(value)
    return "" if value is None else str(value)


def typed(kind: str, raw: str) -> Any:
    """The form's text as the API's JSON value for a setting of this type."""
    raw = raw.strip()
    if kind == "boolean":
        return raw == "true"
    if kind == "integer":
        return int(raw) if raw.lstrip("-").isdigit() and len(raw) < 20 else raw
    if kind == "networks":
        return [part.strip() for part in raw.split(",") if part.strip()]
    if kind == "role_map":
        try:
            return json.loads(raw or "{}")
        except ValueError:
            raise InvalidInput(
                'a role map is JSON: {"name": "role", ...}', loc=("body", "value")
            ) from None
    return raw


async def _settings_page(
    request: Request, services: ServicesDep, user: Any, *, status: int = 200, **values: Any
) -> Response:
    views = await SettingsService(services).all()
    groups = [(g, list(items)) for g, items in groupby(views, key=lambda v: v.group)]
    return page(
        request,
        services,
        "settings.html",
        user,
        status=status,
        title="Settings",
        groups=groups,
        titles=GROUP_TITLES,
        shown=shown,
        editable=user.role == ADMIN,
        **values,
    )


@router.get("/ui/settings")
async def settings_page(request: Request, services: ServicesDep, user: UiReader) -> Response:
    """Every runtime setting, by group; admins get a form for each."""
    get_context(request).sensitive = True
    return await _settings_page(request, services, user)


@router.post("/ui/settings")
async def change_setting(request: Request, services: ServicesDep, admin: UiAdmin) -> Response:
    """Set one setting through the settings service (validated by its type, bounds and the rest
    of the configuration); a refusal is shown beside the setting."""
    ctx = get_context(request)
    ctx.sensitive = True
    form = await form_of(request)
    key = form.get("key", "")[:200]
    service = SettingsService(services)
    try:
        kind = (await service.one(key)).type if not key.startswith("custom.") else "string"
        await service.set_one(
            key, typed(kind, form.get("value", "")[:20_000]), admin.username, ctx.request_id
        )
    except StrongroomError as exc:
        return await _settings_page(
            request,
            services,
            admin,
            status=exc.status,
            error_key=key,
            error=exc.detail,
            attempted=form.get("value", "")[:2000],
        )
    ctx.extra["audit"] = {"settings": service.applied}
    return redirect(f"/ui/settings#setting-{key}", "setting-saved")
