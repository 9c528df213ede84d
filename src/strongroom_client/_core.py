"""What the sync and async clients share: the description of one API call, how it becomes a
request, how an answer becomes a result or an exception, and when to retry.

Only GET and HEAD are retried (on 503 and on connection failures): strongroom's PUT writes a
new version and DELETE moves a secret to the bin, so neither is idempotent in effect.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from urllib.parse import quote, urlencode

from strongroom import __version__
from strongroom_client.errors import StrongroomError, error_from, retry_after
from strongroom_client.transport import RawResponse

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])
USER_AGENT = f"strongroom-client/{__version__}"
IDEMPOTENT = frozenset({"GET", "HEAD"})
MAX_DELAY = 2.0


@dataclass(frozen=True, slots=True)
class Call(Generic[T]):
    """One request to `/api/v1` + `path` and how to read its answer."""

    method: str
    path: str
    parse: Callable[[Any], T]
    params: Sequence[tuple[str, str]] = ()
    json: Any = None
    form: Mapping[str, str] | None = None
    auth: bool = True
    #: Error statuses whose body is still the answer (health: 503 sealed, 501 uninitialised).
    answers: frozenset[int] = frozenset()

    @property
    def idempotent(self) -> bool:
        return self.method in IDEMPOTENT


def route(method: str, template: str) -> Callable[[F], F]:
    """Marks a client method as covering a server route (a test checks that every route of
    the server is covered by some method)."""

    def mark(function: F) -> F:
        routes = getattr(function, "__strongroom_routes__", ())
        function.__strongroom_routes__ = (*routes, (method, template))  # type: ignore[attr-defined]
        return function

    return mark


def segment(value: str) -> str:
    """One path segment (an id, a username), percent-encoded."""
    if not value:
        raise ValueError("an empty name or id")
    return quote(value, safe="")


def secret_path(path: str) -> str:
    """A secret's path, its '/' kept."""
    if not path.strip("/"):
        raise ValueError("an empty secret path")
    return quote(path.lstrip("/"), safe="/")


def request_of(call: Call[Any], api: str, token: str | None) -> tuple[str, dict[str, str], bytes]:
    """The URL, headers and body of a call."""
    headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
    url = api + call.path
    if call.params:
        url += "?" + urlencode(list(call.params))
    body = b""
    if call.form is not None:
        body = urlencode(dict(call.form)).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    elif call.json is not None:
        body = json.dumps(call.json, ensure_ascii=False).encode()
        headers["Content-Type"] = "application/json"
    if call.auth and token:
        headers["Authorization"] = f"Bearer {token}"
    return url, headers, body


def decoded(raw: RawResponse) -> Any:
    if not raw.body:
        return None
    try:
        return json.loads(raw.body)
    except ValueError:
        return None


def failure(raw: RawResponse) -> StrongroomError:
    """The exception for an answer of 400 or above."""
    return error_from(raw.status, decoded(raw), raw.headers)


def result(call: Call[T], raw: RawResponse) -> T:
    if raw.status >= 400 and raw.status not in call.answers:
        raise failure(raw)
    return call.parse(decoded(raw))


def wants_renew(call: Call[Any], raw: RawResponse, token: str | None) -> bool:
    """A 401 invalid_token on an authenticated call: the access token died; renew once."""
    if raw.status != 401 or not call.auth or not token:
        return False
    body = decoded(raw)
    return isinstance(body, dict) and body.get("code") == "invalid_token"


def retryable(call: Call[Any], raw: RawResponse | None, attempt: int, retries: int) -> bool:
    """GET/HEAD on 503 or no answer (`raw` None), while attempts remain."""
    if not call.idempotent or attempt >= retries:
        return False
    return raw is None or (raw.status == 503 and raw.status not in call.answers)


def delay(attempt: int, raw: RawResponse | None) -> float:
    """Exponential backoff (0.2 s, 0.4 s, ...) with jitter; Retry-After honoured up to 2 s."""
    wait = 0.2 * (2**attempt)
    after = retry_after(raw.headers) if raw is not None else None
    if after is not None:
        wait = max(wait, after)
    return float(min(wait, MAX_DELAY) * random.uniform(0.8, 1.0))


def no_content(_data: Any) -> None:
    return None


def raw_json(data: Any) -> Any:
    return data


def copy_docs(target: type, source: type) -> None:
    """The async group and its methods carry the docstrings of the sync group's."""
    if not target.__doc__:
        target.__doc__ = f"{source.__doc__} (async: the methods of `{source.__name__}`, awaited)"
    for name, member in vars(source).items():
        if callable(member) and not name.startswith("_"):
            mine = vars(target).get(name)
            if mine is not None and not getattr(mine, "__doc__", None):
                mine.__doc__ = member.__doc__


def collect(
    client: Any, page_call: Callable[[str | None], Call[Any]], item: Callable[[Any], T]
) -> list[T]:
    """Every item of a paginated listing (sync client)."""
    found: list[T] = []
    cursor: str | None = None
    while True:
        page = client.call(page_call(cursor))
        found += [item(entry) for entry in page.items]
        if not page.next_cursor:
            return found
        cursor = page.next_cursor


async def acollect(
    client: Any, page_call: Callable[[str | None], Call[Any]], item: Callable[[Any], T]
) -> list[T]:
    """Every item of a paginated listing (async client)."""
    found: list[T] = []
    cursor: str | None = None
    while True:
        page = await client.call(page_call(cursor))
        found += [item(entry) for entry in page.items]
        if not page.next_cursor:
            return found
        cursor = page.next_cursor


def paged(
    path: str, params: Sequence[tuple[str, str]] = (), limit: int = 500
) -> Callable[[str | None], Call[Any]]:
    """The call of one page of `path` at `cursor`."""
    from strongroom_client.models import page_from

    def page(cursor: str | None) -> Call[Any]:
        extra = [("cursor", cursor)] if cursor else []
        return Call("GET", path, page_from, params=[*params, ("limit", str(limit)), *extra])

    return page
