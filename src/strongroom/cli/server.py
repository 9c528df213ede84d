"""`strongroom server` and `strongroom migrate`."""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import socket
import sys
from pathlib import Path
from typing import Any

import orjson
from granian import Granian
from granian.constants import Interfaces, SSLProtocols
from granian.log import LogLevels
from pydantic import SecretStr
from sqlalchemy.exc import SQLAlchemyError

from strongroom.app import RESOLVED_CONFIG_ENV
from strongroom.bootstrap import bootstrap, prepare_data_dir, tls_files
from strongroom.config import Config, ConfigError
from strongroom.db.engine import Database
from strongroom.logs import GRANIAN_LOG_CONFIG, configure_logging
from strongroom.system.limits import raise_open_files_limit

log = logging.getLogger("strongroom")
_GRANIAN_LOG_LEVELS = {
    "debug": LogLevels.debug,
    "info": LogLevels.info,
    "warning": LogLevels.warning,
    "error": LogLevels.error,
}


def _check_port(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            reason = "address already in use" if exc.errno == errno.EADDRINUSE else exc.strerror
            raise ConfigError(f"cannot listen on {host}:{port}: {reason}") from None


def _resolved(config: Config) -> str:
    values: dict[str, Any] = {}
    for name in Config.model_fields:
        value = getattr(config, name)
        values[name] = value.get_secret_value() if isinstance(value, SecretStr) else value
    return orjson.dumps(values, default=str).decode()


def _announce(config: Config, admin_password: str | None, tls: tuple[Path, Path] | None) -> None:
    scheme = "http" if tls is None else "https"
    out = sys.stdout
    if admin_password is not None:
        out.write(
            "\n"
            "  strongroom created the first admin user.\n"
            f"    username: {config.admin_username}\n"
            f"    password: {admin_password}\n"
            f"  It is shown once, and kept in {config.admin_password_file} (mode 0600).\n\n"
        )
    ca = config.data_dir / "ca.pem"
    if tls is not None and ca.exists() and config.tls_cert_file is None:
        out.write(f"  TLS: clients trust {ca}\n")
    out.write(f"  listening on {scheme}://{config.host}:{config.port}/api/v1\n\n")
    out.flush()


def client_url(config: Config, tls: bool) -> str:
    """The URL a client on this machine reaches the node at (a wildcard host is loopback)."""
    wildcard = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}  # noqa: S104
    host = wildcard.get(config.host, config.host)
    if ":" in host:
        host = f"[{host}]"
    return f"{'https' if tls else 'http'}://{host}:{config.port}"


def write_address_file(config: Config, tls: bool) -> None:
    """`<data_dir>/address`: where this node listens, so that `strongroom` client commands run
    beside the data directory find it on any port (mode 0600, like every file here)."""
    if not config.port:
        return  # any free port: only the workers know which
    path = config.data_dir / "address"
    temporary = path.with_name(f".address.{os.getpid()}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(client_url(config, tls) + "\n")
    os.replace(temporary, path)


def serve(config: Config) -> int:
    configure_logging(config.log_level, config.log_format.value)
    # Every file the node and its workers create is private, whatever umask it inherited.
    os.umask(0o077)
    raise_open_files_limit()
    prepare_data_dir(config)
    if config.port:
        _check_port(config.host, config.port)
    tls = tls_files(config)
    report = asyncio.run(bootstrap(config))
    if tls is None and report.require_https:
        log.warning(
            "TLS is disabled (--tls-disable) and security.require_https is on: every request "
            "not marked https by a trusted proxy (security.trusted_proxies, X-Forwarded-Proto) "
            "is refused with 403 https_required, except GET /api/v1/sys/health. Put a "
            "TLS-terminating proxy in front and trust it, or turn security.require_https off."
        )
    _announce(config, report.admin_password, tls)
    write_address_file(config, tls is not None)
    os.environ[RESOLVED_CONFIG_ENV] = _resolved(config)
    tls_options: dict[str, Any] = {}
    if tls is not None:
        # rustls: TLS 1.2 and 1.3 only, forward-secret AEAD suites.
        tls_options = {
            "ssl_cert": tls[0],
            "ssl_key": tls[1],
            "ssl_protocol_min": SSLProtocols.tls12,
        }
    # Granian (Rust HTTP and TLS) serves the ASGI app: measured faster than uvicorn here (see
    # bench/README.md). Workers are processes; each builds the app from the resolved config.
    server = Granian(
        "strongroom.app:app_from_environment",
        factory=True,
        address=config.host,
        port=config.port,
        interface=Interfaces.ASGI,
        workers=config.workers,
        websockets=False,
        log_level=_GRANIAN_LOG_LEVELS[config.log_level],
        log_access=False,
        log_dictconfig=GRANIAN_LOG_CONFIG,
        respawn_failed_workers=True,
        workers_kill_timeout=15,
        **tls_options,
    )
    server.serve()
    return 0


def migrate(config: Config) -> int:
    configure_logging(config.log_level, config.log_format.value)
    os.umask(0o077)
    prepare_data_dir(config)

    async def _run() -> None:
        database = Database(config.resolved_database_url, pool_size=1)
        try:
            await database.migrate()
        except (SQLAlchemyError, OSError) as exc:
            raise ConfigError(f"cannot migrate the database: {type(exc).__name__}: {exc}") from None
        finally:
            await database.dispose()

    asyncio.run(_run())
    sys.stdout.write("database is at the newest schema\n")
    return 0
