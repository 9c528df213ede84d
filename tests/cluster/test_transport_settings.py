"""Transport settings changed over HTTP on node A are in force on node B for the very next
request, without a restart (issue 4, acceptance 4; issue 2, acceptance 4).

Two real server processes share one PostgreSQL database and one Redis: A listens with TLS
(the admin changes settings there), B listens with plain HTTP, so `security.require_https`
decides whether B serves at all. Both are reached from 127.0.0.1, which is the peer that
`security.trusted_proxies` trusts or not.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cluster.conftest import cluster_env, two_nodes
from tests.support import REDIS_URL, TEST_PASSWORD

pytestmark = pytest.mark.slow  # real server processes

# A public route (no session check) that, unlike the health check, HTTPS covers.
PUBLIC = "/api/v1/openapi.json"
LOGIN = "/api/v1/auth/token/create"
SESSIONS = "/api/v1/auth/sessions"
ME = "/api/v1/users/me"
SPOOFED = "192.0.2.77"


@dataclass
class Nodes:
    a: httpx.Client  # TLS, where the admin writes settings
    b: httpx.Client  # plain HTTP, where the effect is observed
    admin: dict[str, str]

    def set_security(self, **values: Any) -> None:
        response = self.a.post("/api/v1/sys/security", json=values, headers=self.admin)
        assert response.status_code == 200, response.text

    def login_on_b(self, headers: dict[str, str] | None = None) -> httpx.Response:
        form = {"grant_type": "password", "username": "alice", "password": TEST_PASSWORD}
        return self.b.post(LOGIN, data=form, headers=headers or {})

    def login_ip(self, token: str) -> str:
        """The client IP the app recorded at login, read back through node A."""
        listed = self.a.get(SESSIONS, headers={"Authorization": f"Bearer {token}"})
        assert listed.status_code == 200, listed.text
        current = [s for s in listed.json()["items"] if s["current"]]
        assert len(current) == 1, listed.text
        return str(current[0]["ip"])


@pytest.fixture
def nodes(tmp_path: Path, pg_url: str, redis_prefix: str) -> Iterator[Nodes]:
    env = cluster_env(pg_url, REDIS_URL, redis_prefix)
    with two_nodes(tmp_path, env, b_tls=False) as cluster:
        a, b, password = cluster.a, cluster.b, cluster.admin_password
        with (
            httpx.Client(base_url=a.url, verify=a.verify, timeout=30) as client_a,
            httpx.Client(base_url=b.url, timeout=30) as client_b,
        ):
            login = client_a.post(
                LOGIN, data={"grant_type": "password", "username": "admin", "password": password}
            )
            assert login.status_code == 200, login.text
            admin = {"Authorization": f"Bearer {login.json()['access_token']}"}
            created = client_a.post(
                "/api/v1/users/create",
                json={"username": "alice", "password": TEST_PASSWORD},
                headers=admin,
            )
            assert created.status_code == 200, created.text
            yield Nodes(client_a, client_b, admin)


def _refused_for_https(response: httpx.Response) -> None:
    assert response.status_code == 403, response.text
    assert response.json()["code"] == "https_required"


def test_require_https_toggled_on_a_applies_to_the_next_request_on_b(nodes: Nodes) -> None:
    # B listens with plain HTTP and the default policy refuses it.
    _refused_for_https(nodes.b.get(PUBLIC))
    token = nodes.a.post(
        LOGIN, data={"grant_type": "password", "username": "alice", "password": TEST_PASSWORD}
    ).json()["access_token"]
    bearer = {"Authorization": f"Bearer {token}"}
    # Each kind of request (public, login, authenticated) is the first one B sees after the
    # change, so none of them can lean on an earlier request having refreshed B's settings.
    next_requests = {
        "public": lambda: nodes.b.get(PUBLIC),
        "login": lambda: nodes.login_on_b(),
        "authenticated": lambda: nodes.b.get(ME, headers=bearer),
    }
    seen: dict[str, tuple[int, int, str | None]] = {}
    for name, request in next_requests.items():
        nodes.set_security(require_https=False)
        allowed = request()
        nodes.set_security(require_https=True)
        refused = request()
        code = refused.json().get("code") if refused.status_code == 403 else None
        seen[name] = (allowed.status_code, refused.status_code, code)
        assert "strict-transport-security" not in allowed.headers, name
    expected = (200, 403, "https_required")
    assert seen == dict.fromkeys(next_requests, expected)


def test_trusted_proxies_changed_on_a_decide_the_next_client_ip_on_b(nodes: Nodes) -> None:
    nodes.set_security(require_https=False)
    spoofed = {"X-Forwarded-For": SPOOFED}

    # Not trusted: the header is ignored, the app sees the peer.
    login = nodes.login_on_b(spoofed)
    assert login.status_code == 200, login.text
    assert nodes.login_ip(login.json()["access_token"]) == "127.0.0.1"

    # Trusted from the very next request on B: the login records the forwarded address.
    nodes.set_security(trusted_proxies=["127.0.0.1/32"])
    login = nodes.login_on_b(spoofed)
    assert login.status_code == 200, login.text
    assert nodes.login_ip(login.json()["access_token"]) == SPOOFED

    # And distrusted again, at once.
    nodes.set_security(trusted_proxies=[])
    login = nodes.login_on_b(spoofed)
    assert login.status_code == 200, login.text
    assert nodes.login_ip(login.json()["access_token"]) == "127.0.0.1"


def test_trusted_proxies_decide_ip_binding_on_the_next_authenticated_request(
    nodes: Nodes,
) -> None:
    """An authenticated request on B: a session bound to the forwarded address works while the
    proxy is trusted and is refused on the next request once it is not."""
    nodes.set_security(require_https=False, trusted_proxies=["127.0.0.1/32"])
    spoofed = {"X-Forwarded-For": SPOOFED}
    form = {
        "grant_type": "password",
        "username": "alice",
        "password": TEST_PASSWORD,
        "bind_ip": "true",
    }
    login = nodes.b.post(LOGIN, data=form, headers=spoofed)
    assert login.status_code == 200, login.text
    bearer = {"Authorization": f"Bearer {login.json()['access_token']}", **spoofed}
    assert nodes.b.get(ME, headers=bearer).status_code == 200
    nodes.set_security(trusted_proxies=[])
    assert nodes.b.get(ME, headers=bearer).status_code == 401
    nodes.set_security(trusted_proxies=["127.0.0.0/8"])
    assert nodes.b.get(ME, headers=bearer).status_code == 200


def test_forwarded_proto_is_believed_only_while_the_proxy_is_trusted(nodes: Nodes) -> None:
    """With HTTPS required, plain HTTP to B passes only as `X-Forwarded-Proto: https` from a
    trusted proxy; the trust is granted and withdrawn on A, seen by B's next request."""
    proxied = {"X-Forwarded-Proto": "https", "X-Forwarded-For": SPOOFED}
    _refused_for_https(nodes.b.get(PUBLIC, headers=proxied))
    nodes.set_security(trusted_proxies=["127.0.0.1"])
    answer = nodes.b.get(PUBLIC, headers=proxied)
    assert answer.status_code == 200, answer.text
    assert answer.headers["strict-transport-security"].startswith("max-age=")
    nodes.set_security(trusted_proxies=[])
    _refused_for_https(nodes.b.get(PUBLIC, headers=proxied))
