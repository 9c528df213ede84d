"""Request and response bodies of the audit routes."""

from __future__ import annotations

import enum

from pydantic import BaseModel, ConfigDict, Field


class Outcome(enum.StrEnum):
    success = "success"
    denied = "denied"
    error = "error"
    auth_failed = "auth_failed"


class AuditPrincipal(BaseModel):
    user: str
    role: str
    session_id: str


class AuditRecordOut(BaseModel):
    """One record as the database sink stored it (see `strongroom.audit.record`), plus `id`.

    Gap records (`type` "gap") carry `since` and `missed` instead of the request members."""

    model_config = ConfigDict(extra="allow")

    id: int = Field(description="Position in the database sink (the cursor orders by it).")
    time: str = Field(description="RFC 3339 UTC.")
    type: str = Field(description="request or gap")
    request_id: str | None = None
    principal: AuditPrincipal | None = None
    attempted_user: str | None = None
    client_ip: str | None = None
    method: str | None = None
    route: str | None = None
    path: str | None = None
    secret_id: str | None = None
    secret_path: str | None = None
    status: int | None = None
    outcome: Outcome | None = None
    error: str | None = None
    token_hmac: str | None = None
    user_agent: str | None = None


class AuditPage(BaseModel):
    items: list[AuditRecordOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next (older) page.")


class HashRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    input: str = Field(
        min_length=1, max_length=4096, description="The text to hash, e.g. a token you hold."
    )


class HashOut(BaseModel):
    hmac: str = Field(description="Hex HMAC-SHA256 under the audit key, as in `token_hmac`.")
