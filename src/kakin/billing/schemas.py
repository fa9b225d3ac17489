"""Pydantic shapes of the billing API."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

TaxCategoryCode = Literal["standard", "reduced", "exempt", "out_of_scope"]
ReceivableStatus = Literal[
    "draft", "open", "paid", "partially_paid", "overdue", "written_off", "void"
]


class ClosingRunIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    closing_date: dt.date = Field(
        description="the day after the billing periods end (RATING.md §2)"
    )


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
    rate: Decimal
    base: int
    tax: int


class ReceivableLineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    receivable_id: str
    line_no: int
    contract_id: str
    kind: str
    note: str
    description: str
    subscription_id: str | None
    source_id: str | None
    quantity: Decimal
    unit: str | None
    unit_price: Decimal | None
    period_start: dt.date | None
    period_end: dt.date | None
    days: int | None
    tax_category: str
    tax_rate: Decimal
    amount: int = Field(description="in the currency's minor unit")
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
    subtotal: int = Field(description="pre-tax total, minor units")
    tax_total: int
    total: int
    credited: int = Field(description="the sum of the totals of its credit notes")
    balance: int = Field(description="the total less what its credit notes took back")
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
    """A signed amount (minor units as a decimal string, e.g. "-500") billed next time."""

    model_config = ConfigDict(extra="forbid")

    amount: Decimal = Field(decimal_places=0, description="signed, in minor units")
    tax_category: TaxCategoryCode = "standard"
    reason: str = Field(min_length=1, max_length=500)
    subscription_id: str | None = Field(
        None, description="one of the contract's subscriptions; null: the whole contract"
    )


class AdjustmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    contract_id: str
    subscription_id: str | None
    amount: int
    tax_category: str
    reason: str
    receivable_id: str | None
    created_at: dt.datetime


class CreditNoteLineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: str = Field(min_length=1, max_length=200)
    amount: Decimal = Field(gt=0, decimal_places=0, description="minor units, positive")
    tax_category: TaxCategoryCode = "standard"


class CreditNoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=500)
    lines: list[CreditNoteLineIn] = Field(min_length=1, max_length=200)


class CreditNoteOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    receivable_id: str
    number: int
    issued_on: dt.date
    reason: str
    lines: list[dict[str, Any]]
    subtotal: int
    tax_total: int
    total: int
    tax_breakdown: list[TaxSubtotalOut]
    created_at: dt.datetime
