"""Proration (日割) — RATING.md §3.

A proration factor is an exact `Fraction` of days (charged days / period days), never a
rounded decimal: 10/31 of 31 yen must be exactly 10 yen before line rounding, which a
28-digit 0.3225… would miss under `floor`. `scale` multiplies by the numerator first and
divides once, at 60 digits; an exact result stays exact, and an inexact one lies farther
from every rounding boundary than the 60-digit error, so line rounding sees the right side.
"""

from __future__ import annotations

import decimal
import enum
from decimal import Decimal
from fractions import Fraction
from typing import Final

_EXACT: Final = decimal.Context(prec=60, rounding=decimal.ROUND_HALF_EVEN)
"""Precision of prorated amounts: far beyond any minor unit, so rounding is never misled."""

FULL: Final = Fraction(1)
"""The factor of a whole period."""

NOTHING: Final = Fraction(0)


class ProrationMode(enum.StrEnum):
    """RATING.md §3: "The plan chooses `daily` proration (default) or `full` (any active day
    means the whole fee)"."""

    DAILY = "daily"
    FULL = "full"


def proration_factor(mode: ProrationMode, charged_days: int, period_days: int) -> Fraction:
    """RATING.md §3: "A subscription active on only part of a period pays
    `fee × active_days / period_days`. Start date and end date both count as active days."
    With `full`, "any active day means the whole fee" (and no day means none)."""
    if period_days <= 0:
        raise ValueError("period_days must be positive")
    if not 0 <= charged_days <= period_days:
        raise ValueError(f"charged_days must be 0..{period_days}, got {charged_days}")
    if mode is ProrationMode.FULL:
        return FULL if charged_days > 0 else NOTHING
    return Fraction(charged_days, period_days)


def scale(amount: Decimal, factor: Fraction) -> Decimal:
    """`amount × factor`, exact when the result is a finite decimal (see module docstring)."""
    if factor == FULL:
        return amount
    if factor == NOTHING:
        return Decimal(0)
    numerator = _EXACT.multiply(amount, Decimal(factor.numerator))
    return _EXACT.divide(numerator, Decimal(factor.denominator))


def prorate(fee: Decimal, mode: ProrationMode, charged_days: int, period_days: int) -> Decimal:
    """The exact (unrounded) part of `fee` due for `charged_days` of a `period_days` period."""
    return scale(fee, proration_factor(mode, charged_days, period_days))
