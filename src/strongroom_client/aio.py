"""`AsyncClient`: the asyncio client (task-safe)."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any, TypeVar

from strongroom_client import auth
from strongroom_client._core import (
    Call,
    delay,
    request_of,
    result,
    retryable,
    route,
    wants_renew,
)
from strongroom_client.client import initial_tokens
from strongroom_client.config import resolve
from strongroom_client.errors import BadRequest, ConnectionFailed, Unauthorized
from strongroom_client.models import TokenCheck, Tokens
from strongroom_client.tokens import TokenStore
from strongroom_client.transport import AsyncHttpxTransport, AsyncTransport, RawResponse

if TYPE_CHECKING:
    from strongroom_client.groups.audit import AsyncAudit
    from strongroom_client.groups.kv import AsyncKV
    from strongroom_client.groups.modules import AsyncModules
    from strongroom_client.groups.roles import AsyncRoles
    from strongroom_client.groups.sessions import AsyncSessions
    from strongroom_client.groups.settings import AsyncSettings
    from strongroom_client.groups.sys import AsyncSys
    from strongroom_client.groups.users import AsyncUsers

T = TypeVar("T")


class AsyncClient:
    """An asyncio strongroom client over HTTPS (the same API as `Client`, awaited).

    `Client(address=None, cacert=None, token=None)`: a None argument comes from
    STRONGROOM_ADDR / STRONGROOM_CACERT / STRONGROOM_TOKEN, then from the embedded default's
    data directory (`./strongroom-data`: the address the server wrote and its `ca.pem`) and
    the command line's cached login. When the access token expires, the client renews the
    session once with its refresh token and repeats the request. GET requests are retried
    with backoff on 503 and connection failures; nothing else is.

    Use as an async context manager, or call `aclose()`.
    """

    def __init__(
        self,
        address: str | None = None,
        cacert: str | None = None,
        token: str | None = None,
        *,
        refresh_token: str | None = None,
        token_store: TokenStore | None = None,
        timeout: float = 30.0,
        retries: int = 3,
        transport: AsyncTransport | None = None,
    ) -> None:
        self.target = resolve(address, cacert)
        self._tokens, self._store = initial_tokens(self.target, token, token_store)
        if refresh_token and self._tokens is not None:
            self._tokens = Tokens(self._tokens.access_token, refresh_token)
        self._persist_logins = token_store is not None
        self.retries = retries
        self._transport = transport or AsyncHttpxTransport(self.target.cacert, timeout)
        import asyncio  # here: importing asyncio costs the command line's start time

        self._renew_lock = asyncio.Lock()
        self._groups: dict[str, Any] = {}

    # -- lifecycle -------------------------------------------------------------------------

    async def aclose(self) -> None:
        """Close the connections (the session stays open: see `logout`)."""
        await self._transport.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()

    @property
    def address(self) -> str:
        """The server's address, e.g. `https://127.0.0.1:8200`."""
        return self.target.address

    @property
    def tokens(self) -> Tokens | None:
        """The current tokens (they change at each automatic renew)."""
        return self._tokens

    @property
    def token(self) -> str | None:
        """The current access token, if any."""
        return self._tokens.access_token if self._tokens else None

    # -- requests --------------------------------------------------------------------------

    async def call(self, call: Call[T]) -> T:
        """Send one API call: renew once on an expired token, retry GET on 503/no answer."""
        attempt = 0
        renewed = False
        while True:
            token = self.token if call.auth else None
            url, headers, body = request_of(call, self.target.api, token)
            raw: RawResponse | None
            try:
                raw = await self._transport.send(call.method, url, headers, body or None)
            except ConnectionFailed:
                if not retryable(call, None, attempt, self.retries):
                    raise
                raw = None
            if raw is None or retryable(call, raw, attempt, self.retries):
                await _sleep(delay(attempt, raw))
                attempt += 1
                continue
            if not renewed and wants_renew(call, raw, token) and await self._renew(token):
                renewed = True
                continue
            return result(call, raw)

    async def _renew(self, failed: str | None) -> bool:
        """Renew the session whose access token `failed` was refused, once for every thread
        that saw it refused (and once for every process sharing the token store)."""
        async with self._renew_lock:
            current = self._tokens
            if current is None:
                return False
            if current.access_token != failed:
                return True  # another thread renewed meanwhile
            if current.refresh_token is None:
                return False
            lock = self._store.lock() if self._store else contextlib.nullcontext()
            with lock:
                if self._store is not None:
                    stored = self._store.load()
                    if stored is not None and stored.access_token != failed:
                        self._tokens = stored  # another process renewed meanwhile
                        return True
                try:
                    fresh = await self.call(auth.renew(current.refresh_token))
                except (Unauthorized, BadRequest):
                    return False
                self._tokens = fresh
                if self._store is not None:
                    self._store.save(fresh)
            return True

    # -- authentication ----------------------------------------------------------------------

    @route("POST", "/auth/token/create")
    async def login(self, username: str, password: str, **options: Any) -> Tokens:
        """Log in with a password; the client uses the new session from then on.

        `options`: session options of the token endpoint (`ttl`, `bind_ip`, `max_uses`,
        `one_time`, `scope`, `client_id`). Bad credentials raise `InvalidGrant`; too many
        failures `RateLimited`."""
        tokens = await self.call(auth.password_login(username, password, options))
        await self._adopt(tokens, username)
        return tokens

    @route("POST", "/auth/github/login")
    async def login_github(self, github_token: str, **options: Any) -> Tokens:
        """Log in with a GitHub token (the server checks organization membership)."""
        tokens = await self.call(auth.github_login(github_token, options))
        await self._adopt(tokens, None)
        return tokens

    async def _adopt(self, tokens: Tokens, username: str | None) -> None:
        async with self._renew_lock:
            self._tokens = tokens
            if self._persist_logins and self._store is not None:
                self._store.save(tokens, username)
            elif not self._persist_logins:
                self._store = None  # an explicit login is this client's own

    @route("POST", "/auth/token/renew")
    async def renew(self, github_token: str | None = None) -> Tokens:
        """Renew the session now: new access and refresh tokens, the old pair dies.
        Sessions opened by GitHub login need a current `github_token` of the account."""
        current = self._tokens
        if current is None or current.refresh_token is None:
            raise ValueError("this client holds no refresh token")
        tokens = await self.call(auth.renew(current.refresh_token, github_token))
        async with self._renew_lock:
            self._tokens = tokens
            if self._store is not None:
                self._store.save(tokens)
        return tokens

    @route("POST", "/auth/token/revoke")
    async def revoke(self, token: str) -> bool:
        """Revoke an access or refresh token (its session ends). True whether or not it
        existed (RFC 7009)."""
        return await self.call(auth.revoke(token))

    @route("POST", "/auth/logout")
    async def logout(self) -> bool:
        """End this client's session on the server (both tokens die)."""
        done = await self.call(auth.logout())
        async with self._renew_lock:
            self._tokens = None
        return done

    @route("POST", "/auth/token/introspect")
    async def introspect(self, token: str) -> dict[str, Any]:
        """RFC 7662 introspection of a token: `{"active": true, ...}` or `{"active": false}`."""
        return await self.call(auth.introspect(token))

    @route("POST", "/auth/check_token")
    async def check_token(self, username: str) -> TokenCheck:
        """Check that this client's token is valid and belongs to `username` (else
        `InvalidToken` / `Forbidden`)."""
        return await self.call(auth.check_token(username))

    # -- groups ----------------------------------------------------------------------------

    def _group(self, name: str, factory: Any) -> Any:
        group = self._groups.get(name)
        if group is None:
            group = self._groups[name] = factory(self)
        return group

    @property
    def kv(self) -> AsyncKV:
        """Secrets by path: get, put, list, versions, delete, undelete, destroy."""
        from strongroom_client.groups.kv import AsyncKV

        group: AsyncKV = self._group("kv", AsyncKV)
        return group

    @property
    def users(self) -> AsyncUsers:
        """User accounts (admins), and `me()`."""
        from strongroom_client.groups.users import AsyncUsers

        group: AsyncUsers = self._group("users", AsyncUsers)
        return group

    @property
    def roles(self) -> AsyncRoles:
        """Roles and their path rules (admins)."""
        from strongroom_client.groups.roles import AsyncRoles

        group: AsyncRoles = self._group("roles", AsyncRoles)
        return group

    @property
    def sessions(self) -> AsyncSessions:
        """Your sessions (admins and auditors: anyone's)."""
        from strongroom_client.groups.sessions import AsyncSessions

        group: AsyncSessions = self._group("sessions", AsyncSessions)
        return group

    @property
    def settings(self) -> AsyncSettings:
        """Runtime settings (admins write, auditors read)."""
        from strongroom_client.groups.settings import AsyncSettings

        group: AsyncSettings = self._group("settings", AsyncSettings)
        return group

    @property
    def audit(self) -> AsyncAudit:
        """The audit log of the database sink, and the audit HMAC of a token."""
        from strongroom_client.groups.audit import AsyncAudit

        group: AsyncAudit = self._group("audit", AsyncAudit)
        return group

    @property
    def modules(self) -> AsyncModules:
        """The module library (issue 18): list, enable, disable; transit and totp."""
        from strongroom_client.groups.modules import AsyncModules

        group: AsyncModules = self._group("modules", AsyncModules)
        return group

    @property
    def sys(self) -> AsyncSys:
        """Health, seal status, init, unseal, seal, rekey, rotate."""
        from strongroom_client.groups.sys import AsyncSys

        group: AsyncSys = self._group("sys", AsyncSys)
        return group


async def _sleep(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds)
