"""Minimum terms and early-termination fees — RATING.md §6."""

from __future__ import annotations

from kakin.rating.termination import (
    EarlyTerminationKind,
    EarlyTerminationRule,
    MinimumTerm,
    early_termination_fee,
    remaining_months,
    term_last_day,
)

from .factories import D, d

TWO_YEARS = MinimumTerm(months=24)
START = d("2025-01-01")


def test_a_24_month_term_from_the_start_ends_the_day_before_its_second_anniversary() -> None:
    """RATING.md §6: "A plan may carry a minimum term (e.g. 24 months from the start)"."""
    assert term_last_day(TWO_YEARS, START, d("2026-10-31")) == d("2026-12-31")
    assert term_last_day(TWO_YEARS, START, d("2026-12-31")) is None
    assert term_last_day(TWO_YEARS, START, d("2027-02-01")) is None


def test_remaining_months_count_a_started_month_as_one() -> None:
    """RATING.md §6: "whole months from the day after the end date to the term's last day,
    a started month counting as one"."""
    assert remaining_months(d("2026-10-31"), d("2026-12-31")) == 2
    assert remaining_months(d("2026-10-15"), d("2026-12-31")) == 3
    assert remaining_months(d("2026-12-30"), d("2026-12-31")) == 1


def test_fixed_rule_charges_its_amount() -> None:
    """RATING.md §6: "a fixed amount"."""
    rule = EarlyTerminationRule("r", EarlyTerminationKind.FIXED, amount=D(9500))
    assert early_termination_fee(TWO_YEARS, rule, START, d("2026-03-31"), D(3000)) == (
        D(9500),
        d("2026-12-31"),
    )


def test_one_month_fee_rule_charges_one_months_recurring_fee() -> None:
    """RATING.md §6: "one month's recurring fee (× quantity)" — the caller passes 3,000 × 2."""
    rule = EarlyTerminationRule("r", EarlyTerminationKind.ONE_MONTH_FEE)
    assert early_termination_fee(TWO_YEARS, rule, START, d("2026-03-31"), D(6000)) == (
        D(6000),
        d("2026-12-31"),
    )


def test_remaining_months_rule_charges_each_remaining_month_and_respects_its_cap() -> None:
    """RATING.md §6: "the remaining months' fees …, optionally capped (Japanese law caps
    many consumer telecom contracts)"."""
    rule = EarlyTerminationRule("r", EarlyTerminationKind.REMAINING_MONTHS_FEES)
    assert early_termination_fee(TWO_YEARS, rule, START, d("2026-10-15"), D(3000)) == (
        D(9000),
        d("2026-12-31"),
    )
    capped = EarlyTerminationRule("r", EarlyTerminationKind.REMAINING_MONTHS_FEES, cap=D(1000))
    assert early_termination_fee(TWO_YEARS, capped, START, d("2026-10-15"), D(3000)) == (
        D(1000),
        d("2026-12-31"),
    )


def test_a_cancellation_after_the_term_costs_nothing() -> None:
    """RATING.md §6: only "A cancellation effective before the term ends" adds a line."""
    rule = EarlyTerminationRule("r", EarlyTerminationKind.FIXED, amount=D(9500))
    assert early_termination_fee(TWO_YEARS, rule, START, d("2027-01-10"), D(3000)) is None


def test_an_auto_renewed_term_is_free_in_its_renewal_month_only() -> None:
    """RATING.md §6: "Automatic renewal of the term at its end (更新月) is a plan option."
    The renewed term runs 2027-01-01 … 2028-12-31; its first month is free."""
    renewing = MinimumTerm(months=24, auto_renew=True)
    assert term_last_day(renewing, START, d("2027-01-20")) is None
    assert term_last_day(renewing, START, d("2027-03-15")) == d("2028-12-31")
    assert remaining_months(d("2027-03-15"), d("2028-12-31")) == 22
