"""The encryption barrier: the only package of strongroom that touches cryptographic primitives.

Everything else calls `Keyring.encrypt` / `Keyring.decrypt`, the value envelopes of
`envelope` (a key of its own per secret value), `new_token` / `token_hash`, the password
hasher, and the TLS helpers. Every failure to decrypt raises `DecryptionError`, which
carries no message and no cause.
"""

from strongroom.crypto.aead import DecryptionError
from strongroom.crypto.envelope import Envelope
from strongroom.crypto.keyring import KeyPurpose, Keyring, WrappedKey
from strongroom.crypto.seal import RootKey, generate_root_key
from strongroom.crypto.tokens import (
    ACCESS_PREFIX,
    REFRESH_PREFIX,
    constant_time_equal,
    new_token,
    token_hash,
)

__all__ = [
    "ACCESS_PREFIX",
    "REFRESH_PREFIX",
    "DecryptionError",
    "Envelope",
    "KeyPurpose",
    "Keyring",
    "RootKey",
    "WrappedKey",
    "constant_time_equal",
    "generate_root_key",
    "new_token",
    "token_hash",
]
