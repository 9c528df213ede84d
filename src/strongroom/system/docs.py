"""The README's settings table, generated from the registry (a test keeps them equal)."""

from __future__ import annotations

from typing import Any

from strongroom.system.registry import SETTINGS, Kind


def _shown(kind: Kind, value: Any) -> str:
    if kind is Kind.secret:
        return "(empty)"
    if kind is Kind.duration:
        return f"{value} s"
    if isinstance(value, str):
        return f"`{value}`" if value else "(empty)"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, tuple | list):
        return ", ".join(value) if value else "(none)"
    if not isinstance(value, int) and hasattr(value, "items"):
        return "{}" if not value else str(dict(value))
    return str(value)


def settings_table() -> str:
    lines = [
        "| key | type | default | bounds | description |",
        "|---|---|---|---|---|",
    ]
    for key, definition in SETTINGS.items():
        spec = definition.spec
        bounds = ""
        if spec.minimum is not None or spec.maximum is not None:
            low = "" if spec.minimum is None else str(spec.minimum)
            high = "" if spec.maximum is None else str(spec.maximum)
            bounds = f"{low}…{high}"
        lines.append(
            f"| `{key}` | {spec.kind.value} | {_shown(spec.kind, definition.default)} | {bounds} "
            f"| {spec.description} |"
        )
    return "\n".join(lines) + "\n"


def config_table() -> str:
    """The node configuration (flags, environment variables, TOML keys) as a Markdown table."""
    from pydantic import SecretStr

    from strongroom.config import Config

    lines = ["| option | environment | default | description |", "|---|---|---|---|"]
    for name, info in Config.model_fields.items():
        default = info.default
        if default is None or isinstance(default, SecretStr):
            shown = "(unset)"
        elif default == "":
            shown = "(empty)"
        else:
            shown = f"`{getattr(default, 'value', default)}`"
        flag = "--" + name.replace("_", "-")
        lines.append(f"| `{flag}` | `STRONGROOM_{name.upper()}` | {shown} | {info.description} |")
    return "\n".join(lines) + "\n"
