"""The encrypted file format of backups: a passphrase, scrypt, AES-256-GCM in chunks.

    SRBACKUP1\\n
    {"kdf": "scrypt", "n", "r", "p", "salt", "nonce_prefix", "chunk"}\\n      (the header)
    then chunks: 4 bytes big-endian (bit 31: last chunk; the rest: length), ciphertext+tag

Or, encrypted to a recipient's X25519 public key instead of a passphrase (exports):
    {"kdf": "x25519", "epk", "nonce_prefix", "chunk"}: the key is HKDF-SHA256 of the X25519
    agreement between a fresh ephemeral key (`epk`) and the recipient's key, salted with both
    public keys; only the holder of the recipient's private key (its identity) can read it.

Each chunk is at most `CHUNK` bytes of plaintext, sealed with the key scrypt derives from the
passphrase and the salt, a nonce made of a random 7-byte prefix, the chunk's number (4 bytes)
and the last-chunk flag (1 byte), and the whole header as associated data. So a flipped byte
anywhere, chunks dropped, reordered or swapped in from another backup, a truncated file or
bytes added after the last chunk are all refused, with one message that says no more: files
are written and read a chunk at a time, in constant memory.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from typing import Any, BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

MAGIC = b"SRBACKUP1\n"
CHUNK = 64 * 1024
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1
_LAST = 0x80000000
_MAX_HEADER = 4096


class ArchiveError(Exception):
    """Not a strongroom backup, the wrong passphrase, or a damaged or altered file."""

    def __init__(self, detail: str = "") -> None:
        super().__init__(
            "the file is not a strongroom backup, the passphrase is wrong, or the file was "
            "altered or truncated" + (f" ({detail})" if detail else "")
        )


def _key(passphrase: str, salt: bytes, n: int, r: int, p: int) -> AESGCM:
    if not passphrase:
        raise ValueError("the passphrase is empty")
    return AESGCM(Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase.encode()))


def _raw(key: X25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def _agreed(private: X25519PrivateKey, peer: X25519PublicKey, epk: bytes, rpk: bytes) -> AESGCM:
    shared = private.exchange(peer)
    info = b"strongroom archive x25519"
    return AESGCM(HKDF(hashes.SHA256(), 32, salt=epk + rpk, info=info).derive(shared))


def _nonce(prefix: bytes, index: int, last: bool) -> bytes:
    return prefix + index.to_bytes(4, "big") + (b"\x01" if last else b"\x00")


class Writer:
    """Encrypts what is written to it into `out`; `close()` writes the last chunk."""

    def __init__(
        self, out: BinaryIO, passphrase: str = "", *, recipient: X25519PublicKey | None = None
    ) -> None:
        salt, self._prefix = os.urandom(16), os.urandom(7)
        fields: dict[str, Any]
        if recipient is not None:
            ephemeral = X25519PrivateKey.generate()
            epk = _raw(ephemeral.public_key())
            fields = {"kdf": "x25519", "epk": base64.b64encode(epk).decode()}
            self._aead = _agreed(ephemeral, recipient, epk, _raw(recipient))
        else:
            fields = {
                "kdf": "scrypt",
                "n": SCRYPT_N,
                "r": SCRYPT_R,
                "p": SCRYPT_P,
                "salt": base64.b64encode(salt).decode(),
            }
            self._aead = _key(passphrase, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
        fields |= {"nonce_prefix": base64.b64encode(self._prefix).decode(), "chunk": CHUNK}
        self._header = MAGIC + json.dumps(fields, sort_keys=True).encode() + b"\n"
        self._out = out
        self._buffer = bytearray()
        self._index = 0
        out.write(self._header)

    def write(self, data: bytes) -> None:
        self._buffer += data
        while len(self._buffer) > CHUNK:
            self._emit(bytes(self._buffer[:CHUNK]), last=False)
            del self._buffer[:CHUNK]

    def close(self) -> None:
        self._emit(bytes(self._buffer), last=True)
        self._buffer.clear()

    def _emit(self, chunk: bytes, *, last: bool) -> None:
        sealed = self._aead.encrypt(_nonce(self._prefix, self._index, last), chunk, self._header)
        self._out.write((len(sealed) | (_LAST if last else 0)).to_bytes(4, "big") + sealed)
        self._index += 1


def _x25519_key(fields: dict[str, Any], identity: X25519PrivateKey | None) -> AESGCM:
    if identity is None:
        raise ArchiveError("encrypted to a recipient: give its identity (private key)")
    try:
        epk = base64.b64decode(fields["epk"], validate=True)
        peer = X25519PublicKey.from_public_bytes(epk)
    except (ValueError, KeyError, TypeError):
        raise ArchiveError("unreadable header") from None
    return _agreed(identity, peer, epk, _raw(identity.public_key()))


def read(
    source: BinaryIO, passphrase: str = "", *, identity: X25519PrivateKey | None = None
) -> Iterator[bytes]:
    """The plaintext of a backup file, a chunk at a time; `ArchiveError` at the first sign of
    a wrong passphrase (or identity) or an altered, truncated or extended file (what came
    before it was authentic, but incomplete: use nothing of a read that failed)."""
    if source.read(len(MAGIC)) != MAGIC:
        raise ArchiveError("no backup header")
    line = source.readline(_MAX_HEADER)
    try:
        fields = json.loads(line)
        prefix = base64.b64decode(fields["nonce_prefix"], validate=True)
        chunk = int(fields["chunk"])
        kdf = fields.get("kdf")
    except (ValueError, KeyError, TypeError, AttributeError):
        raise ArchiveError("unreadable header") from None
    if kdf not in ("scrypt", "x25519") or len(prefix) != 7 or not 0 < chunk <= 16 * CHUNK:
        raise ArchiveError("unknown parameters")
    if kdf == "x25519":
        aead = _x25519_key(fields, identity)
    else:
        try:
            salt = base64.b64decode(fields["salt"], validate=True)
            n, r, p = (int(fields[k]) for k in ("n", "r", "p"))
        except (ValueError, KeyError, TypeError):
            raise ArchiveError("unreadable header") from None
        if not (2**14 <= n <= 2**22 and 1 <= r <= 32 and 1 <= p <= 16):
            raise ArchiveError("unknown parameters")
        aead = _key(passphrase, salt, n, r, p)
    header = MAGIC + line
    index = 0
    while True:
        word = source.read(4)
        if len(word) != 4:
            raise ArchiveError("truncated")
        value = int.from_bytes(word, "big")
        last, size = bool(value & _LAST), value & ~_LAST
        if size > chunk + 16:
            raise ArchiveError()
        sealed = source.read(size)
        if len(sealed) != size:
            raise ArchiveError("truncated")
        try:
            plain = aead.decrypt(_nonce(prefix, index, last), sealed, header)
        except InvalidTag:
            raise ArchiveError() from None
        yield plain
        index += 1
        if last:
            if source.read(1):
                raise ArchiveError("data after the end")
            return
