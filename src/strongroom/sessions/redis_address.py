"""Where the session store's Redis is and how to reach it, from its URL, through redis-py.

The store talks to Redis over its own single connection (redis_wire.py), but what that
connection is made from is redis-py's: its URL parser (`redis.asyncio.connection.parse_url`),
its TLS context (`RedisSSLContext`, the `ssl_*` URL options of `rediss://`) and its Sentinel
client (`redis.asyncio.sentinel.Sentinel`), which names the current primary before each new
connection. Accepted forms:

    redis://[[user]:password@]host[:port][/db]
    rediss://[[user]:password@]host[:port][/db][?ssl_ca_certs=ca.pem&ssl_certfile=...]
    unix://[[user]:password@]/path/to/redis.sock[?db=N]
    redis+sentinel://[[user]:password@]host:port[,host:port...]/service[/db][?options]
    rediss+sentinel://...   (TLS to the sentinels and to the primary)

TLS options (redis-py's names): `ssl_ca_certs`, `ssl_ca_path`, `ssl_certfile`, `ssl_keyfile`,
`ssl_password`, `ssl_cert_reqs` (none, optional, required: the default),
`ssl_check_hostname` (default true), `ssl_min_version`, `ssl_ciphers`. Sentinel options:
`sentinel_username`, `sentinel_password` (the sentinels' own credentials; the user and password
before `@` are the primary's).
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from redis.asyncio.connection import RedisSSLContext, SSLConnection, parse_url
from redis.asyncio.sentinel import Sentinel

SENTINEL_SCHEMES = {"redis+sentinel": False, "rediss+sentinel": True}
DEFAULT_SENTINEL_PORT = 26379
_TLS_OPTIONS = {
    "ssl_keyfile": "keyfile",
    "ssl_certfile": "certfile",
    "ssl_cert_reqs": "cert_reqs",
    "ssl_ca_certs": "ca_certs",
    "ssl_ca_path": "ca_path",
    "ssl_check_hostname": "check_hostname",
    "ssl_min_version": "min_version",
    "ssl_ciphers": "ciphers",
    "ssl_password": "password",
}


def tls_context(options: dict[str, Any]) -> ssl.SSLContext:
    """redis-py's TLS context for these `ssl_*` options (secure defaults: verify the peer's
    certificate and its name)."""
    values = {target: options[name] for name, target in _TLS_OPTIONS.items() if name in options}
    values.setdefault("cert_reqs", "required")
    values.setdefault("check_hostname", values["cert_reqs"] == "required")
    if isinstance(values["check_hostname"], str):
        values["check_hostname"] = values["check_hostname"].lower() in {"1", "true", "yes", "y"}
    if isinstance(values.get("min_version"), int):
        values["min_version"] = ssl.TLSVersion(values["min_version"])
    context: ssl.SSLContext = RedisSSLContext(**values).get()
    return context


@dataclass(frozen=True)
class RedisAddress:
    """One Redis server, or a Sentinel-managed primary (`service` set)."""

    host: str = "localhost"
    port: int = 6379
    path: str | None = None  # a Unix socket
    tls: ssl.SSLContext | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    db: int = 0
    service: str | None = None
    sentinels: tuple[tuple[str, int], ...] = ()
    sentinel_options: dict[str, Any] = field(default_factory=dict, repr=False)

    def sentinel(self) -> Sentinel:
        """redis-py's Sentinel client for `sentinels` (made per store; closed with it)."""
        return Sentinel(  # type: ignore[no-untyped-call]
            list(self.sentinels), sentinel_kwargs=self.sentinel_options
        )


def parse_redis_url(url: str) -> RedisAddress:
    """The address of `url`; `ValueError` (without the URL: it may hold a password) if bad."""
    scheme = url.split(":", 1)[0].lower()
    if scheme in SENTINEL_SCHEMES:
        return _parse_sentinel(url, SENTINEL_SCHEMES[scheme])
    options: dict[str, Any] = dict(parse_url(url))
    tls = options.get("connection_class") is SSLConnection
    return RedisAddress(
        host=options.get("host", "localhost"),
        port=int(options.get("port", 6379)),
        path=options.get("path"),
        tls=tls_context(options) if tls else None,
        username=options.get("username"),
        password=options.get("password"),
        db=int(options.get("db", 0)),
    )


def _parse_sentinel(url: str, tls: bool) -> RedisAddress:
    parts = urlsplit(url)
    userinfo, _, hosts = parts.netloc.rpartition("@")
    username, _, password = userinfo.partition(":")
    sentinels = tuple(_host_port(item) for item in hosts.split(",") if item)
    segments = [unquote(s) for s in parts.path.split("/") if s]
    if not sentinels or not segments or len(segments) > 2:
        raise ValueError(
            "a Sentinel URL is redis+sentinel://[user:password@]host:port[,host:port...]"
            "/service[/db]"
        )
    options = {name: values[0] for name, values in parse_qs(parts.query).items()}
    sentinel_options: dict[str, Any] = {
        "socket_timeout": 2.0,
        "socket_connect_timeout": 2.0,
    }
    for name in ("username", "password"):
        if options.get(f"sentinel_{name}"):
            sentinel_options[name] = options[f"sentinel_{name}"]
    if tls:
        sentinel_options["ssl"] = True
        sentinel_options.update(
            {name: value for name, value in options.items() if name in _TLS_OPTIONS}
        )
    return RedisAddress(
        tls=tls_context(options) if tls else None,
        username=unquote(username) or None,
        password=unquote(password) or None,
        db=int(segments[1]) if len(segments) == 2 else int(options.get("db", 0)),
        service=segments[0],
        sentinels=sentinels,
        sentinel_options=sentinel_options,
    )


def _host_port(item: str) -> tuple[str, int]:
    if item.startswith("["):  # [IPv6]:port
        host, _, rest = item[1:].partition("]")
        return host, int(rest.lstrip(":") or DEFAULT_SENTINEL_PORT)
    host, _, port = item.rpartition(":") if ":" in item else (item, "", "")
    return host, int(port or DEFAULT_SENTINEL_PORT)
