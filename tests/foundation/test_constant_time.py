"""SECURITY.md 17: secret material is compared in constant time (hmac.compare_digest) or looked
up by hash, never with `==`. This scans the source for equality tests whose operands are named
like secret material and fails on any that is not a SQL lookup."""

from __future__ import annotations

import ast
import re
from pathlib import Path

SOURCE = Path(__file__).parents[2] / "src" / "strongroom"
SECRET_NAME = re.compile(
    r"(token|hash|hmac|digest|password|passphrase|secret_value|signature|nonce)"
)
# Equalities on public values that merely look like secrets by name:
ALLOWED = {
    # The audit hash chain: SHA-256 of public records, recomputed by anyone who has the file.
    ("audit/verify.py", "record_hash == claimed.hash"),
    ("audit/verify.py", "prev == previous.hash"),
}


def _name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_name(node.value)}.{node.attr}"
    if isinstance(node, ast.Subscript):
        return _name(node.value)
    if isinstance(node, ast.Call):
        return _name(node.func)
    return ""


def _is_sql_column(name: str) -> bool:
    # SQLAlchemy column expressions (`table.c.x == value`) build a WHERE clause: a lookup.
    return ".c." in name or name.startswith(("s.", "v.", "m."))


def _suspicious(path: Path) -> list[str]:
    found = []
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if not isinstance(node, ast.Compare):
            continue
        operands = [node.left, *node.comparators]
        if not any(isinstance(op, ast.Eq | ast.NotEq) for op in node.ops):
            continue
        names = [_name(operand) for operand in operands]
        if any(_is_sql_column(name) for name in names):
            continue
        if any(isinstance(o, ast.Constant) and o.value in (None, "", 0) for o in operands):
            continue
        hits = [name for name in names if SECRET_NAME.search(name.split(".")[-1])]
        expression = " == ".join(names)
        if hits and (str(path.relative_to(SOURCE)), expression) not in ALLOWED:
            found.append(f"{path.relative_to(SOURCE)}:{node.lineno}: {expression}")
    return found


def test_no_equality_on_secret_material() -> None:
    findings = [finding for path in sorted(SOURCE.rglob("*.py")) for finding in _suspicious(path)]
    assert findings == [], "compare secrets with hmac.compare_digest:\n" + "\n".join(findings)


def test_the_scan_catches_a_plain_comparison(tmp_path: Path) -> None:
    global SOURCE
    planted = tmp_path / "planted.py"
    planted.write_text(
        "def check(given_token, stored_token):\n    return given_token == stored_token\n"
    )
    saved, SOURCE = SOURCE, tmp_path
    try:
        assert _suspicious(planted) == ["planted.py:2: given_token == stored_token"]
    finally:
        SOURCE = saved
