"""Rendering pages: the Jinja2 environment and what every page's template is given."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from strongroom.auth.principal import Principal
from strongroom.policy.rules import ADMIN, SYSTEM_READERS
from strongroom.services import Services
from strongroom.timefmt import rfc3339
from strongroom.ui.assets import asset_url
from strongroom.ui.security import CSRF_FIELD, THEME_COOKIE, THEMES, csrf_token

_env = Environment(
    loader=PackageLoader("strongroom.ui", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)

# Messages after a redirect are chosen from this list by key, never echoed from the URL.
NOTICES = {
    "created": "Secret created.",
    "saved": "New version saved.",
    "deleted": "Secret deleted. It can be restored until it is destroyed.",
    "undeleted": "Secret restored.",
    "destroyed": "Versions destroyed for good.",
    "revoked": "Session revoked.",
    "share-revoked": "Share link revoked.",
    "user-created": "User created.",
    "user-updated": "User updated.",
    "user-deleted": "User deleted; their sessions ended.",
    "role-saved": "Role saved.",
    "role-deleted": "Role deleted.",
    "setting-saved": "Setting saved.",
    "module-changed": "Module updated.",
    "logged-out": "You are logged out.",
    "password-changed": "Password changed; your other sessions ended.",
}


def when(stamp: float | str | None) -> str:
    if stamp is None or stamp == "":
        return "—"
    text = stamp if isinstance(stamp, str) else (rfc3339(stamp) or "")
    return text.replace("T", " ")[:19] + " UTC"


_env.filters["when"] = when


@dataclass(frozen=True, slots=True)
class NavItem:
    href: str
    label: str


def navigation(principal: Principal | None) -> list[NavItem]:
    if principal is None:
        return []
    items = [NavItem("/ui/secrets", "Secrets"), NavItem("/ui/sessions", "Sessions")]
    if principal.role == ADMIN:
        items += [NavItem("/ui/users", "Users"), NavItem("/ui/roles", "Roles")]
    if principal.role in SYSTEM_READERS:
        items += [NavItem("/ui/settings", "Settings"), NavItem("/ui/audit", "Audit")]
    items += [NavItem("/ui/modules", "Modules"), NavItem("/ui/seal", "Seal")]
    return items


def theme_of(request: Request) -> str:
    theme = request.cookies.get(THEME_COOKIE, "auto")
    return theme if theme in THEMES else "auto"


def page(
    request: Request,
    services: Services | None,
    template: str,
    principal: Principal | None,
    *,
    status: int = 200,
    title: str = "",
    **values: Any,
) -> HTMLResponse:
    notice = NOTICES.get(request.query_params.get("done", ""))
    context = {
        "title": title,
        "principal": principal,
        "is_admin": principal is not None and principal.role == ADMIN,
        "is_reader": principal is not None and principal.role in SYSTEM_READERS,
        "nav": navigation(principal),
        "here": request.url.path,
        "csrf": csrf_token(request),
        "csrf_field": CSRF_FIELD,
        "theme": theme_of(request),
        "cluster_name": services.settings.general.cluster_name if services else "strongroom",
        "asset": asset_url,
        "notice": notice,
        **values,
    }
    html = _env.get_template(template).render(context)
    return HTMLResponse(html, status_code=status)


def redirect(url: str, done: str | None = None) -> RedirectResponse:
    if done is not None:
        url += ("&" if "?" in url else "?") + f"done={done}"
    return RedirectResponse(url, status_code=303)


def local_target(raw: str | None, default: str = "/ui/secrets") -> str:
    """A redirect target after login: a path of this interface, nothing else."""
    if raw and raw.startswith("/ui/") and not raw.startswith("//") and "\\" not in raw:
        return raw
    return default


def render_fragment(template: str, **values: Any) -> str:
    return _env.get_template(template).render(values)


__all__ = ["Response", "page", "redirect"]
