"""Exact amounts and their one rounding — RATING.md §1.

"Rounding happens in exactly two places": line rounding and tax rounding. Until a line is
rounded its amount is an exact rational (`Fraction`): a line may sum many parts (records
rated one by one, a graduated tariff's bands, several fees), and 3 × 100/3 must be 100, which
no sum of rounded decimals 33.33… can promise. `round_line` then rounds it once.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction
from typing import Final

from kakin.kit.money import RoundingMode, minor_units

Exact = Fraction
"""An unrounded amount: exact, whatever proration or sum made it."""

ZERO: Final = Fraction(0)


def _whole(magnitude: Fraction, mode: RoundingMode) -> int:
    """`magnitude` (≥ 0) rounded to a whole number by `mode`."""
    floor, rest = divmod(magnitude.numerator, magnitude.denominator)
    if rest == 0:
        return floor
    match RoundingMode(mode):
        case RoundingMode.FLOOR:
            return floor
        case RoundingMode.CEIL:
            return floor + 1
        case RoundingMode.HALF_UP:
            return floor + (2 * rest >= magnitude.denominator)
        case RoundingMode.HALF_EVEN:
            return round(magnitude)  # Fraction rounds a half to the even neighbour
    raise ValueError(f"unknown rounding mode {mode!r}")


def round_line(amount: Fraction, currency: str, mode: RoundingMode) -> Decimal:
    """RATING.md §1 line rounding: `amount` to the currency's minor unit, once, with the
    tenant's mode "applied to the magnitude: a floor-rounded discount never exceeds the
    exact discount"."""
    places = minor_units(currency)
    whole = _whole(abs(amount) * 10**places, mode)
    rounded = Decimal(whole).scaleb(-places)
    return -rounded if amount < 0 and whole else rounded


RoundLine = Callable[[Fraction], Decimal]
"""Line rounding with the tenant's currency and mode bound."""
