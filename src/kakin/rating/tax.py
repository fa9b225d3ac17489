"""Consumption tax (消費税) — RATING.md §7: one rounding per rate per receivable."""

from __future__ import annotations

import decimal
import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Final

from kakin.kit.money import RoundingMode, round_money
from kakin.rating.versions import version_on

ZERO: Final = Decimal(0)
RATING_PRECISION: Final = 60
"""Digits of the Decimal arithmetic of rating (quantities, sums of rounded lines, tax):
far beyond any amount kakin holds, so none of it rounds (exact amounts are Fractions)."""


class TaxCategory(enum.StrEnum):
    """RATING.md §7: "Every fee has a tax category: `standard` (10 %), `reduced` (8 %),
    `exempt` (非課税) or `out_of_scope` (不課税)". The order of the members is the tie order
    of RATING.md §5 (`standard`, `reduced`, `exempt`, `out_of_scope`)."""

    STANDARD = "standard"
    REDUCED = "reduced"
    EXEMPT = "exempt"
    OUT_OF_SCOPE = "out_of_scope"


TAX_CATEGORY_ORDER: Final[dict[TaxCategory, int]] = {c: i for i, c in enumerate(TaxCategory)}
"""RATING.md §5 tie order of tax categories."""

UNTAXED: Final[frozenset[TaxCategory]] = frozenset({TaxCategory.EXEMPT, TaxCategory.OUT_OF_SCOPE})
"""Categories that never carry tax, whatever rate row says."""


class TaxMode(enum.StrEnum):
    """RATING.md §7: "Prices are tax-exclusive by default; a tenant may price everything
    tax-inclusive instead (one choice per tenant, so one invoice never mixes the two)"."""

    EXCLUSIVE = "exclusive"
    INCLUSIVE = "inclusive"


@dataclass(frozen=True, slots=True)
class TaxRate:
    """RATING.md §7: "Rates are dated master data (a future rate change is a new row, not a
    code change)". `rate` is a fraction: 0.10 for 10 %."""

    category: TaxCategory
    rate: Decimal
    valid_from: date


JAPAN_TAX_RATES: Final[tuple[TaxRate, ...]] = (
    TaxRate(TaxCategory.STANDARD, Decimal("0.08"), date(2014, 4, 1)),
    TaxRate(TaxCategory.STANDARD, Decimal("0.10"), date(2019, 10, 1)),
    TaxRate(TaxCategory.REDUCED, Decimal("0.08"), date(2019, 10, 1)),
    TaxRate(TaxCategory.EXEMPT, ZERO, date(1989, 4, 1)),
    TaxRate(TaxCategory.OUT_OF_SCOPE, ZERO, date(1989, 4, 1)),
)
"""Japanese consumption-tax rates since 2014 (standard 8 % → 10 % on 2019-10-01, reduced 8 %
from then); seed data for the tax master and a default for tests."""


class NoTaxRate(LookupError):
    """No tax rate of a category is valid on a date."""


def tax_rate_on(rates: Iterable[TaxRate], category: TaxCategory, on: date) -> Decimal:
    """The rate of `category` valid on `on`: the row with the latest `valid_from` ≤ `on`.
    Exempt and out-of-scope are always 0."""
    if category in UNTAXED:
        return ZERO
    best = version_on((row for row in rates if row.category == category), on)
    if best is None:
        raise NoTaxRate(f"no {category} tax rate valid on {on}")
    return best.rate


@dataclass(frozen=True, slots=True)
class TaxSubtotal:
    """One rate's part of a receivable: the sum of its lines and its tax (RATING.md §8 "the
    per-rate subtotals and taxes"). In tax-inclusive mode `lines_total` includes the tax."""

    category: TaxCategory
    rate: Decimal
    lines_total: Decimal
    tax: Decimal


def tax_for_rate(
    lines_total: Decimal,
    rate: Decimal,
    mode: TaxMode,
    currency: str,
    rounding: RoundingMode,
) -> Decimal:
    """RATING.md §7: "tax-exclusive → `tax = round(sum of that rate's lines × rate)`;
    tax-inclusive → `tax = round(sum × rate / (1 + rate))` … rounding with the tenant's tax
    mode. This is the qualified-invoice rule: one rounding per rate per invoice." """
    if rate == 0:
        return ZERO
    exact = lines_total * rate if mode is TaxMode.EXCLUSIVE else lines_total * rate / (1 + rate)
    return round_money(exact, currency, rounding)


def tax_subtotals(
    amounts: Sequence[tuple[TaxCategory, Decimal, Decimal]],
    mode: TaxMode,
    currency: str,
    rounding: RoundingMode,
) -> tuple[TaxSubtotal, ...]:
    """The per-rate subtotals and taxes of a receivable from its lines' (category, rate,
    amount): lines are summed per (category, rate) first and each sum is taxed once —
    never per line. Ordered by category (standard first), then by rate."""
    sums: dict[tuple[TaxCategory, Decimal], Decimal] = {}
    for category, rate, amount in amounts:
        key = (category, rate)
        sums[key] = sums.get(key, ZERO) + amount
    return tuple(
        TaxSubtotal(category, rate, total, tax_for_rate(total, rate, mode, currency, rounding))
        for (category, rate), total in sorted(
            sums.items(), key=lambda item: (TAX_CATEGORY_ORDER[item[0][0]], item[0][1])
        )
    )


@dataclass(frozen=True, slots=True)
class ReceivableTotals:
    """What a receivable (or a credit note) adds up to from its lines (RATING.md §7, §8):
    the per-rate subtotals and taxes, the exact sum of the lines, the tax and the total.
    Tax-exclusive: `total = lines_total + tax_total`; tax-inclusive: the lines include
    tax and `total = lines_total`. Either way `pre_tax_total = total − tax_total`."""

    tax_subtotals: tuple[TaxSubtotal, ...]
    lines_total: Decimal
    tax_total: Decimal
    total: Decimal

    @property
    def pre_tax_total(self) -> Decimal:
        return self.total - self.tax_total


def receivable_totals(
    amounts: Sequence[tuple[TaxCategory, Decimal, Decimal]],
    mode: TaxMode,
    currency: str,
    rounding: RoundingMode,
) -> ReceivableTotals:
    """The totals of a receivable from its lines' (category, rate, amount), amounts already
    rounded by line rounding: the one place a receivable's money is assembled, for the
    closing, the preview, the simulation and credit notes. Tax is rounded once per rate
    (RATING.md §7 "one tax rounding per rate per receivable, never per line"); the sums are
    exact (RATING.md §8: "The lines add up to the receivable's pre-tax total, exactly")."""
    with decimal.localcontext(prec=RATING_PRECISION):
        subtotals = tax_subtotals(amounts, mode, currency, rounding)
        lines_total = sum((amount for _, _, amount in amounts), ZERO)
        tax_total = sum((s.tax for s in subtotals), ZERO)
        # RATING.md §7: tax-inclusive — "the total is the sum of the lines".
        total = lines_total + tax_total if mode is TaxMode.EXCLUSIVE else lines_total
    return ReceivableTotals(subtotals, lines_total, tax_total, total)
