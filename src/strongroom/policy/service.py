"""Managing roles: validation of names and rule patterns, and the guards around built-in and
in-use roles. Every change starts a new config epoch, so every node reloads its roles before
it serves its next request."""

from __future__ import annotations

import re

from sqlalchemy.exc import IntegrityError

from strongroom.errors import Conflict, InvalidInput, NotFound
from strongroom.policy import repository as repo
from strongroom.policy.rules import (
    BUILTIN_ROLES,
    MODULE_PREFIX,
    Role,
    Rule,
    open_registration_problem,
)
from strongroom.policy.schemas import RoleCreate, RoleUpdate, RuleIn
from strongroom.secrets.paths import MAX_DEPTH, MAX_PATH_LENGTH, SEGMENT_CHARS, is_valid_segment
from strongroom.services import Services
from strongroom.system.registry import MODULES_PREFIX, SETTINGS, Kind
from strongroom.users import repository as users_repo

ROLE_NAME = re.compile(r"[a-z][a-z0-9_-]{1,63}")
USERNAME_PLACEHOLDER = "{username}"
# Stands in for a username when checking a pattern's characters (usernames are a-z 0-9 . _ -).
_PLACEHOLDER_STAND_IN = "u"
_PARTIAL = re.compile(rf"[{SEGMENT_CHARS}]*")


def pattern_problem(pattern: str) -> str | None:
    """Why `pattern` is not a valid rule path, or None.

    Segments are those of a secret path (secrets.paths), or `+` (exactly one segment). `*` may
    only end the pattern, alone (`team/*`) or after the start of a segment (`team/app-*`).
    `{username}` may appear inside any segment. `module:` before such a pattern names modules
    and their keys instead of secrets (`module:transit`, `module:totp/*`, `module:*`).
    """
    if pattern.startswith(MODULE_PREFIX):
        rest = pattern[len(MODULE_PREFIX) :]
        if not rest or rest.startswith(MODULE_PREFIX):
            return "name a module after 'module:' (module:transit, module:transit/*, module:*)"
        pattern = rest
    if not pattern:
        return "the pattern is empty"
    if len(pattern) > MAX_PATH_LENGTH:
        return f"a pattern has at most {MAX_PATH_LENGTH} characters"
    if "*" in pattern[:-1]:
        return "'*' is only allowed at the very end of a pattern"
    segments = pattern.split("/")
    if len(segments) > MAX_DEPTH:
        return f"a pattern has at most {MAX_DEPTH} segments"
    for index, segment in enumerate(segments):
        problem = _segment_problem(segment, last=index == len(segments) - 1)
        if problem is not None:
            return problem
    return None


def _segment_problem(segment: str, *, last: bool) -> str | None:
    if segment == "+":
        return None
    if "+" in segment:
        return "'+' must be a whole segment (it matches exactly one segment)"
    text = segment.replace(USERNAME_PLACEHOLDER, _PLACEHOLDER_STAND_IN)
    if last and text.endswith("*"):
        if _PARTIAL.fullmatch(text[:-1]):
            return None
        return f"segment {segment!r} has characters outside letters, digits, '.', '_', '-'"
    if not segment:
        return "empty segment: no leading '/', no '//', no trailing '/' (use '/*')"
    if not is_valid_segment(text):
        return (
            f"segment {segment!r} is not valid: letters, digits, '.', '_', '-' "
            "(not only dots), '+', or '{username}'"
        )
    return None


def _description(text: str) -> str:
    if "\x00" in text:
        raise InvalidInput("NUL is not allowed in a description", loc=("body", "description"))
    return text


def _rules(raw: list[RuleIn]) -> tuple[Rule, ...]:
    rules = []
    for index, item in enumerate(raw):
        problem = pattern_problem(item.path)
        if problem is not None:
            raise InvalidInput(f"invalid pattern: {problem}", loc=("body", "rules", index, "path"))
        rules.append(Rule(item.path, frozenset(item.capabilities)))
    return tuple(rules)


def _refuse_builtin(name: str, action: str) -> None:
    if name in BUILTIN_ROLES:
        raise Conflict(
            f"{name!r} is a built-in role and cannot be {action}; define a new role instead",
            code="builtin_role",
        )


def _known_name(name: str) -> str:
    """A name that cannot be a role's is simply not found (and never reaches the database)."""
    if not ROLE_NAME.fullmatch(name):
        raise NotFound(f"no role named {name!r}")
    return name


async def list_roles(
    services: Services, *, limit: int, cursor: str | None
) -> tuple[list[repo.RoleRecord], str | None]:
    if cursor is not None and not ROLE_NAME.fullmatch(cursor):
        raise InvalidInput(
            "invalid cursor: pass back a next_cursor unchanged", loc=("query", "cursor")
        )
    async with services.db.connect() as conn:
        records = await repo.list_role_records(conn, after=cursor, limit=limit + 1)
    if len(records) > limit:
        return records[:limit], records[limit - 1].role.name
    return records, None


async def get_role(services: Services, name: str) -> repo.RoleRecord:
    async with services.db.connect() as conn:
        record = await repo.get_role_record(conn, _known_name(name))
    if record is None:
        raise NotFound(f"no role named {name!r}")
    return record


async def create_role(services: Services, body: RoleCreate) -> repo.RoleRecord:
    if not ROLE_NAME.fullmatch(body.name):
        raise InvalidInput(
            "a role name is 2-64 characters of a-z, 0-9, '_', '-', starting with a letter",
            loc=("body", "name"),
        )
    _refuse_builtin(body.name, "redefined")
    role = Role(body.name, _description(body.description), _rules(body.rules))
    try:
        async with services.db.begin() as conn:
            await repo.insert_role(conn, role)
    except IntegrityError:
        raise Conflict(f"a role named {body.name!r} exists", code="role_exists") from None
    await services.runtime.changed()
    return await get_role(services, body.name)


async def update_role(services: Services, name: str, body: RoleUpdate) -> repo.RoleRecord:
    _refuse_builtin(name, "changed")
    role = Role(_known_name(name), _description(body.description), _rules(body.rules))
    auth = (await services.runtime.refresh()).auth
    if auth.default_role == name:
        problem = open_registration_problem(auth.registration_open, name, {name: role})
        if problem is not None:
            raise InvalidInput(problem, loc=("body", "rules"))
    async with services.db.begin() as conn:
        if not await repo.update_role(conn, role):
            raise NotFound(f"no role named {name!r}")
    await services.runtime.changed()
    return await get_role(services, name)


def _settings_naming(services: Services, name: str) -> list[str]:
    """Keys of the runtime settings that name the role (default role, GitHub mappings, the
    roles a module is granted to)."""
    settings = services.settings
    found = [
        MODULES_PREFIX + module_id
        for module_id, stored in sorted(settings.modules.items())
        if isinstance(stored, dict) and name in stored.get("roles", ())
    ]
    for key, definition in SETTINGS.items():
        if definition.kind is Kind.role:
            named = settings.value(key) == name
        elif definition.kind is Kind.role_map:
            named = name in settings.value(key).values()
        else:
            continue
        if named:
            found.append(key)
    return found


async def delete_role(services: Services, name: str) -> None:
    """Delete a custom role that no user holds and no setting names (409 otherwise)."""
    _refuse_builtin(name, "deleted")
    _known_name(name)
    await services.runtime.refresh()
    settings = _settings_naming(services, name)
    if settings:
        raise Conflict(
            f"the role {name!r} is named by the setting(s) {', '.join(settings)}; "
            "change them first",
            code="role_in_use",
        )
    async with services.db.begin() as conn:
        holders = await users_repo.count_users(conn, role=name)
        if holders:
            raise Conflict(
                f"{holders} user(s) hold the role {name!r}; give them another role first",
                code="role_in_use",
            )
        if not await repo.delete_role(conn, name):
            raise NotFound(f"no role named {name!r}")
    await services.runtime.changed()
