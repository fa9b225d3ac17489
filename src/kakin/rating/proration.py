"""Proration (日割) — RATING.md §3.

A proration factor is an exact `Fraction` of days (charged days / period days), and a
prorated amount is exact too (`exact.py`): 10/31 of 31 yen is 10 yen, and three thirds of
100 yen are 100, before the one line rounding.
"""

from __future__ import annotations

import enum
from decimal import Decimal
from fractions import Fraction
from typing import Final

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


def scale(amount: Decimal | Fraction, factor: Fraction) -> Fraction:
    """`amount × factor`, exactly."""
    return Fraction(amount) * factor
