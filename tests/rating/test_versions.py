"""The one dated-version lookup: which version is in force on a day (RATING.md §3, §4, §7)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from kakin.rating.periods import Period
from kakin.rating.versions import VersionRun, version_on, version_runs

from .factories import d


@dataclass(frozen=True)
class V:
    name: str
    valid_from: date


JAN, APR, JUL = V("jan", d("2026-01-01")), V("apr", d("2026-04-01")), V("jul", d("2026-07-01"))


def test_a_revision_applies_from_its_date() -> None:
    """RATING.md §4: "a revision applies from its date"; nothing is in force before the
    first version."""
    assert version_on([JAN, APR, JUL], d("2025-12-31")) is None
    assert version_on([JAN, APR, JUL], d("2026-03-31")) == JAN
    assert version_on([JAN, APR, JUL], d("2026-04-01")) == APR
    assert version_on([JUL, JAN, APR], d("2030-01-01")) == JUL  # any order


def test_of_two_versions_from_one_day_the_last_listed_holds() -> None:
    again = V("apr-again", APR.valid_from)
    assert version_on([JAN, APR, again], d("2026-05-01")) == again
    assert [r.version for r in version_runs([JAN, APR, again], APR.valid_from, None)] == [again]


def test_the_runs_of_a_window_clip_each_version_to_its_days() -> None:
    assert list(version_runs([JAN, APR, JUL], d("2026-03-15"), d("2026-07-10"))) == [
        VersionRun(d("2026-03-15"), d("2026-03-31"), JAN),
        VersionRun(d("2026-04-01"), d("2026-06-30"), APR),
        VersionRun(d("2026-07-01"), d("2026-07-10"), JUL),
    ]
    assert list(version_runs([APR, JUL], d("2026-01-01"), None)) == [
        VersionRun(d("2026-04-01"), d("2026-06-30"), APR),
        VersionRun(d("2026-07-01"), None, JUL),
    ]
    assert list(version_runs([JAN, APR], d("2025-01-01"), d("2025-12-31"))) == []


BASE = date(2026, 1, 1)
offsets = st.lists(st.integers(0, 60), max_size=6)


@given(offsets, st.integers(-10, 70), st.integers(0, 40))
def test_the_runs_hold_on_each_day_the_version_in_force(
    starts: list[int], first: int, length: int
) -> None:
    versions = [V(str(n), BASE + timedelta(days=offset)) for n, offset in enumerate(starts)]
    window = Period(BASE + timedelta(days=first), BASE + timedelta(days=first + length))
    runs = list(version_runs(versions, window.start, window.end))
    by_runs = {
        day: run.version for run in runs for day in Period(run.start, run.end or window.end).dates()
    }
    in_force = {day: v for day in window.dates() if (v := version_on(versions, day)) is not None}
    assert by_runs == in_force
    for before, after in itertools.pairwise(runs):
        assert before.end is not None
        assert after.start == before.end + timedelta(days=1)
