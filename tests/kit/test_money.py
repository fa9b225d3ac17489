"""RATING.md §1: rounding modes act on the magnitude; minor units per ISO 4217."""

from __future__ import annotations

import typing
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kakin.kit.money import MINOR_UNITS, RoundingMode, from_minor, round_money, to_minor
from kakin.tenancy.schemas import Currency


@pytest.mark.parametrize(
    ("amount", "mode", "expected"),
    [
        (Decimal("10.5"), RoundingMode.FLOOR, Decimal(10)),
        (Decimal("10.5"), RoundingMode.HALF_UP, Decimal(11)),
        (Decimal("10.5"), RoundingMode.HALF_EVEN, Decimal(10)),
        (Decimal("10.1"), RoundingMode.CEIL, Decimal(11)),
        (Decimal("-10.5"), RoundingMode.FLOOR, Decimal(-10)),
        (Decimal("-10.1"), RoundingMode.CEIL, Decimal(-11)),
        (Decimal("-10.5"), RoundingMode.HALF_UP, Decimal(-11)),
    ],
)
def test_yen_rounding_applies_the_mode_to_the_magnitude(
    amount: Decimal, mode: RoundingMode, expected: Decimal
) -> None:
    assert round_money(amount, "JPY", mode) == expected


@given(st.decimals(min_value=-(10**9), max_value=10**9, places=4, allow_nan=False))
def test_a_floor_rounded_discount_never_exceeds_the_exact_discount(amount: Decimal) -> None:
    """RATING.md §1: a floor-rounded discount never exceeds the exact discount."""
    assert abs(round_money(amount, "JPY", RoundingMode.FLOOR)) <= abs(amount)


def test_minor_units_round_trip() -> None:
    assert to_minor(Decimal("12.34"), "USD") == 1234
    assert from_minor(1234, "USD") == Decimal("12.34")
    assert to_minor(Decimal(1234), "JPY") == 1234
    with pytest.raises(ValueError, match="not rounded"):
        to_minor(Decimal("1.5"), "JPY")


def test_the_api_currency_list_matches_the_minor_unit_table() -> None:
    assert set(typing.get_args(Currency)) == set(MINOR_UNITS)
