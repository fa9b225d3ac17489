"""Rated quantities, per-record rating and allowances — RATING.md §4."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from kakin.rating.tariffs import Tariff, TariffShape
from kakin.rating.usage import (
    is_within_life,
    per_record_usage_amount,
    period_usage_amount,
    rated_quantity,
    remaining_allowance,
)

from .factories import D, d

PER_CALL_UNIT = Tariff(TariffShape.PER_UNIT, unit_price=D(10))


def test_rated_quantity_rounds_the_raw_quantity_up_to_whole_units() -> None:
    """RATING.md §4: "1 packet = 128 bytes … the rated quantity is `q = ceil(raw / unit)`"."""
    assert rated_quantity(D(1280), D(128)) == 10
    assert rated_quantity(D(1281), D(128)) == 11
    assert rated_quantity(D(0), D(30)) == 0
    assert rated_quantity(D("0.1"), D("0.3")) == 1


def test_period_total_rating_rounds_up_once_over_the_total() -> None:
    """RATING.md §4: "q = ceil(raw / unit) over the period total"."""
    q, amount = period_usage_amount(PER_CALL_UNIT, D(10) + D(10) + D(10), D(30))
    assert (q, amount) == (D(1), D(10))


def test_per_record_rating_rounds_each_call_up_on_its_own() -> None:
    """RATING.md §4: "An item may instead rate per record (each call rounded up to its units
    and priced on its own, then summed)"."""
    q, amount = per_record_usage_amount(PER_CALL_UNIT, [D(10), D(10), D(31)], D(30))
    assert (q, amount) == (D(4), D(40))


def test_an_allowance_is_free_and_top_ups_raise_it() -> None:
    """RATING.md §4 "Allowances": "Top-ups bought during a period (追加購入) raise that
    period's allowance … What remains of an allowance can be read at any time." """
    q, amount = period_usage_amount(PER_CALL_UNIT, D(25), D(1), allowance=D(20))
    assert (q, amount) == (D(25), D(50))
    assert remaining_allowance(D(20), [D(10)], D(25)) == 5
    assert remaining_allowance(D(20), [], D(25)) == 0


def test_per_record_allowance_is_used_by_the_records_in_order() -> None:
    q, amount = per_record_usage_amount(PER_CALL_UNIT, [D(2), D(2), D(2)], D(1), D(3))
    assert (q, amount) == (D(6), D(30))


@given(st.lists(st.decimals(min_value=0, max_value=10_000, places=3), max_size=20))
def test_per_record_quantity_is_never_below_the_period_total_quantity(
    raws: list[Decimal],
) -> None:
    """Rounding each record up can only add units compared with rounding the total."""
    per_record_q, _ = per_record_usage_amount(PER_CALL_UNIT, raws, D(30))
    total_q, _ = period_usage_amount(PER_CALL_UNIT, sum(raws, D(0)), D(30))
    assert per_record_q >= total_q


def test_usage_must_fall_inside_its_subscriptions_life() -> None:
    """RATING.md §4: "A usage record must fall on a day inside its subscription's life
    (start to end); any other is refused when it is registered." """
    start, end = d("2026-11-11"), d("2026-11-20")
    assert is_within_life(d("2026-11-11"), start, end)
    assert is_within_life(d("2026-11-20"), start, end)
    assert not is_within_life(d("2026-11-10"), start, end)
    assert not is_within_life(d("2026-11-21"), start, end)
    assert is_within_life(d("2030-01-01"), start, None)


def test_per_record_parts_are_summed_exactly() -> None:
    """RATING.md §1: one line is rounded once, however many parts it sums: three calls at a
    flat 100 each, prorated 10/30, are exactly 100 before line rounding."""
    flat = Tariff(TariffShape.FLAT, fixed_fee=D(100))
    q, amount = per_record_usage_amount(flat, [D(1)] * 3, D(1), proration_factor=Fraction(1, 3))
    assert (q, amount) == (D(3), 100)
