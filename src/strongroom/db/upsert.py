"""`INSERT ... ON CONFLICT` in the engine's dialect: SQLite and PostgreSQL spell it alike, and
SQLAlchemy builds it from either dialect's own `insert`."""

from __future__ import annotations

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite

from strongroom.db.engine import Database


def upsert(db: Database, table: Table) -> sqlite.Insert | postgresql.Insert:
    """An INSERT into `table` that offers `on_conflict_do_update` / `_do_nothing`."""
    return sqlite.insert(table) if db.is_sqlite else postgresql.insert(table)
