"""Roles and their path rules: default deny, `deny` wins, `*` any suffix, `+` one segment.

A rule's path may contain `{username}`, replaced by the caller's username before matching, so
the built-in `user` role is `users/{username}/*` with every capability.

Rules also name modules (strongroom.modules): `module:<module_id>` is the module and
`module:<module_id>/<key name>` one of a user's keys in it (`module:*`, `module:transit/*`...).
Such a pattern never matches a secret path (no secret segment holds a ':'), and only
`module_verdict` reads them: a `deny` refuses the module or key, any other capability grants it.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field


class Capability(enum.StrEnum):
    create = "create"
    read = "read"
    update = "update"
    delete = "delete"
    list = "list"
    deny = "deny"


ALL_CAPABILITIES = frozenset(c for c in Capability if c is not Capability.deny)
NO_CAPABILITIES: frozenset[Capability] = frozenset()
GRANTED_CACHE_SIZE = 4096
MODULE_PREFIX = "module:"

ADMIN, USER, AUDITOR, NO_ROLE = "admin", "user", "auditor", "no_role"
BUILTIN_ROLES = (ADMIN, USER, AUDITOR, NO_ROLE)
# Roles that may read system settings, every session and the audit log.
SYSTEM_READERS = frozenset({ADMIN, AUDITOR})


@dataclass(frozen=True, slots=True)
class Rule:
    path: str
    capabilities: frozenset[Capability]

    def matches(self, path: str, username: str) -> bool:
        return pattern_matches(self.path.replace("{username}", username), path)

    def as_dict(self) -> dict[str, object]:
        return {"path": self.path, "capabilities": sorted(c.value for c in self.capabilities)}


def pattern_matches(pattern: str, path: str) -> bool:
    """`*` at the end matches any suffix (including `/`); `+` matches exactly one segment."""
    pattern_parts = pattern.split("/")
    path_parts = path.split("/")
    for index, part in enumerate(pattern_parts):
        last = index == len(pattern_parts) - 1
        if last and part.endswith("*"):
            rest = "/".join(path_parts[index:])
            return bool(rest) and rest.startswith(part[:-1])
        if index >= len(path_parts):
            return False
        if part == "+":
            if not path_parts[index]:
                return False
        elif part != path_parts[index]:
            return False
    return len(pattern_parts) == len(path_parts)


def literal_prefix(pattern: str) -> str:
    """The part of a pattern before its first wildcard (for narrowing list queries)."""
    cut = len(pattern)
    for marker in ("+", "*"):
        position = pattern.find(marker)
        if position != -1:
            cut = min(cut, position)
    return pattern[:cut]


@dataclass(frozen=True, slots=True)
class Role:
    name: str
    description: str
    rules: tuple[Rule, ...]
    builtin: bool = False
    # What the rules grant on (path, username), worked out once: a role is rebuilt whenever
    # roles or settings change (a new epoch), so an answer never outlives its rules.
    _granted: dict[tuple[str, str], frozenset[Capability]] = field(
        default_factory=dict, compare=False, repr=False
    )
    _module_verdicts: dict[tuple[str, str], bool | None] = field(
        default_factory=dict, compare=False, repr=False
    )

    @property
    def is_admin(self) -> bool:
        return self.name == ADMIN

    @property
    def reads_system(self) -> bool:
        return self.name in SYSTEM_READERS

    def capabilities(self, path: str, username: str) -> frozenset[Capability]:
        if self.is_admin:
            return ALL_CAPABILITIES
        key = (path, username)
        found = self._granted.get(key)
        if found is None:
            if len(self._granted) >= GRANTED_CACHE_SIZE:
                self._granted.clear()
            found = self._granted[key] = self._work_out(path, username)
        return found

    def _work_out(self, path: str, username: str) -> frozenset[Capability]:
        granted: set[Capability] = set()
        for rule in self.rules:
            if rule.matches(path, username):
                if Capability.deny in rule.capabilities:
                    return NO_CAPABILITIES
                granted |= rule.capabilities
        return frozenset(granted)

    def module_verdict(self, resource: str, username: str) -> bool | None:
        """What the rules say of a module resource (`module:<id>` or `module:<id>/<key>`):
        False when a `deny` rule matches (it wins), True when another rule matching it grants
        anything, None when no rule names it. Admins: always True."""
        if self.is_admin:
            return True
        key = (resource, username)
        if key in self._module_verdicts:
            return self._module_verdicts[key]
        verdict: bool | None = None
        for rule in self.rules:
            if rule.path.startswith(MODULE_PREFIX) and rule.matches(resource, username):
                if Capability.deny in rule.capabilities:
                    verdict = False
                    break
                verdict = True
        if len(self._module_verdicts) >= GRANTED_CACHE_SIZE:
            self._module_verdicts.clear()
        self._module_verdicts[key] = verdict
        return verdict

    def allows(self, capability: Capability, path: str, username: str) -> bool:
        return capability in self.capabilities(path, username)

    def list_prefixes(self, username: str) -> list[str] | None:
        """Path prefixes that could hold listable entries; None means anywhere."""
        if self.is_admin:
            return None
        prefixes = []
        for rule in self.rules:
            if Capability.list in rule.capabilities:
                prefix = literal_prefix(rule.path.replace("{username}", username))
                if not prefix:
                    return None
                prefixes.append(prefix)
        return prefixes


USERS_SPACE = "users"
USERNAME_PLACEHOLDER = "{username}"


def administrative_reason(role: Role) -> str | None:
    """Why `role` is administrative, or None (issue 16, finding 13).

    Path rules govern secrets only; the administrative API (users, roles, settings, keys,
    seal, audit log, every session) is the admin role's, and the auditor's to read. So a role
    is administrative when it is `admin` or `auditor`, or when one of its rules grants
    anything (any capability but deny) that can reach another user's personal space
    `users/<name>/...`: a pattern like `*`, `u*`, `users/*`, `users/+/*` or `users/bob/*`.
    `users/{username}/*` (one's own space) and rules elsewhere (`team-a/*`) are not.
    Open registration never hands out an administrative role.
    """
    if role.is_admin:
        return "it is the admin role"
    if role.reads_system:
        return "it reads the audit log, every user's sessions and the settings"
    for rule in role.rules:
        if rule.capabilities - {Capability.deny} and reaches_other_users(rule.path):
            return f"its rule {rule.path!r} reaches other users' personal spaces (users/<name>/)"
    return None


def open_registration_problem(
    registration_open: bool, default_role: str, roles: Mapping[str, Role]
) -> str | None:
    """Why open registration with this default role is refused, or None: anyone could then
    create an account holding an administrative role."""
    role = roles.get(default_role)
    reason = administrative_reason(role) if registration_open and role is not None else None
    if reason is None:
        return None
    return (
        f"auth.registration_open cannot be on while auth.default_role is {default_role!r} "
        f"({reason}): anyone could register with it; choose a role without administrative "
        "rights first, or keep registration closed"
    )


def reaches_other_users(pattern: str) -> bool:
    """Whether a rule pattern can match a path under `users/<name>/` for some name other
    than the holder's own `{username}`."""
    segments = pattern.split("/")
    first = segments[0]
    if len(segments) == 1:  # one segment: only a trailing `*` reaches deeper paths
        return first.endswith("*") and USERS_SPACE.startswith(first[:-1])
    if first not in (USERS_SPACE, "+"):
        return False
    # `users/{username}...` is the holder's own space; anything else in that place (`+`, a
    # name, `bob*`, `{username}-x`) matches some other user's name.
    return segments[1] != USERNAME_PLACEHOLDER


def parse_rules(raw: Iterable[Mapping[str, object]]) -> tuple[Rule, ...]:
    rules = []
    for item in raw:
        capabilities = item.get("capabilities", [])
        if not isinstance(capabilities, list):
            raise ValueError("capabilities must be a list")
        rules.append(Rule(str(item["path"]), frozenset(Capability(c) for c in capabilities)))
    return tuple(rules)


BUILTIN_DEFINITIONS: dict[str, tuple[str, tuple[Rule, ...]]] = {
    ADMIN: ("Superuser: every secret and every administrative endpoint.", ()),
    USER: (
        "Default role: full access to users/<username>/ and what other rules grant.",
        (Rule("users/{username}/*", ALL_CAPABILITIES),),
    ),
    AUDITOR: (
        "Reads the audit log, sessions and settings; lists secrets, never reads a value.",
        (Rule("*", frozenset({Capability.list})),),
    ),
    NO_ROLE: ("Can log in and see itself; nothing else.", ()),
}


def builtin_roles() -> dict[str, Role]:
    return {
        name: Role(name, description, rules, builtin=True)
        for name, (description, rules) in BUILTIN_DEFINITIONS.items()
    }
