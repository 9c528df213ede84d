from __future__ import annotations

from strongroom.config import Config
from strongroom.db import Database
from strongroom.sessions.db_store import DatabaseSessionStore
from strongroom.sessions.store import SessionStore


def make_store(config: Config, db: Database) -> SessionStore:
    """Redis when `redis_url` is set (shared by every node), else the database."""
    if config.redis_url is not None:
        from strongroom.sessions.redis_store import RedisSessionStore

        return RedisSessionStore(
            config.redis_url.get_secret_value(), prefix=config.redis_prefix, db=db
        )
    return DatabaseSessionStore(db)
