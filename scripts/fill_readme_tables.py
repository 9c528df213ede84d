"""Regenerate the README's tables between their markers.

    .venv/bin/python scripts/fill_readme_tables.py
"""

from __future__ import annotations

import re
from pathlib import Path

from strongroom.system.docs import config_table, settings_table

README = Path(__file__).parents[1] / "README.md"


def fill(text: str, name: str, table: str) -> str:
    pattern = re.compile(rf"(<!-- {name}:start -->\n).*?(<!-- {name}:end -->)", re.S)
    return pattern.sub(lambda match: match.group(1) + table + match.group(2), text)


text = README.read_text()
text = fill(text, "config-table", config_table())
text = fill(text, "settings-table", settings_table())
README.write_text(text)
