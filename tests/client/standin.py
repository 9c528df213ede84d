"""A stand-in HTTP server for the retry tests: it answers a script of statuses and counts the
requests it got (a real server on a real socket; no mock of the client's HTTP)."""

from __future__ import annotations

import json
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SECRET = {
    "id": "00000000-0000-4000-8000-000000000001",
    "path": "a/b",
    "version": 1,
    "value": "v",
    "metadata": {},
    "created_at": "2026-12-01T00:00:00Z",
    "updated_at": "2026-12-01T00:00:00Z",
    "expires_at": None,
    "reads": None,
    "max_reads": None,
}
UNAVAILABLE = {"detail": "the database is unavailable", "code": "database_unavailable"}


class StandIn:
    """Answers 503 `failures` times per (method, path), then 200 with `SECRET`."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.hits: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                key = (self.command, self.path.split("?")[0])
                with stand_in._lock:
                    stand_in.hits[key] += 1
                    count = stand_in.hits[key]
                status, body = (503, UNAVAILABLE) if count <= stand_in.failures else (200, SECRET)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _answer

            def log_message(self, *_args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> StandIn:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
