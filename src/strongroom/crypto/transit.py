"""The primitives of the transit module (encryption as a service): keys, AEAD, signatures.

    aes256-gcm          AES-256-GCM, 96-bit random nonce       material: 32 random bytes
    chacha20-poly1305   ChaCha20-Poly1305, 96-bit random nonce material: 32 random bytes
    ed25519             Ed25519 signatures                     material: the 32-byte private key
    ecdsa-p256          ECDSA on P-256 with SHA-256, DER       material: the private key, PKCS#8 DER

Callers keep the material only as bytes stored through the barrier; the objects built from it
here never print it. An AEAD blob is ``nonce (12 bytes) | ciphertext | tag (16 bytes)``; every
failure to open one raises the message-less `DecryptionError`.
"""

from __future__ import annotations

import enum
import os

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305

from strongroom.crypto.aead import DecryptionError

NONCE_BYTES = 12
TAG_BYTES = 16
SYMMETRIC_KEY_BYTES = 32


class TransitKeyType(enum.StrEnum):
    aes256_gcm = "aes256-gcm"
    chacha20_poly1305 = "chacha20-poly1305"
    ed25519 = "ed25519"
    ecdsa_p256 = "ecdsa-p256"

    @property
    def encrypts(self) -> bool:
        return self in (TransitKeyType.aes256_gcm, TransitKeyType.chacha20_poly1305)

    @property
    def signs(self) -> bool:
        return not self.encrypts


def new_key_material(kind: TransitKeyType) -> bytes:
    """Fresh key material of `kind`, as the bytes to store (through the barrier)."""
    if kind.encrypts:
        return os.urandom(SYMMETRIC_KEY_BYTES)
    if kind is TransitKeyType.ed25519:
        return ed25519.Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
    return ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def random_bytes(count: int) -> bytes:
    """Random bytes for data keys (the `datakey` operation)."""
    return os.urandom(count)


class TransitCipher:
    """One version of an encryption key."""

    __slots__ = ("_aead",)

    def __init__(self, kind: TransitKeyType, material: bytes) -> None:
        if not kind.encrypts:
            raise ValueError(f"{kind} keys do not encrypt")
        if len(material) != SYMMETRIC_KEY_BYTES:
            raise ValueError("an encryption key is 32 bytes")
        self._aead: AESGCM | ChaCha20Poly1305 = (
            AESGCM(material) if kind is TransitKeyType.aes256_gcm else ChaCha20Poly1305(material)
        )

    def __repr__(self) -> str:
        return "TransitCipher(key=***)"

    def encrypt(self, plaintext: bytes, associated_data: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plaintext, associated_data or None)

    def decrypt(self, blob: bytes, associated_data: bytes) -> bytes:
        if len(blob) < NONCE_BYTES + TAG_BYTES:
            raise DecryptionError()
        try:
            return self._aead.decrypt(
                blob[:NONCE_BYTES], blob[NONCE_BYTES:], associated_data or None
            )
        except (InvalidTag, ValueError):
            pass
        # Raised outside the handler so that not even the cause travels with it.
        raise DecryptionError()


class TransitSigner:
    """One version of a signing key."""

    __slots__ = ("_private", "kind")

    def __init__(self, kind: TransitKeyType, material: bytes) -> None:
        if not kind.signs:
            raise ValueError(f"{kind} keys do not sign")
        self.kind = kind
        self._private: ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey
        if kind is TransitKeyType.ed25519:
            self._private = ed25519.Ed25519PrivateKey.from_private_bytes(material)
        else:
            loaded = serialization.load_der_private_key(material, password=None)
            if not isinstance(loaded, ec.EllipticCurvePrivateKey):
                raise ValueError("not an ECDSA key")
            self._private = loaded

    def __repr__(self) -> str:
        return f"TransitSigner({self.kind}, key=***)"

    def sign(self, data: bytes) -> bytes:
        if isinstance(self._private, ed25519.Ed25519PrivateKey):
            return self._private.sign(data)
        return self._private.sign(data, ec.ECDSA(hashes.SHA256()))

    def verify(self, data: bytes, signature: bytes) -> bool:
        public = self._private.public_key()
        try:
            if isinstance(public, ed25519.Ed25519PublicKey):
                public.verify(signature, data)
            else:
                public.verify(signature, data, ec.ECDSA(hashes.SHA256()))
        except (InvalidSignature, ValueError):
            return False
        return True

    def public_key_pem(self) -> str:
        """The public key, PEM (SubjectPublicKeyInfo): not secret."""
        return (
            self._private.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )

    def private_key_pem(self) -> str:
        """The private key, PEM (PKCS#8, unencrypted): only for the export of exportable keys."""
        return self._private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
