"""Every runtime setting in one place: key, type, default, bounds, group and description.

Runtime settings live in the database and change through `/api/v1/sys/*` without a restart.
Each group is a frozen dataclass, so code reads `settings.security.access_token_ttl` with its
type known; the registry (`SETTINGS`) is derived from those dataclasses, and the README's
settings table is generated from it (`strongroom settings-table`).
"""

from __future__ import annotations

import dataclasses
import enum
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from strongroom.system.values import parse_duration, parse_networks

DAY = 86400


class Kind(enum.StrEnum):
    duration = "duration"
    integer = "integer"
    boolean = "boolean"
    string = "string"
    url = "url"
    networks = "networks"
    role = "role"
    role_map = "role_map"
    secret = "secret"


@dataclass(frozen=True, slots=True)
class Spec:
    kind: Kind
    description: str
    minimum: int | None = None
    maximum: int | None = None
    max_length: int = 1024


def setting(
    default: Any,
    kind: Kind,
    description: str,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
    max_length: int = 1024,
) -> Any:
    spec = Spec(kind, description, minimum, maximum, max_length)
    if isinstance(default, dict):
        frozen = MappingProxyType(dict(default))
        return field(default_factory=lambda: frozen, metadata={"spec": spec})
    return field(default=default, metadata={"spec": spec})


class SecretText:
    """A secret-typed setting value: never printed, compared or serialised in clear."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def __repr__(self) -> str:
        return "SecretText(***)" if self._value else "SecretText('')"

    def __bool__(self) -> bool:
        return bool(self._value)

    def reveal(self) -> str:
        return self._value


@dataclass(frozen=True, slots=True)
class SecuritySettings:
    access_token_ttl: int = setting(
        900, Kind.duration, "Lifetime of an access token.", minimum=1, maximum=30 * DAY
    )
    max_token_ttl: int = setting(
        DAY,
        Kind.duration,
        "Largest access-token `ttl` a client may request at login.",
        minimum=1,
        maximum=365 * DAY,
    )
    refresh_token_ttl: int = setting(
        7 * DAY, Kind.duration, "Lifetime of a refresh token.", minimum=1, maximum=365 * DAY
    )
    idle_timeout: int = setting(
        DAY,
        Kind.duration,
        "A session unused for this long ends (0: no idle timeout).",
        minimum=0,
        maximum=365 * DAY,
    )
    max_session_lifetime: int = setting(
        30 * DAY,
        Kind.duration,
        "Absolute lifetime of a session; renewals never extend it.",
        minimum=60,
        maximum=3650 * DAY,
    )
    bind_ip_default: bool = setting(
        False, Kind.boolean, "Bind new sessions to the login IP unless the client asks otherwise."
    )
    bind_ip_required: bool = setting(
        False, Kind.boolean, "Every session is bound to its login IP; `bind_ip=false` is refused."
    )
    max_uses_limit: int = setting(
        1_000_000,
        Kind.integer,
        "Largest `max_uses` a client may request.",
        minimum=1,
        maximum=1_000_000_000,
    )
    one_time_tokens_allowed: bool = setting(
        True, Kind.boolean, "Clients may ask for one-time tokens."
    )
    require_https: bool = setting(
        True, Kind.boolean, "Refuse requests that did not arrive over TLS (403 https_required)."
    )
    trusted_proxies: tuple[str, ...] = setting(
        (),
        Kind.networks,
        "Addresses or CIDR networks whose X-Forwarded-For / X-Forwarded-Proto are believed.",
    )
    login_failure_threshold: int = setting(
        10,
        Kind.integer,
        "Failed logins for one account that trigger a lock-out.",
        minimum=1,
        maximum=1000,
    )
    login_ip_failure_threshold: int = setting(
        50,
        Kind.integer,
        "Failed logins from one IP (IPv6: one /64) that trigger a lock-out.",
        minimum=1,
        maximum=100000,
    )
    login_failure_window: int = setting(
        900, Kind.duration, "Window in which failed logins are counted.", minimum=1, maximum=DAY
    )
    login_lockout: int = setting(
        900, Kind.duration, "How long a lock-out lasts.", minimum=1, maximum=7 * DAY
    )
    password_min_length: int = setting(
        12, Kind.integer, "Minimum length of a password.", minimum=8, maximum=256
    )

    def problems(self) -> list[str]:
        found = []
        if self.access_token_ttl > self.refresh_token_ttl:
            found.append("security.access_token_ttl must not exceed security.refresh_token_ttl")
        if self.refresh_token_ttl > self.max_session_lifetime:
            found.append("security.refresh_token_ttl must not exceed security.max_session_lifetime")
        if self.access_token_ttl > self.max_token_ttl:
            found.append("security.access_token_ttl must not exceed security.max_token_ttl")
        if self.max_token_ttl > self.max_session_lifetime:
            found.append("security.max_token_ttl must not exceed security.max_session_lifetime")
        if self.bind_ip_required and not self.bind_ip_default:
            found.append("security.bind_ip_default must be on when security.bind_ip_required is")
        return found


@dataclass(frozen=True, slots=True)
class AuthSettings:
    password_login_enabled: bool = setting(True, Kind.boolean, "Allow the password grant.")
    registration_open: bool = setting(
        False, Kind.boolean, "Anyone may create an account (with the default role)."
    )
    default_role: str = setting("user", Kind.role, "Role given to self-registered users.")
    github_enabled: bool = setting(False, Kind.boolean, "Allow GitHub login.")
    github_organization: str = setting(
        "", Kind.string, "GitHub organization (login) whose members may log in.", max_length=100
    )
    github_organization_id: int = setting(
        0,
        Kind.integer,
        "Numeric id the organization is pinned to (resolved when the organization is set).",
        minimum=0,
        maximum=2**53,
    )
    github_base_url: str = setting(
        "https://api.github.com",
        Kind.url,
        "GitHub API base URL (GitHub Enterprise: https://HOST/api/v3).",
    )
    github_web_base_url: str = setting(
        "https://github.com", Kind.url, "GitHub web base URL for the OAuth browser flow."
    )
    github_team_roles: Mapping[str, str] = setting(
        {}, Kind.role_map, "GitHub team (name or slug) to strongroom role."
    )
    github_user_roles: Mapping[str, str] = setting(
        {}, Kind.role_map, "GitHub login to strongroom role (beats team roles)."
    )
    github_default_role: str = setting(
        "", Kind.role, "Role for members with no mapping; empty refuses them."
    )
    github_client_id: str = setting("", Kind.string, "OAuth app client id (browser login).")
    github_client_secret: SecretText = setting(  # noqa: RUF009 - SecretText is immutable
        SecretText(""), Kind.secret, "OAuth app client secret (stored encrypted, always masked)."
    )
    github_redirect_url: str = setting(
        "", Kind.url, "Public URL of /api/v1/auth/github/callback, as registered with GitHub."
    )

    def problems(self) -> list[str]:
        found = []
        if self.github_enabled and not self.github_organization:
            found.append("auth.github_organization is required when auth.github_enabled is on")
        return found


@dataclass(frozen=True, slots=True)
class SecretsSettings:
    default_ttl: int = setting(
        0, Kind.duration, "TTL of a secret written without one (0: no expiry).", minimum=0
    )
    max_ttl: int = setting(
        0, Kind.duration, "Largest TTL a secret may have (0: no limit).", minimum=0
    )
    max_versions: int = setting(
        10,
        Kind.integer,
        "Versions kept per secret; older ones are destroyed.",
        minimum=1,
        maximum=1000,
    )
    max_value_bytes: int = setting(
        65536,
        Kind.integer,
        "Largest secret value (bytes of JSON/UTF-8).",
        minimum=1,
        maximum=900_000,
    )
    max_metadata_entries: int = setting(
        32, Kind.integer, "Most metadata entries per secret.", minimum=0, maximum=256
    )

    def problems(self) -> list[str]:
        if self.max_ttl and self.default_ttl > self.max_ttl:
            return ["secrets.default_ttl must not exceed secrets.max_ttl"]
        return []


@dataclass(frozen=True, slots=True)
class GeneralSettings:
    cluster_name: str = setting(
        "strongroom", Kind.string, "Name shown by health and the UI.", max_length=100
    )
    login_banner: str = setting(
        "", Kind.string, "Text shown to users before they log in.", max_length=2000
    )

    def problems(self) -> list[str]:
        return []


METRICS_ACCESS = ("open", "token", "off")


@dataclass(frozen=True, slots=True)
class MetricsSettings:
    access: str = setting(
        "token",
        Kind.string,
        "Who may read GET /metrics: open (anyone), token (a bearer token of an admin or "
        "auditor), off (no endpoint and no counting).",
        max_length=5,
    )

    def problems(self) -> list[str]:
        if self.access not in METRICS_ACCESS:
            return [f"metrics.access must be one of {', '.join(METRICS_ACCESS)}"]
        return []


def parse_lead_times(text: str) -> tuple[int, ...]:
    """`"7d,1d,1h"` -> (604800, 86400, 3600): distinct positive durations, longest first;
    `ValueError` with a message otherwise."""
    found: set[int] = set()
    for part in text.split(","):
        if part.strip():
            seconds = parse_duration(part.strip())
            if seconds <= 0:
                raise ValueError("lead times are positive durations such as 7d, 1d, 1h")
            found.add(seconds)
    if len(found) > 10:
        raise ValueError("at most 10 lead times")
    return tuple(sorted(found, reverse=True))


def is_loopback_url(url: str) -> bool:
    host = (urlsplit(url).hostname or "").strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True, slots=True)
class NotificationsSettings:
    webhook_url: str = setting(
        "",
        Kind.url,
        "Where expiry notices are POSTed (https://; http:// only to a loopback address); "
        "empty: no notices.",
    )
    webhook_secret: SecretText = setting(  # noqa: RUF009 - SecretText is immutable
        SecretText(""),
        Kind.secret,
        "HMAC-SHA256 key of the X-Strongroom-Signature header (stored encrypted, masked).",
    )
    lead_times: str = setting(
        "7d,1d,1h",
        Kind.string,
        "How long before a secret's expiry notices are sent, e.g. '7d,1d,1h' (and one at expiry).",
        max_length=200,
    )

    def lead_seconds(self) -> tuple[int, ...]:
        try:
            return parse_lead_times(self.lead_times)
        except ValueError:
            return ()

    def problems(self) -> list[str]:
        found = []
        try:
            parse_lead_times(self.lead_times)
        except ValueError as exc:
            found.append(f"notifications.lead_times: {exc}")
        url = self.webhook_url
        if url and urlsplit(url).scheme == "http" and not is_loopback_url(url):
            found.append(
                "notifications.webhook_url: plain http:// is accepted only for a loopback "
                "receiver (127.0.0.1, ::1, localhost); use https://"
            )
        return found


GROUPS: dict[str, type[Any]] = {
    "security": SecuritySettings,
    "auth": AuthSettings,
    "secrets": SecretsSettings,
    "general": GeneralSettings,
    "metrics": MetricsSettings,
    "notifications": NotificationsSettings,
}
CUSTOM_PREFIX = "custom."
# Module policies (strongroom.modules.policy): `modules.<module_id>` → {"available", "roles"},
# set through /api/v1/sys/modules, kept and versioned like every other setting.
MODULES_PREFIX = "modules."
MAX_CUSTOM_VALUE_CHARS = 4096


@dataclass(frozen=True, slots=True)
class SettingDef:
    key: str
    group: str
    name: str
    spec: Spec
    default: Any

    @property
    def kind(self) -> Kind:
        return self.spec.kind

    @property
    def secret(self) -> bool:
        return self.spec.kind is Kind.secret

    def parse(self, raw: Any, role_names: frozenset[str]) -> Any:
        """The typed value of `raw`; `ValueError` with a message for the caller otherwise."""
        return _PARSERS[self.kind](self, raw, role_names)

    def to_json(self, value: Any) -> Any:
        if self.secret:
            return value.reveal() if isinstance(value, SecretText) else str(value)
        if isinstance(value, Mapping):
            return dict(value)
        if isinstance(value, tuple):
            return list(value)
        return value

    def public(self, value: Any) -> Any:
        """The value as shown over the API and in history: secrets masked."""
        if self.secret:
            return "********" if value else ""
        return self.to_json(value)


def _bounded_int(definition: SettingDef, raw: Any, _roles: frozenset[str]) -> int:
    if definition.kind is Kind.duration:
        value = parse_duration(raw)
    elif isinstance(raw, bool) or not isinstance(raw, int):
        raise ValueError("must be an integer")
    else:
        value = raw
    spec = definition.spec
    if spec.minimum is not None and value < spec.minimum:
        raise ValueError(f"must be at least {spec.minimum}")
    if spec.maximum is not None and value > spec.maximum:
        raise ValueError(f"must be at most {spec.maximum}")
    return value


def _boolean(_definition: SettingDef, raw: Any, _roles: frozenset[str]) -> bool:
    if not isinstance(raw, bool):
        raise ValueError("must be true or false")
    return raw


def _string(definition: SettingDef, raw: Any, _roles: frozenset[str]) -> str:
    if not isinstance(raw, str):
        raise ValueError("must be a string")
    if len(raw) > definition.spec.max_length:
        raise ValueError(f"must be at most {definition.spec.max_length} characters")
    if any(ord(ch) < 32 and ch not in "\n\t" for ch in raw):
        raise ValueError("must not contain control characters")
    return raw


def _url(definition: SettingDef, raw: Any, roles: frozenset[str]) -> str:
    text = _string(definition, raw, roles).rstrip("/")
    if text:
        parts = urlsplit(text)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise ValueError("must be an https:// URL")
        if parts.scheme == "http" and not _loopback(parts.hostname):
            # Tokens, OAuth codes and the client secret travel to these URLs.
            raise ValueError(
                "must be an https:// URL: http:// would send tokens in clear "
                "(allowed only for a loopback host: localhost, 127.0.0.0/8, ::1)"
            )
    return text


def _loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _networks(_definition: SettingDef, raw: Any, _roles: frozenset[str]) -> tuple[str, ...]:
    if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
        raise ValueError("must be a list of IP addresses or CIDR networks")
    return tuple(str(network) for network in parse_networks(raw))


def _role(definition: SettingDef, raw: Any, roles: frozenset[str]) -> str:
    text = _string(definition, raw, roles)
    if text and text not in roles:
        raise ValueError(f"unknown role {text!r}; roles: {', '.join(sorted(roles))}")
    if not text and definition.name == "default_role":
        raise ValueError("must name a role")
    return text


def _role_map(_definition: SettingDef, raw: Any, roles: frozenset[str]) -> Mapping[str, str]:
    if not isinstance(raw, dict):
        raise ValueError("must be an object mapping names to roles")
    result = {}
    for name, role in raw.items():
        if not isinstance(role, str) or role not in roles:
            raise ValueError(f"{name!r} maps to unknown role {role!r}")
        if not name.strip() or len(name) > 100:
            raise ValueError("names must be 1 to 100 characters")
        result[name.strip().lower()] = role
    return MappingProxyType(result)


def _secret(definition: SettingDef, raw: Any, roles: frozenset[str]) -> SecretText:
    return SecretText(_string(definition, raw, roles))


_PARSERS = {
    Kind.duration: _bounded_int,
    Kind.integer: _bounded_int,
    Kind.boolean: _boolean,
    Kind.string: _string,
    Kind.url: _url,
    Kind.networks: _networks,
    Kind.role: _role,
    Kind.role_map: _role_map,
    Kind.secret: _secret,
}


def _definitions() -> dict[str, SettingDef]:
    found: dict[str, SettingDef] = {}
    for group, cls in GROUPS.items():
        defaults = cls()
        for item in dataclasses.fields(cls):
            key = f"{group}.{item.name}"
            found[key] = SettingDef(
                key, group, item.name, item.metadata["spec"], getattr(defaults, item.name)
            )
    return found


SETTINGS: dict[str, SettingDef] = _definitions()


@dataclass(frozen=True, slots=True)
class RuntimeSettings:
    """One consistent snapshot of every runtime setting, tagged with the epoch it was read at."""

    security: SecuritySettings = field(default_factory=SecuritySettings)
    auth: AuthSettings = field(default_factory=AuthSettings)
    secrets: SecretsSettings = field(default_factory=SecretsSettings)
    general: GeneralSettings = field(default_factory=GeneralSettings)
    metrics: MetricsSettings = field(default_factory=MetricsSettings)
    notifications: NotificationsSettings = field(default_factory=NotificationsSettings)
    custom: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    # Stored module policies by module id (raw JSON objects; read by strongroom.modules).
    modules: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    epoch: str = ""
    trusted_networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()

    def value(self, key: str) -> Any:
        if key.startswith(CUSTOM_PREFIX):
            return self.custom.get(key)
        if key.startswith(MODULES_PREFIX):
            return self.modules.get(key[len(MODULES_PREFIX) :])
        definition = SETTINGS[key]
        return getattr(getattr(self, definition.group), definition.name)

    def problems(self) -> list[str]:
        return [problem for group in GROUPS for problem in getattr(self, group).problems()]

    @classmethod
    def build(
        cls,
        values: Mapping[str, Any],
        custom: Mapping[str, Any],
        epoch: str,
        modules: Mapping[str, Any] | None = None,
    ) -> RuntimeSettings:
        """A snapshot from typed values by key (missing keys take their defaults)."""
        groups: dict[str, Any] = {}
        for group, group_cls in GROUPS.items():
            prefix = group + "."
            groups[group] = group_cls(
                **{
                    key[len(prefix) :]: value
                    for key, value in values.items()
                    if key.startswith(prefix)
                }
            )
        security: SecuritySettings = groups["security"]
        return cls(
            **groups,
            custom=MappingProxyType(dict(custom)),
            modules=MappingProxyType(dict(modules or {})),
            epoch=epoch,
            trusted_networks=parse_networks(security.trusted_proxies),
        )
