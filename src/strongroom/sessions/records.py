"""Conversions shared by both session stores."""

from __future__ import annotations

import base64
import binascii

from strongroom.sessions.store import SessionInfo


def encode_cursor(created_at: float, session_id: str) -> str:
    return base64.urlsafe_b64encode(f"{created_at!r}|{session_id}".encode()).decode()


def decode_cursor(cursor: str | None) -> tuple[float, str] | None:
    """`ValueError` for a cursor this store did not make."""
    if not cursor:
        return None
    try:
        created, _, session_id = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        return float(created), session_id
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ValueError("invalid cursor") from None


def token_expired(info: SessionInfo, expires_at: float | None, now: float) -> bool:
    """Whether the session's token that expires at `expires_at` is dead at `now`: by its own
    expiry, the absolute lifetime or the idle timeout (the `expired` outcome)."""
    if expires_at is None or expires_at <= now or info.max_expires_at <= now:
        return True
    return info.idle_timeout is not None and info.last_used_at + info.idle_timeout <= now


def is_exhausted(info: SessionInfo) -> bool:
    return info.max_uses is not None and info.uses >= info.max_uses


def is_live(info: SessionInfo, now: float) -> bool:
    if info.max_expires_at <= now:
        return False
    if info.idle_timeout and info.last_used_at + info.idle_timeout <= now:
        return False
    if info.max_uses is not None and info.uses >= info.max_uses:
        return False
    refresh_alive = info.refresh_expires_at is not None and info.refresh_expires_at > now
    return info.access_expires_at > now or refresh_alive
