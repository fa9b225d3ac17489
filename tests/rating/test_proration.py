"""Proration (日割) — RATING.md §3."""

from __future__ import annotations

from fractions import Fraction

import pytest

from kakin.kit.money import RoundingMode
from kakin.rating.exact import round_line
from kakin.rating.proration import ProrationMode, proration_factor, scale

from .factories import D


def test_daily_proration_charges_fee_times_active_days_over_period_days() -> None:
    """RATING.md §3: "A subscription active on only part of a period pays `fee ×
    active_days / period_days`." 10 of 31 days of 3,000 yen = 967.74… → 967 (floor)."""
    exact = scale(D(3000), proration_factor(ProrationMode.DAILY, 10, 31))
    assert round_line(exact, "JPY", RoundingMode.FLOOR) == D(967)
    assert round_line(exact, "JPY", RoundingMode.HALF_UP) == D(968)


def test_daily_proration_is_exact_before_line_rounding() -> None:
    """RATING.md §1: rounding happens once, at the line. 31 yen × 10/31 is exactly 10, so a
    floor rounding must not see 9.999…"""
    assert scale(D(31), proration_factor(ProrationMode.DAILY, 10, 31)) == D(10)
    assert (
        round_line(
            scale(D(3), proration_factor(ProrationMode.DAILY, 1, 3)), "JPY", RoundingMode.FLOOR
        )
        == 1
    )


def test_full_proration_charges_the_whole_fee_for_any_active_day() -> None:
    """RATING.md §3: "`full` (any active day means the whole fee …)"."""
    assert proration_factor(ProrationMode.FULL, 1, 30) == 1
    assert proration_factor(ProrationMode.FULL, 0, 30) == 0
    assert scale(D(3000), proration_factor(ProrationMode.FULL, 1, 31)) == D(3000)


def test_a_full_period_with_daily_proration_is_the_whole_fee() -> None:
    """RATING.md §3: all of the period's days are all of the fee."""
    assert proration_factor(ProrationMode.DAILY, 31, 31) == Fraction(1)
    assert scale(D("1234.5678"), proration_factor(ProrationMode.DAILY, 28, 28)) == D("1234.5678")


def test_charged_days_outside_the_period_are_refused() -> None:
    with pytest.raises(ValueError, match="charged_days"):
        proration_factor(ProrationMode.DAILY, 32, 31)
