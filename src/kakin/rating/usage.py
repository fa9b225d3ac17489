"""Usage quantities and allowances — RATING.md §4 "Usage and the seven tariffs"."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Final

from kakin.rating.proration import FULL, NOTHING
from kakin.rating.tariffs import Tariff, tariff_amount

ZERO: Final = Decimal(0)


@dataclass(frozen=True, slots=True)
class UsageEntry:
    """Usage of an item on a local day (RATING.md §2: "A usage record belongs to the period
    that contains its local date"): one record for per-record items, or a day's total."""

    subscription_id: str
    usage_item_id: str
    day: date
    raw: Decimal


def is_within_life(day: date, start_date: date, end_date: date | None) -> bool:
    """RATING.md §4: "A usage record must fall on a day inside its subscription's life
    (start to end); any other is refused when it is registered." A suspended day is
    inside the life: "A record on a suspended day is accepted and rated like any other." """
    return start_date <= day and (end_date is None or day <= end_date)


def rated_quantity(raw: Decimal, unit: Decimal) -> Decimal:
    """RATING.md §4: "The usage item has a unit (e.g. 1 packet = 128 bytes, 1 call-unit =
    30 s) and the rated quantity is `q = ceil(raw / unit)`"."""
    if unit <= 0:
        raise ValueError("a usage item's unit must be above zero")
    if raw < 0:
        raise ValueError("a raw usage quantity is never negative")
    # exact, in integers: ceil(1/3) must not see 0.333…4
    raw_n, raw_d = raw.as_integer_ratio()
    unit_n, unit_d = unit.as_integer_ratio()
    return Decimal(-(-raw_n * unit_d // (raw_d * unit_n)))


def chargeable_quantity(q: Decimal, allowance: Decimal) -> Decimal:
    """RATING.md §4 "Allowances (データ残量)": the included quantity (raised by the period's
    top-ups) is free; the tariff prices only what lies beyond it."""
    return max(ZERO, q - allowance)


def remaining_allowance(included: Decimal, top_ups: Iterable[Decimal], used: Decimal) -> Decimal:
    """RATING.md §4: "Top-ups bought during a period (追加購入) raise that period's allowance
    … What remains of an allowance can be read at any time." `used` is the rated quantity
    so far in the period."""
    return max(ZERO, included + sum(top_ups, ZERO) - used)


def period_usage_amount(
    tariff: Tariff,
    raw_total: Decimal,
    unit: Decimal,
    allowance: Decimal = ZERO,
    proration_factor: Fraction = FULL,
) -> tuple[Decimal, Fraction]:
    """(q, exact amount) when usage is rated over the period total: "the rated quantity is
    `q = ceil(raw / unit)` over the period total" (RATING.md §4)."""
    q = rated_quantity(raw_total, unit)
    return q, tariff_amount(tariff, chargeable_quantity(q, allowance), proration_factor)


def per_record_usage_amount(
    tariff: Tariff,
    raw_records: Iterable[Decimal],
    unit: Decimal,
    allowance: Decimal = ZERO,
    proration_factor: Fraction = FULL,
) -> tuple[Decimal, Fraction]:
    """(Σq, exact amount) when the item rates per record: RATING.md §4 "An item may instead
    rate per record (each call rounded up to its units and priced on its own, then
    summed)". The allowance is used up by the records in the order given; with no record
    nothing is charged. The sum is exact: its line is rounded once (§1), not each call."""
    total_q = ZERO
    left = allowance
    # Exact amounts add up in any grouping, so records of equal chargeable quantity are
    # priced once and counted (a month of calls has few distinct lengths).
    charged: Counter[Decimal] = Counter()
    for raw in raw_records:
        q = rated_quantity(raw, unit)
        free = min(left, q)
        left -= free
        total_q += q
        charged[q - free] += 1
    total = sum(
        (tariff_amount(tariff, q, proration_factor) * count for q, count in charged.items()),
        NOTHING,
    )
    return total_q, total
