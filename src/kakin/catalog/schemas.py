"""Pydantic shapes of the simple masters: services, usage items, discount tables, tax
categories — and what every master shares. Tariffs and price plans have files of their own.

Decimals are strings in JSON both ways (numbers are accepted on input too).
"""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, StringConstraints

from kakin.catalog.models import CODE_LENGTH, NAME_LENGTH, MasterStatus
from kakin.kit.free_fields import FreeFieldsFilter, FreeFieldsIn, FreeFieldsOut
from kakin.rating.discounts import DiscountKind, DiscountScope, WindowAnchor
from kakin.rating.tax import TaxCategory as TaxCategoryCode
from kakin.tenancy.schemas import Currency

Code = Annotated[
    str,
    StringConstraints(min_length=1, max_length=CODE_LENGTH, pattern=r"^[\w.\-]+$"),
]
"""A master code: letters, digits, `_`, `.` and `-` (no spaces), unique per tenant."""


def plain_decimal(value: Decimal) -> str:
    """A decimal in JSON: plain notation without trailing zeros, the same on every database
    (PostgreSQL's NUMERIC answers `0.100000` where SQLite's text answers `0.10`)."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "0") else text


Amount = Annotated[Decimal, PlainSerializer(plain_decimal, return_type=str, when_used="json")]
"""A Decimal answered as a plain string (`"0.084"`, `"4800"`)."""

Name = Annotated[str, StringConstraints(min_length=1, max_length=NAME_LENGTH)]

Reference = Annotated[str, StringConstraints(min_length=1, max_length=CODE_LENGTH)]
"""Another master named by its id or its code (stored as its id)."""

PERCENT_PLACES = 4
"""Discount rates (percent) carry at most 4 decimal places (12.3456 %)."""

TAX_RATE_PLACES = 4
"""Tax rates (fractions) carry at most 4 decimal places (0.1000 = 10 %)."""


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
    description: str | None = Field(None, max_length=2000)


class ServicePatch(MasterPatch):
    description: str | None = Field(None, max_length=2000)


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

    unit: Decimal = Field(Decimal(1), gt=0, decimal_places=6)
    unit_name: str = Field(min_length=1, max_length=40)
    rating: UsageRating = UsageRating.PER_TOTAL


class UsageItemPatch(MasterPatch):
    unit_name: str | None = Field(None, min_length=1, max_length=40)


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
    value: Amount = Field(ge=0)


class DiscountConditions(BaseModel):
    """Campaign, bundle and loyalty conditions (RATING.md §5). `required_services` names
    services by id or code (answered as ids)."""

    model_config = ConfigDict(extra="forbid")

    window: CampaignWindow | None = None
    required_services: list[Reference] | None = Field(None, min_length=1, max_length=50)
    loyalty_steps: list[LoyaltyStep] | None = Field(None, min_length=1, max_length=50)


class DiscountTableIn(MasterIn):
    """割引表. `fixed_rate` takes `rate` in percent (0–100); `fixed_amount` takes `amount`
    (≥ 0, in the currency's minor unit) and `currency` (default the tenant's). With
    `loyalty_steps` the reached step's value replaces `rate` / `amount`, which may then be
    left out. `scope` is the default scope of discounts made from the table. The kind,
    value, scope and conditions cannot change later (a different discount is a new table)."""

    kind: DiscountKind
    rate: Decimal | None = Field(None, ge=0, le=100, decimal_places=PERCENT_PLACES)
    amount: Decimal | None = Field(None, ge=0)
    currency: Currency | None = None
    scope: DiscountScope = DiscountScope.ALL
    conditions: DiscountConditions | None = None


class DiscountTablePatch(MasterPatch):
    pass


class DiscountTableOut(MasterOut):
    kind: DiscountKind
    rate: Amount | None = None
    amount: Amount | None = None
    currency: str | None = None
    scope: DiscountScope
    conditions: DiscountConditions | None = None


# --- tax categories ---------------------------------------------------------------------


class TaxRateIn(BaseModel):
    """A dated rate. `rate` is a fraction: `0.10` is 10 % (as in `kakin.rating.tax`)."""

    model_config = ConfigDict(extra="forbid")

    effective_from: dt.date
    rate: Decimal = Field(ge=0, lt=1, decimal_places=TAX_RATE_PLACES)


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
