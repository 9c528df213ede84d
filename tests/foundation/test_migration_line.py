"""The Alembic revisions form one line: branches merged side by side must be re-chained."""

from __future__ import annotations

from alembic.script import ScriptDirectory

from strongroom.db.engine import alembic_config


def test_the_migrations_have_one_head_and_each_revision_one_child() -> None:
    scripts = ScriptDirectory.from_config(alembic_config())
    assert len(scripts.get_heads()) == 1, scripts.get_heads()
    children: dict[str | None, list[str]] = {}
    for revision in scripts.walk_revisions():
        down = revision.down_revision
        assert not isinstance(down, tuple), f"{revision.revision} merges {down}"
        children.setdefault(down, []).append(revision.revision)
    forks = {parent: kids for parent, kids in children.items() if len(kids) > 1}
    assert not forks, forks
