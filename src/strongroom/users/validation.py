"""Rules for usernames, e-mail addresses and passwords."""

from __future__ import annotations

import re

from strongroom.errors import InvalidInput

USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}")
EMAIL = re.compile(r"[^@\s\x00-\x1f]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")
MAX_PASSWORD_LENGTH = 1024


def normalise_username(raw: str) -> str:
    """Usernames are case-insensitive: stored and compared in lower case."""
    return raw.strip().lower()


def check_username(raw: str) -> str:
    name = normalise_username(raw)
    if not USERNAME.fullmatch(name):
        raise InvalidInput(
            "username must be 2-64 characters of a-z, 0-9, '.', '_', '-', starting with a "
            "letter or digit",
            loc=("body", "username"),
        )
    return name


def check_email(raw: str | None) -> str | None:
    if raw is None or raw == "":
        return None
    email = raw.strip().lower()
    if len(email) > 254 or not EMAIL.fullmatch(email):
        raise InvalidInput("email is not a valid address", loc=("body", "email"))
    return email


def check_password(
    password: str, username: str, min_length: int, *, field: str = "password"
) -> None:
    if len(password) < min_length:
        raise InvalidInput(
            f"password must be at least {min_length} characters", loc=("body", field)
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidInput(
            f"password must be at most {MAX_PASSWORD_LENGTH} characters", loc=("body", field)
        )
    if password.strip().lower() == username.lower():
        raise InvalidInput("password must not be the username", loc=("body", field))
    if len(set(password)) < 4:
        raise InvalidInput("password is too repetitive", loc=("body", field))
