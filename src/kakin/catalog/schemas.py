"""Pydantic shapes of the simple masters: services, usage items, discount tables, tax
categories — and what every master shares. Tariffs and price plans have files of their own.

Decimals are strings in JSON both ways (a JSON integer is accepted on input too); money is
in the currency's major unit, and every bound is one of kit.bounds.
"""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from kakin.catalog.models import CODE_LENGTH, NAME_LENGTH, MasterStatus
from kakin.kit.bounds import (
    Date,
    DecimalOut,
    Fraction,
    Money,
    MoneyOut,
    MultiLine,
    Percent,
    PositiveQuantity,
    SingleLine,
)
from kakin.kit.free_fields import FreeFieldsFilter, FreeFieldsIn, FreeFieldsOut
from kakin.rating.discounts import DiscountKind, DiscountScope, WindowAnchor
from kakin.rating.tax import TaxCategory as TaxCategoryCode
from kakin.tenancy.schemas import Currency

Code = Annotated[
    str,
    StringConstraints(min_length=1, max_length=CODE_LENGTH, pattern=r"^[\w.\-]+$"),
]
"""A master code: letters, digits, `_`, `.` and `-` (no spaces), unique per tenant."""


Amount = DecimalOut
"""A Decimal answered as a plain string (`"0.084"`, `"4800"`); money answers use
`kit.bounds.MoneyOut`, inputs the bounded types of kit.bounds."""

Name = Annotated[SingleLine, Field(min_length=1, max_length=NAME_LENGTH)]

Reference = Annotated[SingleLine, Field(min_length=1, max_length=CODE_LENGTH)]
"""Another master named by its id or its code (stored as its id)."""

# --- what every master shares -----------------------------------------------------------


class MasterIn(FreeFieldsIn):
    model_config = ConfigDict(extra="forbid")

    code: Code
    name: Name


class MasterPatch(FreeFieldsIn):
    """A change: only the fields sent are changed. `status: retired` retires the master
    (as DELETE does); `status: active` brings it back."""

    model_config = ConfigDict(extra="forbid")

    code: Code | None = None
    name: Name | None = None
    status: MasterStatus | None = None


class MasterOut(FreeFieldsOut):
    model_config = ConfigDict(from_attributes=True)

    id: str
    code: str
    name: str
    status: MasterStatus
    created_at: dt.datetime
    updated_at: dt.datetime


class MasterFilter(FreeFieldsFilter):
    """Search: `code` exactly, `code_prefix`, `name` as a substring (case-insensitive),
    `status`, and the free fields (`free_n` exactly, `free_n_prefix`)."""

    code: str | None = Field(None, max_length=CODE_LENGTH)
    code_prefix: str | None = Field(None, min_length=1, max_length=CODE_LENGTH)
    name: str | None = Field(None, min_length=1, max_length=NAME_LENGTH)
    status: MasterStatus | None = None


# --- services ---------------------------------------------------------------------------


class ServiceIn(MasterIn):
    description: Annotated[MultiLine, Field(max_length=2000)] | None = None


class ServicePatch(MasterPatch):
    description: Annotated[MultiLine, Field(max_length=2000)] | None = None


class ServiceOut(MasterOut):
    description: str | None = None


# --- usage items ------------------------------------------------------------------------


class UsageRating(enum.StrEnum):
    """RATING.md §4: usage is rated over the period total (`q = ceil(raw / unit)` of the
    sum) or per record ("each call rounded up to its units and priced on its own")."""

    PER_TOTAL = "per_total"
    PER_RECORD = "per_record"


class UsageItemIn(MasterIn):
    """RATING.md §4: `unit` raw quantity makes one rated unit (128 bytes per packet, 30 s
    per call-unit). `unit` and `rating` cannot change later: they decide how recorded usage
    is rated, so a different unit is a different usage item."""

    unit: PositiveQuantity = Decimal(1)
    unit_name: Annotated[SingleLine, Field(min_length=1, max_length=40)]
    rating: UsageRating = UsageRating.PER_TOTAL


class UsageItemPatch(MasterPatch):
    unit_name: Annotated[SingleLine, Field(min_length=1, max_length=40)] | None = None


class UsageItemOut(MasterOut):
    unit: Amount
    unit_name: str
    rating: UsageRating


# --- discount tables --------------------------------------------------------------------


class CampaignWindow(BaseModel):
    """RATING.md §5: "first 6 months 50 % off" = `{months: 6}`; "2 months half price after
    switching plans" = `{anchor: plan_change, months: 2}`. The window starts
    `offset_months` after the anchor date and lasts `months` months."""

    model_config = ConfigDict(extra="forbid")

    anchor: WindowAnchor = WindowAnchor.START
    months: int = Field(ge=1, le=1200)
    offset_months: int = Field(0, ge=0, le=1200)


class LoyaltyStep(BaseModel):
    """RATING.md §5: from `years` whole years of contract age on, the discount is `value`
    (percent for `fixed_rate`, an amount for `fixed_amount`)."""

    model_config = ConfigDict(extra="forbid")

    years: int = Field(ge=0, le=200)
    value: Money


class DiscountConditions(BaseModel):
    """Campaign, bundle and loyalty conditions (RATING.md §5). `required_services` names
    services by id or code (answered as ids)."""

    model_config = ConfigDict(extra="forbid")

    window: CampaignWindow | None = None
    required_services: list[Reference] | None = Field(None, min_length=1, max_length=50)
    loyalty_steps: list[LoyaltyStep] | None = Field(None, min_length=1, max_length=50)


class DiscountTableIn(MasterIn):
    """割引表. `fixed_rate` takes `rate` in percent (0–100); `fixed_amount` takes `amount`
    (money: ≥ 0, in the currency's major unit, with at most its minor-unit places) and
    `currency` (default the tenant's). With
    `loyalty_steps` the reached step's value replaces `rate` / `amount`, which may then be
    left out. `scope` is the default scope of discounts made from the table. The kind,
    value, scope and conditions cannot change later (a different discount is a new table)."""

    kind: DiscountKind
    rate: Percent | None = None
    amount: Money | None = None
    currency: Currency | None = None
    scope: DiscountScope = DiscountScope.ALL
    conditions: DiscountConditions | None = None


class DiscountTablePatch(MasterPatch):
    pass


class DiscountTableOut(MasterOut):
    kind: DiscountKind
    rate: Amount | None = None
    amount: MoneyOut | None = None
    currency: str | None = None
    scope: DiscountScope
    conditions: DiscountConditions | None = None


# --- tax categories ---------------------------------------------------------------------


class TaxRateIn(BaseModel):
    """A dated rate. `rate` is a fraction: `0.10` is 10 % (as in `kakin.rating.tax`)."""

    model_config = ConfigDict(extra="forbid")

    effective_from: Date
    rate: Fraction


class TaxRateOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    effective_from: dt.date
    rate: Amount


class TaxCategoryPatch(FreeFieldsIn):
    model_config = ConfigDict(extra="forbid")

    name: Name | None = None


class TaxCategoryOut(MasterOut):
    code: TaxCategoryCode
    rates: list[TaxRateOut]
