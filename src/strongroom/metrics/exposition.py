"""The text a scrape gets: this process's metrics, or, in multiprocess mode, every worker's
(summed from the files in `PROMETHEUS_MULTIPROC_DIR`)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def render() -> bytes:
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest(REGISTRY)


def prepare_multiprocess_dir(directory: Path) -> None:
    """Make `directory` the workers' shared metrics directory, emptied: the supervisor calls it
    before any worker starts (files of an earlier run would be added to this one's)."""
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(mode=0o700, parents=True)
    os.environ[MULTIPROC_ENV] = str(directory)
