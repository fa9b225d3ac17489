"""Consumption tax — RATING.md §7."""

from __future__ import annotations

import pytest

from kakin.kit.money import RoundingMode
from kakin.rating.tax import (
    JAPAN_TAX_RATES,
    NoTaxRate,
    TaxCategory,
    TaxMode,
    TaxSubtotal,
    receivable_totals,
    tax_for_rate,
    tax_rate_on,
    tax_subtotals,
)

from .factories import D, d

STANDARD, REDUCED = TaxCategory.STANDARD, TaxCategory.REDUCED
TEN, EIGHT = D("0.10"), D("0.08")


@pytest.mark.parametrize(
    ("mode", "standard_tax", "reduced_tax"),
    [
        (RoundingMode.FLOOR, 124, 80),
        (RoundingMode.HALF_UP, 125, 80),
        (RoundingMode.CEIL, 125, 81),
        (RoundingMode.HALF_EVEN, 124, 80),
    ],
)
def test_tax_exclusive_is_rounded_once_per_rate_with_the_tenants_mode(
    mode: RoundingMode, standard_tax: int, reduced_tax: int
) -> None:
    """RATING.md §7: "tax-exclusive → `tax = round(sum of that rate's lines × rate)` …
    rounding with the tenant's tax mode". 1,245 × 10 % = 124.5; 1,001 × 8 % = 80.08."""
    lines = [(STANDARD, TEN, D(1000)), (REDUCED, EIGHT, D(1001)), (STANDARD, TEN, D(245))]
    subtotals = tax_subtotals(lines, TaxMode.EXCLUSIVE, "JPY", mode)
    assert subtotals == (
        TaxSubtotal(STANDARD, TEN, D(1245), D(standard_tax)),
        TaxSubtotal(REDUCED, EIGHT, D(1001), D(reduced_tax)),
    )


@pytest.mark.parametrize(
    ("mode", "tax"),
    [
        (RoundingMode.FLOOR, 90),
        (RoundingMode.HALF_UP, 91),
        (RoundingMode.CEIL, 91),
        (RoundingMode.HALF_EVEN, 91),
    ],
)
def test_tax_inclusive_takes_rate_over_one_plus_rate(mode: RoundingMode, tax: int) -> None:
    """RATING.md §7: "tax-inclusive → `tax = round(sum × rate / (1 + rate))`". 1,000 yen
    including 10 % holds 90.909… yen of tax."""
    assert tax_for_rate(D(1000), TEN, TaxMode.INCLUSIVE, "JPY", mode) == D(tax)
    assert tax_for_rate(D(1100), TEN, TaxMode.INCLUSIVE, "JPY", mode) == D(100)


def test_half_even_tax_rounds_an_exact_half_to_the_even_neighbour() -> None:
    """RATING.md §1: the `half_even` mode. 0.25 USD × 10 % = 0.025 → 0.02 and 0.35 USD ×
    10 % = 0.035 → 0.04; 275 yen including 10 % holds exactly 25 yen."""
    half_even = RoundingMode.HALF_EVEN
    assert tax_for_rate(D("0.25"), TEN, TaxMode.EXCLUSIVE, "USD", half_even) == D("0.02")
    assert tax_for_rate(D("0.35"), TEN, TaxMode.EXCLUSIVE, "USD", half_even) == D("0.04")
    assert tax_for_rate(D(275), TEN, TaxMode.INCLUSIVE, "JPY", half_even) == 25


def test_tax_is_never_rounded_per_line() -> None:
    """RATING.md §7: "This is the qualified-invoice rule: one rounding per rate per
    invoice." Three lines of 15 yen: per line 1 + 1 + 1 = 3, per rate 4.5 → 4."""
    lines = [(STANDARD, TEN, D(15))] * 3
    (subtotal,) = tax_subtotals(lines, TaxMode.EXCLUSIVE, "JPY", RoundingMode.FLOOR)
    assert subtotal.tax == D(4)


def test_exempt_and_out_of_scope_lines_carry_no_tax() -> None:
    """RATING.md §7: `exempt` (非課税) and `out_of_scope` (不課税)."""
    lines = [(TaxCategory.EXEMPT, D(0), D(5000)), (TaxCategory.OUT_OF_SCOPE, D(0), D(800))]
    subtotals = tax_subtotals(lines, TaxMode.EXCLUSIVE, "JPY", RoundingMode.CEIL)
    assert [s.tax for s in subtotals] == [0, 0]
    assert [s.category for s in subtotals] == [TaxCategory.EXEMPT, TaxCategory.OUT_OF_SCOPE]


def test_a_negative_subtotal_rounds_its_magnitude() -> None:
    """RATING.md §1: "For negative amounts (discounts, credits) the mode applies to the
    magnitude"."""
    assert tax_for_rate(D(-1245), TEN, TaxMode.EXCLUSIVE, "JPY", RoundingMode.FLOOR) == -124


def test_tax_rates_are_dated_master_data() -> None:
    """RATING.md §7: "Rates are dated master data (a future rate change is a new row, not a
    code change)"."""
    assert tax_rate_on(JAPAN_TAX_RATES, STANDARD, d("2019-09-30")) == EIGHT
    assert tax_rate_on(JAPAN_TAX_RATES, STANDARD, d("2019-10-01")) == TEN
    assert tax_rate_on(JAPAN_TAX_RATES, REDUCED, d("2026-11-20")) == EIGHT
    assert tax_rate_on(JAPAN_TAX_RATES, TaxCategory.EXEMPT, d("2026-11-20")) == 0
    with pytest.raises(NoTaxRate):
        tax_rate_on(JAPAN_TAX_RATES, REDUCED, d("2019-09-30"))


def test_receivable_totals_add_the_lines_exactly_and_tax_once_per_rate() -> None:
    """RATING.md §8 "The lines add up to the receivable's pre-tax total, exactly"; §7 one
    tax rounding per rate; tax-exclusive adds the tax, tax-inclusive does not."""
    lines = [(STANDARD, TEN, D(1000)), (REDUCED, EIGHT, D(1001)), (STANDARD, TEN, D(-55))]
    exclusive = receivable_totals(lines, TaxMode.EXCLUSIVE, "JPY", RoundingMode.FLOOR)
    assert exclusive.tax_subtotals == tax_subtotals(
        lines, TaxMode.EXCLUSIVE, "JPY", RoundingMode.FLOOR
    )
    assert (exclusive.lines_total, exclusive.tax_total, exclusive.total) == (
        D(1946),
        D(94 + 80),
        D(1946 + 174),
    )
    assert exclusive.pre_tax_total == D(1946)
    inclusive = receivable_totals(lines, TaxMode.INCLUSIVE, "JPY", RoundingMode.FLOOR)
    # 945 × 10/110 = 85.9 → 85; 1,001 × 8/108 = 74.1 → 74
    assert (inclusive.lines_total, inclusive.tax_total, inclusive.total) == (
        D(1946),
        D(159),
        D(1946),
    )
    assert inclusive.pre_tax_total == D(1946 - 159)
    empty = receivable_totals([], TaxMode.EXCLUSIVE, "JPY", RoundingMode.FLOOR)
    assert (empty.tax_subtotals, empty.total) == ((), D(0))
