"""Secret paths: the one place that says what a path is.

A path is 1 to 16 segments joined by `/`, at most 512 characters in all. A segment is 1 to 128
characters of `A-Z a-z 0-9 . _ -` and is not made of dots only (so `.` and `..` can never
mean "here" or "parent"). Paths are case-sensitive. One leading and one trailing `/` are
stripped (`/team/app/` is `team/app`); anything else that would make an empty segment (`//`,
a path of slashes) is refused. `*`, `+` and `{` never appear in a path: they are the wildcards
of policy patterns. Every refusal is a 422 naming the offending part.

The charset is ASCII on purpose: byte order and code-point order agree, which keeps range
queries and keyset pagination identical on SQLite and PostgreSQL.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from strongroom.errors import InvalidInput

MAX_PATH_LENGTH = 512
MAX_DEPTH = 16
MAX_SEGMENT_LENGTH = 128
SEGMENT_CHARS = "A-Za-z0-9._-"
_SEGMENT = re.compile(rf"[{SEGMENT_CHARS}]{{1,{MAX_SEGMENT_LENGTH}}}")
_PARTIAL = re.compile(rf"[{SEGMENT_CHARS}]*")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
CHARSET_HELP = "letters, digits, '.', '_' and '-'"


def is_valid_segment(segment: str) -> bool:
    return bool(_SEGMENT.fullmatch(segment)) and segment.strip(".") != ""


def _segment_problem(segment: str) -> str | None:
    if not segment:
        return "empty segment ('//'): segments are separated by exactly one '/'"
    if segment.strip(".") == "":
        return f"segment {segment!r} is not allowed ('.' and '..' have no meaning here)"
    if len(segment) > MAX_SEGMENT_LENGTH:
        return f"a segment has at most {MAX_SEGMENT_LENGTH} characters"
    if not _SEGMENT.fullmatch(segment):
        return f"segment {segment!r} has characters outside {CHARSET_HELP}"
    return None


def _common_problem(raw: str) -> str | None:
    if _CONTROL.search(raw):
        return "control characters (NUL, newline...) are not allowed in a path"
    if len(raw) > MAX_PATH_LENGTH + 2:
        return f"a path has at most {MAX_PATH_LENGTH} characters"
    return None


def normalize_path(raw: str, loc: Sequence[str | int] = ("body", "path")) -> str:
    """The canonical form of a secret path; `InvalidInput` (422) at `loc` if it is not one."""
    problem = _common_problem(raw)
    if problem is None:
        path = raw.removeprefix("/").removesuffix("/")
        problem = path_problem(path)
        if problem is None:
            return path
    raise InvalidInput(f"invalid path: {problem}", loc=loc)


def path_problem(path: str) -> str | None:
    """Why `path` (already stripped) is not a canonical secret path, or None."""
    if not path:
        return "the path is empty"
    if len(path) > MAX_PATH_LENGTH:
        return f"a path has at most {MAX_PATH_LENGTH} characters"
    segments = path.split("/")
    if len(segments) > MAX_DEPTH:
        return f"a path has at most {MAX_DEPTH} segments"
    for segment in segments:
        problem = _segment_problem(segment)
        if problem is not None:
            return problem
    return None


def normalize_prefix(raw: str, loc: Sequence[str | int] = ("query", "prefix")) -> str:
    """A listing prefix: whole segments, then optionally the start of one (`team/ap`).

    A leading `/` is stripped; the empty prefix lists everything the caller may see.
    """
    problem = _common_problem(raw)
    prefix = raw.removeprefix("/")
    if problem is None and prefix:
        *whole, last = prefix.split("/")
        for segment in whole:
            problem = _segment_problem(segment)
            if problem is not None:
                break
        if problem is None and not _PARTIAL.fullmatch(last):
            problem = f"{last!r} has characters outside {CHARSET_HELP}"
        if problem is None and len(whole) >= MAX_DEPTH:
            problem = f"a path has at most {MAX_DEPTH} segments"
    if problem is not None:
        raise InvalidInput(f"invalid prefix: {problem}", loc=loc)
    return prefix


def prefix_upper_bound(prefix: str) -> str:
    """The smallest string greater than every string starting with `prefix` (non-empty, ASCII).

    `path >= prefix AND path < upper` is an index range scan on both databases, where LIKE
    would depend on the collation and on SQLite's case_sensitive_like.
    """
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)
