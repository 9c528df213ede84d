from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller of one request."""

    user_id: str
    username: str
    role: str
    session_id: str
    scope: str
    auth_method: str
    access_expires_at: float
