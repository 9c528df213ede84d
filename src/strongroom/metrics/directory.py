"""The workers' shared metrics directory. Kept apart from everything that imports
prometheus_client: the environment variable must be set before that import, which picks the
storage of every value then (files in multiprocess mode, memory otherwise)."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def prepare_multiprocess_dir(directory: Path) -> None:
    """Make `directory` the workers' shared metrics directory, emptied: the supervisor calls it
    before any worker starts (files of an earlier run would be added to this one's)."""
    if "prometheus_client" in sys.modules:
        raise RuntimeError("prometheus_client was imported before its directory was set")
    if directory.exists():
        shutil.rmtree(directory)
    # `parents=True` would make a missing data directory with the umask's mode (0755), not
    # `mode`: the data directory is made here first, private, as prepare_data_dir makes it.
    directory.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    directory.mkdir(mode=0o700)
    os.environ[MULTIPROC_ENV] = str(directory)
