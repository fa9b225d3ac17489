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

Band bounds are strictly increasing and the last band is unbounded (`up_to: null`).
Which parameters a shape needs, and that it has no others, is checked by
`kakin.rating.tariffs.validate_tariff` — the one definition of a valid tariff.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from kakin.catalog.schemas import Amount, MasterIn, MasterOut
from kakin.rating.tariffs import GraduatedMode, TariffShape

MAX_BANDS = 100


class BandIn(BaseModel):
    """One band: it covers `previous up_to < q ≤ up_to`; `up_to: null` is ∞ (the last)."""

    model_config = ConfigDict(extra="forbid")

    up_to: Decimal | None = None
    amount: Decimal | None = None
    unit_price: Decimal | None = None
    flat_fee: Decimal | None = None


class TariffDefinitionIn(BaseModel):
    """A tariff version: its shape and the parameters of that shape, from a date."""

    model_config = ConfigDict(extra="forbid")

    effective_from: dt.date = Field(description="the first day this definition applies to")
    shape: TariffShape
    fixed_fee: Decimal | None = Field(None, description="F")
    unit_price: Decimal | None = Field(None, description="p (up to 6 decimal places)")
    included: Decimal | None = Field(None, description="A: included units")
    lower: Decimal | None = Field(None, description="L: lower amount")
    upper: Decimal | None = Field(None, description="U: upper amount (cap)")
    bands: list[BandIn] | None = Field(None, max_length=MAX_BANDS)
    mode: GraduatedMode | None = Field(None, description="graduated only; default graduated")


class TariffIn(MasterIn, TariffDefinitionIn):
    """A new tariff with its first version."""


class BandOut(BaseModel):
    up_to: Amount | None = None
    amount: Amount | None = None
    unit_price: Amount | None = None
    flat_fee: Amount | None = None


class TariffVersionOut(BaseModel):
    id: str
    effective_from: dt.date
    shape: TariffShape
    fixed_fee: Amount | None = None
    unit_price: Amount | None = None
    included: Amount | None = None
    lower: Amount | None = None
    upper: Amount | None = None
    bands: list[BandOut] | None = None
    mode: GraduatedMode | None = None
    created_at: dt.datetime


class TariffOut(MasterOut):
    versions: list[TariffVersionOut] = Field(description="every version, oldest first")
