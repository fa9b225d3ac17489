"""Pydantic shapes of the billing API.

Money is a decimal string in the currency's major unit, in and out (kit.bounds: `Money` on
input, `MoneyOut` in answers, converted from the stored integers of minor units with the
receivable's or contract's currency, `in_currency`).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from kakin.kit.bounds import (
    Date,
    DecimalOut,
    MoneyOut,
    MultiLine,
    PositiveMoney,
    SignedMoney,
    SingleLine,
)

TaxCategoryCode = Literal["standard", "reduced", "exempt", "out_of_scope"]
ReceivableStatus = Literal[
    "draft", "open", "paid", "partially_paid", "overdue", "written_off", "void"
]


class ClosingRunIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    closing_date: Date = Field(description="the day after the billing periods end (RATING.md §2)")


class ClosingRunOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    closing_date: dt.date
    status: str
    contracts_total: int
    contracts_done: int
    contracts_failed: int
    receivables_written: int
    lines_written: int
    chunks_total: int
    errors: list[dict[str, Any]]
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None


class TaxSubtotalOut(BaseModel):
    tax_category: str
    rate: DecimalOut
    base: MoneyOut
    tax: MoneyOut


class ReceivableLineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    receivable_id: str
    line_no: int
    contract_id: str
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
    quantity: DecimalOut
    unit: str | None
    unit_price: MoneyOut | None
    period_start: dt.date | None
    period_end: dt.date | None
    days: int | None
    tax_category: str
    tax_rate: DecimalOut
    amount: MoneyOut = Field(description="money, the receivable's currency")
    original_billing_month: str | None


class ReceivableOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    contract_id: str
    customer_id: str | None
    billing_month: str
    period_start: dt.date
    period_end: dt.date
    closing_date: dt.date
    currency: str
    tax_mode: str
    subtotal: MoneyOut = Field(description="pre-tax total")
    tax_total: MoneyOut
    total: MoneyOut
    credited: MoneyOut = Field(description="the sum of the totals of its credit notes")
    balance: MoneyOut = Field(description="the total less what its credit notes took back")
    tax_breakdown: list[TaxSubtotalOut]
    status: str
    due_date: dt.date | None
    payment_method_kind: str | None
    invoice_number: int | None
    issued_on: dt.date | None
    line_count: int
    created_at: dt.datetime
    updated_at: dt.datetime


class ReceivableDetailOut(ReceivableOut):
    lines: list[ReceivableLineOut]


class AdjustmentIn(BaseModel):
    """A signed amount billed next time: money in the contract's currency (major unit, at
    most its minor-unit places), e.g. "-500" yen."""

    model_config = ConfigDict(extra="forbid")

    amount: SignedMoney = Field(description="signed money, the contract's currency")
    tax_category: TaxCategoryCode = "standard"
    reason: Annotated[MultiLine, Field(min_length=1, max_length=500)]
    subscription_id: Annotated[SingleLine, Field(min_length=1, max_length=40)] | None = Field(
        None, description="one of the contract's subscriptions; null: the whole contract"
    )


class AdjustmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    contract_id: str
    subscription_id: str | None
    amount: MoneyOut
    tax_category: str
    reason: str
    receivable_id: str | None
    created_at: dt.datetime


class CreditNoteLineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: Annotated[SingleLine, Field(min_length=1, max_length=200)]
    amount: PositiveMoney = Field(description="money, the receivable's currency")
    tax_category: TaxCategoryCode = "standard"


class CreditNoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[MultiLine, Field(min_length=1, max_length=500)]
    lines: list[CreditNoteLineIn] = Field(min_length=1, max_length=200)


class CreditNoteLineOut(BaseModel):
    description: str
    amount: MoneyOut
    tax_category: str
    tax_rate: DecimalOut


class CreditNoteOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    receivable_id: str
    number: int
    issued_on: dt.date
    reason: str
    lines: list[CreditNoteLineOut]
    subtotal: MoneyOut
    tax_total: MoneyOut
    total: MoneyOut
    tax_breakdown: list[TaxSubtotalOut]
    created_at: dt.datetime
