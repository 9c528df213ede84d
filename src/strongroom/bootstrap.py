"""First-start and every-start preparation of a node: data directory, schema, root key, TLS,
built-in roles and the initial admin. Safe to repeat: a second start creates nothing new.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from strongroom.barrier.models import keyring
from strongroom.barrier.service import AlreadyInitialised, Barrier, WrongRootKey
from strongroom.config import Config, ConfigError, SealMode
from strongroom.crypto import RootKey, generate_root_key
from strongroom.crypto.hashd import make_hasher
from strongroom.crypto.passwords import Argon2Parameters, PasswordHasher
from strongroom.crypto.seal import write_key_file
from strongroom.crypto.tls import ensure_local_tls
from strongroom.db import Database, now
from strongroom.db.base import new_id
from strongroom.policy.repository import ensure_builtin_roles
from strongroom.policy.rules import ADMIN
from strongroom.users import repository as users_repo

log = logging.getLogger(__name__)

# In the data directory: its flock makes the workers of a node hash one password at a time.
HASHING_LOCK = "hashing.lock"


@dataclass
class BootstrapReport:
    created: list[str] = field(default_factory=list)
    admin_password: str | None = None
    # The stored `security.require_https` (its default when never set).
    require_https: bool = True


def prepare_data_dir(config: Config) -> None:
    try:
        config.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(
            f"cannot create data directory {config.data_dir}: {exc.strerror}"
        ) from None
    if not os.access(config.data_dir, os.W_OK):
        raise ConfigError(f"data directory {config.data_dir} is not writable")
    secure_data_dir(config.data_dir)


_WARNED: set[str] = set()
# Files of the data directory that may be readable by others: the public certificates.
PUBLIC_FILES = frozenset({"ca.pem", "server.pem"})


def secure_data_dir(directory: Path) -> None:
    """Warn when the data directory is open to group or others, and make every file the node
    owns in it private (0600; certificates excepted): files an older version or a lax umask
    left readable (issue 16, finding 12). The directory itself is the operator's: only warned."""
    try:
        info = directory.stat()
    except OSError:
        return
    if info.st_mode & 0o077 and str(directory) not in _WARNED:
        _WARNED.add(str(directory))
        log.warning(
            "data directory %s is accessible by group or others (mode %o): chmod 700 it",
            directory,
            stat.S_IMODE(info.st_mode),
        )
    uid = os.geteuid()
    for entry in os.scandir(directory):
        if entry.name in PUBLIC_FILES:
            continue
        try:
            found = entry.stat(follow_symlinks=False)
            if stat.S_ISREG(found.st_mode) and found.st_uid == uid and found.st_mode & 0o077:
                os.chmod(entry.path, 0o600)
                log.info("made %s private (was mode %o)", entry.path, stat.S_IMODE(found.st_mode))
        except OSError:
            continue


def tls_files(config: Config) -> tuple[Path, Path] | None:
    """The certificate and key the node serves, creating the local CA's when none is given."""
    if config.tls_disable:
        return None
    if config.tls_cert_file or config.tls_key_file:
        if not (config.tls_cert_file and config.tls_key_file):
            raise ConfigError("tls_cert_file and tls_key_file must be given together")
        for path in (config.tls_cert_file, config.tls_key_file):
            if not os.access(path, os.R_OK):
                raise ConfigError(f"cannot read TLS file {path}")
        return config.tls_cert_file, config.tls_key_file
    files, _ = ensure_local_tls(config.data_dir, [config.host], config.tls_ca_dir)
    return files.server_cert, files.server_key


async def keyring_is_empty(db: Database) -> bool:
    async with db.connect() as conn:
        return (
            int((await conn.execute(select(func.count()).select_from(keyring))).scalar_one()) == 0
        )


async def initialise_embedded(config: Config, db: Database) -> None:
    """The embedded seals initialise themselves on first start (zero-config): a new key file
    (seal=file) or STRONGROOM_ROOT_KEY (seal=env) makes the keyring. Production seals wait for
    `sys/init`, which needs the init token: nothing here creates their keyring."""
    if not config.seal.automatic or not await keyring_is_empty(db):
        return
    from strongroom.seal import repository
    from strongroom.seal.repository import SealConfig

    if config.seal is SealMode.file:
        path = config.resolved_key_file
        if not path.exists():
            try:
                write_key_file(path, generate_root_key())
            except OSError as exc:
                raise ConfigError(f"cannot create root key file {path}: {exc.strerror}") from None
            log.info("created root key file %s", path)
    barrier = Barrier(db)
    try:
        await barrier.initialise(await _embedded_key(config))
    except AlreadyInitialised:
        return  # another node made it at the same moment
    async with db.begin() as conn:
        await repository.save(conn, SealConfig(config.seal.value, 1, 1, None))


async def _embedded_key(config: Config) -> RootKey:
    from strongroom.seal.backends import SealUnavailable, seal_for

    try:
        return seal_for(config).recover(None)
    except SealUnavailable as exc:
        raise ConfigError(str(exc)) from None


async def unseal_embedded(config: Config, barrier: Barrier) -> None:
    """At start: an embedded seal's key must open the keyring, or the node does not start."""
    if not config.seal.automatic:
        return
    try:
        await barrier.unseal(await _embedded_key(config))
    except WrongRootKey:
        raise ConfigError("the root key does not decrypt this database's keyring") from None


class Hashes(Protocol):
    async def hash(self, password: str) -> str: ...


class FirstStartHasher:
    """Hashes the first admin's password while a node starts, before it serves anything: in a
    thread of this process, at the node's Argon2id parameters. A running node hashes in its
    hashd children (PasswordHasher); nothing competes with this one hash yet, so it needs
    neither hashd's low priority nor the cost of starting one."""

    def __init__(self, config: Config) -> None:
        self._hasher = make_hasher(
            config.argon2_time_cost, config.argon2_memory_kib, config.argon2_parallelism
        )

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self._hasher.hash, password)


async def ensure_admin(
    config: Config, db: Database, passwords: Hashes, *, keep: bool = True
) -> str | None:
    """On a database with no users, create the admin with a random password; return it.
    `keep`: also write it to the admin-password file (sys/init shows it once instead)."""
    async with db.begin() as conn:
        await ensure_builtin_roles(conn)
        if await users_repo.count_users(conn) > 0:
            return None
    password = secrets.token_urlsafe(18)
    stamp = now()
    user = users_repo.UserRow(
        new_id(),
        config.admin_username,
        None,
        ADMIN,
        await passwords.hash(password),
        None,
        None,
        False,
        stamp,
        stamp,
    )
    try:
        async with db.begin() as conn:
            if await users_repo.count_users(conn) > 0:
                return None
            await users_repo.insert_user(conn, user)
    except IntegrityError:
        return None  # another node created it first
    if keep:
        _write_password_file(config.admin_password_file, config.admin_username, password)
    return password


def _write_password_file(path: Path, username: str, password: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(f"username: {username}\npassword: {password}\n")
    os.chmod(path, 0o600)


def password_hasher(config: Config) -> PasswordHasher:
    """The node's workers hash one password at a time (see strongroom.crypto.hashd)."""
    return PasswordHasher(
        Argon2Parameters(
            config.argon2_time_cost, config.argon2_memory_kib, config.argon2_parallelism
        ),
        lock_file=config.data_dir.resolve() / HASHING_LOCK,
    )


async def bootstrap(config: Config) -> BootstrapReport:
    """Everything a first start needs, done once by the supervising process before workers."""
    report = BootstrapReport()
    prepare_data_dir(config)
    files = tls_files(config)
    if files is not None:
        report.created.append(str(files[0]))
    db = Database(config.resolved_database_url, pool_size=2)
    try:
        try:
            await db.migrate()
        except (SQLAlchemyError, OSError) as exc:
            raise ConfigError(f"cannot open the database: {_reason(exc)}") from None
        await initialise_embedded(config, db)
        await unseal_embedded(config, Barrier(db))
        if config.seal.automatic:
            report.admin_password = await ensure_admin(config, db, FirstStartHasher(config))
        elif await keyring_is_empty(db):
            from strongroom.seal.initauth import ensure_init_token

            ensure_init_token(config)
        report.require_https = await _stored_require_https(db)
    finally:
        await db.dispose()
    return report


async def _stored_require_https(db: Database) -> bool:
    from strongroom.system.registry import SETTINGS
    from strongroom.system.repository import load_settings

    key = "security.require_https"
    async with db.connect() as conn:
        stored = {row.key: row.value for row in await load_settings(conn)}
    raw = stored.get(key)
    return bool(SETTINGS[key].default) if raw is None else bool(json.loads(raw))


def _reason(exc: BaseException) -> str:
    original = getattr(exc, "orig", None) or exc
    text = str(original).strip().splitlines()
    return text[0] if text else type(original).__name__
