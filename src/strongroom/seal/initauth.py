"""The init token: the credential `sys/init` needs, so that no anonymous caller who reaches a
fresh node first can choose its root key (SECURITY.md 32).

It is STRONGROOM_INIT_TOKEN when the operator sets one, else a random token the node writes
at first start to `<data_dir>/init-token` (mode 0600): whoever can read the node's data
directory or configuration is the operator. The file is deleted once the node is initialised.
"""

from __future__ import annotations

import logging
import os
import secrets

from strongroom.config import Config
from strongroom.crypto import constant_time_equal

log = logging.getLogger(__name__)
INIT_TOKEN_PREFIX = "sri_"


def ensure_init_token(config: Config) -> None:
    """Write the init-token file unless the configuration names the token; keep an existing
    one (several restarts before init, the same token)."""
    if config.init_token is not None:
        return
    path = config.init_token_file
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(INIT_TOKEN_PREFIX + secrets.token_urlsafe(32) + "\n")
    log.warning("not initialised: the init token for POST /api/v1/sys/init is in %s", path)


def expected_init_token(config: Config) -> str | None:
    if config.init_token is not None:
        return config.init_token.get_secret_value()
    try:
        return config.init_token_file.read_text(encoding="ascii").strip() or None
    except OSError:
        return None


def init_token_matches(config: Config, presented: str | None) -> bool:
    expected = expected_init_token(config)
    if not expected or not presented:
        return False
    return constant_time_equal(presented, expected)
