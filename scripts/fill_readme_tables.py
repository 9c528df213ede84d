"""Regenerate the README tables between their markers: .venv/bin/python scripts/fill_readme_tables.py"""

import re
import sys

sys.path.insert(0, "src")
from strongroom.system.docs import config_table, settings_table

text = open("README.md").read()
for name, table in (("config-table", config_table()), ("settings-table", settings_table())):
    text = re.sub(
        rf"(<!-- {name}:start -->\n).*?(<!-- {name}:end -->)",
        lambda m: m.group(1) + table + m.group(2),
        text,
        flags=re.S,
    )
open("README.md", "w").write(text)
