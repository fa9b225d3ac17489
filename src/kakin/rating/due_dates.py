"""Due dates from payment terms, and the bank business-day calendar (RATING.md §8).

The Japanese national holidays are calendar data taken from the `holidays` package; the
year-end bank closure (12/31–1/3) is the Zengin rule. Nothing here reads a clock.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final, Literal

import holidays

from kakin.rating.periods import BillingMonth, last_day_of_month

BANK_YEAR_END_CLOSURE: Final[frozenset[tuple[int, int]]] = frozenset(
    {(12, 31), (1, 1), (1, 2), (1, 3)}
)
"""RATING.md §8: Japanese banks are closed 12/31–1/3 (besides weekends and national holidays)."""

_SATURDAY: Final = 5


@dataclass(frozen=True, slots=True)
class PaymentTerms:
    """RATING.md §8: "Due date from the contract's payment terms, a month offset and a day
    (e.g. 20th closing, due the 20th of the next month; end-of-month closing, due the end
    of the next month)". The offset counts from the billing month; a day past the end of
    its month (31 in a 30-day month) means that month's last day."""

    month_offset: int = 1
    day: int | Literal["eom"] = "eom"

    def __post_init__(self) -> None:
        if self.month_offset < 0:
            raise ValueError("month_offset must be >= 0")
        if self.day != "eom" and not 1 <= self.day <= 31:
            raise ValueError("day must be 1..31 or 'eom'")


@functools.lru_cache(maxsize=64)
def _national_holidays(year: int) -> frozenset[date]:
    calendar_data = holidays.country_holidays("JP", years=year)
    return frozenset(day for day in calendar_data if day.year == year)


def is_bank_holiday(day: date) -> bool:
    """RATING.md §8: a bank holiday is a "Saturday, Sunday, national holiday, 12/31–1/3"."""
    return (
        day.weekday() >= _SATURDAY
        or (day.month, day.day) in BANK_YEAR_END_CLOSURE
        or day in _national_holidays(day.year)
    )


def next_bank_business_day(day: date) -> date:
    """`day` itself when banks are open on it, else the next day they are."""
    while is_bank_holiday(day):
        day += timedelta(days=1)
    return day


def due_date(terms: PaymentTerms, billing_month: BillingMonth, *, direct_debit: bool) -> date:
    """RATING.md §8: the due date of billing month's receivable. "A direct-debit date that
    falls on a bank holiday (Saturday, Sunday, national holiday, 12/31–1/3) moves to the
    next bank business day." Other payment methods keep the nominal date."""
    month = billing_month.shift(terms.month_offset)
    last = last_day_of_month(month.year, month.month)
    nominal = last if terms.day == "eom" else last.replace(day=min(terms.day, last.day))
    return next_bank_business_day(nominal) if direct_debit else nominal
