"""The inputs of `rate_period`: one contract's plans, subscriptions, usage and charges.

Plain frozen dataclasses with string ids, dates and Decimals, so that the closing batch can
build them in bulk from its queries. Everything dated uses the tenant's local dates; an
end date is the last active day (RATING.md §3: "Start date and end date both count").
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Final

from kakin.kit.money import RoundingMode
from kakin.rating.discounts import Discount
from kakin.rating.due_dates import PaymentTerms
from kakin.rating.periods import MONTHLY, BillingMonth, ClosingDay, Interval, Period
from kakin.rating.proration import ProrationMode
from kakin.rating.tariffs import Tariff
from kakin.rating.tax import JAPAN_TAX_RATES, TaxCategory, TaxMode, TaxRate
from kakin.rating.termination import EarlyTerminationRule, MinimumTerm
from kakin.rating.usage import UsageEntry

__all__ = [
    "Adjustment",
    "AdvanceBilling",
    "BillingTiming",
    "ContractInput",
    "EarlierPeriodUsage",
    "OneTimeCharge",
    "OneTimeFee",
    "PlanAssignment",
    "PriceOverride",
    "PricePlan",
    "QuantityChange",
    "RatingPolicy",
    "RecurringFee",
    "SubscriptionInput",
    "Suspension",
    "SuspensionFee",
    "TariffVersion",
    "TopUp",
    "UsageCharge",
    "UsageEntry",
]

ONE: Final = Decimal(1)
ZERO: Final = Decimal(0)


class BillingTiming(enum.StrEnum):
    """RATING.md §3: "A recurring fee is billed in arrears by default … A price plan may
    bill it in advance instead (on the closing before the period it covers)"."""

    ARREARS = "arrears"
    ADVANCE = "advance"


@dataclass(frozen=True, slots=True)
class RecurringFee:
    """A recurring fee (月額基本料) of a price plan: `amount` per interval, per unit of the
    subscription's quantity unless `per_quantity` is False. `name` is the label its lines
    print (names label, never price: they take no part in comparing inputs, so a fee
    renamed by a plan revision stays one line)."""

    fee_id: str
    amount: Decimal
    tax_category: TaxCategory = TaxCategory.STANDARD
    timing: BillingTiming = BillingTiming.ARREARS
    interval: Interval = MONTHLY
    per_quantity: bool = True
    name: str = field(default="", compare=False)


@dataclass(frozen=True, slots=True)
class SuspensionFee:
    """RATING.md §3: "the plan has a suspension fee, which is then prorated over the
    suspended days the same way" — `amount` per billing period (per unit of quantity).
    `name` labels its lines."""

    fee_id: str
    amount: Decimal
    tax_category: TaxCategory = TaxCategory.STANDARD
    per_quantity: bool = True
    name: str = field(default="", compare=False)


@dataclass(frozen=True, slots=True)
class OneTimeFee:
    """RATING.md §3: a plan's one-time fee (contract fee …), "incurred on its start date";
    "per subscription, or per unit of quantity when the plan says so". `name` labels its
    line."""

    fee_id: str
    amount: Decimal
    tax_category: TaxCategory = TaxCategory.STANDARD
    per_quantity: bool = False
    name: str = field(default="", compare=False)


@dataclass(frozen=True, slots=True)
class TariffVersion:
    """RATING.md §4: "A tariff is a master record with a validity start date"."""

    tariff_id: str
    valid_from: date
    tariff: Tariff


@dataclass(frozen=True, slots=True)
class UsageCharge:
    """A usage charge (従量料金) of a price plan: usage of `usage_item_id`, counted in units
    of `unit` raw quantity (RATING.md §4 `q = ceil(raw / unit)`), priced by the tariff
    version in force, after `allowance` included units per period. `name` labels its
    lines: the usage item's name."""

    charge_id: str
    usage_item_id: str
    tariffs: tuple[TariffVersion, ...]
    unit: Decimal = ONE
    unit_name: str | None = None
    per_record: bool = False
    allowance: Decimal = ZERO
    tax_category: TaxCategory = TaxCategory.STANDARD
    name: str = field(default="", compare=False)


@dataclass(frozen=True, slots=True)
class PricePlan:
    """One version of a price plan (料金プランマスタ) as a subscription sees it."""

    plan_id: str
    proration: ProrationMode = ProrationMode.DAILY
    recurring_fees: tuple[RecurringFee, ...] = ()
    usage_charges: tuple[UsageCharge, ...] = ()
    one_time_fees: tuple[OneTimeFee, ...] = ()
    suspension_fee: SuspensionFee | None = None
    minimum_term: MinimumTerm | None = None
    early_termination: EarlyTerminationRule | None = None


@dataclass(frozen=True, slots=True)
class PlanAssignment:
    """RATING.md §3: "A plan change effective on date E: the old plan is active through
    E−1, the new plan from E." A plan revision is an assignment of the new version with the
    same plan id."""

    valid_from: date
    plan: PricePlan


@dataclass(frozen=True, slots=True)
class QuantityChange:
    """RATING.md §3: "A quantity change likewise" (effective from `valid_from`)."""

    valid_from: date
    quantity: Decimal


@dataclass(frozen=True, slots=True)
class Suspension:
    """RATING.md §3: suspended days (停止), both ends included; `end=None` is open."""

    start: date
    end: date | None = None


@dataclass(frozen=True, slots=True)
class PriceOverride:
    """RATING.md §3: "A subscription may override any amount of its plan (相対価格) …; an
    override is dated like a plan change." `target_id` names a fee (its `amount` is
    replaced) or a usage charge (its `tariff` is replaced)."""

    target_id: str
    valid_from: date
    valid_to: date | None = None
    amount: Decimal | None = None
    tariff: Tariff | None = None


@dataclass(frozen=True, slots=True)
class SubscriptionInput:
    """A subscription (サービス契約) as a timeline: its life, its plan assignments, quantity
    changes, suspensions and overrides. `term_start` starts the minimum term (default the
    subscription's start)."""

    subscription_id: str
    service_id: str
    start_date: date
    plans: tuple[PlanAssignment, ...]
    end_date: date | None = None
    quantities: tuple[QuantityChange, ...] = ()
    suspensions: tuple[Suspension, ...] = ()
    overrides: tuple[PriceOverride, ...] = ()
    term_start: date | None = None


@dataclass(frozen=True, slots=True)
class TopUp:
    """RATING.md §4: "Top-ups bought during a period (追加購入) raise that period's allowance
    and are billed as one-time fees". `name` labels its line."""

    top_up_id: str
    subscription_id: str
    usage_item_id: str
    bought_on: date
    quantity: Decimal
    price: Decimal
    tax_category: TaxCategory = TaxCategory.STANDARD
    name: str = field(default="", compare=False)


@dataclass(frozen=True, slots=True)
class OneTimeCharge:
    """A one-time fee incurred on a date (device price, construction fee …), not yet
    billed. `amount` is per unit of `quantity`; `name` labels its line."""

    charge_id: str
    fee_id: str
    incurred_on: date
    amount: Decimal
    subscription_id: str | None = None
    quantity: Decimal = ONE
    tax_category: TaxCategory = TaxCategory.STANDARD
    name: str = field(default="", compare=False)


@dataclass(frozen=True, slots=True)
class Adjustment:
    """RATING.md §8: "a late change becomes an `adjustment` line on the next receivable";
    `name` (its reason) labels the line."""

    adjustment_id: str
    amount: Decimal
    tax_category: TaxCategory = TaxCategory.STANDARD
    subscription_id: str | None = None
    period: Period | None = None
    name: str = field(default="", compare=False)


@dataclass(frozen=True, slots=True)
class AdvanceBilling:
    """What earlier receivables charged for a recurring fee billed in advance over
    `covered` (its lines plus any settlements so far). RATING.md §3: "a mid-period
    cancellation or downgrade gives a prorated credit line on the next receivable"."""

    subscription_id: str
    fee_id: str
    covered: Period
    billed: Decimal


@dataclass(frozen=True, slots=True)
class EarlierPeriodUsage:
    """RATING.md §8: "Usage that arrives for an already-rated period goes onto the next
    receivable as a usage line marked with its original period." `entries` is all usage
    of that period (the rated and the late); `billed_*` what was charged for it so far."""

    billing_month: BillingMonth
    subscription_id: str
    usage_item_id: str
    entries: tuple[UsageEntry, ...]
    billed_amount: Decimal
    billed_quantity: Decimal
    top_ups: tuple[TopUp, ...] = ()


@dataclass(frozen=True, slots=True)
class RatingPolicy:
    """The tenant's choices for rating: currency, the modes of line rounding and tax
    rounding (RATING.md §1, default `floor`) and tax-exclusive or -inclusive prices (§7)."""

    currency: str = "JPY"
    line_rounding: RoundingMode = RoundingMode.FLOOR
    tax_rounding: RoundingMode = RoundingMode.FLOOR
    tax_mode: TaxMode = TaxMode.EXCLUSIVE


@dataclass(frozen=True, slots=True)
class ContractInput:
    """One contract's inputs for one billing period. `one_time_charges`, `top_ups` and
    `adjustments` are those not yet on an issued receivable; `tax_rates` is the dated tax
    master."""

    contract_id: str
    closing_day: ClosingDay
    start_date: date
    subscriptions: tuple[SubscriptionInput, ...]
    policy: RatingPolicy = field(default_factory=RatingPolicy)
    usage: tuple[UsageEntry, ...] = ()
    one_time_charges: tuple[OneTimeCharge, ...] = ()
    top_ups: tuple[TopUp, ...] = ()
    discounts: tuple[Discount, ...] = ()
    adjustments: tuple[Adjustment, ...] = ()
    advance_billings: tuple[AdvanceBilling, ...] = ()
    earlier_usage: tuple[EarlierPeriodUsage, ...] = ()
    payment_terms: PaymentTerms | None = None
    direct_debit: bool = False
    tax_rates: tuple[TaxRate, ...] = JAPAN_TAX_RATES
