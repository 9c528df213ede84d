from __future__ import annotations

from sqlalchemy import Column, Float, ForeignKey, PrimaryKeyConstraint, String, Table

from strongroom.db.base import metadata

# A row per (user, module) the user enabled; disabling deletes the row and keeps the module's
# data. Deleting the user deletes its rows (and every module's data: see transit/ and totp/).
module_enablements = Table(
    "module_enablements",
    metadata,
    Column("user_id", String(36), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("module_id", String(32), nullable=False),
    Column("enabled_at", Float, nullable=False),
    PrimaryKeyConstraint("user_id", "module_id"),
)
