"""Pydantic shapes of the contracts API: contracts, subscriptions and events, discounts."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from kakin.kit.bounds import Date, Money, MoneyOut, SingleLine, SubscriptionQuantity
from kakin.kit.free_fields import FreeFieldsFilter, FreeFieldsIn, FreeFieldsOut
from kakin.tenancy.schemas import ClosingDay, Currency

PaymentTermsDay = Annotated[int, Field(ge=1, le=31)] | Literal["eom"]
PaymentMethodKind = Literal[
    "bank_transfer", "direct_debit", "convenience_store", "credit_card", "virtual_account"
]
InvoiceDelivery = Literal["email", "post", "none"]
ContractStatus = Literal["active", "ended", "cancelled"]
SubscriptionStatus = Literal["active", "suspended", "cancelled"]
DiscountScope = Literal["all", "recurring", "usage", "one_time"]
ExternalId = Annotated[SingleLine, Field(min_length=1, max_length=100)]
Id = Annotated[SingleLine, Field(min_length=1, max_length=40)]


def _refuse_nulls(model: BaseModel, names: tuple[str, ...]) -> None:
    """On a change, these fields may be left out but not set to null."""
    for name in names:
        if name in model.model_fields_set and getattr(model, name) is None:
            raise ValueError(f"{name} cannot be null")


class BillingAddress(BaseModel):
    """Personal data: stored encrypted, masked in the audit trail."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[SingleLine, Field(min_length=1, max_length=200)]
    postal_code: Annotated[SingleLine, Field(max_length=10)] | None = None
    address: Annotated[SingleLine, Field(max_length=500)] | None = None
    phone: Annotated[SingleLine, Field(max_length=30)] | None = None


# --- contracts ---------------------------------------------------------------------------


class ContractIn(FreeFieldsIn):
    model_config = ConfigDict(extra="forbid")

    customer_id: Id | None = None
    external_customer_id: ExternalId | None = None
    closing_day: ClosingDay | None = Field(None, description="default: the tenant's")
    payment_terms_months: int = Field(1, ge=0, le=3)
    payment_terms_day: PaymentTermsDay = "eom"
    payment_method_kind: PaymentMethodKind | None = None
    payment_method_ref: Annotated[SingleLine, Field(max_length=100)] | None = None
    currency: Currency | None = Field(None, description="default: the tenant's")
    billing_address: BillingAddress | None = None
    invoice_delivery: InvoiceDelivery = "email"
    start_date: Date
    end_date: Date | None = None

    @model_validator(mode="after")
    def _check(self) -> ContractIn:
        if (self.customer_id is None) == (self.external_customer_id is None):
            raise ValueError("give exactly one of customer_id and external_customer_id")
        if self.end_date is not None and self.end_date < self.start_date:
            raise ValueError("end_date is before start_date")
        return self


class ContractPatch(FreeFieldsIn):
    """Only the fields sent change; `end_date` set ends the contract, null reopens it."""

    model_config = ConfigDict(extra="forbid")

    closing_day: ClosingDay | None = None
    payment_terms_months: int | None = Field(None, ge=0, le=3)
    payment_terms_day: PaymentTermsDay | None = None
    payment_method_kind: PaymentMethodKind | None = None
    payment_method_ref: Annotated[SingleLine, Field(max_length=100)] | None = None
    billing_address: BillingAddress | None = None
    invoice_delivery: InvoiceDelivery | None = None
    start_date: Date | None = None
    end_date: Date | None = None

    @model_validator(mode="after")
    def _check(self) -> ContractPatch:
        _refuse_nulls(
            self,
            (
                "closing_day",
                "payment_terms_months",
                "payment_terms_day",
                "invoice_delivery",
                "start_date",
            ),
        )
        return self


class ContractOut(FreeFieldsOut):
    id: str
    customer_id: str | None
    external_customer_id: str | None
    closing_day: str
    payment_terms_months: int
    payment_terms_day: int | Literal["eom"]
    payment_method_kind: str | None
    payment_method_ref: str | None
    currency: str
    billing_address: BillingAddress | None
    invoice_delivery: str
    start_date: dt.date
    end_date: dt.date | None
    status: str
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int


class ContractFilter(FreeFieldsFilter):
    """Query parameters (no `extra="forbid"`: `cursor` and `limit` share the query)."""

    customer_id: Id | None = None
    external_customer_id: ExternalId | None = None
    status: ContractStatus | None = None
    closing_day: ClosingDay | None = None


# --- subscriptions -----------------------------------------------------------------------


class SubscriptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    contract_id: Id
    price_plan_id: Id
    quantity: SubscriptionQuantity = 1
    start_date: Date
    end_date: Date | None = Field(None, description="planned end; default: the contract's")
    external_ref: ExternalId | None = None

    @model_validator(mode="after")
    def _check(self) -> SubscriptionIn:
        if self.end_date is not None and self.end_date < self.start_date:
            raise ValueError("end_date is before start_date")
        return self


class SubscriptionPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    external_ref: ExternalId | None = None


class SubscriptionEventOut(BaseModel):
    seq: int
    kind: str
    effective_date: Date
    data: dict[str, Any]
    created_at: dt.datetime
    actor: str


class SubscriptionStateOut(BaseModel):
    """The state on one day. `pending` before the start, `ended` after the end."""

    on: dt.date
    status: Literal["pending", "active", "suspended", "ended"]
    price_plan_id: str | None = None
    quantity: int | None = None
    overrides: dict[str, MoneyOut] = Field(default_factory=dict)


class SubscriptionOut(BaseModel):
    id: str
    contract_id: str
    price_plan_id: str = Field(description="the plan after the last event")
    quantity: int = Field(description="the quantity after the last event")
    start_date: dt.date
    end_date: dt.date | None
    status: str = Field(description="after the last event: active, suspended or cancelled")
    external_ref: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int


class SubscriptionDetailOut(SubscriptionOut):
    events: list[SubscriptionEventOut]
    today: SubscriptionStateOut = Field(description="the state on today's date (tenant time zone)")


class SubscriptionFilter(BaseModel):
    """Query parameters (no `extra="forbid"`: `cursor` and `limit` share the query)."""

    contract_id: Id | None = None
    price_plan_id: Id | None = None
    status: SubscriptionStatus | None = None
    external_ref: ExternalId | None = None


class Dated(BaseModel):
    model_config = ConfigDict(extra="forbid")

    effective_date: Date


class PlanChangeIn(Dated):
    price_plan_id: Id


class QuantityChangeIn(Dated):
    quantity: SubscriptionQuantity


class PriceOverrideIn(Dated):
    """相対価格: `amount` replaces the plan's amount `component_code` from the date on;
    null removes the override from that date on."""

    component_code: Annotated[SingleLine, Field(min_length=1, max_length=64)]
    amount: Money | None


# --- discounts ---------------------------------------------------------------------------


class DiscountIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    contract_id: Id
    subscription_id: Id | None = Field(None, description="null: a discount on the whole contract")
    discount_table_id: Id
    scope: DiscountScope | None = Field(None, description="default: the discount table's, else all")
    start_date: Date
    end_date: Date | None = None
    priority: int = Field(0, ge=0, le=1_000_000)

    @model_validator(mode="after")
    def _check(self) -> DiscountIn:
        if self.end_date is not None and self.end_date < self.start_date:
            raise ValueError("end_date is before start_date")
        return self


class DiscountPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scope: DiscountScope | None = None
    start_date: Date | None = None
    end_date: Date | None = None
    priority: int | None = Field(None, ge=0, le=1_000_000)

    @model_validator(mode="after")
    def _check(self) -> DiscountPatch:
        _refuse_nulls(self, ("scope", "start_date", "priority"))
        return self


class DiscountOut(BaseModel):
    id: str
    contract_id: str
    subscription_id: str | None
    discount_table_id: str
    scope: str
    start_date: dt.date
    end_date: dt.date | None
    priority: int
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int


class DiscountFilter(BaseModel):
    """Query parameters (no `extra="forbid"`: `cursor` and `limit` share the query)."""

    contract_id: Id | None = None
    subscription_id: Id | None = None
