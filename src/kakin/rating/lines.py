"""The rating output: receivable lines (債権明細) and the receivable draft (債権) — RATING.md §8."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Final

from kakin.rating.periods import BillingMonth, Period
from kakin.rating.tax import ReceivableTotals, TaxCategory, TaxMode, TaxSubtotal
from kakin.rating.usage import UsageEntry


class LineKind(enum.StrEnum):
    """RATING.md §8: "its kind (`recurring`, `one_time`, `usage`, `discount`,
    `early_termination`, `adjustment`)"."""

    RECURRING = "recurring"
    ONE_TIME = "one_time"
    USAGE = "usage"
    DISCOUNT = "discount"
    EARLY_TERMINATION = "early_termination"
    ADJUSTMENT = "adjustment"


BUCKET_KIND_ORDER: Final[dict[LineKind, int]] = {
    LineKind.RECURRING: 0,
    LineKind.USAGE: 1,
    LineKind.ONE_TIME: 2,
}
"""RATING.md §5: the line kinds a discount can target, in their tie order (`recurring`,
`usage`, `one_time`)."""


class LineNote(enum.StrEnum):
    """What part of its source a line is, so an invoice can label it."""

    CHARGE = "charge"  # the plain charge of its kind
    IN_ADVANCE = "in_advance"  # a recurring fee billed before the period it covers
    ADVANCE_SETTLEMENT = "advance_settlement"  # credit (or extra) for an advance-billed period
    SUSPENSION_FEE = "suspension_fee"  # 停止中の料金
    TOP_UP = "top_up"  # 追加購入
    LATE_USAGE = "late_usage"  # usage of an earlier, already rated period


class SourceKind(enum.StrEnum):
    """What a line's `source_id` names (RATING.md §8 "the subscription and master it came
    from"): with the kind, the id is unambiguous."""

    RECURRING_FEE = "recurring_fee"  # a plan's recurring fee, by its code
    SUSPENSION_FEE = "suspension_fee"  # a plan's suspension fee, by its code
    ONE_TIME_FEE = "one_time_fee"  # a plan's one-time fee, by its code
    TARIFF = "tariff"  # the tariff whose version in force priced the usage
    NEGOTIATED_TARIFF = "negotiated_tariff"  # `override:<charge>`: a negotiated price
    USAGE_CHARGE = "usage_charge"  # a plan's usage charge, by its code (late usage)
    DISCOUNT = "discount"  # a contract's discount
    EARLY_TERMINATION_RULE = "early_termination_rule"  # `early_termination:<plan>`
    ONE_TIME_CHARGE = "one_time_charge"  # a registered one-time charge
    TOP_UP = "top_up"
    ADJUSTMENT = "adjustment"


@dataclass(frozen=True, slots=True)
class ReceivableLine:
    """RATING.md §8: "Each line holds: its kind …, the subscription and master it came from,
    quantity, unit, unit price, the days it covers, tax category, and amount." `amount` is
    rounded by line rounding (tax-inclusive when the tenant prices so). `billing_month` is
    set on late-usage lines: their original billing month. `usage_item_id` is set on usage
    lines. `source_kind` says what `source_id` names (`SourceKind`); `name` is the label
    the line prints: its source's name (a usage line's: its usage item's), else its kind."""

    kind: LineKind
    amount: Decimal
    tax_category: TaxCategory
    tax_rate: Decimal
    subscription_id: str | None = None
    source_id: str | None = None
    note: LineNote = LineNote.CHARGE
    quantity: Decimal = Decimal(1)
    unit: str | None = None
    unit_price: Decimal | None = None
    period: Period | None = None
    days: int | None = None
    billing_month: BillingMonth | None = None
    usage_item_id: str | None = None
    name: str = ""
    source_kind: SourceKind | None = None

    @property
    def period_start(self) -> date | None:
        return self.period.start if self.period else None

    @property
    def period_end(self) -> date | None:
        return self.period.end if self.period else None


@dataclass(frozen=True, slots=True)
class ReceivableDraft:
    """RATING.md §8: one receivable per contract per billing month, as rating makes it:
    its lines and what they add up to (`totals`, `tax.receivable_totals`)."""

    contract_id: str
    billing_month: BillingMonth
    period: Period
    currency: str
    tax_mode: TaxMode
    lines: tuple[ReceivableLine, ...]
    totals: ReceivableTotals
    due_date: date | None
    unrated_usage: tuple[UsageEntry, ...] = ()

    @property
    def tax_subtotals(self) -> tuple[TaxSubtotal, ...]:
        return self.totals.tax_subtotals

    @property
    def lines_total(self) -> Decimal:
        """The exact sum of the lines."""
        return self.totals.lines_total

    @property
    def tax_total(self) -> Decimal:
        return self.totals.tax_total

    @property
    def total(self) -> Decimal:
        return self.totals.total

    @property
    def pre_tax_total(self) -> Decimal:
        return self.totals.pre_tax_total

    @property
    def requests_payment(self) -> bool:
        """RATING.md §8: "A zero-amount receivable is kept … but produces no payment
        request." (Nor does a credit balance.)"""
        return self.total > 0
