"""The seals behind one interface: where a node's root key comes from.

- `file`: a key file (the embedded default), `env`: `STRONGROOM_ROOT_KEY`. Both give the key
  at start; their keyring is created by the node itself on first start (zero-config).
- `shamir`: the key is split into shares at init and never stored; operators give a quorum of
  shares to each node (`sys/unseal`).
- `pkcs11`: the key is stored wrapped by an AES key that never leaves an HSM; the node unwraps
  it at start (auto-unseal). An unreachable HSM means sealed, never a fallback.

Like the session stores: `Seal` is a Protocol, and tests/seal/test_conformance.py runs one
suite against every implementation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from strongroom.config import Config, ConfigError, SealMode
from strongroom.crypto import RootKey, generate_root_key
from strongroom.crypto.seal import is_private, read_key_file, write_key_file
from strongroom.crypto.shamir import Share, split


class SealUnavailable(Exception):
    """The seal cannot give the root key now (HSM unreachable, PIN wrong, file missing); the
    message is one line for the operator's log and names no secret."""


@dataclass
class SealedRoot:
    """What `Seal.create` hands back: shares to show once, and what the database keeps."""

    shares: list[Share] = field(default_factory=list, repr=False)
    wrapped_root: bytes | None = None


class Seal(Protocol):
    type: str
    automatic: bool  # the node obtains the key at start, with no operator

    def create(self, root: RootKey, shares: int, threshold: int) -> SealedRoot:
        """Take custody of a new root key (at init or a rekey)."""
        ...

    def recover(self, wrapped_root: bytes | None) -> RootKey:
        """The root key, for an automatic seal; `SealUnavailable` if it cannot be had."""
        ...


class FileSeal:
    type = "file"
    automatic = True

    def __init__(self, config: Config) -> None:
        self._path = config.resolved_key_file

    def create(self, root: RootKey, shares: int, threshold: int) -> SealedRoot:
        write_key_file(self._path, root)
        return SealedRoot()

    def recover(self, wrapped_root: bytes | None) -> RootKey:
        try:
            key = read_key_file(self._path)
        except OSError as exc:
            raise SealUnavailable(
                f"cannot read root key file {self._path}: {exc.strerror}"
            ) from None
        except ValueError as exc:
            raise SealUnavailable(f"root key file {self._path}: {exc}") from None
        if not is_private(self._path):
            import logging

            logging.getLogger(__name__).warning(
                "root key file %s is readable by group or others; chmod 600 it", self._path
            )
        return key


class EnvSeal:
    type = "env"
    automatic = True

    def __init__(self, config: Config) -> None:
        self._value = config.root_key

    def create(self, root: RootKey, shares: int, threshold: int) -> SealedRoot:
        raise SealUnavailable("seal=env takes its key from STRONGROOM_ROOT_KEY; it makes none")

    def recover(self, wrapped_root: bytes | None) -> RootKey:
        if self._value is None:
            raise SealUnavailable("seal=env needs STRONGROOM_ROOT_KEY (base64 of 32 bytes)")
        try:
            return RootKey.decode(self._value.get_secret_value())
        except ValueError as exc:
            raise SealUnavailable(f"STRONGROOM_ROOT_KEY: {exc}") from None


class ShamirSeal:
    type = "shamir"
    automatic = False

    def create(self, root: RootKey, shares: int, threshold: int) -> SealedRoot:
        return SealedRoot(shares=split(root, shares, threshold))

    def recover(self, wrapped_root: bytes | None) -> RootKey:
        raise SealUnavailable("seal=shamir: unseal with a quorum of key shares (sys/unseal)")


def seal_for(config: Config) -> Seal:
    if config.seal is SealMode.file:
        return FileSeal(config)
    if config.seal is SealMode.env:
        return EnvSeal(config)
    if config.seal is SealMode.pkcs11:
        from strongroom.seal.pkcs11 import Pkcs11Seal

        return Pkcs11Seal(config)
    return ShamirSeal()


def new_root_key() -> RootKey:
    return generate_root_key()


__all__ = ["ConfigError", "Seal", "SealUnavailable", "SealedRoot", "seal_for"]
