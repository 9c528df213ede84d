"""Logging: text or JSON lines, each with the request id, never with a token in it.

Defence in depth: whatever a log call is given, anything shaped like a strongroom token is
replaced before the line is written.
"""

from __future__ import annotations

import logging
import re
import sys
import time

import orjson

from strongroom.http.context import request_id_var

_TOKEN = re.compile(r"\b(sr[ar]_)[A-Za-z0-9_-]{8,}")
_BEARER = re.compile(r"(?i)(bearer\s+)\S+")


def scrub(text: str) -> str:
    return _BEARER.sub(r"\1***", _TOKEN.sub(r"\1***", text))


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get() or "-"
        return True


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        return scrub(super().format(record))


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "request_id": getattr(record, "request_id", "-"),
            "message": scrub(record.getMessage()),
        }
        if record.exc_info:
            entry["exception"] = scrub(self.formatException(record.exc_info))
        return orjson.dumps(entry).decode()


def configure_logging(level: str, fmt: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(_RequestIdFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # Libraries whose debug (and some info) lines carry what strongroom must never log: SQL
    # parameters and result rows (password hashes, token hashes, ciphertexts), HTTP header
    # values, form fields. They stay at WARNING whatever the level (issue 16, finding 11).
    quiet = max(logging.WARNING, logging.getLevelName(level.upper()))
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(quiet)


# Loggers of libraries that print request or database contents below WARNING.
QUIET_LOGGERS = (
    "sqlalchemy",
    "aiosqlite",
    "asyncpg",
    "httpx",
    "httpcore",
    "hpack",
    "h2",
    "multipart",
    "python_multipart",
    "redis",
    "asyncio",
)


# Granian's own lines (start, workers, errors) through strongroom's handler and format; its
# access log stays off: request lines go to the audit log, which it would only repeat.
GRANIAN_LOG_CONFIG = {
    "handlers": {},
    "loggers": {
        "_granian": {"handlers": [], "propagate": True},
        "granian.access": {"handlers": [], "propagate": False},
    },
}
