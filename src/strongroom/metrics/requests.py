"""What the transport guard reports at the end of every request: one access log line and the
request counters.

Both take the route template (`/api/v1/secrets/{secret_id}`), never the concrete path, so a
secret's path or id never becomes a label or a log field, and the number of label values
stays bounded (an unknown route counts as `unmatched`). The counter children are cached per
(method, route, status): `labels()` takes a lock and builds a key on every call, which a
request on the fast lane should not pay.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from starlette.types import Scope

from strongroom.http.context import RequestContext, route_template
from strongroom.metrics.instruments import HTTP_DURATION, HTTP_REQUESTS

access_log = logging.getLogger("strongroom.access")

UNMATCHED = "unmatched"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Label sets stay bounded anyway (templates x methods x statuses); this only guards the cache.
_MAX_CACHED = 4096


class RequestObserver:
    """Called once per request with its final status and duration (seconds).

    `counting()` says whether metrics are on (the `metrics.access` setting: `off` stops the
    counting as well as the endpoint)."""

    def __init__(self, counting: Callable[[], bool]) -> None:
        self._counting = counting
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def __call__(self, scope: Scope, ctx: RequestContext, status: int, duration: float) -> None:
        method = scope["method"] if scope["method"] in _METHODS else "OTHER"
        route = route_template(scope) or UNMATCHED
        if self._counting():
            counter, histogram = self._instruments(method, route, status)
            counter.inc()
            histogram.observe(duration)
        if access_log.isEnabledFor(logging.INFO):
            _log_access(method, route, status, duration, ctx)

    def _instruments(self, method: str, route: str, status: int) -> tuple[Any, Any]:
        key = (method, route, status)
        found = self._children.get(key)
        if found is None:
            found = (
                HTTP_REQUESTS.labels(method, route, str(status)),
                HTTP_DURATION.labels(method, route),
            )
            if len(self._children) < _MAX_CACHED:
                self._children[key] = found
        return found


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
