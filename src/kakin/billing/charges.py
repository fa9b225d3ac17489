"""One-time charges (一時金, RATING.md §3) and top-ups (追加購入, §4) registered on a
subscription: their schemas and use cases. The closing bills each once, on the first
closing after its date (`loader.load_contract_batch`, `rate_chunk`)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from kakin.audit.service import record
from kakin.billing.models import OneTimeCharge, TopUp
from kakin.billing.schemas import TaxCategoryCode
from kakin.catalog.models import UsageItem
from kakin.contracts.models import Subscription
from kakin.contracts.service import ensure_period_open, get_contract
from kakin.kit.bounds import Date, DecimalOut, Money, MoneyOut, PositiveQuantity, SingleLine
from kakin.kit.errors import InvalidRequest, pointer
from kakin.kit.ids import new_id
from kakin.kit.pagination import Page, paginate
from kakin.rating.usage import is_within_life


class OneTimeChargeIn(BaseModel):
    """A one-time fee billed on the first closing after `incurred_on`; `amount` is per unit
    of `quantity` (a decimal string in major units, e.g. "9800")."""

    model_config = ConfigDict(extra="forbid")

    code: Annotated[SingleLine, Field(min_length=1, max_length=80)]
    name: Annotated[SingleLine, Field(min_length=1, max_length=200)]
    amount: Money
    quantity: PositiveQuantity = Decimal(1)
    tax_category: TaxCategoryCode = "standard"
    incurred_on: Date


class OneTimeChargeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    contract_id: str
    subscription_id: str
    code: str
    name: str
    amount: MoneyOut
    quantity: DecimalOut
    tax_category: str
    incurred_on: dt.date
    receivable_id: str | None
    created_at: dt.datetime


class TopUpIn(BaseModel):
    """`quantity` rated units of `usage_item` (its code) added to the allowance of the
    period containing `bought_on`, billed as a one-time fee of `price` (major units)."""

    model_config = ConfigDict(extra="forbid")

    usage_item: Annotated[SingleLine, Field(min_length=1, max_length=80)]
    quantity: PositiveQuantity
    price: Money
    tax_category: TaxCategoryCode = "standard"
    bought_on: Date


class TopUpOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    contract_id: str
    subscription_id: str
    usage_item_id: str
    name: str
    quantity: DecimalOut
    price: MoneyOut
    tax_category: str
    bought_on: dt.date
    receivable_id: str | None
    created_at: dt.datetime


def _check_date(session: Session, sub: Subscription, day: dt.date, field: str) -> None:
    """RATING.md §4 (as for usage): the date must lie in the subscription's life; and none
    may be added inside an issued period (§8: a correction becomes an adjustment)."""
    if not is_within_life(day, sub.start_date, sub.end_date):
        raise InvalidRequest(
            [(pointer("body", field), "outside the subscription's life (start to end)")]
        )
    ensure_period_open(session, get_contract(session, sub.contract_id), day)


def add_one_time_charge(
    session: Session, sub: Subscription, body: OneTimeChargeIn
) -> OneTimeCharge:
    _check_date(session, sub, body.incurred_on, "incurred_on")
    charge = OneTimeCharge(
        id=new_id("otc"),
        contract_id=sub.contract_id,
        subscription_id=sub.id,
        code=body.code,
        name=body.name,
        incurred_on=body.incurred_on,
        amount=body.amount,
        quantity=body.quantity,
        tax_category=body.tax_category,
    )
    session.add(charge)
    session.flush()
    out = OneTimeChargeOut.model_validate(charge)
    record(session, "create", "one_time_charge", charge.id, None, out)
    return charge


def add_top_up(session: Session, sub: Subscription, body: TopUpIn) -> TopUp:
    item = session.scalar(select(UsageItem).where(UsageItem.code == body.usage_item))
    if item is None:
        raise InvalidRequest([(pointer("body", "usage_item"), "no usage item with this code")])
    _check_date(session, sub, body.bought_on, "bought_on")
    top_up = TopUp(
        id=new_id("top"),
        contract_id=sub.contract_id,
        subscription_id=sub.id,
        usage_item_id=item.id,
        name=f"{item.name} 追加購入",
        bought_on=body.bought_on,
        quantity=body.quantity,
        price=body.price,
        tax_category=body.tax_category,
    )
    session.add(top_up)
    session.flush()
    out = TopUpOut.model_validate(top_up)
    record(session, "create", "top_up", top_up.id, None, out)
    return top_up


def charges_of(
    session: Session, sub: Subscription, cursor: str | None, limit: int
) -> Page[OneTimeChargeOut]:
    """One page of the subscription's one-time charges."""
    statement = select(OneTimeCharge).where(OneTimeCharge.subscription_id == sub.id)
    return paginate(
        session, statement, OneTimeCharge.id, cursor, limit, OneTimeChargeOut.model_validate
    )


def top_ups_of(
    session: Session, sub: Subscription, cursor: str | None, limit: int
) -> Page[TopUpOut]:
    """One page of the subscription's top-ups."""
    statement = select(TopUp).where(TopUp.subscription_id == sub.id)
    return paginate(session, statement, TopUp.id, cursor, limit, TopUpOut.model_validate)
