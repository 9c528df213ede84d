"""Bodies of the TOTP API."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from strongroom.modules.totp.repository import TotpRow
from strongroom.modules.transit.schemas import KEY_NAME_PATTERN
from strongroom.timefmt import rfc3339


class KeyCreate(BaseModel):
    """`generate: true` (with `issuer` and `account_name`): the server makes the seed and
    answers with its otpauth:// URL and QR code. Otherwise import an existing key: `url`
    (otpauth://totp/...) or `key` (the base32 seed) with its parameters."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=KEY_NAME_PATTERN, description="1-128 of A-Z a-z 0-9 . _ -")
    generate: bool = False
    url: str | None = Field(None, max_length=2048, description="otpauth://totp/... to import")
    key: str | None = Field(None, max_length=512, description="base32 seed to import")
    issuer: str = Field("", max_length=256)
    account_name: str = Field("", max_length=256)
    algorithm: Literal["SHA1", "SHA256", "SHA512"] | None = Field(None, description="SHA1")
    digits: Literal[6, 8] | None = Field(None, description="6")
    period: int | None = Field(None, ge=1, le=3600, description="seconds, 30")
    skew: Literal[0, 1] = Field(1, description="steps accepted either side of now (validate)")
    key_size: int = Field(20, ge=16, le=64, description="bytes of a generated seed")
    qr_size: int = Field(200, ge=0, le=2000, description="QR code width in pixels; 0: none")
    exported: bool = Field(
        True, description="With generate: return the URL and QR code (once, now)."
    )


class TotpKeyOut(BaseModel):
    """A key without its seed."""

    name: str
    generated: bool
    issuer: str
    account_name: str
    algorithm: str
    digits: int
    period: int
    skew: int
    created_at: str

    @classmethod
    def of(cls, row: TotpRow) -> TotpKeyOut:
        return cls(
            name=row.name,
            generated=row.generated,
            issuer=row.issuer,
            account_name=row.account_name,
            algorithm=row.algorithm,
            digits=row.digits,
            period=row.period,
            skew=row.skew,
            created_at=rfc3339(row.created_at) or "",
        )


class TotpKeyCreated(TotpKeyOut):
    url: str | None = Field(
        None, description="Generated keys: the otpauth:// URL holding the seed, shown once"
    )
    barcode: str | None = Field(None, description="Generated keys: QR code of `url`, PNG, base64")


class TotpKeyPage(BaseModel):
    items: list[TotpKeyOut]
    next_cursor: str | None


class CodeOut(BaseModel):
    code: str


class ValidateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(max_length=16)


class ValidateOut(BaseModel):
    valid: bool
