"""The `pkcs11` seal: the root key is stored (in `seal_config.wrapped_root`) encrypted with
AES-256-GCM by a key that never leaves the HSM; the node asks the HSM to decrypt it at start.

Tested against SoftHSM2. The HSM key is found by its label, and made at init when missing
(AES-256, sensitive, not extractable). An HSM that cannot be reached, a wrong PIN or a missing
key is `SealUnavailable`: the node stays sealed and says why in one log line.
"""

from __future__ import annotations

import os
from typing import Any

from strongroom.config import Config
from strongroom.crypto import RootKey
from strongroom.seal.backends import SealedRoot, SealUnavailable

_AAD = b"strongroom/root-key/v1"
_NONCE_BYTES = 12


class Pkcs11Seal:
    type = "pkcs11"
    automatic = True

    def __init__(self, config: Config) -> None:
        self._library = str(config.pkcs11_library)
        self._token_label = config.pkcs11_token_label
        self._pin = config.pkcs11_pin
        self._key_label = config.pkcs11_key_label

    def __repr__(self) -> str:
        return f"Pkcs11Seal(token={self._token_label!r}, key={self._key_label!r}, pin=***)"

    def create(self, root: RootKey, shares: int, threshold: int) -> SealedRoot:
        nonce = os.urandom(_NONCE_BYTES)
        with self._session() as session:
            key = self._key(session, create=True)
            sealed = self._call(lambda: key.encrypt(root.reveal(), **self._gcm(nonce)))
        return SealedRoot(wrapped_root=nonce + bytes(sealed))

    def recover(self, wrapped_root: bytes | None) -> RootKey:
        if not wrapped_root or len(wrapped_root) <= _NONCE_BYTES:
            raise SealUnavailable("seal=pkcs11: no wrapped root key is stored (not initialised)")
        nonce, sealed = wrapped_root[:_NONCE_BYTES], wrapped_root[_NONCE_BYTES:]
        with self._session() as session:
            key = self._key(session, create=False)
            raw = self._call(lambda: key.decrypt(sealed, **self._gcm(nonce)))
        try:
            return RootKey(bytes(raw))
        except ValueError:
            raise SealUnavailable("seal=pkcs11: the HSM key does not open the root key") from None

    # HSM access --------------------------------------------------------------------------------

    def _session(self) -> Any:
        import pkcs11
        from pkcs11 import exceptions

        try:
            library = pkcs11.lib(self._library)
        except (OSError, RuntimeError, exceptions.PKCS11Error) as exc:
            raise SealUnavailable(
                f"seal=pkcs11: cannot load the PKCS#11 module {self._library}: {type(exc).__name__}"
            ) from None
        try:
            token = library.get_token(token_label=self._token_label)
        except exceptions.PKCS11Error as exc:
            raise SealUnavailable(
                f"seal=pkcs11: token {self._token_label!r} unavailable: {type(exc).__name__}"
            ) from None
        pin = self._pin.get_secret_value() if self._pin else None
        try:
            return token.open(user_pin=pin, rw=True)
        except exceptions.PKCS11Error as exc:
            raise SealUnavailable(
                f"seal=pkcs11: cannot log in to token {self._token_label!r}: "
                f"{type(exc).__name__} (check the PIN)"
            ) from None

    def _key(self, session: Any, *, create: bool) -> Any:
        from pkcs11 import Attribute, KeyType, exceptions

        try:
            return session.get_key(key_type=KeyType.AES, label=self._key_label)
        except exceptions.NoSuchKey:
            if not create:
                raise SealUnavailable(
                    f"seal=pkcs11: no AES key labelled {self._key_label!r} on the token"
                ) from None
        except exceptions.PKCS11Error as exc:
            raise SealUnavailable(f"seal=pkcs11: key lookup failed: {type(exc).__name__}") from None
        template = {Attribute.SENSITIVE: True, Attribute.EXTRACTABLE: False}
        return self._call(
            lambda: session.generate_key(
                KeyType.AES, 256, label=self._key_label, store=True, template=template
            )
        )

    @staticmethod
    def _gcm(nonce: bytes) -> dict[str, Any]:
        from pkcs11 import Mechanism
        from pkcs11.mechanisms import GCMParams

        return {"mechanism": Mechanism.AES_GCM, "mechanism_param": GCMParams(nonce, _AAD, 128)}

    @staticmethod
    def _call(operation: Any) -> Any:
        from pkcs11 import exceptions

        try:
            return operation()
        except exceptions.PKCS11Error as exc:
            raise SealUnavailable(
                f"seal=pkcs11: HSM operation failed: {type(exc).__name__}"
            ) from None
