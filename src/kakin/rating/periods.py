"""Billing periods, closing days, closing dates and intervals (RATING.md §2, §3).

Everything here works on local dates: RATING.md §2 "All dates are in the tenant's time
zone (default Asia/Tokyo)". The one function that sees an instant, `local_date`, turns it
into the tenant's local date with the time zone database; nothing here reads a clock.
"""

from __future__ import annotations

import calendar
import enum
import functools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Final, Literal
from zoneinfo import ZoneInfo

ClosingDay = Literal[5, 10, 15, 20, 25, "eom"]
"""RATING.md §2: a contract's closing day is 5, 10, 15, 20, 25 or end of month (`eom`)."""

CLOSING_DAYS: Final[tuple[ClosingDay, ...]] = (5, 10, 15, 20, 25, "eom")
"""RATING.md §2: every closing day a tenant or a contract may choose."""

_CLOSING_DAY_BY_TEXT: Final[dict[str, ClosingDay]] = {str(day): day for day in CLOSING_DAYS}

DEFAULT_TIME_ZONE: Final = "Asia/Tokyo"
"""RATING.md §2: the tenant's time zone when it chose none."""

_ONE_DAY: Final = timedelta(days=1)


def parse_closing_day(value: str | int) -> ClosingDay:
    """A closing day from its stored form (`"20"`, `20` or `"eom"`); ValueError otherwise."""
    try:
        return _CLOSING_DAY_BY_TEXT[str(value).strip().lower()]
    except KeyError:
        raise ValueError(
            f"closing day must be one of 5, 10, 15, 20, 25, eom; got {value!r}"
        ) from None


@dataclass(frozen=True, order=True, slots=True)
class BillingMonth:
    """RATING.md §2 / GLOSSARY "N月分": the month a billing period is named after."""

    year: int
    month: int

    def __post_init__(self) -> None:
        if not 1 <= self.month <= 12:
            raise ValueError(f"month must be 1..12, got {self.month}")

    @classmethod
    def parse(cls, text: str) -> BillingMonth:
        """`"2026-11"` → BillingMonth(2026, 11)."""
        year, _, month = text.partition("-")
        return cls(int(year), int(month))

    @classmethod
    def of(cls, day: date) -> BillingMonth:
        """The calendar month of `day` (not the billing month it belongs to: see
        `billing_month_of`)."""
        return cls(day.year, day.month)

    def shift(self, months: int) -> BillingMonth:
        """The billing month `months` later (earlier when negative)."""
        index = self.year * 12 + (self.month - 1) + months
        return BillingMonth(index // 12, index % 12 + 1)

    def index(self) -> int:
        """A running month number: `b.index() - a.index()` months lie between a and b."""
        return self.year * 12 + (self.month - 1)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


@dataclass(frozen=True, order=True, slots=True)
class Period:
    """A run of calendar days, both ends included."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"period ends ({self.end}) before it starts ({self.start})")

    @property
    def days(self) -> int:
        """The number of calendar days, both ends counted (RATING.md §2 暦日数)."""
        return (self.end - self.start).days + 1

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end

    def intersect(self, other: Period) -> Period | None:
        """The days both periods share, or None."""
        start = max(self.start, other.start)
        end = min(self.end, other.end)
        return Period(start, end) if start <= end else None

    def dates(self) -> Iterator[date]:
        day = self.start
        while day <= self.end:
            yield day
            day += _ONE_DAY


def merge_periods(periods: Iterable[Period]) -> list[Period]:
    """The union of `periods` as disjoint, sorted periods (touching ones joined)."""
    merged: list[Period] = []
    for period in sorted(periods):
        if merged and period.start <= merged[-1].end + _ONE_DAY:
            if period.end > merged[-1].end:
                merged[-1] = Period(merged[-1].start, period.end)
        else:
            merged.append(period)
    return merged


def subtract_periods(periods: Iterable[Period], removed: Iterable[Period]) -> list[Period]:
    """The days of `periods` outside every one of `removed`, as disjoint, sorted periods."""
    result = merge_periods(periods)
    for cut in merge_periods(removed):
        kept: list[Period] = []
        for period in result:
            if cut.end < period.start or period.end < cut.start:
                kept.append(period)
                continue
            if period.start < cut.start:
                kept.append(Period(period.start, cut.start - _ONE_DAY))
            if cut.end < period.end:
                kept.append(Period(cut.end + _ONE_DAY, period.end))
        result = kept
    return result


def overlap(merged: Iterable[Period], window: Period) -> tuple[int, Period | None]:
    """(days, span) of the disjoint `merged` periods inside `window`: how many days they
    share with it, and the first to the last of those days (None when none)."""
    days = 0
    first: date | None = None
    last: date | None = None
    for period in merged:
        start = max(period.start, window.start)
        end = min(period.end, window.end)
        if start <= end:
            days += (end - start).days + 1
            first = start if first is None else first
            last = end
    return days, (Period(first, last) if first is not None and last is not None else None)


@functools.lru_cache(maxsize=4096)
def last_day_of_month(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def add_months(day: date, months: int) -> date:
    """The same day of the month `months` later, clamped to that month's last day."""
    target = BillingMonth(day.year, day.month).shift(months)
    last = calendar.monthrange(target.year, target.month)[1]
    return date(target.year, target.month, min(day.day, last))


def period_end_in_month(closing_day: ClosingDay, year: int, month: int) -> date:
    """The closing day of calendar month (year, month): the last day of that billing month."""
    if closing_day == "eom":
        return last_day_of_month(year, month)
    return date(year, month, closing_day)


@functools.lru_cache(maxsize=4096)  # pure, and asked for several times per contract
def billing_period(closing_day: ClosingDay, billing_month: BillingMonth) -> Period:
    """RATING.md §2: "The billing period of billing month N ends on the closing day of month
    N and starts the day after the closing day of month N−1. With `eom` it is the calendar
    month N." Example, 20th closing: 2026-11 covers 2026-10-21 … 2026-11-20."""
    previous = billing_month.shift(-1)
    start = period_end_in_month(closing_day, previous.year, previous.month) + _ONE_DAY
    end = period_end_in_month(closing_day, billing_month.year, billing_month.month)
    return Period(start, end)


def closing_date(closing_day: ClosingDay, billing_month: BillingMonth) -> date:
    """RATING.md §2: "The closing date (締め処理日) is the day after the period ends: 5th
    closing → the 6th; `eom` → the 1st of the next month." """
    return billing_period(closing_day, billing_month).end + _ONE_DAY


def billing_month_of(closing_day: ClosingDay, day: date) -> BillingMonth:
    """RATING.md §2: "A usage record belongs to the period that contains its local date."
    The billing month whose period contains `day`."""
    if closing_day == "eom" or day.day <= closing_day:
        return BillingMonth(day.year, day.month)
    return BillingMonth(day.year, day.month).shift(1)


def billing_month_closed_on(closing_day: ClosingDay, run_date: date) -> BillingMonth | None:
    """RATING.md §2: "The closing batch run on date D rates every contract whose period
    ended on D−1." The billing month a closing run on `run_date` rates for contracts with
    `closing_day`, or None when no period of theirs ended the day before."""
    ended = run_date - _ONE_DAY
    if period_end_in_month(closing_day, ended.year, ended.month) != ended:
        return None
    return BillingMonth(ended.year, ended.month)


@dataclass(frozen=True, slots=True)
class Closing:
    """What one closing date closes: the billing month of one closing day."""

    closing_day: ClosingDay
    billing_month: BillingMonth

    @property
    def period(self) -> Period:
        return billing_period(self.closing_day, self.billing_month)


def closing_on(run_date: date) -> Closing | None:
    """RATING.md §2: "The closing batch run on date D rates every contract whose period
    ended on D−1." The closing days end their periods on distinct days of the month (5,
    10, 15, 20, 25 and the last, which is never the 25th), so a date closes one closing
    day's billing month or none."""
    for closing_day in CLOSING_DAYS:
        month = billing_month_closed_on(closing_day, run_date)
        if month is not None:
            return Closing(closing_day, month)
    return None


def local_date(instant: datetime, time_zone: str = DEFAULT_TIME_ZONE) -> date:
    """RATING.md §2: "All dates are in the tenant's time zone (default Asia/Tokyo). A usage
    record belongs to the period that contains its local date." `instant` must be aware."""
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError("instant must carry a time zone")
    return instant.astimezone(ZoneInfo(time_zone)).date()


# --- Intervals (周期型課金) ----------------------------------------------------------------


class IntervalAlignment(enum.StrEnum):
    """RATING.md §3: intervals are "counted from the subscription's first billing month (or
    aligned to calendar quarters or years when the plan says so)"."""

    SUBSCRIPTION = "subscription"
    CALENDAR = "calendar"


INTERVAL_MONTHS: Final[tuple[int, ...]] = (1, 2, 3, 6, 12)
"""RATING.md §3: "A recurring fee is charged every 1 (default), 2, 3, 6 or 12 billing months"."""


@dataclass(frozen=True, slots=True)
class Interval:
    """How often a recurring fee is charged, in billing months."""

    every: int = 1
    alignment: IntervalAlignment = IntervalAlignment.SUBSCRIPTION

    def __post_init__(self) -> None:
        if self.every not in INTERVAL_MONTHS:
            raise ValueError(f"interval must be one of {INTERVAL_MONTHS}, got {self.every}")


MONTHLY: Final = Interval()
"""The default interval: every billing month."""


def interval_months(
    interval: Interval, billing_month: BillingMonth, first_billing_month: BillingMonth
) -> tuple[BillingMonth, BillingMonth]:
    """The first and last billing month of the interval that contains `billing_month`.

    RATING.md §3: intervals are "counted from the subscription's first billing month (or
    aligned to calendar quarters or years when the plan says so)". Calendar alignment counts
    from January, so every 3 months gives Jan–Mar, Apr–Jun, …, every 12 gives Jan–Dec.
    """
    if interval.alignment is IntervalAlignment.CALENDAR:
        origin = BillingMonth(billing_month.year, 1).index()
    else:
        origin = first_billing_month.index()
    offset = (billing_month.index() - origin) % interval.every
    first = billing_month.shift(-offset)
    return first, first.shift(interval.every - 1)


def interval_period(closing_day: ClosingDay, first: BillingMonth, last: BillingMonth) -> Period:
    """The days of the billing months first … last: RATING.md §3 "A partial interval is
    prorated by active days over the interval's days"."""
    return Period(billing_period(closing_day, first).start, billing_period(closing_day, last).end)
