"""Optimistic concurrency: a row's `version` is its ETag; `If-Match` must name it.

Every versioned row (`version_id_col`) is updated `WHERE version = <the version read>`, so
of two requests changing one row concurrently the second matches nothing. That lost race
is turned into a 412 or 409 at ONE place, the request edge (`tenancy.deps.require`), for
every resource alike — never a 500.
"""

from __future__ import annotations

from fastapi import Response
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm.exc import StaleDataError

from kakin.kit.errors import Conflict, PreconditionFailed, Problem


def etag(version: int) -> str:
    return f'"{version}"'


def set_etag(response: Response, version: int) -> None:
    response.headers["ETag"] = etag(version)


def check_if_match(if_match: str | None, version: int) -> None:
    """RFC 9110 §13.1.1: a change with a stale `If-Match` fails with 412 and changes nothing."""
    if if_match is None:
        return
    candidates = {c.strip().removeprefix("W/") for c in if_match.split(",")}
    if "*" in candidates or etag(version) in candidates:
        return
    raise PreconditionFailed(
        f"If-Match {if_match} does not match the current ETag {etag(version)}",
        current_etag=etag(version),
    )


class ConcurrentChange(Conflict):
    slug = "concurrent-change"
    title = "The resource was changed by another request; read it again and retry"


def lost_race(if_match: str | None) -> Problem:
    """What a request that lost a race for a row answers: 412 when it named the version it
    read (`If-Match`, RFC 9110 §13.1.1: that version is no longer current), else 409."""
    if if_match is not None:
        return PreconditionFailed(
            f"If-Match {if_match} names a version another request has just replaced"
        )
    return ConcurrentChange()


RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})

SQLITE_BUSY_SNAPSHOT = 517
"""SQLite in WAL mode: this transaction read a snapshot, another one has committed a write
since, so this one may not write (https://sqlite.org/rescode.html#busy_snapshot)."""


def is_lost_race(exc: BaseException) -> bool:
    """Whether `exc` says this transaction lost a race with another one.

    - `StaleDataError`: an UPDATE or DELETE of a versioned row (`version_id_col`) matched
      no row, because a concurrent transaction changed the row since it was read;
    - PostgreSQL's deadlock (40P01) and serialization failure (40001): the database chose
      this transaction as the one to abort;
    - SQLite's SQLITE_BUSY_SNAPSHOT: another transaction wrote since this one read.
    """
    if isinstance(exc, StaleDataError):
        return True
    if isinstance(exc, DBAPIError):
        orig = exc.orig
        return (
            getattr(orig, "sqlstate", None) in RETRYABLE_SQLSTATES
            or getattr(orig, "sqlite_errorcode", None) == SQLITE_BUSY_SNAPSHOT
        )
    return False
