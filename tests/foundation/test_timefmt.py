"""The one time format: RFC 3339 UTC with microseconds, exactly as datetime renders it."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from strongroom.timefmt import rfc3339


@given(st.floats(min_value=0, max_value=2**33, allow_nan=False))
def test_matches_datetime_rendering(timestamp: float) -> None:
    expected = dt.datetime.fromtimestamp(timestamp, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert rfc3339(timestamp) == expected


def test_whole_seconds_keep_their_microseconds_and_none_stays_none() -> None:
    assert rfc3339(0.0) == "1970-01-01T00:00:00.000000Z"
    assert rfc3339(1.9999996) == "1970-01-01T00:00:02.000000Z"
    assert rfc3339(None) is None
