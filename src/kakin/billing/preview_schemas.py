"""Request and answer shapes of current usage and charge simulation (`preview.py`)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from kakin.billing.schemas import TaxSubtotalOut
from kakin.catalog.plan_schemas import PlanComponents
from kakin.catalog.schemas import Amount
from kakin.kit.bounds import (
    BILLING_MONTH_PATTERN,
    Date,
    Ident,
    MoneyOut,
    RawQuantity,
    SubscriptionQuantity,
)
from kakin.tenancy.schemas import ClosingDay as ClosingDayCode

MAX_REPLACEMENTS = 100
MAX_USAGE_ENTRIES = 1000

BillingMonthText = Annotated[str, StringConstraints(pattern=BILLING_MONTH_PATTERN)]


# --- request shapes ------------------------------------------------------------------------


class PlanReplacement(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subscription_id: Ident
    price_plan_id: Ident = Field(description="an existing price plan, by id or code")


class HypotheticalUsage(BaseModel):
    """Usage of the period as usage records carry it (raw quantity; RATING.md §4 `q =
    ceil(raw / unit)`). For an item rated per record each entry is one record."""

    model_config = ConfigDict(extra="forbid")

    usage_item: Ident = Field(description="a usage item charged by the plan, by id or code")
    quantity: RawQuantity


class HypotheticalSubscription(BaseModel):
    model_config = ConfigDict(extra="forbid")

    closing_day: ClosingDayCode | None = Field(None, description="default: the tenant's")
    start_date: Date | None = Field(
        None, description="default: the first day of the billing period (a full period)"
    )
    plan: PlanComponents | None = Field(
        None, description="components as in a price plan version (give this or price_plan_id)"
    )
    price_plan_id: Ident | None = None
    quantity: SubscriptionQuantity = 1
    usage: list[HypotheticalUsage] = Field(default_factory=list, max_length=MAX_USAGE_ENTRIES)


class SimulationIn(BaseModel):
    """Either `contract_id` + `replace`, or `hypothetical`; always `billing_month`."""

    model_config = ConfigDict(extra="forbid")

    billing_month: BillingMonthText
    contract_id: Ident | None = None
    replace: list[PlanReplacement] | None = Field(None, min_length=1, max_length=MAX_REPLACEMENTS)
    hypothetical: HypotheticalSubscription | None = None


# --- answer shapes -------------------------------------------------------------------------


class PreviewLineOut(BaseModel):
    """A would-be receivable line (as `ReceivableLineOut`, without a receivable)."""

    line_no: int
    kind: str
    note: str
    description: str
    subscription_id: str | None
    source_kind: str | None = Field(
        description="what source_id names: recurring_fee, suspension_fee, one_time_fee,"
        " tariff, negotiated_tariff, usage_charge, discount, early_termination_rule,"
        " one_time_charge, top_up or adjustment"
    )
    source_id: str | None
    usage_item_id: str | None
    quantity: Amount
    unit: str | None
    unit_price: MoneyOut | None
    period_start: dt.date | None
    period_end: dt.date | None
    days: int | None
    tax_category: str
    tax_rate: Amount
    amount: MoneyOut
    original_billing_month: str | None


class Figures(BaseModel):
    """What a receivable says: its lines, per-rate tax and totals (money, the currency's
    major unit)."""

    currency: str
    tax_mode: str
    subtotal: MoneyOut = Field(description="pre-tax total")
    tax_total: MoneyOut
    total: MoneyOut
    tax_breakdown: list[TaxSubtotalOut]
    lines: list[PreviewLineOut]


class ReceivableFigures(Figures):
    contract_id: str | None
    billing_month: str
    period_start: dt.date
    period_end: dt.date
    due_date: dt.date | None


class UsageSoFar(BaseModel):
    """One usage item of the subscription in the open period, up to `on`."""

    usage_item_id: str
    code: str | None
    name: str | None
    unit_name: str | None
    raw_quantity: Amount = Field(description="sum of the usage records' quantities")
    rated_quantity: Amount = Field(description="RATING.md §4 q, as the usage lines carry it")
    allowance: Amount | None = Field(
        description="included quantity per period of the charge in force on `on`"
    )
    remaining_allowance: Amount | None = Field(
        description="RATING.md §4: what remains of the allowance (with top-ups) on `on`"
    )
    amount: MoneyOut = Field(description="the running amount of its usage lines")


class CurrentUsageOut(Figures):
    subscription_id: str
    contract_id: str
    on: dt.date
    billing_month: str
    period_start: dt.date
    period_end: dt.date
    closing_date: dt.date
    usage: list[UsageSoFar]


class Difference(BaseModel):
    """`simulated − current` (money)."""

    subtotal: MoneyOut
    tax_total: MoneyOut
    total: MoneyOut


class SimulationOut(BaseModel):
    kind: Literal["replace", "hypothetical"]
    billing_month: str
    simulated: ReceivableFigures
    current: ReceivableFigures | None = Field(
        None, description="replace: the same month rated as it stands"
    )
    difference: Difference | None = None
