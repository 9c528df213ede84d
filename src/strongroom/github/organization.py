"""Pinning the configured organization to its numeric id.

An organization is configured by name (`auth.github_organization`), but membership is checked
by id. The first GitHub login after the name is set resolves it (`GET /orgs/{org}`) and stores
the id as `auth.github_organization_id`, so that a later rename of the organization changes
nothing, and another organization that takes the old name is not let in. Setting a new name
resets the id to 0 (the settings service does that), and the next login pins it afresh.
"""

from __future__ import annotations

import json
import logging
from urllib.parse import quote

from strongroom.db import now
from strongroom.github.client import GitHubApi, GitHubRefused, GitHubUnavailable
from strongroom.github.mapping import parse_org_id
from strongroom.services import Services
from strongroom.system import repository as settings_repo
from strongroom.system.registry import AuthSettings
from strongroom.system.repository import HistoryEntry, StoredSetting

log = logging.getLogger(__name__)

NAME_KEY = "auth.github_organization"
ID_KEY = "auth.github_organization_id"
PINNED_BY = "github-login"


async def pinned_organization_id(
    services: Services, api: GitHubApi, auth: AuthSettings, token: str, request_id: str
) -> int:
    """The organization's id: the pinned one, or resolved now (with `token`) and pinned."""
    if auth.github_organization_id:
        return auth.github_organization_id
    name = auth.github_organization
    try:
        data = await api.get_json(f"/orgs/{quote(name, safe='')}", token)
    except GitHubRefused:
        raise GitHubRefused(
            f"GitHub shows no organization {name!r} (auth.github_organization) to this token"
        ) from None
    return await _store_pin(services, name, parse_org_id(data), request_id)


async def _store_pin(services: Services, name: str, org_id: int, request_id: str) -> int:
    """Pin `org_id` under `name`; the id in force afterwards (a concurrent login's, if first)."""
    stamp = now()
    async with services.db.begin() as conn:
        stored = {row.key: row for row in await settings_repo.load_settings(conn)}
        current = stored.get(NAME_KEY)
        # An admin may have named another organization while GitHub answered: this id belongs
        # to the old name and must not be pinned under the new one.
        if current is None or json.loads(current.value or "null") != name:
            raise GitHubUnavailable("the GitHub organization setting changed during login; retry")
        pinned = stored.get(ID_KEY)
        earlier = json.loads(pinned.value or "0") if pinned is not None else 0
        if isinstance(earlier, int) and earlier:
            return earlier  # another login pinned it first
        await settings_repo.upsert_setting(
            conn, StoredSetting(ID_KEY, json.dumps(org_id), None, stamp, PINNED_BY)
        )
        entry = HistoryEntry(
            0, ID_KEY, json.dumps(0), json.dumps(org_id), stamp, PINNED_BY, request_id
        )
        await settings_repo.add_history(conn, [entry])
    log.info("pinned GitHub organization %r to id %d", name, org_id)
    await services.runtime.changed()
    return org_id
