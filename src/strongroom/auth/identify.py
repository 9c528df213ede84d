"""Which account a login names: a username, or the email address of an account."""

from __future__ import annotations

from strongroom.services import Services
from strongroom.users import repository as users_repo


async def login_name(services: Services, raw: str) -> str:
    """The username to log in as. Usernames never hold '@', so a name with one is an email
    address: the username of the account that has it (addresses are stored in lower case).
    An address no account has is returned as given and fails like an unknown username: the
    same status, body, hashing work and lock-out counting."""
    if "@" not in raw:
        return raw
    async with services.db.connect() as conn:
        username = await users_repo.username_by_email(conn, raw.strip().lower())
    return username or raw
