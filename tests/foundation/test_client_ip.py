"""The one client-IP parser (issue 16, finding 6): every X-Forwarded-For / X-Forwarded-Proto
line counts, read from the right, and only from a trusted proxy."""

from __future__ import annotations

import ipaddress

import pytest

from strongroom.http.context import client_of

PROXY = [ipaddress.ip_network("127.0.0.1/32"), ipaddress.ip_network("10.0.0.0/8")]


def _scope(*headers: tuple[str, str], peer: str = "127.0.0.1") -> dict[str, object]:
    return {
        "client": (peer, 40000),
        "headers": [(name.lower().encode(), value.encode()) for name, value in headers],
    }


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        # A client-sent line first, the proxy's own line last: the proxy's is believed.
        ((("X-Forwarded-For", "198.51.100.7"), ("X-Forwarded-For", "203.0.113.9")), "203.0.113.9"),
        ((("X-Forwarded-For", "198.51.100.7, 203.0.113.9"),), "203.0.113.9"),
        # Two trusted proxies, each appending a line: the address in front of the outer one.
        (
            (("X-Forwarded-For", "192.0.2.1"), ("X-Forwarded-For", "203.0.113.9, 10.1.2.3")),
            "203.0.113.9",
        ),
        ((), "127.0.0.1"),
        ((("X-Forwarded-For", "not-an-ip"), ("X-Forwarded-For", "203.0.113.9")), "203.0.113.9"),
    ],
)
def test_forwarded_for_lines_are_joined(
    headers: tuple[tuple[str, str], ...], expected: str
) -> None:
    assert client_of(_scope(*headers), "http", PROXY)[0] == expected


def test_forwarded_headers_from_an_untrusted_peer_are_ignored() -> None:
    scope = _scope(
        ("X-Forwarded-For", "198.51.100.7"), ("X-Forwarded-Proto", "https"), peer="192.0.2.9"
    )
    assert client_of(scope, "http", PROXY) == ("192.0.2.9", "http")
    assert client_of(_scope(("X-Forwarded-For", "198.51.100.7")), "http", []) == (
        "127.0.0.1",
        "http",
    )


@pytest.mark.parametrize(
    ("headers", "scheme"),
    [
        # The client claims https on plain HTTP; the proxy appends what it saw: http.
        ((("X-Forwarded-Proto", "https"), ("X-Forwarded-Proto", "http")), "http"),
        ((("X-Forwarded-Proto", "https"),), "https"),
        # Two proxies appending: the scheme the outer one saw from the client.
        (
            (
                ("X-Forwarded-For", "203.0.113.9, 10.1.2.3"),
                ("X-Forwarded-Proto", "https"),
                ("X-Forwarded-Proto", "http"),
            ),
            "https",
        ),
        # Proxies that replace the header: its one value.
        ((("X-Forwarded-For", "203.0.113.9, 10.1.2.3"), ("X-Forwarded-Proto", "https")), "https"),
    ],
)
def test_forwarded_proto_is_read_at_the_clients_depth(
    headers: tuple[tuple[str, str], ...], scheme: str
) -> None:
    assert client_of(_scope(*headers), "http", PROXY)[1] == scheme
