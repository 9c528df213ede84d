"""A user's personal space (`users/{username}/`) ends with the user.

The built-in `user` role matches paths by name, so a new account with a deleted one's name
would match the old account's secrets. Deleting a user therefore destroys every secret under
`users/{username}/` in the transaction that deletes the user (ciphertexts wiped, their keys
deleted, paths released: see erasure.py), whoever wrote them; a user created with that name
afterwards, by an admin, by registration or by GitHub login, starts with an empty space.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from sqlalchemy.ext.asyncio import AsyncConnection

from strongroom.db import now
from strongroom.secrets import mutations
from strongroom.secrets.erasure import erased
from strongroom.secrets.service import changing
from strongroom.services import Services


def personal_prefix(username: str) -> str:
    return f"users/{username}/"


class PersonalSpace:
    """`async with space.ending(): ... await space.destroy(conn)` inside the user's delete."""

    def __init__(self, services: Services, username: str) -> None:
        self.services = services
        self.prefix = personal_prefix(username)
        self.destroyed: list[str] = []

    @contextlib.asynccontextmanager
    async def ending(self) -> AsyncIterator[PersonalSpace]:
        """Bracket the secrets found now for the nodes' caches (pending during the delete's
        transaction); after it, scrub the files and bracket any found only inside it."""
        async with self.services.db.read() as conn:
            known = await mutations.personal_secret_ids(conn, self.prefix)
        async with contextlib.AsyncExitStack() as stack:
            for secret_id in known:
                await stack.enter_async_context(changing(self.services, secret_id))
            yield self
        for secret_id in self.destroyed:
            if secret_id not in known:
                async with changing(self.services, secret_id):
                    pass
            await erased(self.services, secret_id)

    async def destroy(self, conn: AsyncConnection) -> None:
        self.destroyed = await mutations.destroy_under(conn, self.prefix, now())
