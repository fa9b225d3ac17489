"""Pydantic shapes of tariffs (料金表) and their dated versions.

The parameters are those of `kakin.rating.tariffs.Tariff` (RATING.md §4), flat in the body:

| shape | parameters |
| --- | --- |
| `flat` | `fixed_fee` (F) |
| `per_unit` | `unit_price` (p) |
| `base_plus_usage` | `fixed_fee` (F), `unit_price` (p), optional `included` (A) |
| `capped` | `unit_price` (p), `upper` (U) |
| `step` | `bands`: `[{up_to, amount}]` (P_k) |
| `double_flat` | `lower` (L), `unit_price` (p), `upper` (U) |
| `graduated` | `bands`: `[{up_to, unit_price, flat_fee?}]` (p_k, f_k), optional `mode` |

Money (F, p, L, U, P_k, f_k) is in the major unit of the plan's currency, a decimal string
(kit.bounds.Money: less than 10^12, up to 6 places); quantities (A, up_to) are
kit.bounds.Quantity. Band bounds are strictly increasing and the last band is unbounded
(`up_to: null`).
Which parameters a shape needs, and that it has no others, is checked by
`kakin.rating.tariffs.validate_tariff` — the one definition of a valid tariff.
"""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from kakin.catalog.schemas import Amount, MasterIn, MasterOut
from kakin.kit.bounds import Date, Money, MoneyOut, Quantity
from kakin.rating.tariffs import GraduatedMode, TariffShape

MAX_BANDS = 100


class BandIn(BaseModel):
    """One band: it covers `previous up_to < q ≤ up_to`; `up_to: null` is ∞ (the last)."""

    model_config = ConfigDict(extra="forbid")

    up_to: Quantity | None = None
    amount: Money | None = None
    unit_price: Money | None = None
    flat_fee: Money | None = None


class TariffDefinitionIn(BaseModel):
    """A tariff version: its shape and the parameters of that shape, from a date."""

    model_config = ConfigDict(extra="forbid")

    effective_from: Date = Field(description="the first day this definition applies to")
    shape: TariffShape
    fixed_fee: Money | None = Field(None, description="F")
    unit_price: Money | None = Field(None, description="p (up to 6 decimal places)")
    included: Quantity | None = Field(None, description="A: included units")
    lower: Money | None = Field(None, description="L: lower amount")
    upper: Money | None = Field(None, description="U: upper amount (cap)")
    bands: list[BandIn] | None = Field(None, max_length=MAX_BANDS)
    mode: GraduatedMode | None = Field(None, description="graduated only; default graduated")


class TariffIn(MasterIn, TariffDefinitionIn):
    """A new tariff with its first version."""


class BandOut(BaseModel):
    up_to: Amount | None = None
    amount: MoneyOut | None = None
    unit_price: MoneyOut | None = None
    flat_fee: MoneyOut | None = None


class TariffVersionOut(BaseModel):
    id: str
    effective_from: dt.date
    shape: TariffShape
    fixed_fee: MoneyOut | None = None
    unit_price: MoneyOut | None = None
    included: Amount | None = None
    lower: MoneyOut | None = None
    upper: MoneyOut | None = None
    bands: list[BandOut] | None = None
    mode: GraduatedMode | None = None
    created_at: dt.datetime


class TariffOut(MasterOut):
    versions: list[TariffVersionOut] = Field(description="every version, oldest first")
