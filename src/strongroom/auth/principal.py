from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)  # built per request: a frozen __init__ costs 8x; never mutated
class Principal:
    """The authenticated caller of one request."""

    user_id: str
    username: str
    role: str
    session_id: str
    scope: str
    auth_method: str
    access_expires_at: float
