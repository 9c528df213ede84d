"""Printing results: `--format table|json|yaml|value` (table on a terminal, json otherwise).

`value` prints exactly the value, no decoration and no added newline for a single value
(pipe-safe: `$(strongroom kv get --field password db)`), one line per item for a list. Rich is
imported only to draw a table, PyYAML only for yaml.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

import click

FORMATS = ("table", "json", "yaml", "value")

Table = Callable[[Any], "list[Section]"]


class Section:
    """One table: a title (may be empty), column names, rows of cells."""

    def __init__(self, title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        self.title = title
        self.columns = list(columns)
        self.rows = [list(row) for row in rows]


def format_option(function: Callable[..., Any]) -> Callable[..., Any]:
    """The `--format` option of every read command."""
    return click.option(
        "--format",
        "-f",
        "fmt",
        type=click.Choice(FORMATS),
        default=None,
        help="Output format [env STRONGROOM_FORMAT; default: table on a terminal, json otherwise].",
    )(function)


def chosen(fmt: str | None) -> str:
    """The format asked for, else STRONGROOM_FORMAT, else table on a terminal and json not."""
    import os

    fmt = fmt or os.environ.get("STRONGROOM_FORMAT", "").lower() or None
    if fmt in FORMATS:
        return fmt
    return "table" if sys.stdout.isatty() else "json"


def write(text: str) -> None:
    """Exactly these characters on stdout, as UTF-8 whatever the locale."""
    sys.stdout.flush()
    sys.stdout.buffer.write(text.encode("utf-8"))
    sys.stdout.buffer.flush()


def value_text(value: Any) -> str:
    """A value as `value` prints it: strings as they are, anything else as compact JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def emit(
    data: Any,
    fmt: str | None,
    *,
    table: Table | None = None,
    value: Callable[[Any], Any] | None = None,
) -> None:
    """Print `data` (JSON-ready) in the chosen format."""
    how = chosen(fmt)
    if how == "json":
        write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    elif how == "yaml":
        import yaml

        write(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    elif how == "value":
        picked = value(data) if value is not None else data
        if isinstance(picked, list):
            write("".join(value_text(item) + "\n" for item in picked))
        else:
            write(value_text(picked))
    else:
        draw(table(data) if table is not None else record(data))


def record(data: Any) -> list[Section]:
    """A JSON object as a two-column table; a list of objects as rows."""
    if isinstance(data, list):
        columns = list(data[0]) if data else []
        return [Section("", columns, [[item.get(c) for c in columns] for item in data])]
    return [Section("", ["Key", "Value"], [[key, val] for key, val in data.items()])]


def cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items()) or "-"
    if isinstance(value, list):
        return ", ".join(cell(v) for v in value) or "-"
    return str(value)


def draw(sections: list[Section]) -> None:
    from rich import box
    from rich.console import Console
    from rich.table import Table as RichTable
    from rich.text import Text

    terminal = sys.stdout.isatty()
    console = Console(width=None if terminal else 200, highlight=False, force_terminal=terminal)
    with console.capture() as captured:
        for index, section in enumerate(sections):
            if index:
                console.print()
            if section.title:
                console.print(Text(f"== {section.title} ==", style="bold"))
            table = RichTable(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
            for column in section.columns:
                table.add_column(column, overflow="fold")
            for row in section.rows:
                table.add_row(*(Text(cell(v)) for v in row))
            console.print(table)
    write("".join(line.rstrip() + "\n" for line in captured.get().splitlines()))
