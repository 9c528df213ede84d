"""The text a scrape gets: this process's metrics, or, in multiprocess mode, every worker's
(summed from the files in `PROMETHEUS_MULTIPROC_DIR`)."""

from __future__ import annotations

import os

from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from strongroom.metrics.directory import MULTIPROC_ENV


def render() -> bytes:
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest(REGISTRY)
