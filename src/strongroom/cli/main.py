"""The `strongroom` command: node commands (`server`, `migrate`, `settings-table`) and the
client commands (`login`, `kv ...`, `user ...`; `strongroom_client.cli`).

This module imports nothing heavy: a node command loads the server, a client command loads
only the client (`strongroom kv get` must start fast and never import the server)."""

from __future__ import annotations

import sys
from collections.abc import Sequence

NODE_COMMANDS = frozenset({"server", "migrate", "settings-table"})


def main(argv: Sequence[str] | None = None) -> int:
    """Run `strongroom ARGS...`; returns the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in NODE_COMMANDS:
        from strongroom.cli.node import main as node_main

        return node_main(args)
    from strongroom_client.cli.app import main as client_main

    return client_main(args)


if __name__ == "__main__":
    sys.exit(main())
