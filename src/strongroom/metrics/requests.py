"""What the transport guard reports at the end of every request: one access line and the
request counters.

Both take the route template (`/api/v1/secrets/{secret_id}`), never the concrete path, so a
secret's path or id never becomes a label or a log field, and the number of label values
stays bounded (an unknown route counts as `unmatched`).

Counting costs a few dictionary operations per request: the request is tallied here, in plain
Python, and `flush()` adds the tallies to the Prometheus metrics, once a second (`flush_every`,
run by the app) and before a scrape. A value of prometheus-client in multiprocess mode is a
locked write to a memory-mapped file; a request's counter and histogram took three of them,
several microseconds, on every request.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
import math
from collections.abc import Callable

from starlette.types import Scope

from strongroom.http.context import RequestContext, route_template
from strongroom.metrics.instruments import HTTP_DURATION, HTTP_REQUESTS, LATENCY_BUCKETS

access_log = logging.getLogger("strongroom.access")

UNMATCHED = "unmatched"
FLUSH_INTERVAL = 1.0
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# The histogram's upper bounds, +Inf last (prometheus-client adds it too).
_BOUNDS = (*LATENCY_BUCKETS, math.inf)


class RequestObserver:
    """Called once per request with its final status and duration (seconds).

    `counting()` says whether metrics are on (the `metrics.access` setting: `off` stops the
    counting as well as the endpoint)."""

    def __init__(self, counting: Callable[[], bool]) -> None:
        self._counting = counting
        self._requests: dict[tuple[str, str, int], int] = {}
        # (method, route) -> [sum of seconds, then one count per bucket of _BOUNDS]
        self._latency: dict[tuple[str, str], list[float]] = {}

    def __call__(self, scope: Scope, ctx: RequestContext, status: int, duration: float) -> None:
        method = scope["method"] if scope["method"] in _METHODS else "OTHER"
        route = route_template(scope) or UNMATCHED
        if self._counting():
            key = (method, route, status)
            self._requests[key] = self._requests.get(key, 0) + 1
            tally = self._latency.get((method, route))
            if tally is None:
                tally = self._latency[(method, route)] = [0.0] * (len(_BOUNDS) + 1)
            tally[0] += duration
            tally[1 + bisect.bisect_left(_BOUNDS, duration)] += 1
        if access_log.isEnabledFor(logging.INFO):
            _log_access(method, route, status, duration, ctx)

    def flush(self) -> None:
        """Add the tallies since the last flush to the Prometheus metrics."""
        requests, self._requests = self._requests, {}
        latency, self._latency = self._latency, {}
        for (method, route, status), count in requests.items():
            HTTP_REQUESTS.labels(method, route, str(status)).inc(count)
        for (method, route), tally in latency.items():
            child = HTTP_DURATION.labels(method, route)
            # What Histogram.observe does per observation, once per bucket (pinned
            # prometheus-client; tests/operations/test_metrics.py checks the buckets).
            child._sum.inc(tally[0])
            for index, hits in enumerate(tally[1:]):
                if hits:
                    child._buckets[index].inc(hits)


async def flush_every(observer: RequestObserver, interval: float = FLUSH_INTERVAL) -> None:
    """The app's background task: a worker's counts reach the shared files within `interval`."""
    try:
        while True:
            await asyncio.sleep(interval)
            observer.flush()
    finally:
        observer.flush()


def _log_access(method: str, route: str, status: int, duration: float, ctx: RequestContext) -> None:
    principal = ctx.principal.user_id if ctx.principal is not None else "-"
    milliseconds = round(duration * 1000, 2)
    access_log.info(
        "%s %s %d %.2fms principal=%s",
        method,
        route,
        status,
        milliseconds,
        principal,
        extra={
            "access": {
                "method": method,
                "route": route,
                "status": status,
                "duration_ms": milliseconds,
                "principal_id": principal if ctx.principal is not None else None,
            }
        },
    )
