"""Billing periods, closing dates and intervals — RATING.md §2, §3."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kakin.rating.periods import (
    CLOSING_DAYS,
    BillingMonth,
    ClosingDay,
    Interval,
    IntervalAlignment,
    Period,
    add_months,
    billing_month_closed_on,
    billing_month_of,
    billing_period,
    closing_date,
    interval_months,
    interval_period,
    local_date,
    parse_closing_day,
    subtract_periods,
)

from .factories import d

closing_days = st.sampled_from(CLOSING_DAYS)
billing_months = st.builds(
    BillingMonth, st.integers(min_value=2000, max_value=2100), st.integers(1, 12)
)


def test_20th_closing_month_2026_11_covers_oct_21_to_nov_20_in_31_days() -> None:
    """RATING.md §2: "20th closing: billing month 2026-11 covers 2026-10-21 … 2026-11-20"
    and "20th closing, month 2026-11 → 31 days (Oct 21–Nov 20)"."""
    period = billing_period(20, BillingMonth(2026, 11))
    assert period == Period(d("2026-10-21"), d("2026-11-20"))
    assert period.days == 31


def test_eom_closing_period_is_the_calendar_month() -> None:
    """RATING.md §2: "With `eom` it is the calendar month N." """
    assert billing_period("eom", BillingMonth(2028, 2)) == Period(d("2028-02-01"), d("2028-02-29"))
    assert billing_period("eom", BillingMonth(2026, 2)).days == 28


def test_january_period_starts_in_the_previous_year() -> None:
    """RATING.md §2: the period starts the day after the closing day of month N−1."""
    assert billing_period(25, BillingMonth(2027, 1)) == Period(d("2026-12-26"), d("2027-01-25"))


@pytest.mark.parametrize(
    ("closing_day", "expected"),
    [(5, "2026-11-06"), (10, "2026-11-11"), (20, "2026-11-21"), ("eom", "2026-12-01")],
)
def test_closing_date_is_the_day_after_the_period_ends(
    closing_day: ClosingDay, expected: str
) -> None:
    """RATING.md §2: "5th closing → the 6th; `eom` → the 1st of the next month." """
    assert closing_date(closing_day, BillingMonth(2026, 11)) == d(expected)


def test_a_day_after_the_closing_day_belongs_to_the_next_billing_month() -> None:
    """RATING.md §2: "A usage record belongs to the period that contains its local date." """
    assert billing_month_of(20, d("2026-11-20")) == BillingMonth(2026, 11)
    assert billing_month_of(20, d("2026-11-21")) == BillingMonth(2026, 12)
    assert billing_month_of(20, d("2026-12-21")) == BillingMonth(2027, 1)
    assert billing_month_of("eom", d("2026-11-30")) == BillingMonth(2026, 11)


def test_closing_run_on_d_rates_periods_that_ended_on_d_minus_1() -> None:
    """RATING.md §2: "The closing batch run on date D rates every contract whose period
    ended on D−1." """
    assert billing_month_closed_on(20, d("2026-11-21")) == BillingMonth(2026, 11)
    assert billing_month_closed_on(20, d("2026-11-22")) is None
    assert billing_month_closed_on("eom", d("2026-12-01")) == BillingMonth(2026, 11)
    assert billing_month_closed_on("eom", d("2026-12-02")) is None
    assert billing_month_closed_on(5, d("2027-01-06")) == BillingMonth(2027, 1)


def test_usage_belongs_to_the_period_of_its_tokyo_local_date() -> None:
    """RATING.md §2: "All dates are in the tenant's time zone (default Asia/Tokyo)"."""
    instant = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)  # 2026-11-21 00:30 in Tokyo
    assert local_date(instant) == d("2026-11-21")
    assert billing_month_of(20, local_date(instant)) == BillingMonth(2026, 12)
    assert local_date(instant, "UTC") == d("2026-11-20")
    with pytest.raises(ValueError, match="time zone"):
        local_date(datetime(2026, 11, 20, 15, 30))


def test_closing_days_parse_from_their_stored_form() -> None:
    """RATING.md §2: a closing day is 5, 10, 15, 20, 25 or end of month (`eom`)."""
    assert parse_closing_day("20") == 20
    assert parse_closing_day(5) == 5
    assert parse_closing_day("EOM") == "eom"
    with pytest.raises(ValueError, match="closing day"):
        parse_closing_day(31)


def test_add_months_clamps_to_the_last_day_of_short_months() -> None:
    assert add_months(d("2026-01-31"), 1) == d("2026-02-28")
    assert add_months(d("2026-03-31"), -1) == d("2026-02-28")
    assert add_months(d("2026-11-15"), 14) == d("2028-01-15")


def test_intervals_count_from_the_subscriptions_first_billing_month() -> None:
    """RATING.md §3: "its intervals counted from the subscription's first billing month"."""
    every3 = Interval(3)
    first = BillingMonth(2026, 2)
    assert interval_months(every3, BillingMonth(2026, 2), first) == (first, BillingMonth(2026, 4))
    assert interval_months(every3, BillingMonth(2026, 6), first) == (
        BillingMonth(2026, 5),
        BillingMonth(2026, 7),
    )
    annual = Interval(12)
    assert interval_months(annual, BillingMonth(2027, 1), first) == (
        BillingMonth(2026, 2),
        BillingMonth(2027, 1),
    )


def test_intervals_may_align_to_calendar_quarters_and_years() -> None:
    """RATING.md §3: "(or aligned to calendar quarters or years when the plan says so)"."""
    quarter = Interval(3, IntervalAlignment.CALENDAR)
    first = BillingMonth(2026, 2)
    assert interval_months(quarter, BillingMonth(2026, 2), first) == (
        BillingMonth(2026, 1),
        BillingMonth(2026, 3),
    )
    year = Interval(12, IntervalAlignment.CALENDAR)
    assert interval_months(year, BillingMonth(2026, 8), first) == (
        BillingMonth(2026, 1),
        BillingMonth(2026, 12),
    )
    assert interval_period(20, BillingMonth(2026, 1), BillingMonth(2026, 3)) == Period(
        d("2025-12-21"), d("2026-03-20")
    )


def test_only_the_documented_intervals_exist() -> None:
    """RATING.md §3: "every 1 (default), 2, 3, 6 or 12 billing months"."""
    with pytest.raises(ValueError, match="interval"):
        Interval(4)


@given(closing_days, billing_months)
def test_consecutive_billing_periods_tile_the_calendar(
    closing_day: ClosingDay, month: BillingMonth
) -> None:
    """RATING.md §2: each period starts the day after the previous one ends, so every day
    belongs to exactly one billing month."""
    period = billing_period(closing_day, month)
    following = billing_period(closing_day, month.shift(1))
    assert following.start == period.end + timedelta(days=1)
    assert 28 <= period.days <= 31
    assert billing_month_of(closing_day, period.start) == month
    assert billing_month_of(closing_day, period.end) == month
    assert closing_date(closing_day, month) == following.start


@given(closing_days, st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 1)))
def test_every_day_lies_in_the_period_of_its_billing_month(
    closing_day: ClosingDay, day: date
) -> None:
    """RATING.md §2: "A usage record belongs to the period that contains its local date." """
    assert billing_period(closing_day, billing_month_of(closing_day, day)).contains(day)


@given(
    st.lists(st.tuples(st.integers(0, 60), st.integers(0, 10)), max_size=4),
    st.lists(st.tuples(st.integers(0, 60), st.integers(0, 10)), max_size=4),
)
def test_subtracting_periods_keeps_exactly_the_days_outside_the_removed_ones(
    kept: list[tuple[int, int]], removed: list[tuple[int, int]]
) -> None:
    """RATING.md §5 active days: a life less its suspensions, day by day."""
    base = d("2026-11-01")

    def periods(spans: list[tuple[int, int]]) -> list[Period]:
        return [Period(base + timedelta(a), base + timedelta(a + n)) for a, n in spans]

    def days(ps: list[Period]) -> set[date]:
        return {day for p in ps for day in p.dates()}

    result = subtract_periods(periods(kept), periods(removed))
    assert days(result) == days(periods(kept)) - days(periods(removed))
    assert all(a.end < b.start for a, b in pairwise(result))
