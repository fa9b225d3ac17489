"""Pydantic shapes of price plans (料金プランマスタ) and their dated versions.

A version's components follow `kakin.rating.model.PricePlan` (RATING.md §3, §4, §6): the
plan's proration mode; recurring fees (amount per interval, timing, interval); an
optional suspension fee; one-time fees; usage charges (a usage item priced by a tariff,
after an allowance); an optional minimum term with its early-termination rule. Each fee
and charge has a `code` unique inside the version (the fee id lines and price overrides
name). Money is in the plan's currency, major unit (kit.bounds.Money: a decimal string,
less than 10^12, up to 6 places). The same models are answered back, with references
resolved to ids and defaults filled in, so a version read can be posted again as a
revision.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from kakin.catalog.schemas import Code, MasterIn, MasterOut, Name, Reference
from kakin.kit.bounds import Date, Money, Quantity
from kakin.rating.model import BillingTiming
from kakin.rating.periods import IntervalAlignment
from kakin.rating.proration import ProrationMode
from kakin.rating.tax import TaxCategory as TaxCategoryCode
from kakin.rating.termination import EarlyTerminationKind
from kakin.tenancy.schemas import Currency

MAX_COMPONENTS = 100


class RecurringFee(BaseModel):
    """月額基本料: `amount` per interval (in the plan's currency), per unit of the
    subscription's quantity unless `per_quantity` is false. RATING.md §3: billed in
    `arrears` (default) or in `advance`, every 1, 2, 3, 6 or 12 billing months counted from
    the subscription's first billing month or aligned to the calendar."""

    model_config = ConfigDict(extra="forbid")

    code: Code
    name: Name
    amount: Money
    tax_category: TaxCategoryCode = TaxCategoryCode.STANDARD
    timing: BillingTiming = BillingTiming.ARREARS
    interval_months: Literal[1, 2, 3, 6, 12] = 1
    interval_alignment: IntervalAlignment = IntervalAlignment.SUBSCRIPTION
    per_quantity: bool = True


class SuspensionFee(BaseModel):
    """RATING.md §3: "Suspended days (停止) are not charged unless the plan has a suspension
    fee, which is then prorated over the suspended days" — `amount` per billing period."""

    model_config = ConfigDict(extra="forbid")

    code: Code
    name: Name
    amount: Money
    tax_category: TaxCategoryCode = TaxCategoryCode.STANDARD
    per_quantity: bool = True


class OneTimeFee(BaseModel):
    """一時金 (contract fee, device price, construction fee): RATING.md §3 "per
    subscription, or per unit of quantity when the plan says so" (`per_quantity`)."""

    model_config = ConfigDict(extra="forbid")

    code: Code
    name: Name
    amount: Money
    tax_category: TaxCategoryCode = TaxCategoryCode.STANDARD
    per_quantity: bool = False


class UsageCharge(BaseModel):
    """従量料金: usage of `usage_item` (id or code; answered as its id) priced by the tariff
    version in force, after `allowance` included units per period (RATING.md §4). `code`
    defaults to the usage item's code."""

    model_config = ConfigDict(extra="forbid")

    code: Code | None = None
    name: Name | None = None
    usage_item: Reference
    tariff_id: Reference
    allowance: Quantity = Decimal(0)
    tax_category: TaxCategoryCode = TaxCategoryCode.STANDARD


class EarlyTermination(BaseModel):
    """RATING.md §6: "a fixed amount, one month's recurring fee (× quantity), or the
    remaining months' fees … optionally capped", with "the tax category the rule names
    (often not taxable)". `amount` belongs to `fixed` only."""

    model_config = ConfigDict(extra="forbid")

    rule: EarlyTerminationKind
    amount: Money | None = None
    cap: Money | None = None
    tax_category: TaxCategoryCode = TaxCategoryCode.OUT_OF_SCOPE


class MinimumTerm(BaseModel):
    """年縛り: RATING.md §6 "A plan may carry a minimum term (e.g. 24 months from the
    start)"; `auto_renew` renews it at its end, the first `renewal_window_months` of each
    renewed term being free to cancel in (更新月)."""

    model_config = ConfigDict(extra="forbid")

    months: int = Field(ge=1, le=240)
    auto_renew: bool = False
    renewal_window_months: int = Field(1, ge=0, le=12)
    early_termination: EarlyTermination | None = None


class PlanComponents(BaseModel):
    """What one version of a price plan charges."""

    model_config = ConfigDict(extra="forbid")

    proration: ProrationMode = Field(
        ProrationMode.DAILY,
        description="RATING.md §3: daily (default) or full (any active day, the whole fee)",
    )
    recurring_fees: list[RecurringFee] = Field(default_factory=list, max_length=MAX_COMPONENTS)
    suspension_fee: SuspensionFee | None = None
    one_time_fees: list[OneTimeFee] = Field(default_factory=list, max_length=MAX_COMPONENTS)
    usage_charges: list[UsageCharge] = Field(default_factory=list, max_length=MAX_COMPONENTS)
    minimum_term: MinimumTerm | None = None


class PricePlanVersionIn(PlanComponents):
    effective_from: Date = Field(description="the first day this version applies to")


class PricePlanIn(MasterIn, PricePlanVersionIn):
    """A new price plan of a service with its first version. `currency` defaults to the
    tenant's and cannot change later (amounts are in it)."""

    service_id: Reference
    currency: Currency | None = None


class PricePlanVersionOut(PlanComponents):
    model_config = ConfigDict(extra="ignore")

    id: str
    effective_from: dt.date
    created_at: dt.datetime


class PricePlanOut(MasterOut):
    service_id: str
    currency: str
    versions: list[PricePlanVersionOut] = Field(description="every version, oldest first")
