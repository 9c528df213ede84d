"""Builds the audit log of a node from its configuration."""

from __future__ import annotations

import logging

from strongroom.audit.log import AuditLog, AuditSink
from strongroom.audit.sinks import DatabaseSink, FileSink, StdoutSink
from strongroom.config import Config, ConfigError
from strongroom.db import Database

log = logging.getLogger(__name__)


def make_audit_log(config: Config, db: Database) -> AuditLog:
    """The audit log with the sinks the configuration names (file, stdout, database).

    strongroom does not run without an audit log: with every sink off this raises
    `ConfigError`, rather than starting a node whose sensitive routes would all answer 503.
    """
    if config.audit_disable:
        log.warning("AUDIT IS DISABLED (audit_disable): for benchmarks only, never in production")
        return AuditLog([], disabled=True)
    sinks: list[AuditSink] = []
    path = config.resolved_audit_file
    if path is not None:
        sinks.append(FileSink(path))
    if config.audit_stdout:
        sinks.append(StdoutSink())
    if config.audit_database:
        sinks.append(DatabaseSink(db))
    if not sinks:
        raise ConfigError(
            "no audit sink is configured: set audit_file, audit_stdout or audit_database"
        )
    log.debug("audit sinks: %s", ", ".join(sink.name for sink in sinks))
    return AuditLog(sinks)
