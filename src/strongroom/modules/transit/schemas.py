"""Bodies of the transit API. Binary values travel as standard base64."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from strongroom.crypto.transit import TransitKeyType
from strongroom.modules.transit.repository import KeyRow
from strongroom.timefmt import rfc3339

MAX_BATCH = 1000
# A 1 MiB request body holds at most this much base64; the transport guard bounds the body.
MAX_B64 = 1_400_000
MAX_CONTEXT_B64 = 8192
MAX_TEXT = 4096
KEY_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"

Plaintext = Field(max_length=MAX_B64, description="The data, base64.")
Context = Field(
    None,
    max_length=MAX_CONTEXT_B64,
    description="Associated data (base64), authenticated with the ciphertext: decryption "
    "needs the same context.",
)
Ciphertext = Field(max_length=MAX_B64, description="strongroom:v{N}:{base64}")


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class KeyCreate(_Body):
    name: str = Field(
        pattern=KEY_NAME_PATTERN, description="1-128 of A-Z a-z 0-9 . _ -, not starting with . _ -"
    )
    type: TransitKeyType = TransitKeyType.aes256_gcm
    exportable: bool = Field(
        False, description="Allow the private key to be exported; cannot be undone."
    )


class KeyConfig(_Body):
    min_decryption_version: int | None = Field(
        None,
        ge=1,
        le=2**31 - 1,
        description="Ciphertexts and signatures of older versions are refused.",
    )
    exportable: bool | None = Field(None, description="Only false → true.")
    deletion_allowed: bool | None = Field(None, description="Needed before DELETE of the key.")


class KeyVersionOut(BaseModel):
    version: int
    created_at: str


class KeyOut(BaseModel):
    """A key without its material."""

    name: str
    type: str
    exportable: bool
    deletion_allowed: bool
    latest_version: int
    min_decryption_version: int
    supports_encryption: bool
    supports_signing: bool
    versions: list[KeyVersionOut]
    created_at: str
    updated_at: str

    @classmethod
    def of(cls, key: KeyRow, versions: list[tuple[int, float]]) -> KeyOut:
        return cls(
            name=key.name,
            type=key.type.value,
            exportable=key.exportable,
            deletion_allowed=key.deletion_allowed,
            latest_version=key.latest_version,
            min_decryption_version=key.min_decryption_version,
            supports_encryption=key.type.encrypts,
            supports_signing=key.type.signs,
            versions=[KeyVersionOut(version=v, created_at=rfc3339(at) or "") for v, at in versions],
            created_at=rfc3339(key.created_at) or "",
            updated_at=rfc3339(key.updated_at) or "",
        )


class KeySummary(BaseModel):
    name: str
    type: str
    latest_version: int
    created_at: str


class KeyPage(BaseModel):
    items: list[KeySummary]
    next_cursor: str | None


class EncryptItem(_Body):
    plaintext: str = Plaintext
    context: str | None = Context


class EncryptRequest(_Body):
    """One `plaintext`, or up to 1,000 items in `batch_input`."""

    plaintext: str | None = Field(None, max_length=MAX_B64, description="The data, base64.")
    context: str | None = Context
    batch_input: list[EncryptItem] | None = Field(None, min_length=1, max_length=MAX_BATCH)

    @model_validator(mode="after")
    def _one_form(self) -> EncryptRequest:
        if (self.plaintext is None) == (self.batch_input is None):
            raise ValueError("send either plaintext or batch_input")
        if self.batch_input is not None and self.context is not None:
            raise ValueError("with batch_input, give each item its own context")
        return self


class DecryptItem(_Body):
    ciphertext: str = Ciphertext
    context: str | None = Context


class DecryptRequest(_Body):
    """One `ciphertext`, or up to 1,000 items in `batch_input` (also the body of rewrap)."""

    ciphertext: str | None = Field(None, max_length=MAX_B64, description="strongroom:v{N}:...")
    context: str | None = Context
    batch_input: list[DecryptItem] | None = Field(None, min_length=1, max_length=MAX_BATCH)

    @model_validator(mode="after")
    def _one_form(self) -> DecryptRequest:
        if (self.ciphertext is None) == (self.batch_input is None):
            raise ValueError("send either ciphertext or batch_input")
        if self.batch_input is not None and self.context is not None:
            raise ValueError("with batch_input, give each item its own context")
        return self


class ItemResult(BaseModel):
    """One item of `batch_results`: its result, or `error` and `code` (the other items go on)."""

    ciphertext: str | None = None
    plaintext: str | None = None
    key_version: int | None = None
    error: str | None = None
    code: str | None = None


class EncryptResponse(BaseModel):
    ciphertext: str | None = None
    key_version: int | None = None
    batch_results: list[ItemResult] | None = None


class DecryptResponse(BaseModel):
    plaintext: str | None = Field(None, description="base64")
    batch_results: list[ItemResult] | None = None


class DatakeyRequest(_Body):
    bits: Literal[128, 256, 512] = 256
    return_plaintext: bool = Field(
        False, description="Also return the data key in clear (base64); default: wrapped only."
    )
    context: str | None = Context


class DatakeyResponse(BaseModel):
    ciphertext: str = Field(description="The data key encrypted by the named key.")
    key_version: int
    plaintext: str | None = Field(None, description="The data key, base64, only if asked.")


class SignRequest(_Body):
    input: str = Field(max_length=MAX_B64, description="The data to sign, base64.")


class SignResponse(BaseModel):
    signature: str = Field(description="strongroom:v{N}:{base64 of the signature}")
    key_version: int


class VerifyRequest(_Body):
    input: str = Field(max_length=MAX_B64, description="The signed data, base64.")
    signature: str = Field(max_length=MAX_TEXT, description="strongroom:v{N}:{base64}")


class VerifyResponse(BaseModel):
    valid: bool


ExportType = Literal["encryption-key", "signing-key", "public-key"]


class ExportResponse(BaseModel):
    name: str
    type: str
    keys: dict[str, str] = Field(
        description="By version: encryption keys as base64, signing and public keys as PEM."
    )


class Deleted(BaseModel):
    deleted: bool = True
