"""CPU time of counting one request (the counter and the latency histogram, in
prometheus-client's multiprocess files as under `strongroom server`), alone, in one process.

Set beside `bench/metrics_cost.py`'s CPU time per request, it gives the share of a request that
counting takes, unaffected by what else the machine runs.

    .venv/bin/python bench/observer_cost.py
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import time

CALLS = 200_000


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="strongroom-observer-") as directory:
        # Before prometheus_client is imported, as the server supervisor does.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
        from strongroom.fastlane import RouteTemplate
        from strongroom.http.context import RequestContext
        from strongroom.metrics.requests import RequestObserver

        logging.getLogger("strongroom.access").setLevel(
            logging.WARNING
        )  # as at --log-level warning
        scope = {
            "method": "GET",
            "path": "/api/v1/secrets/0",
            "route": RouteTemplate("/api/v1/secrets/{secret_id}"),
        }
        ctx = RequestContext("0" * 16, "127.0.0.1", "127.0.0.1", "https", 0.0)
        results = {}
        for label, counting in (("off", False), ("on", True)):
            observe = RequestObserver(lambda counting=counting: counting)
            observe(scope, ctx, 200, 0.001)  # the label children, made once
            started = time.process_time()
            for _ in range(CALLS):
                observe(scope, ctx, 200, 0.001)
            results[label] = (time.process_time() - started) / CALLS * 1e6
        # And the access line at info, through strongroom's text and JSON handlers (to
        # /dev/null: the cost of the write itself depends on where stderr goes).
        from strongroom.logs import log_handler

        observe = RequestObserver(lambda: True)
        root = logging.getLogger()
        with open(os.devnull, "w") as sink:
            for fmt in ("text", "json"):
                handler = log_handler(fmt, sink)
                root.addHandler(handler)
                logging.getLogger("strongroom.access").setLevel(logging.INFO)
                started = time.process_time()
                for _ in range(CALLS // 10):
                    observe(scope, ctx, 200, 0.001)
                results[fmt] = (time.process_time() - started) / (CALLS // 10) * 1e6
                root.removeHandler(handler)
        observe.flush()
        print(
            f"per request: counting on {results['on']:.2f} µs, off {results['off']:.2f} µs CPU; "
            f"counting adds {results['on'] - results['off']:.2f} µs; with the access line at "
            f"info: {results['text']:.1f} µs (text), {results['json']:.1f} µs (json)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
