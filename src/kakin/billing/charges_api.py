"""HTTP routes of one-time charges and top-ups on a subscription (RATING.md §3, §4)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from kakin.billing.charges import (
    OneTimeChargeIn,
    OneTimeChargeOut,
    TopUpIn,
    TopUpOut,
    add_one_time_charge,
    add_top_up,
    charges_of,
    top_ups_of,
)
from kakin.contracts.subscriptions import get_subscription
from kakin.kit.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page
from kakin.tenancy.deps import Rating

router = APIRouter(tags=["billing"])

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]


@router.post(
    "/v1/subscriptions/{subscription_id}/one-time-charges",
    status_code=201,
    response_model=OneTimeChargeOut,
)
def create_one_time_charge(
    ctx: Rating, subscription_id: str, body: OneTimeChargeIn, response: Response
) -> OneTimeChargeOut:
    """一時金: billed on the first closing after `incurred_on` (RATING.md §3)."""
    sub = get_subscription(ctx.session, subscription_id)
    charge = add_one_time_charge(ctx.session, sub, body)
    response.headers["Location"] = (
        f"/v1/subscriptions/{subscription_id}/one-time-charges?id={charge.id}"
    )
    return OneTimeChargeOut.model_validate(charge)


@router.get(
    "/v1/subscriptions/{subscription_id}/one-time-charges",
    response_model=Page[OneTimeChargeOut],
)
def list_one_time_charges(
    ctx: Rating, subscription_id: str, cursor: str | None = None, limit: Limit = DEFAULT_LIMIT
) -> Page[OneTimeChargeOut]:
    return charges_of(ctx.session, get_subscription(ctx.session, subscription_id), cursor, limit)


@router.post(
    "/v1/subscriptions/{subscription_id}/top-ups", status_code=201, response_model=TopUpOut
)
def create_top_up(ctx: Rating, subscription_id: str, body: TopUpIn, response: Response) -> TopUpOut:
    """追加購入: raises the allowance of the period it is bought in and is billed as a
    one-time fee (RATING.md §4)."""
    sub = get_subscription(ctx.session, subscription_id)
    top_up = add_top_up(ctx.session, sub, body)
    response.headers["Location"] = f"/v1/subscriptions/{subscription_id}/top-ups?id={top_up.id}"
    return TopUpOut.model_validate(top_up)


@router.get("/v1/subscriptions/{subscription_id}/top-ups", response_model=Page[TopUpOut])
def list_top_ups(
    ctx: Rating, subscription_id: str, cursor: str | None = None, limit: Limit = DEFAULT_LIMIT
) -> Page[TopUpOut]:
    return top_ups_of(ctx.session, get_subscription(ctx.session, subscription_id), cursor, limit)
