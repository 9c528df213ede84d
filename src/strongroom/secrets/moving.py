"""Moving secrets: one path, or every live secret under a prefix, to a new path or prefix.

The secrets keep their ids, versions, metadata, expiry and read counts: only `path` (and
its claim, `path_key`) changes, for all of them in one transaction, so a reader by path sees
each secret at its old path or at its new one, never at neither. The caller needs `read` and
`delete` on every source path and `create` on every destination; one refusal refuses the
whole move, before anything is written. No value is decrypted or returned.

Each moved secret's watched value changes (service.changing), so no node serves a cached row
with the old path; the path memo of this node is updated, and the other nodes' memos are
checked by the writes that trust them (hot_writes.bump_from compares the path).
"""

from __future__ import annotations

from contextlib import AsyncExitStack
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError

from strongroom.auth.principal import Principal
from strongroom.db import now
from strongroom.errors import Conflict, InvalidInput, NotFound
from strongroom.http.context import RequestContext
from strongroom.policy.rules import Capability
from strongroom.secrets import mutations
from strongroom.secrets import repository as repo
from strongroom.secrets.access import require
from strongroom.secrets.cache import path_memo
from strongroom.secrets.paths import normalize_path, path_problem, prefix_upper_bound
from strongroom.secrets.schemas import MoveRequest
from strongroom.secrets.service import changing
from strongroom.services import Services

# One request moves at most this many secrets (one transaction, one audit record).
MAX_MOVED = 10_000


@dataclass(frozen=True, slots=True)
class Move:
    id: str
    old: str
    new: str


@dataclass(frozen=True, slots=True)
class _Plan:
    low: str  # the source path, or prefix (ending in '/')
    high: str | None  # the end of the prefix's range; None for one path
    destination: str  # the new path, or prefix (ending in '/')


def _plan(body: MoveRequest) -> _Plan:
    source = normalize_path(body.source, loc=("body", "source"))
    destination = normalize_path(body.destination, loc=("body", "destination"))
    if not body.prefix:
        if source == destination:
            raise InvalidInput("source and destination are the same path", loc=("body",))
        return _Plan(source, None, destination)
    low, new = source + "/", destination + "/"
    if low.startswith(new) or new.startswith(low):
        raise InvalidInput(
            "a prefix cannot be moved into itself or into one of its parents", loc=("body",)
        )
    return _Plan(low, prefix_upper_bound(low), new)


def _moves(plan: _Plan, rows: list[repo.SecretRow]) -> list[Move]:
    if len(rows) > MAX_MOVED:
        raise InvalidInput(
            f"more than {MAX_MOVED} secrets under this prefix: move a narrower one first",
            loc=("body", "source"),
        )
    moves = []
    for row in rows:
        new = (
            plan.destination if plan.high is None else plan.destination + row.path[len(plan.low) :]
        )
        problem = path_problem(new)
        if problem is not None:
            raise InvalidInput(f"{row.path!r} cannot move to {new!r}: {problem}", loc=("body",))
        moves.append(Move(row.id, row.path, new))
    return moves


def _authorize(services: Services, principal: Principal, moves: list[Move]) -> None:
    for move in moves:
        require(services, principal, Capability.read, move.old)
        require(services, principal, Capability.delete, move.old)
        require(services, principal, Capability.create, move.new)


async def move_secrets(
    services: Services, principal: Principal, body: MoveRequest, ctx: RequestContext
) -> list[Move]:
    """Move one secret or a prefix atomically; the moves made (none is an empty list only
    for a prefix with no live secret under it: a missing single path is a 404)."""
    plan = _plan(body)
    ctx.secret_path = plan.low
    if plan.high is None:
        # Like a read by path: a caller who may not read the path learns nothing about it.
        require(services, principal, Capability.read, plan.low)
    at = now()
    async with services.db.read() as conn:
        rows = await repo.live_under(conn, plan.low, plan.high, at, MAX_MOVED + 1)
    if plan.high is None and not rows:
        raise NotFound("no live secret at this path")
    for row in rows:  # before anything about these paths can reach an error message
        require(services, principal, Capability.read, row.path)
    moves = _moves(plan, rows)
    _authorize(services, principal, moves)
    if plan.high is None:
        ctx.secret_id = moves[0].id
    ctx.extra["audit"] = {"moved": [{"from": m.old, "to": m.new, "id": m.id} for m in moves]}
    if moves:
        await _apply(services, principal, plan, moves, at)
    memo = path_memo(services)
    for move in moves:
        memo.remember(move.id, move.new)
    return moves


async def _apply(
    services: Services, principal: Principal, plan: _Plan, moves: list[Move], at: float
) -> None:
    try:
        async with AsyncExitStack() as stack:
            for move in moves:
                await stack.enter_async_context(changing(services, move.id))
            async with services.db.begin() as conn:
                # Nothing new under the source since it was read, else its move would be
                # partial: the caller tries again.
                now_there = await repo.live_under(conn, plan.low, plan.high, at, MAX_MOVED + 1)
                if {row.id for row in now_there} != {move.id for move in moves}:
                    raise _changed()
                high = None if plan.high is None else prefix_upper_bound(plan.destination)
                await mutations.release_stale_holders_under(conn, plan.destination, high, at)
                triples = [(move.id, move.old, move.new) for move in moves]
                await mutations.move_paths(conn, triples, at, principal.username)
                held = await mutations.paths_of(conn, [move.id for move in moves])
                if any(held.get(move.id) != move.new for move in moves):
                    raise _changed()
    except IntegrityError:
        raise Conflict(
            "a live secret already holds a destination path; nothing was moved",
            code="path_taken",
        ) from None


def _changed() -> Conflict:
    return Conflict("the secrets under the source changed during the move; nothing was moved")
