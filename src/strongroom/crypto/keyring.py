"""The keyring: versioned data keys, stored wrapped (AES-256-GCM) under the root key.

`data` keys encrypt secret values and secret-typed settings; rotation adds a version and
new writes use it while every older version stays readable. `audit`, `audit_chain` and
`signing` keys are HMAC keys (audit correlation, the audit log's hash chain, OAuth state);
they are created once and not rotated, so that HMACs stay comparable over the life of the log.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from strongroom.crypto.aead import Cipher, DecryptionError, blob_key_version, random_key
from strongroom.crypto.seal import RootKey


class KeyPurpose(StrEnum):
    data = "data"
    audit = "audit"
    signing = "signing"
    # The key of the audit log's hash chain (HMAC-SHA256 links): without it nobody can
    # recompute the chain after dropping or editing records (issue 16, finding 10).
    audit_chain = "audit_chain"


@dataclass(frozen=True, slots=True)
class WrappedKey:
    """A keyring entry as stored: the key encrypted under the root key."""

    purpose: KeyPurpose
    version: int
    wrapped: bytes


def _wrap_binding(purpose: KeyPurpose, version: int) -> bytes:
    return f"strongroom/keyring/{purpose.value}/{version}".encode()


class Keyring:
    """Unwrapped keys held in memory. Never printed, never serialised in clear."""

    __slots__ = ("_ciphers", "_latest_data", "_macs")

    def __init__(self, ciphers: dict[int, Cipher], mac_keys: dict[KeyPurpose, bytes]) -> None:
        if not ciphers:
            raise ValueError("a keyring needs at least one data key")
        self._ciphers = ciphers
        self._latest_data = ciphers[max(ciphers)]
        self._macs = mac_keys

    def __repr__(self) -> str:
        return f"Keyring(data_versions={sorted(self._ciphers)}, keys=***)"

    # Building ---------------------------------------------------------------------------------

    @staticmethod
    def new_wrapped(root: RootKey, purpose: KeyPurpose, version: int) -> WrappedKey:
        """A fresh random key of `purpose`, wrapped under `root`, ready to store."""
        wrapper = Cipher(root.reveal(), 0)
        return WrappedKey(
            purpose, version, wrapper.encrypt(random_key(), _wrap_binding(purpose, version))
        )

    @classmethod
    def unwrap(cls, root: RootKey, entries: Iterable[WrappedKey]) -> Keyring:
        """Unwrap stored entries; `DecryptionError` if another root key wrapped them."""
        wrapper = Cipher(root.reveal(), 0)
        ciphers: dict[int, Cipher] = {}
        macs: dict[KeyPurpose, tuple[int, bytes]] = {}
        for entry in entries:
            key = wrapper.decrypt(entry.wrapped, _wrap_binding(entry.purpose, entry.version))
            if entry.purpose is KeyPurpose.data:
                ciphers[entry.version] = Cipher(key, entry.version)
            elif entry.purpose not in macs or macs[entry.purpose][0] < entry.version:
                macs[entry.purpose] = (entry.version, key)
        if not ciphers:
            raise DecryptionError()
        return cls(ciphers, {purpose: key for purpose, (_, key) in macs.items()})

    @staticmethod
    def rewrap(old: RootKey, new: RootKey, entries: Iterable[WrappedKey]) -> list[WrappedKey]:
        """Every stored entry wrapped anew under `new` (root key rotation, rekey); the keys
        themselves do not change, so no value needs re-encrypting. `DecryptionError` if `old`
        did not wrap them."""
        unwrapper = Cipher(old.reveal(), 0)
        wrapper = Cipher(new.reveal(), 0)
        rewrapped = []
        for entry in entries:
            binding = _wrap_binding(entry.purpose, entry.version)
            key = unwrapper.decrypt(entry.wrapped, binding)
            rewrapped.append(
                WrappedKey(entry.purpose, entry.version, wrapper.encrypt(key, binding))
            )
        return rewrapped

    # Using ------------------------------------------------------------------------------------

    @property
    def data_version(self) -> int:
        return self._latest_data.version

    @property
    def data_versions(self) -> list[int]:
        return sorted(self._ciphers)

    def has_purpose(self, purpose: KeyPurpose) -> bool:
        return purpose is KeyPurpose.data or purpose in self._macs

    def encrypt(self, plaintext: bytes, associated_data: bytes) -> bytes:
        """Encrypt with the newest data key, binding the ciphertext to `associated_data`."""
        return self._latest_data.encrypt(plaintext, associated_data)

    def decrypt(self, blob: bytes, associated_data: bytes) -> bytes:
        """Decrypt a blob of any known key version; `DecryptionError` on any failure."""
        cipher = self._ciphers.get(blob_key_version(blob))
        if cipher is None:
            raise DecryptionError()
        return cipher.decrypt(blob, associated_data)

    def knows_version_of(self, blob: bytes) -> bool:
        """False when a blob names a key version this keyring lacks (another node rotated).
        Version 0 is never a keyring version (envelope.DEK_VERSION): reloading cannot help."""
        try:
            version = blob_key_version(blob)
        except DecryptionError:
            return True
        return version < 1 or version in self._ciphers

    def mac(self, purpose: KeyPurpose, data: bytes) -> str:
        """HMAC-SHA256 of `data` under the key of `purpose`, hex."""
        return hmac.new(self._macs[purpose], data, hashlib.sha256).hexdigest()
