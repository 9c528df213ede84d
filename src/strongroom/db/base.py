"""The shared MetaData and the column conventions of every table.

Times are stored as Unix seconds (double precision): one representation on SQLite, PostgreSQL
and Redis, rendered as RFC 3339 at the API edge. Identifiers are UUID strings.
"""

from __future__ import annotations

import time
import uuid

from sqlalchemy import MetaData

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def now() -> float:
    return time.time()


def new_id() -> str:
    return str(uuid.uuid4())
