"""Minimum terms and early-termination fees (年縛り・違約金) — RATING.md §6."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Final, NamedTuple

from kakin.rating.periods import add_months
from kakin.rating.tax import TaxCategory

_ONE_DAY: Final = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class MinimumTerm:
    """RATING.md §6: "A plan may carry a minimum term (e.g. 24 months from the start)" and
    "Automatic renewal of the term at its end (更新月) is a plan option". With renewal, the
    first `renewal_window_months` of each renewed term are the 更新月 in which cancelling is
    free."""

    months: int
    auto_renew: bool = False
    renewal_window_months: int = 1

    def __post_init__(self) -> None:
        if self.months < 1:
            raise ValueError("a minimum term lasts at least one month")
        if self.renewal_window_months < 0:
            raise ValueError("renewal_window_months must be >= 0")


class EarlyTerminationKind(enum.StrEnum):
    """RATING.md §6: "a fixed amount, one month's recurring fee (× quantity), or the
    remaining months' fees"."""

    FIXED = "fixed"
    ONE_MONTH_FEE = "one_month_fee"
    REMAINING_MONTHS_FEES = "remaining_months_fees"


@dataclass(frozen=True, slots=True)
class EarlyTerminationRule:
    """RATING.md §6: the plan's rule, "optionally capped", with "the tax category the rule
    names (often not taxable)". `name` labels its line."""

    rule_id: str
    kind: EarlyTerminationKind
    amount: Decimal | None = None
    cap: Decimal | None = None
    tax_category: TaxCategory = TaxCategory.OUT_OF_SCOPE
    name: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if self.kind is EarlyTerminationKind.FIXED and self.amount is None:
            raise ValueError("a fixed early-termination rule needs an amount")


def term_last_day(term: MinimumTerm, term_start: date, end_date: date) -> date | None:
    """The last day of the minimum term that a cancellation with last active day `end_date`
    breaks, or None when it breaks none (after the term, on its last day, or inside the
    renewal window of a renewed term)."""
    index = 0
    while True:
        start = add_months(term_start, index * term.months)
        last = add_months(term_start, (index + 1) * term.months) - _ONE_DAY
        if end_date <= last:
            break
        if not term.auto_renew:
            return None
        index += 1
    if end_date >= last:
        return None
    if index > 0 and end_date < add_months(start, term.renewal_window_months):
        return None  # RATING.md §6 更新月: the renewal window is free
    return last


def remaining_months(end_date: date, last_day: date) -> int:
    """RATING.md §6: "whole months from the day after the end date to the term's last day,
    a started month counting as one"."""
    first = end_date + _ONE_DAY
    months = 0
    while add_months(first, months) <= last_day:
        months += 1
    return months


def early_termination_amount(
    rule: EarlyTerminationRule, monthly_fee: Fraction, months_left: int
) -> Fraction:
    """RATING.md §6: the exact fee by the plan's rule, capped when the rule has a cap.
    `monthly_fee` is one month's recurring fee already multiplied by the quantity, exact
    (a fee charged every n months counts 1/n of it: RATING.md §1 rounds only the line)."""
    match rule.kind:
        case EarlyTerminationKind.FIXED:
            amount = Fraction(rule.amount) if rule.amount is not None else Fraction(0)
        case EarlyTerminationKind.ONE_MONTH_FEE:
            amount = monthly_fee
        case EarlyTerminationKind.REMAINING_MONTHS_FEES:
            amount = monthly_fee * months_left
    return amount if rule.cap is None else min(amount, Fraction(rule.cap))


class EarlyTerminationFee(NamedTuple):
    """What breaking a minimum term costs: the exact `amount`, for the term's days from the
    day after the end date to `term_last_day`."""

    amount: Fraction
    term_last_day: date


def early_termination_fee(
    term: MinimumTerm,
    rule: EarlyTerminationRule,
    term_start: date,
    end_date: date,
    monthly_fee: Decimal | Fraction,
) -> EarlyTerminationFee | None:
    """RATING.md §6: "A cancellation effective before the term ends adds an
    early-termination line on the final receivable, computed by the plan's rule". None
    when the cancellation breaks no term."""
    last = term_last_day(term, term_start, end_date)
    if last is None:
        return None
    months_left = remaining_months(end_date, last)
    return EarlyTerminationFee(
        early_termination_amount(rule, Fraction(monthly_fee), months_left), last
    )
