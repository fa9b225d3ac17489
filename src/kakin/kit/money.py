"""Exact money: Decimal amounts, integer minor units and the four rounding modes.

RATING.md §1: amounts are Decimal; stored amounts are integers in the currency's minor
unit (ISO 4217); rounding happens only at line rounding and tax rounding, with the
tenant's mode applied to the magnitude of the amount.
"""

from __future__ import annotations

import enum
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from typing import Any

MINOR_UNITS: dict[str, int] = {"JPY": 0, "KRW": 0, "USD": 2, "EUR": 2, "GBP": 2, "CNY": 2, "TWD": 2}
"""ISO 4217 minor-unit exponents of the currencies kakin accepts."""

UNIT_PRICE_PLACES = 6
"""RATING.md §1: unit prices may carry up to 6 decimal places (0.05 yen per packet)."""


class RoundingMode(enum.StrEnum):
    """RATING.md §1: the tenant's choice for line rounding and for tax rounding."""

    FLOOR = "floor"
    HALF_UP = "half_up"
    CEIL = "ceil"
    HALF_EVEN = "half_even"


_DECIMAL_MODE = {
    RoundingMode.FLOOR: ROUND_FLOOR,
    RoundingMode.HALF_UP: ROUND_HALF_UP,
    RoundingMode.CEIL: ROUND_CEILING,
    RoundingMode.HALF_EVEN: ROUND_HALF_EVEN,
}


def minor_units(currency: str) -> int:
    """The number of decimal places of `currency` (ISO 4217)."""
    try:
        return MINOR_UNITS[currency]
    except KeyError:
        raise ValueError(f"unsupported currency {currency!r}") from None


def round_money(amount: Decimal, currency: str, mode: RoundingMode) -> Decimal:
    """Round `amount` to the currency's minor unit, applying `mode` to its magnitude.

    RATING.md §1: "For negative amounts (discounts, credits) the mode applies to the
    magnitude: a floor-rounded discount never exceeds the exact discount."
    """
    quantum = Decimal(1).scaleb(-minor_units(currency))
    magnitude = abs(amount).quantize(quantum, rounding=_DECIMAL_MODE[RoundingMode(mode)])
    return -magnitude if amount < 0 else magnitude


def to_minor(amount: Decimal, currency: str) -> int:
    """An already rounded amount as an integer count of minor units."""
    scaled = amount.scaleb(minor_units(currency))
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{amount} is not rounded to the minor unit of {currency}")
    return int(scaled)


def from_minor(value: int, currency: str) -> Decimal:
    """An integer count of minor units as a Decimal amount."""
    return Decimal(value).scaleb(-minor_units(currency))


def stored_decimal(value: Any) -> Decimal | None:
    """A number kept in a JSON column (a string, or an int from older rows) as the exact
    Decimal it spells; None stays None."""
    return None if value is None else Decimal(str(value))
