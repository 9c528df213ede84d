"""Reading the interface's forms into the API's request models (validation stays theirs)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from strongroom.errors import InvalidInput

PAIR_ROWS = 3


def _first(values: dict[str, list[str]], name: str, limit: int = 1024) -> str:
    return (values.get(name) or [""])[0][:limit]


@dataclass
class SecretForm:
    """What the create/edit form holds, as typed (re-shown on an error)."""

    path: str = ""
    kind: str = "text"
    text: str = field(default="", repr=False)
    pairs: list[tuple[str, str]] = field(default_factory=list, repr=False)
    metadata_text: str = ""
    ttl: str = ""
    max_reads: str = ""
    cas: str = ""

    def rows(self) -> list[tuple[str, str]]:
        """The key/value rows to show: those typed, plus empty ones to fill."""
        return [*self.pairs, *[("", "")] * max(PAIR_ROWS - len(self.pairs), 1)]

    def value(self) -> str | dict[str, Any]:
        if self.kind == "pairs":
            pairs = {key: value for key, value in self.pairs if key}
            if not pairs:
                raise InvalidInput("give at least one key", loc=("body", "value"))
            return pairs
        return self.text

    def metadata(self) -> dict[str, str]:
        found: dict[str, str] = {}
        for line in self.metadata_text.splitlines():
            if not line.strip():
                continue
            key, sep, value = line.partition("=")
            if not sep or not key.strip():
                raise InvalidInput(
                    f"metadata lines are key=value; this one is not: {line.strip()[:60]!r}",
                    loc=("body", "metadata"),
                )
            found[key.strip()] = value.strip()
        return found

    def ttl_value(self) -> str | None:
        return self.ttl.strip() or None

    def max_reads_value(self) -> int | None:
        return _number(self.max_reads, "max_reads")

    def cas_value(self) -> int | None:
        return _number(self.cas, "cas")


def _number(raw: str, name: str) -> int | None:
    raw = raw.strip()
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 9:
        raise InvalidInput(f"{name} is a whole number", loc=("body", name))
    return int(raw)


def parse_secret_form(values: dict[str, list[str]]) -> SecretForm:
    keys = values.get("pair_key", [])
    vals = values.get("pair_value", [])
    pairs = [(k.strip()[:256], v) for k, v in zip(keys, vals, strict=False) if k.strip() or v]
    return SecretForm(
        path=_first(values, "path").strip(),
        kind="pairs" if _first(values, "kind") == "pairs" else "text",
        text=_first(values, "value", 1_000_000),
        pairs=pairs[:256],
        metadata_text=_first(values, "metadata", 20_000),
        ttl=_first(values, "ttl", 32),
        max_reads=_first(values, "max_reads", 16),
        cas=_first(values, "cas", 16),
    )


def search_terms(search: str) -> tuple[str, dict[str, str]]:
    """`team-a/ env=prod owner=ops` → path prefix 'team-a/' and metadata filters."""
    prefix = ""
    filters: dict[str, str] = {}
    for term in search.split():
        key, sep, value = term.partition("=")
        if sep and key:
            filters[key] = value
        elif not prefix:
            prefix = term
        else:
            raise InvalidInput(
                "search for one path prefix and any number of key=value metadata terms",
                loc=("query", "q"),
            )
    return prefix, filters
