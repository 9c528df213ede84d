"""Static configuration: what a node needs before it can open its database.

Values come, in order of precedence, from command-line flags, `STRONGROOM_*` environment
variables, an optional TOML file (`--config`), and the defaults below. Runtime policy
(token TTLs, lock-out, GitHub login...) is not here: it lives in the database and is changed
through `/api/v1/sys/*` (see `strongroom.system.registry`).
"""

from __future__ import annotations

import os
import tomllib
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class ConfigError(Exception):
    """The configuration cannot be used; the message is one line for the operator."""


class LogFormat(StrEnum):
    text = "text"
    json = "json"


class SealMode(StrEnum):
    file = "file"
    env = "env"
    shamir = "shamir"
    pkcs11 = "pkcs11"
    manual = "manual"  # the former name of shamir with one share: kept as its alias

    @property
    def automatic(self) -> bool:
        """The embedded seals (file, env) create their keyring on first start themselves;
        the production seals (shamir, pkcs11) wait for an explicit, authenticated init."""
        return self in (SealMode.file, SealMode.env)


class Config(BaseSettings):
    """Node configuration. Every field is also a `--flag` and a `STRONGROOM_<NAME>` variable."""

    model_config = SettingsConfigDict(
        env_prefix="STRONGROOM_",
        extra="forbid",
        validate_default=True,
        hide_input_in_errors=True,
    )

    data_dir: Path = Field(
        Path("strongroom-data"),
        description="Directory for the embedded database, key file, TLS files and audit log.",
    )
    host: str = Field("127.0.0.1", description="Address to listen on.")
    port: int = Field(8200, ge=0, le=65535, description="TCP port to listen on (0: any free).")
    workers: int = Field(
        1, ge=1, le=64, description="Worker processes (each a full server sharing the port)."
    )
    database_url: str = Field(
        "",
        description="SQLAlchemy URL; empty = SQLite in the data directory. "
        "Example: postgresql://user@host/db.",
    )
    redis_url: SecretStr | None = Field(
        None,
        description="Redis URL for the shared session store; unset = sessions in the database.",
    )
    redis_prefix: str = Field("strongroom:", description="Prefix of every Redis key.")
    seal: SealMode = Field(
        SealMode.file,
        description="Where the root key comes from: file (key file, created on first start), "
        "env (STRONGROOM_ROOT_KEY), shamir (split into shares at init, unsealed over the API; "
        "manual is its alias), pkcs11 (wrapped by a key in an HSM, auto-unseal).",
    )
    init_token: SecretStr | None = Field(
        None,
        description="The credential POST /sys/init needs on a shamir or pkcs11 node (default: "
        "a random one written to <data_dir>/init-token, mode 0600, at first start).",
    )
    pkcs11_library: Path | None = Field(
        None, description="PKCS#11 module (e.g. /usr/lib/softhsm/libsofthsm2.so), seal=pkcs11."
    )
    pkcs11_token_label: str = Field("strongroom", description="Label of the PKCS#11 token.")
    pkcs11_pin: SecretStr | None = Field(None, description="User PIN of the PKCS#11 token.")
    pkcs11_key_label: str = Field(
        "strongroom-seal", description="Label of the AES key in the HSM that wraps the root key."
    )
    key_file: Path | None = Field(
        None, description="Root key file (default: <data_dir>/root.key, mode 0600)."
    )
    root_key: SecretStr | None = Field(
        None, description="Root key, base64 of 32 bytes (with seal=env)."
    )
    tls_disable: bool = Field(
        False, description="Serve plain HTTP (only behind a TLS-terminating trusted proxy)."
    )
    tls_cert_file: Path | None = Field(
        None, description="Server certificate (PEM); default: generated in the data directory."
    )
    tls_key_file: Path | None = Field(None, description="Server private key (PEM).")
    max_request_bytes: int = Field(
        1024 * 1024, ge=1024, description="Largest request body accepted; larger gets 413."
    )
    audit_file: str | None = Field(
        None,
        description="Audit log file (JSON lines, hash-chained); default <data_dir>/audit.log; "
        "'-' or 'off' disables the file sink.",
    )
    audit_file_max_bytes: int = Field(
        100 * 1024 * 1024,
        ge=0,
        description="Rotate the audit log file before it grows past this many bytes "
        "(audit.log -> audit.log.1 ...; the hash chain goes on in the new file); 0: never.",
    )
    audit_file_keep: int = Field(
        10,
        ge=1,
        le=10_000,
        description="Rotated audit log files kept (audit.log.1 ... audit.log.N); older ones "
        "are deleted.",
    )
    audit_stdout: bool = Field(False, description="Also write audit records to stdout.")
    audit_database: bool = Field(
        False, description="Also write audit records to the database (enables GET /api/v1/audit)."
    )
    audit_disable: bool = Field(
        False,
        description="Write no audit records at all. Only for measuring the cost of auditing; "
        "never in production.",
    )
    secret_cache_size: int = Field(
        10_000,
        ge=0,
        le=10_000_000,
        description="Secrets each worker keeps in memory for reads (ciphertexts, coherent across "
        "nodes through Redis; used only with Redis sessions). 0 turns the cache off.",
    )
    log_level: str = Field("info", description="Log level: debug, info, warning, error.")
    log_format: LogFormat = Field(LogFormat.text, description="Log line format: text or json.")
    sweep_interval: float = Field(
        30.0, gt=0, le=3600, description="Seconds between sweeps of expired secrets and sessions."
    )
    rewrap_batch_size: int = Field(
        500, ge=1, le=10_000, description="Values the rewrap job re-encrypts per transaction."
    )
    rewrap_batch_pause: float = Field(
        0.0, ge=0, le=60, description="Seconds the rewrap job rests between batches (I/O budget)."
    )
    argon2_time_cost: int = Field(3, ge=2, le=20, description="Argon2id passes (t).")
    argon2_memory_kib: int = Field(
        65536, ge=19456, le=4 * 1024 * 1024, description="Argon2id memory in KiB (m)."
    )
    argon2_parallelism: int = Field(4, ge=1, le=16, description="Argon2id lanes (p).")
    admin_username: str = Field("admin", description="Name of the admin created on first start.")

    @field_validator("log_level")
    @classmethod
    def _check_log_level(cls, value: str) -> str:
        if value.lower() not in {"debug", "info", "warning", "error"}:
            raise ValueError("must be one of debug, info, warning, error")
        return value.lower()

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        if value and value.split(":", 1)[0].split("+", 1)[0] not in {"sqlite", "postgresql"}:
            raise ValueError("must be a sqlite:// or postgresql:// URL")
        return value

    @field_validator("redis_url")
    @classmethod
    def _check_redis_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(
            ("redis://", "rediss://", "unix://")
        ):
            raise ValueError("must be a redis://, rediss:// or unix:// URL")
        return value

    @model_validator(mode="after")
    def _check_seal(self) -> Config:
        # Unseal progress (the shares given so far) lives in one process's memory: never in
        # the database or the session store, where a copy could be combined by someone else.
        if self.seal in (SealMode.shamir, SealMode.manual) and self.workers != 1:
            raise ValueError("seal=shamir needs workers=1: each worker would need the shares")
        if self.seal is SealMode.pkcs11 and self.pkcs11_library is None:
            raise ValueError("seal=pkcs11 needs pkcs11_library (the PKCS#11 module's path)")
        return self

    # Derived paths -------------------------------------------------------------------------

    @property
    def resolved_database_url(self) -> str:
        """The URL with the async driver named, SQLite in the data directory by default."""
        url = self.database_url or f"sqlite:///{self.data_dir.resolve() / 'strongroom.db'}"
        scheme, rest = url.split(":", 1)
        base = scheme.split("+", 1)[0]
        driver = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}[base]
        return f"{driver}:{rest}"

    @property
    def resolved_key_file(self) -> Path:
        return self.key_file or self.data_dir / "root.key"

    @property
    def resolved_audit_file(self) -> Path | None:
        if self.audit_file in {"-", "off", ""}:
            return None
        return Path(self.audit_file) if self.audit_file else self.data_dir / "audit.log"

    @property
    def init_token_file(self) -> Path:
        return self.data_dir / "init-token"

    @property
    def admin_password_file(self) -> Path:
        return self.data_dir / "admin-password"


def load_config(config_file: Path | None = None, **overrides: Any) -> Config:
    """Build the configuration from a TOML file, the environment and explicit overrides.

    Raises `ConfigError` with a one-line message on any problem.
    """
    file_values: dict[str, Any] = {}
    if config_file is not None:
        try:
            with config_file.open("rb") as handle:
                file_values = tomllib.load(handle)
        except OSError as exc:
            raise ConfigError(f"cannot read config file {config_file}: {exc.strerror}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {config_file} is not valid TOML: {exc}") from None
    env_names = {f"STRONGROOM_{name.upper()}" for name in Config.model_fields}
    from_env = {k for k in os.environ if k in env_names}
    # Precedence: overrides > environment > file. Drop file keys the environment sets.
    merged = {k: v for k, v in file_values.items() if f"STRONGROOM_{k.upper()}" not in from_env}
    merged.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return Config(**merged)
    except ValueError as exc:
        raise ConfigError(_first_error_line(exc)) from None


def _first_error_line(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors()[0]
        where = ".".join(str(part) for part in first.get("loc", ())) or "config"
        return f"invalid configuration: {where}: {first.get('msg', 'invalid value')}"
    return f"invalid configuration: {exc}"
