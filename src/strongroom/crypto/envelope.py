"""Envelope encryption: every secret value under a data-encryption key (DEK) of its own.

A value is encrypted (AES-256-GCM, `crypto.aead`) under a fresh random 256-bit DEK drawn for
that one value; the DEK is stored wrapped by the keyring's newest data key. The two blobs are
stored apart (secrets/models.py: `secret_versions.ciphertext` and
`secret_version_keys.wrapped_key`), and destroying a value deletes its wrapped DEK: a copy of
the ciphertext saved before can then no longer be opened with the keyring.

What is stored, for a value bound to `binding` (e.g. ``secret:<id>:<version>``):

- the ciphertext: an aead blob whose header names key version 0 (`DEK_VERSION`: "under its
  own DEK", never a keyring version), associated data `binding`;
- the wrapped DEK: an aead blob of keyring data-key version N (named in its header), 32 bytes
  of plaintext, associated data ``dek|`` + `binding` (`key_binding`), so that a wrapped DEK
  moved to another row, or offered as a value, fails to unwrap.

Rotating the keyring leaves both valid; re-wrapping a DEK under the newest data key
(`rewrap_key`) touches the small wrapped blob only, never the ciphertext. Values written before
envelopes existed (no wrapped DEK) are keyring blobs, opened as before (`open_value` with
`wrapped_key=None`).
"""

from __future__ import annotations

from dataclasses import dataclass

from strongroom.crypto.aead import Cipher, DecryptionError, blob_key_version, random_key
from strongroom.crypto.keyring import Keyring

DEK_VERSION = 0
_KEY_DOMAIN = b"dek|"


@dataclass(frozen=True, slots=True)
class Envelope:
    """A sealed value as stored: the ciphertext and its wrapped DEK (two separate rows)."""

    ciphertext: bytes
    wrapped_key: bytes

    def __repr__(self) -> str:
        return f"Envelope(ciphertext=<{len(self.ciphertext)} bytes>, wrapped_key=***)"


def key_binding(binding: bytes) -> bytes:
    """The associated data of a value's wrapped DEK."""
    return _KEY_DOMAIN + binding


def seal_value(keyring: Keyring, plaintext: bytes, binding: bytes) -> Envelope:
    """Encrypt under a fresh DEK; the DEK wrapped by the keyring's newest data key."""
    dek = random_key()
    ciphertext = Cipher(dek, DEK_VERSION).encrypt(plaintext, binding)
    return Envelope(ciphertext, keyring.encrypt(dek, key_binding(binding)))


def open_value(
    keyring: Keyring, ciphertext: bytes, wrapped_key: bytes | None, binding: bytes
) -> bytes:
    """The plaintext; `DecryptionError` on any failure (also when the DEK was deleted)."""
    if wrapped_key is None:
        if blob_key_version(ciphertext) == DEK_VERSION:
            raise DecryptionError()  # an envelope whose DEK is gone: destroyed, or tampered
        return keyring.decrypt(ciphertext, binding)
    dek = keyring.decrypt(wrapped_key, key_binding(binding))
    return Cipher(dek, DEK_VERSION).decrypt(ciphertext, binding)


def keyring_blob(ciphertext: bytes, wrapped_key: bytes | None) -> bytes:
    """The blob of a stored value that the keyring opens: the wrapped DEK, or a legacy value."""
    return wrapped_key if wrapped_key is not None else ciphertext


def rewrap_key(keyring: Keyring, wrapped_key: bytes, binding: bytes) -> bytes:
    """The same DEK wrapped under the keyring's newest data key (for key rotation)."""
    ad = key_binding(binding)
    return keyring.encrypt(keyring.decrypt(wrapped_key, ad), ad)
