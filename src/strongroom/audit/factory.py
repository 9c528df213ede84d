"""Builds the audit log of a node from its configuration."""

from __future__ import annotations

import functools
import logging
from typing import TYPE_CHECKING

from strongroom.audit.chain import Mac
from strongroom.audit.log import AuditLog, AuditSink
from strongroom.audit.sinks import Checkpointer, DatabaseSink, FileSink, StdoutSink
from strongroom.config import Config, ConfigError
from strongroom.crypto import KeyPurpose
from strongroom.db import Database

if TYPE_CHECKING:
    from strongroom.barrier.service import Barrier

log = logging.getLogger(__name__)


def chain_mac(barrier: Barrier) -> Mac | None:
    """The keyed hash of the audit chain, or None while the node is sealed."""
    if barrier.sealed:
        return None
    return functools.partial(barrier.keyring.mac, KeyPurpose.audit_chain)


def chain_name(config: Config) -> str | None:
    """The name of the file sink's chain in `audit_checkpoints`: its resolved path."""
    path = config.resolved_audit_file
    return None if path is None else str(path.resolve())


def make_audit_log(config: Config, db: Database, barrier: Barrier | None = None) -> AuditLog:
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
        name = chain_name(config)
        assert name is not None
        sinks.append(
            FileSink(
                path,
                mac=None if barrier is None else functools.partial(chain_mac, barrier),
                max_bytes=config.audit_file_max_bytes,
                keep=config.audit_file_keep,
                checkpoint=Checkpointer(db, name),
            )
        )
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
