"""Local users linked to GitHub accounts by GitHub's numeric user id.

A GitHub login creates the local user on first use (no password, username = the GitHub login
in lower case) and afterwards finds it by id, so a rename on GitHub keeps the same local user
and username (its secrets under `users/<username>/` stay where they are); only `github_login`
follows. Accounts are never merged: if the username is already taken by another local user
(a password account, or another GitHub id that once had that login), the login is refused
with 409 and nothing changes. The role of a linked user follows GitHub at every login and
renew; an admin's change to it lasts until the next one.
"""

from __future__ import annotations

import dataclasses

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from strongroom.db import now
from strongroom.db.base import new_id
from strongroom.errors import OAuthError
from strongroom.github.mapping import GitHubIdentity
from strongroom.services import Services
from strongroom.users import repository as users_repo
from strongroom.users.repository import UserRow
from strongroom.users.validation import USERNAME

DISABLED = "this account is disabled"


def _taken(username: str, by_github: bool) -> OAuthError:
    owner = "another GitHub account" if by_github else "a local account not linked to GitHub"
    return OAuthError(
        "invalid_grant",
        f"the username {username!r} already belongs to {owner}; accounts are never merged, "
        "so an admin must rename or delete that user first",
        status=409,
    )


async def _create(conn: AsyncConnection, identity: GitHubIdentity, role: str) -> UserRow:
    username = identity.login.lower()
    if not USERNAME.fullmatch(username):
        raise OAuthError(
            "invalid_grant",
            f"the GitHub login {identity.login!r} is not a valid strongroom username "
            "(2-64 characters of a-z, 0-9, '.', '_', '-')",
            status=409,
        )
    taken = await users_repo.get_by_username(conn, username)
    if taken is not None:
        raise _taken(username, taken.github_id is not None)
    stamp = now()
    user = UserRow(
        new_id(), username, None, role, None, identity.id, identity.login, False, stamp, stamp
    )
    await users_repo.insert_user(conn, user)
    return user


async def _sync(
    conn: AsyncConnection, user: UserRow, identity: GitHubIdentity, role: str
) -> UserRow:
    if user.disabled:
        raise OAuthError("invalid_grant", DISABLED, status=403)
    if user.role == role and user.github_login == identity.login:
        return user
    await users_repo.update_user(
        conn, user.id, role=role, github_login=identity.login, updated_at=now()
    )
    return dataclasses.replace(user, role=role, github_login=identity.login)


async def _link_once(services: Services, identity: GitHubIdentity, role: str) -> UserRow:
    async with services.db.begin() as conn:
        user = await users_repo.get_by_github_id(conn, identity.id)
        if user is None:
            return await _create(conn, identity, role)
        return await _sync(conn, user, identity, role)


async def link_user(services: Services, identity: GitHubIdentity, role: str) -> UserRow:
    """The local user of `identity` with `role`, created on first login; 409/403 as above."""
    try:
        return await _link_once(services, identity, role)
    except IntegrityError:
        pass  # a concurrent first login of the same account inserted it: use theirs
    try:
        return await _link_once(services, identity, role)
    except IntegrityError:
        raise _taken(identity.login.lower(), True) from None


async def sync_user(
    services: Services, user: UserRow, identity: GitHubIdentity, role: str
) -> UserRow:
    """Bring an existing linked user's role and GitHub login up to date (renew)."""
    async with services.db.begin() as conn:
        current = await users_repo.get_by_id(conn, user.id)
        if current is None:
            raise OAuthError("invalid_grant", "the session's user no longer exists")
        return await _sync(conn, current, identity, role)


async def current_user(services: Services, user_id: str) -> UserRow | None:
    async with services.db.connect() as conn:
        return await users_repo.get_by_id(conn, user_id)


async def end_sessions_of(services: Services, github_id: int) -> int:
    """End every session of the local user linked to `github_id` (it lost its access)."""
    async with services.db.connect() as conn:
        user = await users_repo.get_by_github_id(conn, github_id)
    if user is None:
        return 0
    return await services.store.revoke_user_sessions(user.id)
