"""System endpoints: runtime settings (admins write, auditors read), key rotation.
The seal's own routes (init, unseal, seal, rekey) are in strongroom.seal.endpoints."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Query, Request

from strongroom.auth.dependencies import AdminPrincipal, ServicesDep, SystemReader
from strongroom.errors import InvalidInput
from strongroom.http.context import get_context
from strongroom.http.strict_json import StrictJsonRoute
from strongroom.system.schemas import (
    AuthUpdate,
    HistoryItem,
    HistoryPage,
    Rotated,
    SecurityUpdate,
    SettingOut,
    SettingSet,
    SettingsOut,
)
from strongroom.system.service import SettingsService
from strongroom.timefmt import rfc3339

# History ids are an INTEGER column (32 bits on PostgreSQL).
HISTORY_ID_MAX = 2**31 - 1

router = APIRouter(route_class=StrictJsonRoute, tags=["system"])


def _sensitive(request: Request) -> str:
    ctx = get_context(request)
    ctx.sensitive = True
    return ctx.request_id


@router.get("/sys/settings", response_model=SettingsOut)
async def list_settings(
    request: Request, _reader: SystemReader, services: ServicesDep
) -> SettingsOut:
    """Every runtime setting with its value, default, type, group, bounds and last change.
    Values of secret-typed settings are masked."""
    _sensitive(request)
    return SettingsOut(settings=[SettingOut.of(v) for v in await SettingsService(services).all()])


@router.get("/sys/settings/history", response_model=HistoryPage)
async def settings_history(
    request: Request,
    _reader: SystemReader,
    services: ServicesDep,
    key: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(max_length=10, pattern=r"^[0-9]+$")] = None,
) -> HistoryPage:
    """Who changed which setting when, newest first; secret values masked."""
    _sensitive(request)
    if cursor is not None and int(cursor) > HISTORY_ID_MAX:
        raise InvalidInput("invalid cursor: pass a next_cursor unchanged", loc=("query", "cursor"))
    entries = await SettingsService(services).history(
        key, int(cursor) if cursor else None, limit + 1
    )
    page = entries[:limit]
    return HistoryPage(
        items=[
            HistoryItem(
                id=e.id,
                key=e.key,
                old_value=json.loads(e.old_value) if e.old_value else None,
                new_value=json.loads(e.new_value) if e.new_value else None,
                changed_at=rfc3339(e.changed_at) or "",
                changed_by=e.changed_by,
                request_id=e.request_id,
            )
            for e in page
        ],
        next_cursor=str(page[-1].id) if len(entries) > limit else None,
    )


@router.get("/sys/setting/{setting_key}", response_model=SettingOut)
async def get_setting(
    setting_key: str, request: Request, _reader: SystemReader, services: ServicesDep
) -> SettingOut:
    """One setting; 404 for an unknown key."""
    _sensitive(request)
    return SettingOut.of(await SettingsService(services).one(setting_key))


@router.post("/sys/setting", response_model=SettingOut)
async def set_setting(
    body: SettingSet, request: Request, admin: AdminPrincipal, services: ServicesDep
) -> SettingOut:
    """Set one known setting (validated by its type and bounds, and with the rest of the
    configuration) or a free `custom.*` key. Unknown keys: 422 listing the valid ones."""
    request_id = _sensitive(request)
    service = SettingsService(services)
    view = await service.set_one(body.key, body.value, admin.username, request_id)
    get_context(request).extra["audit"] = {"settings": service.applied}
    return SettingOut.of(view)


async def _update_group(
    group: str, changes: dict[str, object], request: Request, actor: str, services: ServicesDep
) -> SettingsOut:
    request_id = _sensitive(request)
    if not changes:
        raise InvalidInput(f"name at least one {group} setting to change", loc=("body",))
    service = SettingsService(services)
    views = await service.update_group(group, changes, actor, request_id)
    get_context(request).extra["audit"] = {"settings": service.applied}
    return SettingsOut(settings=[SettingOut.of(v) for v in views])


@router.post("/sys/security", response_model=SettingsOut)
async def update_security(
    body: SecurityUpdate,  # type: ignore[valid-type]
    request: Request,
    admin: AdminPrincipal,
    services: ServicesDep,
) -> SettingsOut:
    """Change any part of the security policy at once: token TTLs, idle timeout, lifetime, IP
    binding, max uses, one-time tokens, HTTPS, trusted proxies, lock-out, password length.
    Validated as a whole (e.g. access TTL <= refresh TTL <= maximum lifetime); all or nothing."""
    changes = body.model_dump(exclude_unset=True)  # type: ignore[attr-defined]
    return await _update_group("security", changes, request, admin.username, services)


@router.post("/sys/auth", response_model=SettingsOut)
async def update_auth(
    body: AuthUpdate,  # type: ignore[valid-type]
    request: Request,
    admin: AdminPrincipal,
    services: ServicesDep,
) -> SettingsOut:
    """Change any part of the auth configuration at once: password login, registration and
    default role, GitHub login (organization, URLs, team and user role maps, OAuth client).
    Validated as a whole; all or nothing."""
    changes = body.model_dump(exclude_unset=True)  # type: ignore[attr-defined]
    return await _update_group("auth", changes, request, admin.username, services)


@router.post("/sys/rotate", response_model=Rotated)
async def rotate_key(request: Request, _admin: AdminPrincipal, services: ServicesDep) -> Rotated:
    """Add a data-key version: new writes use it, every older version stays readable."""
    _sensitive(request)
    version = await services.barrier.rotate()
    await services.runtime.changed()
    return Rotated(data_key_version=version)
