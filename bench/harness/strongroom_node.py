"""A strongroom node as the benchmark runs it: the real `strongroom server`, TLS on (its own
local CA), the audit file sink on unless asked otherwise, then set up through its API: a role
`bench` (read/create/update/list on `bench/*`, and the transit module), a user holding it,
that user's token, and the user's transit key `bench` (aes256-gcm).
"""

from __future__ import annotations

import os
import secrets
import subprocess
from collections.abc import Mapping
from pathlib import Path

import httpx

from harness.common import (
    APPROLE,
    BENCH_USER,
    ONE_PATH,
    TRANSIT_KEY,
    TRANSIT_PLAINTEXT,
    WRITE_VALUE,
    RequestSpec,
    Seeded,
    dumps,
    expect,
    free_port,
)
from harness.procs import Processes, log_tail, wait_until

LOCKOUT_ROOM = {"login_failure_threshold": 1000, "login_ip_failure_threshold": 100_000}
ROLE = {
    "name": "bench",
    "description": "benchmark workloads",
    "rules": [
        {"path": "bench/*", "capabilities": ["read", "create", "update", "list"]},
        {"path": "module:transit", "capabilities": ["read"]},
    ],
}
API = "/api/v1"


def strongroom_version(executable: Path) -> str:
    out = subprocess.run([str(executable), "--version"], check=True, capture_output=True, text=True)
    return out.stdout.strip()


class StrongroomNode:
    def __init__(
        self,
        name: str,
        label: str,
        procs: Processes,
        data_dir: Path,
        executable: Path,
        *,
        workers: int,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.name = name
        self.label = label
        self.procs = procs
        self.data_dir = data_dir
        self.executable = executable
        self.workers = workers
        self.extra_env = dict(env or {})
        self.port = free_port()
        self.base_url = f"https://127.0.0.1:{self.port}"
        self.ca_file = data_dir / "ca.pem"
        self.log_path = data_dir.parent / f"{name}.log"
        self.seeded = Seeded()
        self.password = secrets.token_urlsafe(18)
        self.token = ""
        self.approle: dict[str, str] = {}
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    @property
    def audit_disabled(self) -> bool:
        return self.extra_env.get("STRONGROOM_AUDIT_DISABLE") == "true"

    def client(self, token: str | None = None) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.base_url,
            verify=str(self.ca_file),
            timeout=60,
            headers={"Authorization": f"Bearer {token or self.token}"},
        )

    # Start and set up ----------------------------------------------------------------------

    def start(self) -> None:
        # Nothing of the caller's own STRONGROOM_* configuration leaks into the bench nodes.
        env = {k: v for k, v in os.environ.items() if not k.startswith("STRONGROOM_")}
        env.update(
            {
                "STRONGROOM_DATA_DIR": str(self.data_dir),
                "STRONGROOM_HOST": "127.0.0.1",
                "STRONGROOM_PORT": str(self.port),
                "STRONGROOM_WORKERS": str(self.workers),
                "STRONGROOM_LOG_LEVEL": "warning",
                **self.extra_env,
            }
        )
        self._process = self.procs.start(
            [str(self.executable), "server"], log_path=self.log_path, env=env
        )
        wait_until(self._healthy, f"strongroom {self.name} to answer", timeout=120)

    def _healthy(self) -> bool:
        assert self._process is not None
        if self._process.poll() is not None:
            code = self._process.returncode
            raise SystemExit(f"strongroom {self.name} exited ({code}):\n{log_tail(self.log_path)}")
        if not self.ca_file.exists():
            return False
        health = httpx.get(f"{self.base_url}{API}/sys/health", verify=str(self.ca_file), timeout=2)
        return health.status_code == 200

    def admin_password(self) -> str:
        for line in (self.data_dir / "admin-password").read_text().splitlines():
            if line.startswith("password:"):
                return line.split(":", 1)[1].strip()
        raise SystemExit(f"no password in {self.data_dir / 'admin-password'}")

    def prepare(self) -> None:
        """The `bench` role and user, created by the admin; the user's token for the workloads."""
        with httpx.Client(base_url=self.base_url, verify=str(self.ca_file), timeout=60) as http:
            admin = self._login(http, "admin", self.admin_password())
            http.headers["Authorization"] = f"Bearer {admin}"
            expect(http.post(f"{API}/roles", json=ROLE), "create role bench")
            # The login workloads run many logins of one account from one address at once:
            # each attempt in flight holds a slot of the lock-out counters (README, "Login
            # lock-out"), so the thresholds make room for them.
            expect(http.post(f"{API}/sys/security", json=LOCKOUT_ROOM), "lock-out thresholds")
            user = {"username": BENCH_USER, "role": "bench", "password": self.password}
            expect(http.post(f"{API}/users/create", json=user), "create user bench")
            del http.headers["Authorization"]
            self.token = self._login(http, BENCH_USER, self.password)
            http.headers["Authorization"] = f"Bearer {self.token}"
            expect(http.post(f"{API}/modules/transit/enable"), "enable transit")
            key = {"name": TRANSIT_KEY, "type": "aes256-gcm"}
            expect(http.post(f"{API}/modules/transit/keys", json=key), "transit key")
            http.headers["Authorization"] = f"Bearer {admin}"
            self._approle(http)

    def _approle(self, http: httpx.Client) -> None:
        """An AppRole holding the `bench` role, through the Vault-compatible API (/v1/)."""
        role = {"token_policies": ["bench"], "secret_id_num_uses": 0, "token_ttl": "1h"}
        expect(http.post(f"/v1/auth/approle/role/{APPROLE}", json=role), "AppRole role")
        role_id = expect(http.get(f"/v1/auth/approle/role/{APPROLE}/role-id"), "role id")
        secret_id = expect(http.post(f"/v1/auth/approle/role/{APPROLE}/secret-id"), "secret id")
        self.approle = {
            "role_id": role_id.json()["data"]["role_id"],
            "secret_id": secret_id.json()["data"]["secret_id"],
        }

    def _login(self, http: httpx.Client, username: str, password: str) -> str:
        grant = {"grant_type": "password", "username": username, "password": password}
        response = http.post(f"{API}/auth/token/create", json={**grant, "ttl": "24h"})
        token: str = expect(response, f"log in as {username}").json()["access_token"]
        return token

    def audit_lines(self) -> int | None:
        path = self.data_dir / "audit.log"
        if self.audit_disabled:
            return None
        if not path.exists():
            return 0
        with path.open("rb") as handle:
            return sum(1 for _ in handle)

    # Workloads -----------------------------------------------------------------------------

    async def create_secret(self, client: httpx.AsyncClient, path: str, value: str) -> str:
        response = await client.post(f"{API}/secrets/create", json={"path": path, "value": value})
        return f"{API}/secrets/{expect(response, f'strongroom create {path}').json()['id']}"

    def spec(self, workload: str) -> RequestSpec:
        auth = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        login = {"grant_type": "password", "username": BENCH_USER, "password": self.password}
        specs = {
            "read_one": RequestSpec("GET", (self.seeded.one,), auth),
            "read_random": RequestSpec("GET", tuple(self.seeded.random), auth),
            "write": RequestSpec(
                "PUT", tuple(self.seeded.write), auth, dumps({"value": WRITE_VALUE})
            ),
            "login": RequestSpec(
                "POST",
                (f"{API}/auth/token/create",),
                {"Content-Type": "application/json"},
                dumps(login),
            ),
            "token_check": RequestSpec(
                "POST", (f"{API}/auth/check_token",), auth, dumps({"username": BENCH_USER})
            ),
            "transit_encrypt": RequestSpec(
                "POST",
                (f"{API}/modules/transit/encrypt/{TRANSIT_KEY}",),
                auth,
                dumps({"plaintext": TRANSIT_PLAINTEXT}),
            ),
            "vault_read": RequestSpec(
                "GET", (f"/v1/secret/data/{ONE_PATH}",), {"X-Vault-Token": self.token}
            ),
            "approle_login": RequestSpec(
                "POST",
                ("/v1/auth/approle/login",),
                {"Content-Type": "application/json"},
                dumps(self.approle),
            ),
        }
        return specs[workload]
