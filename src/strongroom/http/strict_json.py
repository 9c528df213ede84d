"""One JSON reader for every request body: RFC 8259 numbers only, and integers a column holds.

Python's `json` accepts `NaN`, `Infinity` and `-Infinity` (not JSON) and integers of any size;
a NaN was stored as `null`, and an integer past 64 bits reached the database driver and came
back as a 500 (`OverflowError`). Here both are malformed JSON: FastAPI answers 422
`json_invalid` with the reason, before any route code runs.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request
from fastapi.routing import APIRoute
from starlette.responses import Response

# The widest integer column (SQLite INTEGER, PostgreSQL BIGINT); fields narrower than this
# carry their own bounds in their schema.
INT_MIN = -(2**63)
INT_MAX = 2**63 - 1
_MAX_DIGITS = 20


class StrictJsonError(json.JSONDecodeError):
    """A number JSON does not have or no column can hold; says which, never the document."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason, "", 0)


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > _MAX_DIGITS:
        raise StrictJsonError(f"integers are between {INT_MIN} and {INT_MAX}")
    value = int(text)
    if not INT_MIN <= value <= INT_MAX:
        raise StrictJsonError(f"integers are between {INT_MIN} and {INT_MAX}")
    return value


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise StrictJsonError("numbers must be finite")
    return value


def _no_constant(name: str) -> Any:
    raise StrictJsonError(f"{name} is not JSON: numbers must be finite")


def strict_loads(raw: bytes | str) -> Any:
    """`json.loads` that refuses NaN/Infinity and integers outside 64 bits (StrictJsonError)."""
    return json.loads(
        raw, parse_int=_bounded_int, parse_float=_finite_float, parse_constant=_no_constant
    )


class StrictJsonRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = strict_loads(await self.body())
        return self._json


Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class StrictJsonRoute(APIRoute):
    """The route class of every API router: its JSON bodies are read by `strict_loads`."""

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()

        async def strict_handler(request: Request) -> Response:
            return await handler(StrictJsonRequest(request.scope, request.receive, request._send))

        return strict_handler
