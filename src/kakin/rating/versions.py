"""Which version is in force on a day — RATING.md §3, §4, §7 — the one dated-version lookup.

Price plans, tariffs and tax rates are dated master data, and a subscription's plan
assignments and quantities are dated the same way: "a revision applies from its date"
(§4), "the old plan is active through E−1, the new plan from E" (§3), "a future rate
change is a new row" (§7). So every one of them answers "which version holds on day d"
with `version_on`, and "which versions hold over these days, and on which of them" with
`version_runs`. The catalog's SQL look-up (`catalog.repository.version_on`) is the same
rule written as a query.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date, timedelta
from typing import Final, Generic, NamedTuple, Protocol, TypeVar

_ONE_DAY: Final = timedelta(days=1)


class Dated(Protocol):
    """A version valid from its `valid_from` until the next version's."""

    @property
    def valid_from(self) -> date: ...


V = TypeVar("V", bound=Dated)


def version_on(versions: Iterable[V], day: date) -> V | None:
    """The version in force on `day`: the latest `valid_from` ≤ `day`; of two from the same
    day, the one listed last (None before the first version). The versions may come in
    any order."""
    best: V | None = None
    for version in versions:
        if version.valid_from <= day and (best is None or version.valid_from >= best.valid_from):
            best = version
    return best


class VersionRun(NamedTuple, Generic[V]):
    """`version` is in force on `start`..`end` (both included; `end=None`: open)."""

    start: date
    end: date | None
    version: V


def version_runs(versions: Iterable[V], first: date, last: date | None) -> Iterator[VersionRun[V]]:
    """The versions in force on some day of `first`..`last` (`last=None`: open-ended), in
    date order, each with the days of the window on which it is in force. Days before the
    first version have none (no run)."""
    ordered = sorted(versions, key=lambda v: v.valid_from)  # stable: the last listed wins
    for index, version in enumerate(ordered):
        following = ordered[index + 1].valid_from if index + 1 < len(ordered) else None
        start = max(version.valid_from, first)
        end = following - _ONE_DAY if following is not None else None
        if last is not None and (end is None or end > last):
            end = last
        if end is not None and end < start:
            continue
        yield VersionRun(start, end, version)
