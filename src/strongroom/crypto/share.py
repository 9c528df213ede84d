"""Share-once links: a value sealed under a key that only the link holds.

The server makes a fresh 256-bit key K per share, seals the value with AES-256-GCM under K
(associated data `strongroom-share:<share id>`), hands K out once inside the link's fragment and
forgets it. What it keeps is the sealed blob and the SHA-256 of a *claim proof* derived from K,
so that only a holder of the link can use up the share; the proof reveals nothing about K.
The browser that opens the link derives the same proof, claims the blob and opens it with
WebCrypto (`strongroom/ui/static/share.js`): the blob layout is `nonce (12) | ciphertext+tag`,
exactly what WebCrypto's AES-GCM takes.
"""

from __future__ import annotations

import base64
import hashlib
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES = 32
NONCE_BYTES = 12
CLAIM_LABEL = b"strongroom-share-claim\x00"


def share_binding(share_id: str) -> bytes:
    return f"strongroom-share:{share_id}".encode()


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def claim_proof(key: bytes) -> str:
    """What the link's holder shows to claim the share: SHA-256(label | K), hex."""
    return hashlib.sha256(CLAIM_LABEL + key).hexdigest()


def proof_hash(proof: str) -> str:
    """The stored form of a claim proof (a dump of the table cannot claim a share)."""
    return hashlib.sha256(proof.encode()).hexdigest()


class SealedShare:
    """A sealed value, the link key (base64url, shown once) and the stored proof hash."""

    __slots__ = ("blob", "key", "stored_proof")

    def __init__(self, blob: bytes, key: str, stored_proof: str) -> None:
        self.blob = blob
        self.key = key
        self.stored_proof = stored_proof

    def __repr__(self) -> str:
        return "SealedShare(blob=***, key=***)"


def seal_share(plaintext: bytes, share_id: str) -> SealedShare:
    key = AESGCM.generate_key(bit_length=KEY_BYTES * 8)
    nonce = os.urandom(NONCE_BYTES)
    blob = nonce + AESGCM(key).encrypt(nonce, plaintext, share_binding(share_id))
    return SealedShare(blob, _b64url(key), proof_hash(claim_proof(key)))


def open_share(blob: bytes, key: str, share_id: str) -> bytes:
    """The browser's side of it, for tests and tools: K from the link opens the blob."""
    raw = base64.urlsafe_b64decode(key + "=" * (-len(key) % 4))
    return AESGCM(raw).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], share_binding(share_id))


def proof_from_link_key(key: str) -> str:
    raw = base64.urlsafe_b64decode(key + "=" * (-len(key) % 4))
    return claim_proof(raw)
