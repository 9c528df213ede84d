"""Destroyed means gone: what follows the deletion of a value's key.

Every value is encrypted under a key of its own (crypto/envelope.py). The destroy, the last
read of a burn-after-N secret and the expiry sweep delete the key of each version they wipe,
with its ciphertext, in one transaction (secrets/mutations.py); so does every write that
prunes versions beyond `secrets.max_versions` (secrets/hot_writes.py). From that commit on the
keyring cannot decrypt any copy of those ciphertexts.

Once it has committed, `erased` drops the secret's cached row on this node (other nodes: see
secrets/cache.py) and scrubs the database files (`Database.scrub`: on SQLite the WAL, which
still holds the pages as they were, is checkpointed and truncated; deleted content is zeroed
in place by `secure_delete`) before the request is answered. The sweeper scrubs on every
round (`after_sweep`): prunes, and any scrub a busy WAL deferred, are scrubbed within one
sweep interval.
"""

from __future__ import annotations

from strongroom.secrets.cache import secret_cache
from strongroom.services import Services


async def erased(services: Services, secret_id: str) -> None:
    """After the commit that deleted keys of `secret_id`: no copy on this node, none on disk."""
    secret_cache(services).forget(secret_id)
    await services.db.scrub()


async def after_sweep(services: Services) -> None:
    """Each sweep: drop aged cache entries (expired secrets among them), scrub the files."""
    secret_cache(services).drop_aged()
    await services.db.scrub()
