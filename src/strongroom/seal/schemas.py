"""Bodies of the seal endpoints: Vault's shapes (issue 21 fixes them)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class InitRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    secret_shares: int = Field(5, ge=1, le=255, description="Key shares to make (N).")
    secret_threshold: int = Field(3, ge=1, le=255, description="Shares that unseal (T <= N).")


class InitResponse(BaseModel):
    keys: list[str] = Field(description="The key shares, hex. Shown once; never stored.")
    keys_base64: list[str] = Field(description="The same shares, base64.")
    admin_username: str | None = None
    admin_password: str | None = None


class UnsealRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    key: str | None = Field(
        None, max_length=200, description="One key share, hex or base64 (`keys`/`keys_base64`)."
    )
    reset: bool = Field(False, description="Forget the shares given so far.")


class SealStatus(BaseModel):
    type: str
    initialized: bool
    sealed: bool
    t: int
    n: int
    progress: int
    nonce: str
    version: str
    cluster_name: str


class RekeyInitRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    secret_shares: int = Field(ge=1, le=255)
    secret_threshold: int = Field(ge=1, le=255)


class RekeyUpdateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    key: str = Field(max_length=200, description="One share of the current key, hex or base64.")
    nonce: str = Field(max_length=64, description="The nonce rekey/init answered.")


class RekeyStatus(BaseModel):
    nonce: str
    started: bool
    t: int
    n: int
    progress: int
    required: int
    complete: bool = False
    keys: list[str] | None = None
    keys_base64: list[str] | None = None


class RewrapStatus(BaseModel):
    id: str | None = None
    state: str = Field(description="none, running or done.")
    data_version: int | None = Field(None, description="The data key every value moves under.")
    stage: str | None = None
    done: int = 0
    total: int = 0
    started_at: str | None = None
    finished_at: str | None = None
