"""Exact amounts and their one rounding — RATING.md §1.

"Rounding happens in exactly two places": line rounding and tax rounding. Until a line is
rounded its amount is an exact rational (`Fraction`): a line may sum many parts (records
rated one by one, a graduated tariff's bands, several fees), and 3 × 100/3 must be 100, which
no sum of rounded decimals 33.33… can promise. `round_line` then rounds it once.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction
from typing import Final

from kakin.kit.money import RoundingMode, minor_units

Exact = Fraction
"""An unrounded amount: exact, whatever proration or sum made it."""

ZERO: Final = Fraction(0)


@functools.lru_cache(maxsize=8192)
def exact_of(value: Decimal) -> Fraction:
    """`Fraction(value)`, remembered: a closing converts the same few prices, bounds and
    quantities of its plans and tariffs thousands of times. (Equal decimals such as `1E+3`
    and `1000` share an entry: their fractions are equal.)"""
    return Fraction(value)


def _whole(numerator: int, denominator: int, mode: RoundingMode) -> int:
    """`numerator / denominator` (≥ 0, denominator > 0) rounded to a whole number by `mode`;
    integer arithmetic only (the closing rounds every line: no Fraction operations)."""
    floor, rest = divmod(numerator, denominator)
    if rest == 0:
        return floor
    match mode:  # a StrEnum: the tenant's stored text matches its member
        case RoundingMode.FLOOR:
            return floor
        case RoundingMode.CEIL:
            return floor + 1
        case RoundingMode.HALF_UP:
            return floor + (2 * rest >= denominator)
        case RoundingMode.HALF_EVEN:
            twice = 2 * rest
            return floor + (twice > denominator or (twice == denominator and floor % 2 == 1))
    raise ValueError(f"unknown rounding mode {mode!r}")


def round_line(amount: Fraction, currency: str, mode: RoundingMode) -> Decimal:
    """RATING.md §1 line rounding: `amount` to the currency's minor unit, once, with the
    tenant's mode "applied to the magnitude: a floor-rounded discount never exceeds the
    exact discount"."""
    places = minor_units(currency)
    numerator = amount.numerator
    whole = _whole(abs(numerator) * 10**places, amount.denominator, mode)
    rounded = Decimal(whole).scaleb(-places)
    return -rounded if numerator < 0 and whole else rounded


RoundLine = Callable[[Fraction], Decimal]
"""Line rounding with the tenant's currency and mode bound."""
