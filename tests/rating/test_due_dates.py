"""Due dates and the bank business-day calendar — RATING.md §8."""

from __future__ import annotations

import pytest

from kakin.rating.due_dates import PaymentTerms, due_date, is_bank_holiday, next_bank_business_day
from kakin.rating.periods import BillingMonth

from .factories import d


def test_20th_closing_is_due_the_20th_of_the_next_month() -> None:
    """RATING.md §8: "20th closing, due the 20th of the next month"."""
    terms = PaymentTerms(month_offset=1, day=20)
    assert due_date(terms, BillingMonth(2026, 10), direct_debit=False) == d("2026-11-20")


def test_eom_closing_is_due_the_end_of_the_next_month() -> None:
    """RATING.md §8: "end-of-month closing, due the end of the next month"."""
    terms = PaymentTerms(month_offset=1, day="eom")
    assert due_date(terms, BillingMonth(2027, 1), direct_debit=False) == d("2027-02-28")


def test_a_due_day_past_the_month_end_is_the_months_last_day() -> None:
    terms = PaymentTerms(month_offset=1, day=31)
    assert due_date(terms, BillingMonth(2026, 10), direct_debit=False) == d("2026-11-30")


def test_direct_debit_on_a_sunday_moves_to_monday() -> None:
    """RATING.md §8: "A direct-debit date that falls on a bank holiday (Saturday, Sunday …)
    moves to the next bank business day." 2026-12-20 is a Sunday."""
    terms = PaymentTerms(month_offset=1, day=20)
    assert due_date(terms, BillingMonth(2026, 11), direct_debit=True) == d("2026-12-21")
    assert due_date(terms, BillingMonth(2026, 11), direct_debit=False) == d("2026-12-20")


def test_direct_debit_skips_the_year_end_bank_closure() -> None:
    """RATING.md §8: bank holidays include "12/31–1/3"; 2027-01-04 is the next business day."""
    terms = PaymentTerms(month_offset=1, day="eom")
    assert due_date(terms, BillingMonth(2026, 11), direct_debit=True) == d("2027-01-04")


def test_direct_debit_skips_national_holidays() -> None:
    """RATING.md §8: a national holiday is a bank holiday. 2026-09-21 … 09-23 are Respect
    for the Aged Day, a national holiday and the Autumnal Equinox (after a weekend)."""
    terms = PaymentTerms(month_offset=1, day=21)
    assert due_date(terms, BillingMonth(2026, 8), direct_debit=True) == d("2026-09-24")
    assert next_bank_business_day(d("2026-05-06")) == d("2026-05-07")  # substitute holiday


@pytest.mark.parametrize(
    ("day", "closed"),
    [
        ("2026-12-30", False),
        ("2026-12-31", True),
        ("2027-01-02", True),
        ("2027-01-03", True),
        ("2026-11-03", True),  # Culture Day
        ("2026-11-04", False),
        ("2026-10-31", True),  # Saturday
    ],
)
def test_bank_holidays_follow_the_zengin_calendar(day: str, closed: bool) -> None:
    """RATING.md §8: "Saturday, Sunday, national holiday, 12/31–1/3"."""
    assert is_bank_holiday(d(day)) is closed


def test_payment_terms_refuse_impossible_days() -> None:
    with pytest.raises(ValueError, match="day"):
        PaymentTerms(month_offset=1, day=32)
