"""Every metric strongroom exports, defined once.

`prometheus-client` picks its storage when it is first imported: with the environment variable
`PROMETHEUS_MULTIPROC_DIR` set (the server supervisor sets it, see `multiprocess_dir`), each
worker writes its values to memory-mapped files in that directory and `GET /metrics`, whichever
worker answers, adds up the files of all of them. Without it (the app in a test process) the
values live in this process.

Counters move where things happen (cheap: one locked add); gauges that describe a state
(sealed, sessions, secrets, backend latency) are set when a scrape asks for them.
"""

from __future__ import annotations

import sys

from prometheus_client import Counter, Gauge, Histogram

from strongroom import __version__

# Request latencies in seconds: a read served from the cache takes well under a millisecond,
# a login's Argon2id a few hundred.
LATENCY_BUCKETS = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)

HTTP_REQUESTS = Counter(
    "strongroom_http_requests",
    "HTTP requests answered, by method, route template and status.",
    ["method", "route", "status"],
)
HTTP_DURATION = Histogram(
    "strongroom_http_request_duration_seconds",
    "Time from a request's arrival to the end of its response, by method and route template.",
    ["method", "route"],
    buckets=LATENCY_BUCKETS,
)
LOGINS = Counter(
    "strongroom_logins",
    "Password checks (login, password change) by outcome: success, failure, locked_out.",
    ["outcome"],
)
LOCKOUTS = Counter(
    "strongroom_login_lockouts",
    "Login attempts refused because an account or an address is locked out.",
)
AUDIT_WRITE_FAILURES = Counter(
    "strongroom_audit_write_failures", "Audit records a sink could not write.", ["sink"]
)
BACKEND_ERRORS = Counter(
    "strongroom_backend_errors",
    "Requests answered 503 because a backend could not be reached.",
    ["backend"],
)
SWEEPS = Counter(
    "strongroom_sweeper_runs",
    "Runs of each background sweeper, by outcome.",
    ["sweeper", "outcome"],
)
SWEPT = Counter(
    "strongroom_sweeper_items", "Items (sessions, secrets, shares) each sweeper ended.", ["sweeper"]
)
SWEEP_LAST = Gauge(
    "strongroom_sweeper_last_success_timestamp_seconds",
    "Unix time of each sweeper's last successful run.",
    ["sweeper"],
    multiprocess_mode="max",
)

# Set at scrape time by the worker that answers it.
SEALED = Gauge(
    "strongroom_sealed", "1 while the node is sealed (no root key).", multiprocess_mode="mostrecent"
)
ACTIVE_SESSIONS = Gauge(
    "strongroom_active_sessions",
    "Sessions not yet ended (the sweeper removes expired ones).",
    multiprocess_mode="mostrecent",
)
SECRETS = Gauge(
    "strongroom_secrets",
    "Secrets by state: live, expired, deleted, destroyed.",
    ["state"],
    multiprocess_mode="mostrecent",
)
KEYRING_VERSION = Gauge(
    "strongroom_keyring_data_key_version",
    "Newest data-key version of the keyring (POST /sys/rotate adds one).",
    multiprocess_mode="mostrecent",
)
BACKEND_UP = Gauge(
    "strongroom_backend_up",
    "1 when the backend answered the scrape's probe.",
    ["backend"],
    multiprocess_mode="mostrecent",
)
BACKEND_LATENCY = Gauge(
    "strongroom_backend_latency_seconds",
    "Round trip of the scrape's probe (database SELECT 1, session store PING).",
    ["backend"],
    multiprocess_mode="mostrecent",
)
REWRAP_RUNNING = Gauge(
    "strongroom_rewrap_running",
    "1 while a rewrap job (POST /sys/rotate with rewrap) is running.",
    multiprocess_mode="mostrecent",
)
REWRAP_DONE = Gauge(
    "strongroom_rewrap_done",
    "Blobs the latest rewrap job has re-encrypted under the newest data key.",
    multiprocess_mode="mostrecent",
)
REWRAP_TOTAL = Gauge(
    "strongroom_rewrap_total",
    "Blobs the latest rewrap job has to re-encrypt.",
    multiprocess_mode="mostrecent",
)
BUILD_INFO = Gauge(
    "strongroom_build_info",
    "Always 1; the labels say which strongroom and Python run.",
    ["version", "python"],
    multiprocess_mode="max",
)
BUILD_INFO.labels(__version__, ".".join(map(str, sys.version_info[:3]))).set(1)
