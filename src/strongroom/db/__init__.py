"""Storage: one SQLAlchemy async engine (SQLite or PostgreSQL), Core tables, Alembic migrations."""

from strongroom.db.base import metadata, now
from strongroom.db.engine import Database

__all__ = ["Database", "metadata", "now"]
